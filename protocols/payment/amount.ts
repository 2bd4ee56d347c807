// Amounts in fen (1/100 yuan) as decimal digits ⇄ integers. Never through floating point
// (shared/spec/terminal-protocol.md, "DATA": 1–12 digits, no sign, no leading zero, > 0, ≤ maximum).

/** At most 12 digits: 999 999 999 999 < 2^53, so Number() of the validated text is exact. */
export const MAX_AMOUNT_DIGITS = 12;

export type AmountErrorCode =
  | "empty"
  | "sign"
  | "decimalPoint"
  | "notDigits"
  | "zero"
  | "leadingZero"
  | "tooLong"
  | "tooLarge";

export type AmountParseResult =
  | { ok: true; value: number }
  | { ok: false; code: AmountErrorCode; message: string };

function fail(code: AmountErrorCode, message: string): AmountParseResult {
  return { ok: false, code, message };
}

/**
 * Parses an amountFen field. The text is checked character by character before Number() sees it,
 * so "1e3", " 12", "0x10" and "12.0" are all refused rather than coerced. `maxFen` is the
 * configured per-sale maximum and must be a positive safe integer (TypeError otherwise).
 */
export function parseAmountFen(text: string, maxFen: number): AmountParseResult {
  if (!Number.isSafeInteger(maxFen) || maxFen < 1) {
    throw new TypeError(`maxFen must be a positive safe integer, got ${maxFen}`);
  }
  if (text.length === 0) return fail("empty", "amount is empty");
  if (/^[+-]/.test(text)) return fail("sign", "amount must not carry a sign; send digits only");
  if (/^\d*[.,]\d*$/.test(text)) {
    return fail(
      "decimalPoint",
      "amount has a decimal point; amount is in fen, integer only (12.34 yuan = 1234)",
    );
  }
  if (!/^\d+$/.test(text)) return fail("notDigits", "amount must be decimal digits 0-9 only");
  if (/^0+$/.test(text)) return fail("zero", "amount must be greater than 0");
  if (text.startsWith("0")) return fail("leadingZero", "amount must not start with 0");
  if (text.length > MAX_AMOUNT_DIGITS) {
    return fail("tooLong", `amount has ${text.length} digits; at most ${MAX_AMOUNT_DIGITS} allowed`);
  }
  const value = Number(text);
  if (value > maxFen) {
    return fail("tooLarge", `amount ${formatYuan(value)} exceeds the maximum of ${formatYuan(maxFen)} yuan`);
  }
  return { ok: true, value };
}

/**
 * Fen → "12.34". Integer arithmetic only: `fen % 100` is exact for safe integers, and
 * (fen - rest) / 100 divides a multiple of 100 exactly, where Math.floor(fen / 100) could round.
 */
export function formatYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be a safe integer, got ${fen}`);
  const abs = Math.abs(fen);
  const rest = abs % 100;
  const yuan = (abs - rest) / 100;
  return `${fen < 0 ? "-" : ""}${yuan}.${rest.toString().padStart(2, "0")}`;
}
