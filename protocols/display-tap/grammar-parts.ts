// Pieces more than one display grammar reads the same way.
import type { Step } from "./display-reader.js";
import type { ScreenChange } from "./screen-event.js";

export const ESC = 0x1b;
export const CR = 0x0d;

/** A command of `length` bytes that changes nothing anyone reads (brightness, cursor shape, …). */
export function inert(length: number): Step {
  return { kind: "command", length, change: null, apply: () => {} };
}

type Junk = Extract<Step, { kind: "junk" }>;

export function command(
  length: number,
  change: ScreenChange | null,
  apply: Extract<Step, { kind: "command" }>["apply"],
): Step {
  return { kind: "command", length, change, apply };
}

export function junk(
  length: number,
  reason: "noise" | "unknownCommand" | "malformed",
  skipLine = false,
): Junk {
  return skipLine ? { kind: "junk", length, reason, skipLine } : { kind: "junk", length, reason };
}

/**
 * A byte a display draws: printable ASCII, or a byte of a GB2312/GB18030 character (0x80–0xFF;
 * GB18030's four-byte forms also use 0x30–0x39, which are ASCII digits anyway).
 */
export function isTextByte(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b >= 0x80;
}

export type LineWrite =
  | { kind: "need" }
  /** The text is bytes[textFrom, textTo); the command, CR included, is `length` bytes long. */
  | { kind: "line"; textFrom: number; textTo: number; length: number }
  | Junk;

/**
 * `ESC Q x text CR` (CD5220 line write, and the LED number frame): the text runs to the CR. An ESC
 * before the CR means the line was cut short by the next command (malformed: dropped up to that
 * ESC, which is read again); text longer than `maxLineBytes` is dropped together with the rest of
 * the line up to its CR (overflow), so its tail is never read as text or lamp codes.
 */
export function readLineWrite(bytes: Uint8Array, at: number, end: number, maxLineBytes: number): LineWrite {
  const textFrom = at + 3;
  const limit = Math.min(end, textFrom + maxLineBytes + 1);
  for (let k = textFrom; k < limit; k++) {
    const b = bytes[k] as number;
    if (b === CR) return { kind: "line", textFrom, textTo: k, length: k + 1 - at };
    if (b === ESC) return junk(k - at, "malformed");
  }
  // maxLineBytes + 1 text bytes and no CR: too long. Dropped so far; the rest up to the CR is skipped.
  if (end > textFrom + maxLineBytes) {
    return { kind: "junk", length: textFrom + maxLineBytes + 1 - at, reason: "overflow", skipLine: true };
  }
  return { kind: "need" };
}

/** Bytes a `ESC & y c1 c2 …` user-defined character definition occupies, at most this many. */
export const MAX_USER_CHARS_BYTES = 5 + 96 * (1 + 5 * 2);

/**
 * `ESC & y c1 c2 [x d1…d(y·x)]…` (ESC/POS and CD5220 user-defined characters): y rows of bytes per
 * column (1 or 2 on displays), c1..c2 the character codes (0x20–0x7e), then per character its
 * width x (≤ 5 on 5×7 displays, 0 allowed) and y·x bytes of dots. Read only to skip it whole.
 */
export function readUserChars(bytes: Uint8Array, at: number, end: number): Step {
  if (end - at < 5) return { kind: "need" };
  const y = bytes[at + 2] as number;
  const c1 = bytes[at + 3] as number;
  const c2 = bytes[at + 4] as number;
  if (y < 1 || y > 2 || c1 < 0x20 || c2 > 0x7e || c1 > c2) return junk(2, "unknownCommand");
  let k = at + 5;
  for (let c = c1; c <= c2; c++) {
    if (k >= end) return { kind: "need" };
    const x = bytes[k] as number;
    if (x > 5) return junk(k - at, "malformed");
    k += 1 + y * x;
    if (k > end) return { kind: "need" };
  }
  return inert(k - at);
}
