// Voice prompts: amounts read the Chinese way, a phrase for every state, never a payment code.
import { describe, expect, it } from "vitest";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import { SCHEMES } from "../../../protocols/payment/scheme.js";
import { chineseInteger, chineseYuan } from "../../../protocols/voice/chinese-amount.js";
import {
  composeVoice,
  VOICE_CLIPS,
  type VoicePrompt,
  voiceForView,
} from "../../../protocols/voice/prompts.js";

describe("chineseYuan", () => {
  it.each([
    [1250, "十二点五元"],
    [1205, "十二点零五元"],
    [1200, "十二元"],
    [5, "零点零五元"],
    [50, "零点五元"],
    [0, "零元"],
    [100, "一元"],
    [1000, "十元"],
    [1100, "十一元"],
    [2000, "二十元"],
    [10_000, "一百元"],
    [10_100, "一百零一元"],
    [11_000, "一百一十元"],
    [100_100, "一千零一元"],
    [101_000, "一千零一十元"],
    [1_000_000, "一万元"],
    [1_001_000, "一万零一十元"],
    [1_010_000, "一万零一百元"],
    [10_000_000, "十万元"],
    [11_000_000, "十一万元"],
    [10_001_000, "十万零一十元"],
    [100_000_000, "一百万元"],
    [999_999_999, "九百九十九万九千九百九十九点九九元"],
    [10_000_000_000, "一亿元"],
    [10_000_000_100, "一亿零一元"],
    [10_000_100_000, "一亿零一千元"],
    [12_345_678_912, "一亿二千三百四十五万六千七百八十九点一二元"],
  ])("%i fen → %s", (fen, spoken) => {
    expect(chineseYuan(fen)).toBe(spoken);
  });

  it("never reads a negative or fractional amount", () => {
    expect(() => chineseYuan(-1)).toThrow(RangeError);
    expect(() => chineseYuan(1.5)).toThrow(RangeError);
    expect(() => chineseInteger(Number.MAX_SAFE_INTEGER + 1)).toThrow(RangeError);
  });

  it("every integer 0..10000 reads back to itself (a reference parser of the spoken form)", () => {
    const digit = (c: string) => "零一二三四五六七八九".indexOf(c);
    const parse = (text: string): number => {
      // Sections by 万, each section by 千百十; 零 is only a placeholder.
      const units: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };
      let total = 0;
      let section = 0;
      let number = 0;
      for (const c of text) {
        const d = digit(c);
        if (d >= 0) {
          number = d;
        } else if (c === "万") {
          total += (section + number) * 10_000;
          section = 0;
          number = 0;
        } else {
          section += (number || (c === "十" ? 1 : 0)) * (units[c] as number);
          number = 0;
        }
      }
      return total + section + number;
    };
    for (let n = 0; n <= 10_000; n++) expect(parse(chineseInteger(n)), String(n)).toBe(n);
    for (const n of [10_010, 100_000, 110_000, 1_000_001, 99_999_999])
      expect(parse(chineseInteger(n))).toBe(n);
  });
});

