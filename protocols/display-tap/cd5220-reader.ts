// Reads what a register sends a CD5220-style text display (2×20 VFD/LCD pole displays; the
// Hisense VG210A/VC110 javaPos drivers; 4-row Hisense LC415), scanbox-anchors.md §2.1.2 and
// device-protocols.md §2.1. The encoder for the same display is protocols/display/cd5220.ts.
//
//   1B 51 r text 0D      write row r whole: 2 rows: 'A' upper, 'B' lower, 'D' upper (scrolling);
//                        4 rows (`rows: 4`, LC415): '@' 'A' 'B' 'C' = rows 0–3
//   0C / 1B 40           clear / initialise
//   1B 6C x y            cursor to column x, row y (1-based binary, as lcdproc sends it)
//   text                 written at the cursor (lcdproc's way); BS HT LF HOM(0B) CR CAN(18) move
//                        the cursor / clear its row
//   1B 5F n, 1B 2A n, 1B 25 n, 1B 3D n, 1B 74 n, 1B 52 n, 1B 3F n, 1B 26 …   no visible change
//   1B 11 / 1B 12 / 1B 13  overwrite / vertical / horizontal scroll mode (CD5220 manual, unverified)
//
// There are no lamps: a total is recognised by its label (amount-text.ts: 合计, TOTAL …).
import {
  DisplayReader,
  type DisplayReaderOptions,
  type Grammar,
  readerSettings,
  type Step,
} from "./display-reader.js";
import {
  command,
  ESC,
  inert,
  isTextByte,
  junk,
  MAX_USER_CHARS_BYTES,
  readLineWrite,
  readUserChars,
} from "./grammar-parts.js";

export interface Cd5220ReaderOptions extends DisplayReaderOptions {
  /** 2 (CD5220, `ESC Q A`/`B`) or 4 (Hisense LC415, `ESC Q @`…`C`). Default 2. */
  rows?: 2 | 4;
  /** Columns for text written at the cursor, 8..40. Default 20. */
  columns?: number;
}

const ROWS_2: ReadonlyMap<number, number> = new Map([
  [0x41, 0],
  [0x42, 1],
  [0x44, 0],
]);
const ROWS_4: ReadonlyMap<number, number> = new Map([
  [0x40, 0],
  [0x41, 1],
  [0x42, 2],
  [0x43, 3],
]);

/** ESC + one parameter byte, nothing visible. */
const ESC_INERT_3 = new Set([0x5f, 0x2a, 0x25, 0x3d, 0x74, 0x52, 0x3f]);

export class Cd5220Reader extends DisplayReader {
  constructor(options: Cd5220ReaderOptions = {}) {
    const { rows = 2, columns = 20 } = options;
    if (rows !== 2 && rows !== 4) throw new TypeError(`rows must be 2 or 4, got ${String(rows)}`);
    if (!Number.isInteger(columns) || columns < 8 || columns > 40) {
      throw new TypeError(`columns must be an integer 8..40, got ${String(columns)}`);
    }
    const settings = readerSettings(options);
    super(cd5220Grammar(rows, columns, settings.maxLineBytes), settings);
  }
}

export function cd5220Grammar(rows: 2 | 4, columns: number, maxLineBytes: number): Grammar {
  const rowOf = rows === 2 ? ROWS_2 : ROWS_4;
  return {
    rows,
    columns,
    initialLamp: null,
    maxCommandBytes: Math.max(maxLineBytes + 4, MAX_USER_CHARS_BYTES),
    read(bytes, at, end): Step {
      const b = bytes[at] as number;
      if (b === ESC) {
        if (end - at < 2) return { kind: "need" };
        const op = bytes[at + 1] as number;
        if (op === 0x51) {
          if (end - at < 3) return { kind: "need" };
          const row = rowOf.get(bytes[at + 2] as number);
          if (row === undefined) return junk(3, "unknownCommand", true);
          const line = readLineWrite(bytes, at, end, maxLineBytes);
          if (line.kind !== "line") return line;
          const text = bytes.slice(line.textFrom, line.textTo);
          return command(line.length, "lines", (s) => s.grid.setRow(row, text));
        }
        if (op === 0x40) return command(2, "clear", (s) => s.grid.clear());
        if (op === 0x6c) {
          if (end - at < 4) return { kind: "need" };
          const x = bytes[at + 2] as number;
          const y = bytes[at + 3] as number;
          if (x < 1 || x > columns || y < 1 || y > rows) return junk(4, "unknownCommand");
          return command(4, null, (s) => s.grid.moveTo(x - 1, y - 1));
        }
        if (op === 0x11) return command(2, null, (s) => s.grid.setMode("overwrite"));
        if (op === 0x12) return command(2, null, (s) => s.grid.setMode("vertical"));
        if (op === 0x13) return command(2, null, (s) => s.grid.setMode("overwrite"));
        if (op === 0x26) return readUserChars(bytes, at, end);
        if (ESC_INERT_3.has(op)) return end - at < 3 ? { kind: "need" } : inert(3);
        return junk(2, "unknownCommand");
      }
      return cursorControl(b) ?? textRun(bytes, at, end);
    },
  };
}

/**
 * The one-byte controls CD5220 and ESC/POS displays share (device-protocols.md §2.2): FF clears,
 * CAN clears the cursor's row, the rest move the cursor. Undefined for any other byte.
 */
export function cursorControl(b: number): Step | undefined {
  switch (b) {
    case 0x0c:
      return command(1, "clear", (s) => s.grid.clear());
    case 0x18:
      return command(1, "lines", (s) => s.grid.clearCursorRow());
    case 0x08:
      return command(1, null, (s) => s.grid.left());
    case 0x09:
      return command(1, null, (s) => s.grid.right());
    case 0x0a:
      return command(1, null, (s) => s.grid.lineFeed());
    case 0x0b:
      return command(1, null, (s) => s.grid.home());
    case 0x0d:
      return command(1, null, (s) => s.grid.carriageReturn());
    default:
      return undefined;
  }
}

/** The text bytes from `at` on, as one step; a byte that is neither text nor a command is noise. */
export function textRun(bytes: Uint8Array, at: number, end: number): Step {
  let k = at;
  while (k < end && isTextByte(bytes[k] as number)) k++;
  return k > at ? { kind: "text", length: k - at } : junk(1, "noise");
}
