// Payment-code classifier (payment-domain.md §1.1 and §7 rules 1–4, 18). Classification is
// advisory: the channel is the authority. Locally it only catches obviously wrong input (product
// barcodes, merchant QR URLs, garbled reads) so the cashier is asked to rescan before anything
// is sent. Codes stay strings end to end: Number() loses digits past 16 and drops the leading 0
// of e-CNY codes (payment-domain.md §1.3), so nothing here ever converts one.
//
// Reason strings reach logs and the register, so they describe the input (length, first two
// digits of long reads) and never contain the input itself (rule 18).
import { SCHEMES, type Scheme, type SchemeRule } from "./scheme.js";

export type NotPaymentKind = "ean13" | "ean8" | "upc" | "url" | "text";
/** Why a read is no code at all: the cashier's text is chosen by it (sale-texts.ts CASHIER_REASON). */
export type InvalidKind = "empty" | "fullWidth" | "spaces" | "aim" | "control" | "noScheme";

/**
 * `reason` is English for logs and technicians; the register's text is made from `kind` and
 * `length` in the register's language (protocols/sale/sale-texts.ts), never from `reason`.
 */
export type CodeClass =
  | { type: "payment"; scheme: Scheme; code: string }
  | { type: "notPayment"; kind: NotPaymentKind; length: number; reason: string }
  | { type: "invalid"; kind: InvalidKind; length: number; reason: string };

const WECHAT_PREFIXES = ["10", "11", "12", "13", "14", "15"] as const;
const ALIPAY_PREFIXES = ["25", "26", "27", "28", "29", "30"] as const;

/** payment-domain.md §7 rule 3. ECNY is provisional (UNVERIFIED source) but in the default table. */
export const DEFAULT_SCHEME_RULES: readonly SchemeRule[] = Object.freeze([
  Object.freeze({ scheme: "WECHAT", minLength: 18, maxLength: 18, prefixes: WECHAT_PREFIXES }),
  Object.freeze({ scheme: "ALIPAY", minLength: 16, maxLength: 24, prefixes: ALIPAY_PREFIXES }),
  Object.freeze({ scheme: "UNIONPAY", minLength: 19, maxLength: 19, prefixes: ["62"] as const }),
  Object.freeze({ scheme: "ECNY", minLength: 19, maxLength: 19, prefixes: ["01"] as const }),
]);

// Channels allow auth_code up to String(128) (WeChat); anything longer is not a code.
const MAX_RULE_LENGTH = 128;
// Below this length a two-digit prefix would reveal most of the read, so reasons omit it.
const MIN_LENGTH_TO_NAME_PREFIX = 8;

const ASCII_DIGITS = /^[0-9]+$/;
const URL_START = /^https?:\/\//i;
// Any decimal digit that is not ASCII: full-width ０-９ from an IME/keyboard-wedge, Arabic-Indic, …
const NON_ASCII_DIGIT = /(?![0-9])\p{Nd}/u;
const AIM_ID_THEN_DIGITS = /^\][A-Za-z][0-9A-Za-z][0-9]+$/;
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;

/**
 * Rule 2: drop only a trailing terminator (CR, LF, TAB) and leading/trailing ASCII spaces.
 * Other whitespace (internal spaces, NBSP, ideographic space) is left for the classifier to
 * reject, because silently repairing a garbled read could submit the wrong code.
 */
export function normaliseCode(raw: string): string {
  return raw.replace(/[\r\n\t ]+$/, "").replace(/^ +/, "");
}

export function classifyCode(raw: string, rules: readonly SchemeRule[] = DEFAULT_SCHEME_RULES): CodeClass {
  const code = normaliseCode(raw);
  if (code.length === 0) return { type: "invalid", kind: "empty", length: 0, reason: "empty read" };

  if (ASCII_DIGITS.test(code)) {
    // The table is checked for ambiguity by validateSchemeRules, so the first match is the only one.
    for (const rule of rules) {
      if (matchesRule(code, rule)) return { type: "payment", scheme: rule.scheme, code };
    }
    return classifyUnmatchedDigits(code);
  }

  if (URL_START.test(code)) {
    return {
      type: "notPayment",
      kind: "url",
      length: code.length,
      reason: "web address (merchant or app QR code), not a payment code",
    };
  }
  if (NON_ASCII_DIGIT.test(code)) {
    return {
      type: "invalid",
      kind: "fullWidth",
      length: code.length,
      reason:
        "full-width or non-ASCII digits (check the scanner's keyboard/IME setting), payment code unreadable",
    };
  }
  if (/^[0-9 ]+$/.test(code)) {
    return {
      type: "invalid",
      kind: "spaces",
      length: code.length,
      reason: `${code.length} characters with spaces inside the digits, payment code unreadable`,
    };
  }
  if (AIM_ID_THEN_DIGITS.test(code)) {
    return {
      type: "invalid",
      kind: "aim",
      length: code.length,
      reason:
        "digits behind an AIM symbology identifier (configure the scanner without AIM ids), payment code unreadable",
    };
  }
  if (CONTROL_CHAR.test(code)) {
    return {
      type: "invalid",
      kind: "control",
      length: code.length,
      reason: `${code.length} characters with control characters inside, payment code unreadable`,
    };
  }
  return {
    type: "notPayment",
    kind: "text",
    length: code.length,
    reason: `${code.length} characters of text, not a payment code`,
  };
}

