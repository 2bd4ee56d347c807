// The conformance tool's reading of the register's bytes (`line` profile): lines as the bridge's
// LineFramer cuts them (LF ends a line, a CR before it is dropped, empty lines skipped, longer
// than 256 bytes refused), keeping the bytes for reports.
import { DEFAULT_MAX_LINE_LENGTH } from "../pos/line-codec.js";

export type LineEvent =
  | { type: "line"; bytes: Uint8Array }
  | { type: "overlong"; bytes: Uint8Array; length: number }
  /** The line went quiet with a line unterminated (no LF). */
  | { type: "unterminated"; bytes: Uint8Array };

const LF = 0x0a;
const CR = 0x0d;
const KEPT = DEFAULT_MAX_LINE_LENGTH + 1;

export class LineSegmenter {
  private buffer: number[] = [];
  private length = 0;

  get pending(): boolean {
    return this.length > 0;
  }

  push(bytes: Uint8Array): LineEvent[] {
    const out: LineEvent[] = [];
    for (const byte of bytes) {
      if (byte !== LF) {
        if (this.buffer.length < KEPT) this.buffer.push(byte);
        this.length++;
        continue;
      }
      const cr = this.buffer[this.buffer.length - 1] === CR && this.length <= KEPT ? 1 : 0;
      const length = this.length - cr;
      const line = Uint8Array.from(this.buffer.slice(0, Math.min(length, KEPT)));
      this.buffer = [];
      this.length = 0;
      if (length > DEFAULT_MAX_LINE_LENGTH) out.push({ type: "overlong", bytes: line, length });
      else if (length > 0) out.push({ type: "line", bytes: line });
    }
    return out;
  }

  flush(): LineEvent[] {
    if (this.length === 0) return [];
    const bytes = Uint8Array.from(this.buffer);
    this.buffer = [];
    this.length = 0;
    return [{ type: "unterminated", bytes }];
  }
}
