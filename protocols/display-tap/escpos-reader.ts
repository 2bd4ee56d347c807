// Reads what a register sends an Epson ESC/POS customer display (DM-D style; the Wintec CD320
// and "VFD220" drivers), scanbox-anchors.md §2.1.2 and device-protocols.md §2.2. The encoder for
// the same display is protocols/display/escpos-display.ts.
//
// ESC/POS has no "write line N": text is written at the cursor, which the register places with
//   1F 24 x y            cursor to column x, row y (1-based)
//   0B / 0D / 0A / 08 / 09   home / row start / down / left / right
//   1F 0A / 1F 0D / 1F 42    up / row end / bottom row
//   0C / 18 / 1B 40      clear all / clear the cursor's row / initialise
//   1F 55                show the built-in clock (the text is gone: read as a clear)
//   1F 01 / 1F 02 / 1F 03  overwrite / vertical / horizontal scroll mode
//   1F 43 n, 1F 45 n, 1F 58 n, 1F 72 n, 1F 76 n, 1F 54 h m, 1B 3D n, 1B 74 n, 1B 52 n, 1B 25 n,
//   1B 3F n, 1B 26 …, 1C 26, 1C 2E   no visible change (cursor, blink, brightness, reverse, DTR,
//                        clock set, code tables, user characters, FS Chinese mode on/off)
// The Wintec CD320 driver sends all of it one byte every 15 ms, with no terminator after the
// text: a run of text is one update, ended by the next command or by the line going idle
// (display-reader.ts).
import { cursorControl, textRun } from "./cd5220-reader.js";
import {
  DisplayReader,
  type DisplayReaderOptions,
  type Grammar,
  readerSettings,
  type Step,
} from "./display-reader.js";
import { command, ESC, inert, junk, MAX_USER_CHARS_BYTES, readUserChars } from "./grammar-parts.js";

export interface EscPosReaderOptions extends DisplayReaderOptions {
  /** Rows, 1..4. Default 2. */
  rows?: number;
  /** Columns, 8..40. Default 20. */
  columns?: number;
}

const US = 0x1f;
const FS = 0x1c;

const US_INERT_3 = new Set([0x43, 0x45, 0x58, 0x72, 0x76]);
const ESC_INERT_3 = new Set([0x3d, 0x74, 0x52, 0x25, 0x3f]);

export class EscPosReader extends DisplayReader {
  constructor(options: EscPosReaderOptions = {}) {
    const { rows = 2, columns = 20 } = options;
    if (!Number.isInteger(rows) || rows < 1 || rows > 4) {
      throw new TypeError(`rows must be an integer 1..4, got ${String(rows)}`);
    }
    if (!Number.isInteger(columns) || columns < 8 || columns > 40) {
      throw new TypeError(`columns must be an integer 8..40, got ${String(columns)}`);
    }
    const settings = readerSettings(options);
    super(escPosGrammar(rows, columns), settings);
  }
}

export function escPosGrammar(rows: number, columns: number): Grammar {
  return {
    rows,
    columns,
    initialLamp: null,
    maxCommandBytes: MAX_USER_CHARS_BYTES,
    read(bytes, at, end): Step {
      const b = bytes[at] as number;
      if (b === US) {
        if (end - at < 2) return { kind: "need" };
        const op = bytes[at + 1] as number;
        switch (op) {
          case 0x24: {
            if (end - at < 4) return { kind: "need" };
            const x = bytes[at + 2] as number;
            const y = bytes[at + 3] as number;
            if (x < 1 || x > columns || y < 1 || y > rows) return junk(4, "unknownCommand");
            return command(4, null, (s) => s.grid.moveTo(x - 1, y - 1));
          }
          case 0x01:
          case 0x03:
            return command(2, null, (s) => s.grid.setMode("overwrite"));
          case 0x02:
            return command(2, null, (s) => s.grid.setMode("vertical"));
          case 0x0a:
            return command(2, null, (s) => s.grid.up());
          case 0x0d:
            return command(2, null, (s) => s.grid.rowEnd());
          case 0x42:
            return command(2, null, (s) => s.grid.bottom());
          case 0x55:
            return command(2, "clear", (s) => s.grid.clear());
          case 0x54:
            return end - at < 4 ? { kind: "need" } : inert(4);
          default:
            if (US_INERT_3.has(op)) return end - at < 3 ? { kind: "need" } : inert(3);
            return junk(2, "unknownCommand");
        }
      }
      if (b === ESC) {
        if (end - at < 2) return { kind: "need" };
        const op = bytes[at + 1] as number;
        if (op === 0x40) return command(2, "clear", (s) => s.grid.clear());
        if (op === 0x26) return readUserChars(bytes, at, end);
        if (ESC_INERT_3.has(op)) return end - at < 3 ? { kind: "need" } : inert(3);
        return junk(2, "unknownCommand");
      }
      if (b === FS) {
        if (end - at < 2) return { kind: "need" };
        const op = bytes[at + 1] as number;
        return op === 0x26 || op === 0x2e ? inert(2) : junk(2, "unknownCommand");
      }
      return cursorControl(b) ?? textRun(bytes, at, end);
    },
  };
}
