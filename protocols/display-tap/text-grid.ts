// The characters a text display holds, as bytes, with a cursor: what the register's commands
// change and the readers snapshot. Bytes, not characters, because a GB2312 character is two bytes
// written one at a time (and a dripping register sends them 15 ms apart); rows are decoded only
// when a snapshot is taken.
//
// Cursor semantics follow the Epson DM-D/CD5220 families (device-protocols.md §2.1–2.2): in
// overwrite mode the cursor wraps from the end of the bottom row to the top-left; in vertical
// scroll mode a write or LF past the bottom row scrolls the rows up. Horizontal scroll mode is
// treated as overwrite (the display scrolls by itself; the text it holds is the same).

const SPACE = 0x20;

export type GridMode = "overwrite" | "vertical";

export class TextGrid {
  readonly rows: number;
  readonly columns: number;
  mode: GridMode = "overwrite";
  private cells: number[][];
  private row = 0;
  private column = 0;

  constructor(rows: number, columns: number) {
    this.rows = rows;
    this.columns = columns;
    this.cells = Array.from({ length: rows }, () => blankRow(columns));
  }

  setMode(mode: GridMode): void {
    this.mode = mode;
  }

  /** Every row blank, cursor home (FF, ESC @). */
  clear(): void {
    this.cells = Array.from({ length: this.rows }, () => blankRow(this.columns));
    this.row = 0;
    this.column = 0;
  }

  /** CAN: the cursor's row blank, cursor to its start. */
  clearCursorRow(): void {
    this.cells[this.row] = blankRow(this.columns);
    this.column = 0;
  }

  /**
   * A whole-row write (CD5220 `ESC Q x … CR`, the LED number). The text is kept in full even past
   * the last column: a register that sends a 24-character line means all of it, and cutting
   * "TOTAL …12.50" at column 20 could leave a smaller number than the one it sent.
   */
  setRow(row: number, bytes: Uint8Array): void {
    const cells = Array.from(bytes);
    while (cells.length < this.columns) cells.push(SPACE);
    this.cells[row] = cells;
  }

  /** A character at the cursor, then the cursor moves on (wrapping as the mode says). */
  write(byte: number): void {
    const cells = this.cells[this.row] as number[];
    cells[this.column] = byte;
    this.advance();
  }

  /** US $ x y / ESC l x y, 0-based here; out-of-range positions are refused by the grammars. */
  moveTo(column: number, row: number): void {
    this.column = column;
    this.row = row;
  }

  home(): void {
    this.moveTo(0, 0);
  }

  carriageReturn(): void {
    this.column = 0;
  }

  lineFeed(): void {
    if (this.row < this.rows - 1) this.row++;
    else if (this.mode === "vertical") this.scrollUp();
    else this.row = 0;
  }

  /** HT: one column right without writing. */
  right(): void {
    this.advance();
  }

  /** BS: one column left, to the end of the row above from column 0. */
  left(): void {
    if (this.column > 0) {
      this.column--;
      return;
    }
    this.column = this.columns - 1;
    this.row = this.row > 0 ? this.row - 1 : this.rows - 1;
  }

  up(): void {
    this.row = this.row > 0 ? this.row - 1 : this.rows - 1;
  }

  rowEnd(): void {
    this.column = this.columns - 1;
  }

  bottom(): void {
    this.row = this.rows - 1;
    this.column = 0;
  }

  /** Each row's bytes, trailing spaces cut. */
  rowBytes(): Uint8Array[] {
    return this.cells.map((cells) => {
      let end = cells.length;
      while (end > 0 && cells[end - 1] === SPACE) end--;
      return Uint8Array.from(cells.slice(0, end));
    });
  }

  private advance(): void {
    this.column++;
    if (this.column < this.columns) return;
    this.column = 0;
    this.lineFeed();
  }

  private scrollUp(): void {
    this.cells.shift();
    this.cells.push(blankRow(this.columns));
  }
}

function blankRow(columns: number): number[] {
  return new Array<number>(columns).fill(SPACE);
}
