// The text form of a display-line capture, for `posbridge display decode`, the test fixtures and
// a technician who types a vendor's hex dump into a file:
//
//   # comment to the end of the line
//   @0     1b 73 32 1b 51 41 "12.50" 0d      bytes as hex pairs and "quoted ASCII"
//   @1500  1b 73 33                          @ms: when these bytes arrived (ms from the start)
//          1b 51 41 "20.00" 0d               no @: the same time as the line before
//
// Times must not go backwards. A capture with no @ at all has no timing: every byte at 0 ms.
// Quoted text is printable ASCII without '"' (use hex for anything else, GB2312 included).
import { fromUtf8 } from "../core/bytes.js";

export interface CaptureChunk {
  atMs: number;
  bytes: Uint8Array;
}

export type ParsedCapture =
  | { ok: true; chunks: CaptureChunk[]; timed: boolean }
  | { ok: false; line: number; message: string };

const TOKEN = /@(\d+)|"([^"]*)"|([0-9A-Fa-f]{2})|(\S+)/g;

export function parseCapture(text: string): ParsedCapture {
  const chunks: CaptureChunk[] = [];
  let atMs = 0;
  let timed = false;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).replace(/#.*$/, "");
    const bytes: number[] = [];
    for (const m of line.matchAll(TOKEN)) {
      const [, time, quoted, hex, other] = m;
      if (time !== undefined) {
        if (bytes.length > 0) return fail(n, "@ms must come before the line's bytes");
        const t = Number(time);
        if (!Number.isSafeInteger(t) || t < atMs)
          return fail(n, `time @${time} goes backwards (last @${atMs})`);
        atMs = t;
        timed = true;
      } else if (quoted !== undefined) {
        for (const ch of quoted) {
          const c = ch.charCodeAt(0);
          if (c < 0x20 || c > 0x7e)
            return fail(n, "quoted text must be printable ASCII; write other bytes as hex");
          bytes.push(c);
        }
      } else if (hex !== undefined) {
        bytes.push(Number.parseInt(hex, 16));
      } else {
        const shown = (other as string).slice(0, 16);
        return fail(n, `'${shown}' is not a hex byte, "text" or @ms`);
      }
    }
    if (bytes.length > 0) chunks.push({ atMs, bytes: Uint8Array.from(bytes) });
  }
  return { ok: true, chunks, timed };
}

function fail(index: number, message: string): ParsedCapture {
  return { ok: false, line: index + 1, message };
}

/**
 * Whether raw file bytes look like the text form: valid UTF-8 (comments may be in any language)
 * with no control byte but tab, CR and LF. A display line's own bytes always hold some other
 * control byte (ESC, FF, US), so a binary capture never passes for text.
 */
export function looksLikeCaptureText(bytes: Uint8Array): boolean {
  if (!bytes.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || b >= 0x20)) return false;
  return fromUtf8(bytes) !== undefined;
}
