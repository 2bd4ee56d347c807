// Display text → integer fen, and what a screen says about money (scanbox-anchors.md §2.1.3).
import { describe, expect, it } from "vitest";
import {
  amountRules,
  DEFAULT_AMOUNT_RULES,
  isChargeable,
  parseAmountText,
  readScreen,
} from "../../../protocols/display-tap/amount-text.js";
import type { Lamp, Screen } from "../../../protocols/display-tap/screen-event.js";
import { formatYuan } from "../../../protocols/payment/amount.js";
import { prng } from "./tap-support.js";

const rules = DEFAULT_AMOUNT_RULES;
const text = (...lines: string[]): Screen => ({ lamp: null, lines });
const led = (lamp: Lamp, number: string): Screen => ({ lamp, lines: [number] });

describe("parseAmountText", () => {
  it.each([
    ["12.34", 1234],
    ["¥12.34", 1234],
    ["￥12.34", 1234],
    ["RMB 12.34", 1234],
    ["12.3", 1230],
    ["12.", 1200],
    ["0.05", 5],
    ["0012.50", 1250],
    ["1,234.50", 123_450],
    ["1,234,567.89", 123_456_789],
    ["１２．３４", 1234],
    ["１，２３４．５０", 123_450],
    ["9999999999.99", 999_999_999_999],
  ])("%s → %i fen", (shown, fen) => {
    expect(parseAmountText(shown)).toEqual({ ok: true, fen });
  });

  it.each([
    ["-12.34", "negative"],
    ["¥-12.34", "negative"],
    ["−12.34", "negative"],
    ["12.345", "decimals"],
    ["12,50", "grouping"],
    ["1,23.00", "grouping"],
    ["1234,567.00", "grouping"],
    ["1250", "noPoint"],
    ["12345678901.00", "tooLarge"],
  ])("%s is refused: %s", (shown, error) => {
    expect(parseAmountText(shown)).toEqual({ ok: false, error });
  });

  it("a number without a point means what the rules say", () => {
    expect(parseAmountText("1250", "refuse")).toEqual({ ok: false, error: "noPoint" });
    expect(parseAmountText("1250", "yuan")).toEqual({ ok: true, fen: 125_000 });
    expect(parseAmountText("1250", "fen")).toEqual({ ok: true, fen: 1250 });
    expect(parseAmountText("1,250", "yuan")).toEqual({ ok: true, fen: 125_000 });
  });

  it("what is not one amount is null", () => {
    for (const shown of ["", "TOTAL", "12.50 3.00", "1e3", "0x10", "12.50.1", "A12.50"]) {
      expect(parseAmountText(shown), shown).toBeNull();
    }
  });

  it("any integer fen, written the ways displays write it, reads back exactly (no floating point)", () => {
    const random = prng(2024);
    const fullWidth = (s: string) =>
      s.replace(/[0-9.,]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const grouped = (s: string) => {
      const [yuan, cents] = s.split(".") as [string, string];
      return `${yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents}`;
    };
    const samples = [0, 1, 5, 10, 99, 100, 101, 999, 1000, 145_80, 3, 4, 99_999_999, 999_999_999_999];
    for (let n = 0; n < 2000; n++) samples.push(Math.floor(random() ** 3 * 1_000_000_000_000));
    for (const fen of samples) {
      const yuan = formatYuan(fen);
      // Decimals as "%.2f" (LED-8), one decimal when it is enough ("12.3"), grouped, full-width, ¥.
      const oneDecimal = fen % 10 === 0 ? yuan.slice(0, -1) : yuan;
      for (const shown of [
        yuan,
        oneDecimal,
        grouped(yuan),
        fullWidth(yuan),
        `¥${yuan}`,
        `￥${grouped(yuan)}`,
      ]) {
        expect(parseAmountText(shown), shown).toEqual({ ok: true, fen });
      }
      // The same through a screen: an LED under 合计, a labelled text line, a label over the amount.
      expect(readScreen(led("total", yuan), rules)).toMatchObject({ kind: "total", amountFen: fen });
      expect(readScreen(text(`合计：¥${grouped(yuan)}`), rules)).toMatchObject({
        kind: "total",
        amountFen: fen,
      });
      expect(readScreen(text("TOTAL", fullWidth(yuan)), rules)).toMatchObject({
        kind: "total",
        amountFen: fen,
      });
    }
  });
});

describe("readScreen: lamps decide on LED displays", () => {
  it.each<[Lamp, string, string, number | null]>([
    ["total", "12.50", "total", 1250],
    ["price", "3.50", "price", 350],
    ["collect", "20.00", "tender", 2000],
    ["change", "7.50", "tender", 750],
    ["off", "12.50", "unlabelled", 1250],
    ["unknown", "12.50", "unlabelled", 1250],
    ["thanks", "", "blank", null],
    ["total", "", "blank", null],
    ["total", "Welcome", "blank", null],
    ["total", "12.505", "unreadable", null],
    ["total", "0.00", "total", 0],
  ])("lamp %s over %j: %s", (lamp, number, kind, amountFen) => {
    expect(readScreen(led(lamp, number), rules)).toMatchObject({ kind, amountFen });
  });

  it("a zero total or one above the maximum is not chargeable", () => {
    expect(isChargeable(readScreen(led("total", "0.00"), rules), 100_000)).toBe(false);
    expect(isChargeable(readScreen(led("total", "1000.01"), rules), 100_000)).toBe(false);
    expect(isChargeable(readScreen(led("total", "1000.00"), rules), 100_000)).toBe(true);
    expect(isChargeable(readScreen(led("price", "10.00"), rules), 100_000)).toBe(false);
  });
});

describe("readScreen: labels decide on text displays", () => {
  it.each<[string[], string, number | null]>([
    [["合计: 12.34"], "total", 1234],
    [["合计12.34"], "total", 1234],
    [["TOTAL          12.50"], "total", 1250],
    [["Total: 12.50"], "total", 1250],
    [["TOTAL12.50"], "total", 1250],
    [["TOTAL", "12.50"], "total", 1250],
    [["应收 ¥1,234.50"], "total", 123_450],
    [["总计", "１２．３４"], "total", 1234],
    [["单价 3.50", "合计 12.50"], "total", 1250],
    [["Price: 3.50"], "price", 350],
    [["SUBTOTAL 10.00"], "price", 1000],
    [["SUB TOTAL 10.00"], "price", 1000],
    [["小计 10.00"], "price", 1000],
    [["Pay: 20.00"], "tender", 2000],
    [["合计 12.50", "找零 7.50"], "tender", 750],
    [["实收: 20.00", "找零: 7.50"], "tender", 2000],
    [["TOTAL 12.50", "CASH 20.00"], "tender", 2000],
    [["CHANGE 7.50"], "tender", 750],
    [["12.50"], "unlabelled", 1250],
    [["WELCOME"], "blank", null],
    [["", ""], "blank", null],
    [["TOTAL"], "unreadable", null],
    [["TOTAL 12.50", "TOTAL 13.50"], "unreadable", null],
    [["TOTAL 12.505"], "unreadable", null],
    [["TOTAL -12.50"], "unreadable", null],
    [["TOTAL 1250"], "unreadable", null],
    [["TOTAL 12.50", "TOTAL 12.50"], "total", 1250],
    [["TOTALLY 12.50"], "unlabelled", 1250],
    [["LANE2 TOTAL 12.50"], "total", 1250],
    [["TOTAL 12.34", "PLEASE SHOW PAY CODE"], "total", 1234],
    [["合计 12.34", "请出示付款码"], "total", 1234],
    [["TOTAL 12.34", "PLEASE PAY"], "tender", null],
  ])("%j: %s", (lines, kind, amountFen) => {
    expect(readScreen(text(...lines), rules)).toMatchObject({ kind, amountFen });
  });

  it("labels are configurable: a register's own prefix (乐惠's 金额前缀)", () => {
    const own = amountRules({ total: ["应付金额", "DUE"] });
    expect(readScreen(text("应付金额 8.80"), own)).toMatchObject({ kind: "total", amountFen: 880 });
    expect(readScreen(text("合计 8.80"), own)).toMatchObject({ kind: "unlabelled" });
    expect(readScreen(text("DUE", "8.80"), own)).toMatchObject({ kind: "total", amountFen: 880 });
    const whole = amountRules({ wholeNumbers: "yuan" });
    expect(readScreen(text("合计 12元"), whole)).toMatchObject({ kind: "total", amountFen: 1200 });
  });

  it("rules are checked: a TypeError names the field", () => {
    expect(() => amountRules({ total: [] })).toThrow(/total must name at least one label/);
    expect(() => amountRules({ total: ["合计1"] })).toThrow(/total labels must not contain digits/);
    expect(() => amountRules({ tender: [""] })).toThrow(/tender must be a list of non-empty labels/);
    expect(() => amountRules({ wholeNumbers: "cents" as never })).toThrow(/wholeNumbers must be one of/);
    expect(() => amountRules({ totals: ["x"] } as never)).toThrow(/unknown amount rule "totals"/);
  });
});
