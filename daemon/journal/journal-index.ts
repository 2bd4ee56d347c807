// The journal's index of settled sales that are no longer kept in memory ("cold" groups): for
// each record of such a sale (the sale, its attempts and refunds, one row each, in that order)
// a 32-bit hash of its key, where its line is in journal.log (offset, length) and, on the sale's
// row, the time (whole seconds, rounded up) after which retention may purge the whole group.
// Columns of typed arrays (18 bytes a row) and an open-addressing hash table (≤ 0.75 full): about
// 50 bytes per sale of one attempt, no per-sale objects (docs/journal.md, "Memory"). A hash says
// "maybe": the caller reads the line back and checks its key. No I/O.

export const ROW_DEAD = 0;
export const ROW_SALE = 1;
export const ROW_ATTEMPT = 2;
export const ROW_REFUND = 3;
export type RowKind = typeof ROW_SALE | typeof ROW_ATTEMPT | typeof ROW_REFUND;

/** FNV-1a over the key's UTF-16 code units (keys are ASCII ids and refs). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** One record of a group handed to addGroup: its key and where its line is. */
export interface RowInput {
  key: string;
  kind: RowKind;
  offset: number;
  length: number;
}

const EMPTY = -1;
const TOMBSTONE = -2;
/** The time of a dead group's sale row (the row stays as a boundary). */
const DEAD_TIME = 0xffffffff;
const TWO_32 = 2 ** 32;
/** Offsets are 40-bit (1 TiB), lengths 32-bit. */
export const MAX_OFFSET = 2 ** 40;

/** The columns written to and read from a snapshot (journal-snapshot.ts), rows [0, rows). */
export interface IndexColumns {
  hash: Uint32Array;
  /** Low 32 bits of the offset. */
  offLow: Uint32Array;
  length: Uint32Array;
  /** Sale rows: the group's time in whole seconds, rounded up (DEAD_TIME: a dead group). */
  time: Uint32Array;
  /** High 8 bits of the offset. */
  offHigh: Uint8Array;
  kind: Uint8Array;
}

/** Bytes a row takes in the columns. */
export const ROW_BYTES = 18;

const newColumns = (n: number): IndexColumns => ({
  hash: new Uint32Array(n),
  offLow: new Uint32Array(n),
  length: new Uint32Array(n),
  time: new Uint32Array(n),
  offHigh: new Uint8Array(n),
  kind: new Uint8Array(n),
});

export class ColdIndex {
  private cols = newColumns(1024);
  private table = new Int32Array(2048).fill(EMPTY);
  private used = 0; // table slots not EMPTY (rows + tombstones)
  private count = 0; // rows appended (dead ones too, until rebuilt)
  private live = 0; // rows not dead
  private groups = 0; // live sale rows
  private bytes = 0; // sum of the line lengths of live rows
  private oldest = Number.POSITIVE_INFINITY;

  /** Rows appended (some may be dead); row numbers are below this. */
  get rows(): number {
    return this.count;
  }

  get liveRows(): number {
    return this.live;
  }

  get liveGroups(): number {
    return this.groups;
  }

  /** Sum of the line lengths of the live rows. */
  get liveBytes(): number {
    return this.bytes;
  }

  /**
   * No group is older than this (a lower bound: a group taken out again does not raise it until
   * the next rebuild). Lets the retention check skip the index without a scan.
   */
  get oldestTime(): number {
    return this.oldest;
  }

  /** Bytes held by the columns and the table (for the bench and diagnostics). */
  get memoryBytes(): number {
    return this.cols.hash.length * ROW_BYTES + this.table.length * 4;
  }

  /** Appends a group: the sale's row first, then its attempts and refunds. Returns the sale's row. */
  addGroup(rows: RowInput[], time: number): number {
    const first = this.count;
    for (const r of rows)
      this.push(keyHash(r.key), r.kind, r.offset, r.length, r.kind === ROW_SALE ? time : 0);
    return first;
  }

