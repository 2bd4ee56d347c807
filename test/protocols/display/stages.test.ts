// What each customer display shows at each sale stage, byte for byte, for every encoder. The
// expected bytes are spelled out here from the research's command tables, not from encoder code:
// - CD5220: ESC Q A / ESC Q B … CR (device-protocols.md §2.1, test vector 19)
// - ESC/POS: US 01 overwrite, FF clear, US $ x y cursor (1-based) (§2.2, test vector 20)
// - LED-8: ESC s n lamp ('0' off, '2' 总计, '3' 收款), ESC Q A digits CR (§2.3, vector 21;
//   scanbox-anchors.md §2.1.2 for the lamp-before-number order)
// GB codes of the Chinese layout come from the GB2312 code table (checked with Python's gb2312 codec).
import { describe, expect, it } from "vitest";
import { toHex } from "../../../protocols/core/bytes.js";
import { encodeCd5220 } from "../../../protocols/display/cd5220.js";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import { encodeEscPosView } from "../../../protocols/display/escpos-display.js";
import { encodeLed8View } from "../../../protocols/display/led8.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";

const gb18030 = textEncoder("gb18030");

/** Hex of an ASCII text, written independently of the encoders. */
function asciiHex(text: string): string {
  return Array.from(text, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");
}

/** A 20-column line as hex: `left` bytes, spaces, then `right` bytes. */
function line20(left: string, right = ""): string {
  const count = (hex: string) => (hex === "" ? 0 : hex.split(" ").length);
  const pad = 20 - count(left) - count(right);
  expect(pad).toBeGreaterThanOrEqual(0);
  return [left, ...Array<string>(pad).fill("20"), right].filter((h) => h !== "").join(" ");
}

const AMOUNT = "12.50"; // 1250 fen on every display
const A = asciiHex(AMOUNT);

// GB2312 codes of the Chinese texts.
const GB = {
  welcome: "bb b6 d3 ad b9 e2 c1 d9", // 欢迎光临
  waitCashier: "c7 eb b5 c8 b4 fd ca d5 d2 f8 d4 b1", // 请等待收银员 (Python's gb2312 codec)
  total: "ba cf bc c6", // 合计
  paidLabel: "d2 d1 d6 a7 b8 b6", // 已支付
  cancelledLabel: "d2 d1 c8 a1 cf fb", // 已取消
  showCode: "c7 eb b3 f6 ca be b8 b6 bf ee c2 eb", // 请出示付款码
  processing: "d6 a7 b8 b6 d6 d0 a3 ac c7 eb c9 d4 ba f2", // 支付中，请稍候
  confirm: "c7 eb d4 da ca d6 bb fa c9 cf c8 b7 c8 cf d6 a7 b8 b6", // 请在手机上确认支付
  expired: "b8 b6 bf ee c2 eb d2 d1 ca a7 d0 a7 a3 ac c7 eb d6 d8 c9 a8", // 付款码已失效，请重扫
  funds: "d3 e0 b6 ee b2 bb d7 e3 a3 ac c7 eb d6 d8 c9 a8", // 余额不足，请重扫
  declined: "d6 a7 b8 b6 ca a7 b0 dc a3 ac c7 eb d6 d8 c9 a8", // 支付失败，请重扫
  invalidCode: "ce de b7 a8 ca b6 b1 f0 a3 ac c7 eb d6 d8 c9 a8", // 无法识别，请重扫
  notPayment: "b7 c7 b8 b6 bf ee c2 eb a3 ac c7 eb d6 d8 c9 a8", // 非付款码，请重扫
  thanks: "d6 a7 b8 b6 b3 c9 b9 a6 a3 ac d0 bb d0 bb bb dd b9 cb", // 支付成功，谢谢惠顾
  unknown: "d6 a7 b8 b6 bd e1 b9 fb ce b4 d6 aa", // 支付结果未知
  doNotPay: "c7 eb ce f0 d6 d8 b8 b4 b8 b6 bf ee", // 请勿重复付款
};

const LED_TOTAL = `1b 73 32 1b 51 41 ${A} 0d`; // 总计 lamp, 12.50
const LED_COLLECT = `1b 73 33 1b 51 41 ${A} 0d`; // 收款 lamp, 12.50
const LED_CLEARED = "1b 73 30 1b 51 41 30 2e 30 30 0d"; // lamps off, 0.00

interface Stage {
  view: DisplayView;
  /** The two lines of the CD5220 and of an ASCII ESC/POS display. */
  ascii: [string, string];
  /** The two lines of a GB2312 ESC/POS display, as hex. */
  gb: [string, string];
  led8: string;
  /** Which displays show the amount: the text displays, or all of them (LED-8 included). */
  amountOn: "all" | "text" | "none";
}

const STAGES: Stage[] = [
  {
    view: { type: "idle" },
    ascii: ["WELCOME", ""],
    gb: [line20(GB.welcome), line20("")],
    led8: LED_CLEARED,
    amountOn: "none",
  },
  {
    view: { type: "waitForCashier" },
    ascii: ["PLEASE WAIT FOR", "THE CASHIER"],
    gb: [line20(GB.waitCashier), line20("")],
    led8: LED_CLEARED,
    amountOn: "none",
  },
  {
    view: { type: "amountDue", amountFen: 1250 },
    ascii: ["TOTAL          12.50", "PLEASE SHOW PAY CODE"],
    gb: [line20(GB.total, A), line20(GB.showCode)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "processing", amountFen: 1250 },
    ascii: ["TOTAL          12.50", "PROCESSING..."],
    gb: [line20(GB.total, A), line20(GB.processing)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "confirmOnPhone", amountFen: 1250 },
    ascii: ["TOTAL          12.50", "CONFIRM ON PHONE"],
    gb: [line20(GB.total, A), line20(GB.confirm)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "rescan", amountFen: 1250, reason: "expired" },
    ascii: ["TOTAL          12.50", "CODE EXPIRED-RESCAN"],
    gb: [line20(GB.total, A), line20(GB.expired)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "rescan", amountFen: 1250, reason: "funds" },
    ascii: ["TOTAL          12.50", "LOW BALANCE-RESCAN"],
    gb: [line20(GB.total, A), line20(GB.funds)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "rescan", amountFen: 1250, reason: "declined" },
    ascii: ["TOTAL          12.50", "DECLINED - RESCAN"],
    gb: [line20(GB.total, A), line20(GB.declined)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "rescan", amountFen: 1250, reason: "invalidCode" },
    ascii: ["TOTAL          12.50", "UNREADABLE - RESCAN"],
    gb: [line20(GB.total, A), line20(GB.invalidCode)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "rescan", amountFen: 1250, reason: "notPayment" },
    ascii: ["TOTAL          12.50", "NOT A PAY CODE"],
    gb: [line20(GB.total, A), line20(GB.notPayment)],
    led8: LED_TOTAL,
    amountOn: "all",
  },
  {
    view: { type: "paid", amountFen: 1250 },
    ascii: ["PAID           12.50", "THANK YOU"],
    gb: [line20(GB.paidLabel, A), line20(GB.thanks)],
    led8: LED_COLLECT,
    amountOn: "all",
  },
  {
    view: { type: "cancelled", amountFen: 1250 },
    ascii: ["CANCELLED      12.50", ""],
    gb: [line20(GB.cancelledLabel, A), line20("")],
    led8: LED_CLEARED,
    amountOn: "text",
  },
  {
    view: { type: "unknown", amountFen: 1250 },
    ascii: ["RESULT UNKNOWN", "DO NOT PAY AGAIN"],
    gb: [line20(GB.unknown), line20(GB.doNotPay)],
    led8: LED_CLEARED,
    amountOn: "none",
  },
];

const asciiLine = (text: string) => line20(asciiHex(text));

describe("customer display at each sale stage", () => {
  it("covers every DisplayView variant and rescan reason", () => {
    const keys = STAGES.map(({ view }) => (view.type === "rescan" ? `rescan:${view.reason}` : view.type));
    expect(new Set(keys).size).toBe(STAGES.length);
    expect(keys).toHaveLength(8 + 5); // 9 variants, rescan counted once per reason
  });

  const named = STAGES.map((stage) => ({
    ...stage,
    name: stage.view.type === "rescan" ? `rescan (${stage.view.reason})` : stage.view.type,
  }));

  describe.each(named)("$name", (stage) => {
    const [upper, lower] = stage.ascii;

    it("CD5220: CLR, ESC Q A upper CR, ESC Q B lower CR", () => {
      expect(toHex(encodeCd5220(stage.view))).toBe(
        `0c 1b 51 41 ${asciiLine(upper)} 0d 1b 51 42 ${asciiLine(lower)} 0d`,
      );
    });

    it("ESC/POS ASCII: overwrite, clear, US $ 1 1 upper, US $ 1 2 lower", () => {
      expect(toHex(encodeEscPosView(stage.view, { charset: "ascii" }))).toBe(
        `1f 01 0c 1f 24 01 01 ${asciiLine(upper)} 1f 24 01 02 ${asciiLine(lower)}`,
      );
    });

    it("ESC/POS GB18030: the same frame with the Chinese lines", () => {
      const options = { charset: "gb18030", encodeText: gb18030 } as const;
      expect(toHex(encodeEscPosView(stage.view, options))).toBe(
        `1f 01 0c 1f 24 01 01 ${stage.gb[0]} 1f 24 01 02 ${stage.gb[1]}`,
      );
    });

    it("LED-8: ESC s lamp, ESC Q A number CR", () => {
      expect(toHex(encodeLed8View(stage.view))).toBe(stage.led8);
    });

    it(`shows 12.50 on ${stage.amountOn} displays and no other amount`, () => {
      const outputs = {
        cd5220: encodeCd5220(stage.view),
        escpos: encodeEscPosView(stage.view, { charset: "ascii" }),
        escposGb: encodeEscPosView(stage.view, { charset: "gb18030", encodeText: gb18030 }),
        led8: encodeLed8View(stage.view),
      };
      for (const [name, bytes] of Object.entries(outputs)) {
        const text = String.fromCharCode(...bytes);
        const amounts = text.match(/\d+\.\d\d/g) ?? [];
        const shown =
          stage.amountOn === "all" || (stage.amountOn === "text" && name !== "led8") ? [AMOUNT] : [];
        // The LED-8's cleared state is 0.00, not an amount.
        expect(
          amounts.filter((a) => a !== "0.00"),
          name,
        ).toEqual(shown);
      }
    });
  });
});