function matchesRule(code: string, rule: SchemeRule): boolean {
  if (code.length < rule.minLength || code.length > rule.maxLength) return false;
  return rule.prefixes.some((p) => code.startsWith(p));
}

function classifyUnmatchedDigits(code: string): CodeClass {
  // Product barcodes carry a GS1 check digit; a digit string of the same length that fails it is
  // more likely a truncated or misread payment code, so it is "unreadable", not "product".
  if (code.length === 13 && hasGs1CheckDigit(code)) {
    return {
      type: "notPayment",
      kind: "ean13",
      length: 13,
      reason: "13-digit product barcode (EAN-13), not a payment code",
    };
  }
  if (code.length === 12 && hasGs1CheckDigit(code)) {
    return {
      type: "notPayment",
      kind: "upc",
      length: 12,
      reason: "12-digit product barcode (UPC-A), not a payment code",
    };
  }
  if (code.length === 8 && hasGs1CheckDigit(code)) {
    return {
      type: "notPayment",
      kind: "ean8",
      length: 8,
      reason: "8-digit product barcode (EAN-8), not a payment code",
    };
  }
  const digits = code.length === 1 ? "1 digit" : `${code.length} digits`;
  const starting = code.length >= MIN_LENGTH_TO_NAME_PREFIX ? ` starting ${code.slice(0, 2)}` : "";
  return {
    type: "invalid",
    kind: "noScheme",
    length: code.length,
    reason: `${digits}${starting} match no payment scheme`,
  };
}

/** GS1 mod-10: weights 3,1,3,… from the digit left of the check digit (EAN-8, UPC-A, EAN-13). */
export function hasGs1CheckDigit(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += (digits.charCodeAt(i) - 0x30) * weight;
  }
  return (10 - (sum % 10)) % 10 === digits.charCodeAt(digits.length - 1) - 0x30;
}

/**
 * Error text for a classifier table that must not be used, or undefined when it is fine. An
 * ambiguous table (a code matching rules of two schemes) is an error rather than "first wins",
 * since the order of a YAML list is an easy thing to get wrong.
 */
export function validateSchemeRules(rules: readonly SchemeRule[]): string | undefined {
  if (rules.length === 0) return "the scheme table is empty, so no code could ever be accepted";
  for (const [i, rule] of rules.entries()) {
    const at = `schemes[${i}]`;
    if (!SCHEMES.includes(rule.scheme)) return `${at}: unknown scheme ${JSON.stringify(rule.scheme)}`;
    const { minLength, maxLength, prefixes } = rule;
    if (!Number.isInteger(minLength) || minLength < 1 || minLength > MAX_RULE_LENGTH) {
      return `${at} (${rule.scheme}): minLength must be an integer 1..${MAX_RULE_LENGTH}`;
    }
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_RULE_LENGTH) {
      return `${at} (${rule.scheme}): maxLength must be an integer 1..${MAX_RULE_LENGTH}`;
    }
    if (minLength > maxLength)
      return `${at} (${rule.scheme}): minLength ${minLength} > maxLength ${maxLength}`;
    if (prefixes.length === 0) return `${at} (${rule.scheme}): prefixes is empty`;
    for (const p of prefixes) {
      if (!ASCII_DIGITS.test(p))
        return `${at} (${rule.scheme}): prefix ${JSON.stringify(p)} is not ASCII digits`;
      if (p.length > minLength) {
        return `${at} (${rule.scheme}): prefix ${JSON.stringify(p)} is longer than minLength ${minLength}`;
      }
    }
  }
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i] as SchemeRule;
      const b = rules[j] as SchemeRule;
      // Two rows of the same scheme may overlap: whichever matches, the answer is the same.
      if (a.scheme === b.scheme) continue;
      if (a.maxLength < b.minLength || b.maxLength < a.minLength) continue;
      for (const pa of a.prefixes) {
        for (const pb of b.prefixes) {
          if (pa.startsWith(pb) || pb.startsWith(pa)) {
            return (
              `schemes[${i}] (${a.scheme}) and schemes[${j}] (${b.scheme}) overlap: prefixes ` +
              `${JSON.stringify(pa)}/${JSON.stringify(pb)} with lengths ${Math.max(a.minLength, b.minLength)}..` +
              `${Math.min(a.maxLength, b.maxLength)} would match both`
            );
          }
        }
      }
    }
  }
  return undefined;
}