  /** Live rows of `kind` whose key hashes like `key`: candidates to read back and check. */
  find(key: string, kind: RowKind): number[] {
    const h = keyHash(key);
    const out: number[] = [];
    const mask = this.table.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const row = this.table[slot] as number;
      if (row === EMPTY) return out;
      if (row >= 0 && this.cols.hash[row] === h && this.cols.kind[row] === kind) out.push(row);
    }
  }

  /** The rows of the group `row` belongs to: [sale row, end). */
  groupOf(row: number): { first: number; end: number } {
    let first = row;
    const kinds = this.cols.kind;
    while (first > 0 && kinds[first] !== ROW_SALE) first--;
    let end = first + 1;
    while (end < this.count && kinds[end] !== ROW_SALE) end++;
    return { first, end };
  }

  rowKind(row: number): number {
    return this.cols.kind[row] as number;
  }

  rowOffset(row: number): number {
    return (this.cols.offHigh[row] as number) * TWO_32 + (this.cols.offLow[row] as number);
  }

  rowLength(row: number): number {
    return this.cols.length[row] as number;
  }

  rowHash(row: number): number {
    return this.cols.hash[row] as number;
  }

  /** A sale row's group time (ms, a whole second at or after the latest time of the group). */
  rowTime(row: number): number {
    return (this.cols.time[row] as number) * 1000;
  }

  /** Takes the group starting at sale row `first` out of the index (it went back to memory, or was purged). */
  killGroup(first: number): void {
    if (this.isDeadGroup(first)) return;
    const { end } = this.groupOf(first);
    const c = this.cols;
    for (let row = first; row < end; row++) {
      if (c.kind[row] === ROW_DEAD) continue;
      this.unlink(row);
      if (c.kind[row] === ROW_SALE) this.groups--;
      this.bytes -= c.length[row] as number;
      this.live--;
      // A dead row keeps its place (groupOf walks rows); the sale row keeps its kind so that it
      // still ends the group before it.
      if (row !== first) c.kind[row] = ROW_DEAD;
      c.hash[row] = 0;
    }
    c.time[first] = DEAD_TIME;
  }

  /** The group starting at `first` is dead (killGroup). */
  isDeadGroup(first: number): boolean {
    return this.cols.time[first] === DEAD_TIME;
  }

  /**
   * The live groups, in row order, as [first, end) ranges. O(rows): only for compaction and
   * snapshots, never on the sale path.
   */
  *liveGroupRanges(): Generator<{ first: number; end: number }> {
    let row = 0;
    while (row < this.count) {
      const { first, end } = this.groupOf(row);
      if (!this.isDeadGroup(first)) yield { first, end };
      row = end;
    }
  }

  /** The columns' live prefix (for a snapshot). */
  columns(): IndexColumns {
    const n = this.count;
    const c = this.cols;
    return {
      hash: c.hash.subarray(0, n),
      offLow: c.offLow.subarray(0, n),
      length: c.length.subarray(0, n),
      time: c.time.subarray(0, n),
      offHigh: c.offHigh.subarray(0, n),
      kind: c.kind.subarray(0, n),
    };
  }

  /** An index of the rows in `cols` (read from a snapshot); dead groups are dropped. */
  static fromColumns(cols: IndexColumns): ColdIndex {
    const index = new ColdIndex();
    index.reserve(cols.hash.length);
    let row = 0;
    const n = cols.hash.length;
    while (row < n) {
      let end = row + 1;
      while (end < n && cols.kind[end] !== ROW_SALE) end++;
      const time = cols.time[row] as number;
      if (cols.kind[row] === ROW_SALE && time !== DEAD_TIME) {
        for (let r = row; r < end; r++) {
          const kind = cols.kind[r] as number;
          if (kind === ROW_DEAD) continue;
          const offset = (cols.offHigh[r] as number) * TWO_32 + (cols.offLow[r] as number);
          index.push(cols.hash[r] as number, kind, offset, cols.length[r] as number, time * 1000);
        }
      }
      row = end;
    }
    return index;
  }

  /**
   * Appends one row; a sale's row starts a group and `time` is the group's (ignored on other rows).
   * Rows of one group are pushed together, the sale's first.
   */
  push(h: number, kind: number, offset: number, length: number, time: number): void {
    if (!(offset >= 0 && offset < MAX_OFFSET))
      throw new RangeError(`journal index: offset ${offset} out of range`);
    if (this.count === this.cols.hash.length) this.grow(this.count * 2);
    const c = this.cols;
    const row = this.count++;
    c.hash[row] = h;
    c.kind[row] = kind;
    c.offLow[row] = offset % TWO_32;
    c.offHigh[row] = Math.floor(offset / TWO_32);
    c.length[row] = length;
    // Whole seconds, rounded up: retention may purge up to a second late, never early.
    const seconds = Math.min(Math.ceil(time / 1000), DEAD_TIME - 1);
    c.time[row] = kind === ROW_SALE ? seconds : 0;
    if (kind === ROW_SALE) {
      this.groups++;
      if (seconds * 1000 < this.oldest) this.oldest = seconds * 1000;
    }
    this.live++;
    this.bytes += length;
    if ((this.used + 1) * 4 > this.table.length * 3) this.rehash(this.table.length * 2);
    this.insert(row);
  }

  private reserve(rows: number): void {
    let cap = this.cols.hash.length;
    while (cap < rows) cap *= 2;
    if (cap > this.cols.hash.length) this.grow(cap);
    let slots = this.table.length;
    while (slots * 3 < (rows + 1) * 4) slots *= 2;
    if (slots > this.table.length) this.rehash(slots);
  }

  private insert(row: number): void {
    const mask = this.table.length - 1;
    let slot = (this.cols.hash[row] as number) & mask;
    while ((this.table[slot] as number) >= 0) slot = (slot + 1) & mask;
    if (this.table[slot] === EMPTY) this.used++;
    this.table[slot] = row;
  }

  private unlink(row: number): void {
    const mask = this.table.length - 1;
    for (let slot = (this.cols.hash[row] as number) & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot] as number;
      if (at === EMPTY) return;
      if (at === row) {
        this.table[slot] = TOMBSTONE;
        return;
      }
    }
  }

  private grow(cap: number): void {
    const next = newColumns(cap);
    const n = this.count;
    next.hash.set(this.cols.hash.subarray(0, n));
    next.offLow.set(this.cols.offLow.subarray(0, n));
    next.length.set(this.cols.length.subarray(0, n));
    next.time.set(this.cols.time.subarray(0, n));
    next.offHigh.set(this.cols.offHigh.subarray(0, n));
    next.kind.set(this.cols.kind.subarray(0, n));
    this.cols = next;
  }

  private rehash(slots: number): void {
    this.table = new Int32Array(slots).fill(EMPTY);
    this.used = 0;
    for (let row = 0; row < this.count; row++) {
      const kind = this.cols.kind[row];
      if (kind === ROW_DEAD || (kind === ROW_SALE && this.cols.time[row] === DEAD_TIME)) continue;
      this.insert(row);
    }
  }
}