describe("composeVoice", () => {
  it.each<[VoicePrompt, string]>([
    [{ type: "scanPlease", amountFen: 1250 }, "请扫码，十二点五元"],
    [{ type: "paid", amountFen: 1250, scheme: "WECHAT" }, "支付成功，微信收款十二点五元"],
    [{ type: "paid", amountFen: 10_000, scheme: "ALIPAY" }, "支付成功，支付宝收款一百元"],
    [{ type: "paid", amountFen: 5, scheme: "UNIONPAY" }, "支付成功，银联收款零点零五元"],
    [{ type: "paid", amountFen: 880, scheme: "ECNY" }, "支付成功，数字人民币收款八点八元"],
    [{ type: "paid", amountFen: 880, scheme: null }, "支付成功，收款八点八元"],
    [{ type: "confirmOnPhone" }, "请顾客在手机上确认"],
    [{ type: "failed" }, "支付失败，请重新扫码"],
    [{ type: "unreadableCode" }, "付款码无法识别，请重新扫码"],
    [{ type: "unknown" }, "支付结果未知，请勿重复收款"],
    [{ type: "cancelled" }, "交易已取消"],
    [{ type: "waitForCashier" }, "请等待收银员"],
    [{ type: "totalChanged", amountFen: 1500 }, "金额已变更，十五元，请重新扫码"],
    [{ type: "totalChanged", amountFen: null }, "金额已变更，请重新扫码"],
    [{ type: "paid", amountFen: 1250, scheme: "WECHAT", training: true }, "培训模式，未实际扣款，十二点五元"],
    [{ type: "scanPlease", amountFen: 100, training: true }, "培训模式，请扫码，一元"],
  ])("%o → %s", (prompt, text) => {
    const spoken = composeVoice(prompt);
    expect(spoken.text).toBe(text);
    expect(spoken.clips.join("")).toBe(text.replaceAll("，", ""));
  });

  it("a clip player needs only VOICE_CLIPS, and no prompt holds a digit (a code cannot be spoken)", () => {
    const amounts = [0, 5, 1250, 134_567_890_123, 999_999_999_999];
    const prompts: VoicePrompt[] = [
      ...amounts.map((amountFen) => ({ type: "scanPlease", amountFen }) as const),
      ...amounts.flatMap((amountFen) =>
        [...SCHEMES, null].map((scheme) => ({ type: "paid", amountFen, scheme }) as const),
      ),
      ...amounts.map((amountFen) => ({ type: "totalChanged", amountFen }) as const),
      { type: "confirmOnPhone" },
      { type: "failed" },
      { type: "unreadableCode" },
      { type: "unknown" },
      { type: "cancelled" },
      { type: "waitForCashier" },
    ];
    for (const prompt of [...prompts, ...prompts.map((p) => ({ ...p, training: true }))]) {
      const { text, clips } = composeVoice(prompt);
      expect(text).not.toMatch(/[0-9０-９]/);
      for (const clip of clips) expect(VOICE_CLIPS).toContain(clip);
    }
  });

  it("a training sale never says 支付成功", () => {
    for (const scheme of SCHEMES) {
      expect(composeVoice({ type: "paid", amountFen: 1, scheme, training: true }).text).not.toContain(
        "支付成功",
      );
    }
  });
});

describe("voiceForView", () => {
  it.each<[DisplayView, string | null]>([
    [{ type: "idle" }, null],
    [{ type: "processing", amountFen: 1250 }, null],
    [{ type: "text", lines: ["a", "b"] }, null],
    [{ type: "amountDue", amountFen: 1250 }, "请扫码，十二点五元"],
    [{ type: "confirmOnPhone", amountFen: 1250 }, "请顾客在手机上确认"],
    [{ type: "rescan", amountFen: 1250, reason: "declined" }, "支付失败，请重新扫码"],
    [{ type: "rescan", amountFen: 1250, reason: "funds" }, "支付失败，请重新扫码"],
    [{ type: "rescan", amountFen: 1250, reason: "expired" }, "支付失败，请重新扫码"],
    [{ type: "rescan", amountFen: 1250, reason: "invalidCode" }, "付款码无法识别，请重新扫码"],
    [{ type: "rescan", amountFen: 1250, reason: "notPayment" }, "付款码无法识别，请重新扫码"],
    [{ type: "paid", amountFen: 1250 }, "支付成功，支付宝收款十二点五元"],
    [{ type: "paid", amountFen: 1250, training: true }, "培训模式，未实际扣款，十二点五元"],
    [{ type: "cancelled", amountFen: 1250 }, "交易已取消"],
    [{ type: "unknown", amountFen: 1250 }, "支付结果未知，请勿重复收款"],
    [{ type: "waitForCashier" }, "请等待收银员"],
  ])("%o → %s", (view, text) => {
    const prompt = voiceForView(view, "ALIPAY");
    expect(prompt === null ? null : composeVoice(prompt).text).toBe(text);
  });
});
