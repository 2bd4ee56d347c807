// One journal line: `<crc32 of the JSON's UTF-8 bytes, 8 lowercase hex>\t<JSON>\n`.
// Encoding, splitting a file's bytes into lines (and a torn tail), and verifying one line.
// Knows nothing about record shapes (record-shape.ts) or files (journal.ts).
import { crc32Hex } from "../../protocols/core/crc32.js";

const NEWLINE = 0x0a;
const TAB = 0x09;
const CRC_DIGITS = 8;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes of one line for `value` (a JSON-serialisable object), newline included. */
export function encodeLine(value: object): Buffer {
  const json = Buffer.from(JSON.stringify(value), "utf8");
  const line = Buffer.allocUnsafe(CRC_DIGITS + 1 + json.length + 1);
  line.write(crc32Hex(json), 0, "latin1");
  line[CRC_DIGITS] = TAB;
  json.copy(line, CRC_DIGITS + 1);
  line[line.length - 1] = NEWLINE;
  return line;
}

/** A byte range `[start, end)` of the file; for a complete line `end` is just past its newline. */
export interface LineSpan {
  start: number;
  end: number;
}

export interface SplitLines {
  /** Every newline-terminated line, in file order. */
  lines: LineSpan[];
  /** Bytes after the last newline (a write cut short), or null. */
  tornTail: LineSpan | null;
}

export function splitLines(bytes: Uint8Array): SplitLines {
  const lines: LineSpan[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(NEWLINE, start);
    if (nl < 0) break;
    lines.push({ start, end: nl + 1 });
    start = nl + 1;
  }
  return { lines, tornTail: start < bytes.length ? { start, end: bytes.length } : null };
}

export type DecodedLine = { ok: true; value: unknown } | { ok: false };

/** Verifies the CRC of a complete line and parses its JSON; `{ ok: false }` when either fails. */
export function decodeLine(bytes: Uint8Array, span: LineSpan): DecodedLine {
  const jsonStart = span.start + CRC_DIGITS + 1;
  const jsonEnd = span.end - 1;
  if (jsonEnd <= jsonStart || bytes[span.start + CRC_DIGITS] !== TAB) return { ok: false };
  for (let i = span.start; i < span.start + CRC_DIGITS; i++) {
    const b = bytes[i] as number;
    const hex = (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);
    if (!hex) return { ok: false };
  }
  const crc = Buffer.from(bytes.buffer, bytes.byteOffset + span.start, CRC_DIGITS).toString("latin1");
  if (crc !== crc32Hex(bytes, jsonStart, jsonEnd)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(utf8.decode(bytes.subarray(jsonStart, jsonEnd))) };
  } catch {
    return { ok: false };
  }
}
