// The only way a payment code becomes loggable or displayable (payment-domain.md §7 rule 18:
// "UI may show at most scheme + last 4 digits"). Short reads show no digits at all, because the
// last four of a 5-digit string are nearly the whole string.
import type { Scheme } from "./scheme.js";

const SHOWN_DIGITS = 4;
const MIN_LENGTH_TO_SHOW_DIGITS = 8;
// Runs of ASCII or full-width digits: a code typed through an IME arrives full-width.
const LONG_DIGIT_RUN = /[0-9０-９]{8,}/g;

/** "WECHAT…6789"; "code…6789" without a scheme; "WECHAT…" when the code is under 8 characters. */
export function maskCode(code: string, scheme?: Scheme | null): string {
  const label = scheme ?? "code";
  // Trim the terminator/spaces a raw read may still carry, so "…6789\r" still shows its digits.
  const trimmed = code.trim();
  if (trimmed.length < MIN_LENGTH_TO_SHOW_DIGITS) return `${label}…`;
  const tail = trimmed.slice(-SHOWN_DIGITS);
  // Only digits are shown: the tail of a non-digit read (text, URL) could be anything.
  return /^[0-9]+$/.test(tail) ? `${label}…${tail}` : `${label}…`;
}

/**
 * Belt and braces for free-text log messages: every run of 8 or more digits becomes "…" + its
 * last 4. Also hits long numbers that are not codes (timestamps, attempt ids with a date); that
 * is the price of never printing a code that slipped into a message.
 */
export function maskDigitsInText(text: string): string {
  return text.replace(LONG_DIGIT_RUN, (run) => `…${run.slice(-SHOWN_DIGITS)}`);
}
