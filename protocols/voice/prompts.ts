// What the lane says out loud (语音播报), scanbox-anchors.md §2.2: a second rendering of the
// DisplayView the sale machine already emits, plus the display tap's "the total changed" prompt.
// The player (daemon half) speaks `text` through TTS or plays `clips` one after another, as
// Yilianyun's numbered clips do; every clip is in VOICE_CLIPS, so a clip player needs exactly
// that set of recordings.
//
// A payment code is never spoken: no prompt carries one (the types have no field for it), amounts
// are read as Chinese numerals (十二点五元, never digits), and composeVoice refuses anything
// outside the fixed phrases. Success is said only for a final PAID view; a training sale never
// says 支付成功 (no money moved).
import type { DisplayView } from "../display/display-view.js";
import type { Scheme } from "../payment/scheme.js";
import { chineseYuan } from "./chinese-amount.js";

export type VoicePrompt =
  /** A total is due: 请扫码，十二点五元. */
  (
    | { type: "scanPlease"; amountFen: number }
    /** 支付成功，微信收款十二点五元 (scheme null: 支付成功，收款十二点五元). */
    | { type: "paid"; amountFen: number; scheme: Scheme | null }
    | { type: "confirmOnPhone" }
    /** Declined, expired code, low balance: 支付失败，请重新扫码. */
    | { type: "failed" }
    /** An unreadable code or not a payment code: nothing was attempted. */
    | { type: "unreadableCode" }
    | { type: "unknown" }
    | { type: "cancelled" }
    | { type: "waitForCashier" }
    /** Display tap: the total changed between the scan and the request; nothing was sent. */
    | { type: "totalChanged"; amountFen: number | null }
  ) & {
    /** A training sale (posbridge test sale): said as such, and never 支付成功. */
    training?: boolean;
  };

export interface Utterance {
  /** For a TTS engine: the phrases joined with "，". */
  text: string;
  /** For a clip player: fixed phrases and single numerals, in order, each one of VOICE_CLIPS. */
  clips: string[];
}

export const SCHEME_NAME: Readonly<Record<Scheme, string>> = {
  WECHAT: "微信",
  ALIPAY: "支付宝",
  UNIONPAY: "银联",
  ECNY: "数字人民币",
};

const PHRASES = [
  "请扫码",
  "支付成功",
  "收款",
  "请顾客在手机上确认",
  "支付失败",
  "请重新扫码",
  "付款码无法识别",
  "支付结果未知",
  "请勿重复收款",
  "交易已取消",
  "请等待收银员",
  "金额已变更",
  "培训模式",
  "未实际扣款",
] as const;

const NUMERALS = [
  "零",
  "一",
  "二",
  "三",
  "四",
  "五",
  "六",
  "七",
  "八",
  "九",
  "十",
  "百",
  "千",
  "万",
  "亿",
  "点",
  "元",
];

/** Every clip composeVoice can produce. */
export const VOICE_CLIPS: readonly string[] = [...PHRASES, ...Object.values(SCHEME_NAME), ...NUMERALS];

type Phrase = (typeof PHRASES)[number];

/** The words for one prompt. Throws RangeError for an amount that is not a safe integer >= 0. */
export function composeVoice(prompt: VoicePrompt): Utterance {
  const groups = phrases(prompt);
  if (prompt.training) {
    groups.unshift(["培训模式"]);
  }
  return { text: groups.map((g) => g.join("")).join("，"), clips: groups.flatMap(splitClips) };
}

function phrases(prompt: VoicePrompt): string[][] {
  switch (prompt.type) {
    case "scanPlease":
      return [["请扫码"], [chineseYuan(prompt.amountFen)]];
    case "paid":
      // A training sale moved no money: it must not sound like one that did.
      if (prompt.training) return [["未实际扣款"], [chineseYuan(prompt.amountFen)]];
      return [
        ["支付成功"],
        [
          ...(prompt.scheme === null ? [] : [SCHEME_NAME[prompt.scheme]]),
          "收款",
          chineseYuan(prompt.amountFen),
        ],
      ];
    case "confirmOnPhone":
      return [["请顾客在手机上确认"]];
    case "failed":
      return [["支付失败"], ["请重新扫码"]];
    case "unreadableCode":
      return [["付款码无法识别"], ["请重新扫码"]];
    case "unknown":
      return [["支付结果未知"], ["请勿重复收款"]];
    case "cancelled":
      return [["交易已取消"]];
    case "waitForCashier":
      return [["请等待收银员"]];
    case "totalChanged":
      return prompt.amountFen === null
        ? [["金额已变更"], ["请重新扫码"]]
        : [["金额已变更"], [chineseYuan(prompt.amountFen)], ["请重新扫码"]];
  }
}

/** A group's words as clips: fixed phrases whole, amounts numeral by numeral. */
function splitClips(group: string[]): string[] {
  return group.flatMap((word) =>
    (PHRASES as readonly string[]).includes(word) || Object.values(SCHEME_NAME).includes(word)
      ? [word as Phrase]
      : [...word],
  );
}

/**
 * The prompt for a view the sale machine shows, or null when the lane stays quiet (idle, in
 * progress, a test text). `scheme` is the sale's scheme, known to the runner from the result (the
 * view does not carry it).
 */
export function voiceForView(view: DisplayView, scheme: Scheme | null): VoicePrompt | null {
  const training = view.training === true ? { training: true } : {};
  switch (view.type) {
    case "idle":
    case "processing":
    case "text":
      return null;
    case "waitForCashier":
      return { type: "waitForCashier", ...training };
    case "amountDue":
      return { type: "scanPlease", amountFen: view.amountFen, ...training };
    case "confirmOnPhone":
      return { type: "confirmOnPhone", ...training };
    case "rescan":
      return view.reason === "invalidCode" || view.reason === "notPayment"
        ? { type: "unreadableCode", ...training }
        : { type: "failed", ...training };
    case "paid":
      return { type: "paid", amountFen: view.amountFen, scheme, ...training };
    case "cancelled":
      return { type: "cancelled", ...training };
    case "unknown":
      return { type: "unknown", ...training };
  }
}
