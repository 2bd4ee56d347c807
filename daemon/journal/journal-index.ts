// The journal's index of settled sales that are no longer kept in memory ("cold" groups): for
// each record of such a sale (the sale, its attempts and refunds, one row each, in that order)
// a 32-bit hash of its key, where its line is in journal.log (offset, length) and, on the sale's
// row, the time after which retention may purge the whole group. Columns of typed arrays and an
// open-addressing hash table: about 60 bytes per sale, no per-sale objects (docs/journal.md,
// "Memory"). A hash says "maybe": the caller reads the line back and checks its key. No I/O.

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

/** The columns written to and read from a snapshot (journal-snapshot.ts), rows [0, rows). */
export interface IndexColumns {
  hash: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  time: Float64Array;
  kind: Uint8Array;
}

export class ColdIndex {
  private hash = new Uint32Array(1024);
  private offset = new Float64Array(1024);
  private length = new Uint32Array(1024);
  /** On a sale's row: the latest time of the group (retention compares it with the cutoff). */
  private time = new Float64Array(1024);
  private kind = new Uint8Array(1024);
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
    return this.hash.length * 25 + this.table.length * 4;
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
      if (row >= 0 && this.hash[row] === h && this.kind[row] === kind) out.push(row);
    }
  }

  /** The rows of the group `row` belongs to: [sale row, end). */
  groupOf(row: number): { first: number; end: number } {
    let first = row;
    while (first > 0 && this.kind[first] !== ROW_SALE) first--;
    let end = first + 1;
    while (end < this.count && this.kind[end] !== ROW_SALE) end++;
    return { first, end };
  }

  rowKind(row: number): number {
    return this.kind[row] as number;
  }

  rowOffset(row: number): number {
    return this.offset[row] as number;
  }

  rowLength(row: number): number {
    return this.length[row] as number;
  }

  rowHash(row: number): number {
    return this.hash[row] as number;
  }

  rowTime(row: number): number {
    return this.time[row] as number;
  }

  /** Takes the group starting at sale row `first` out of the index (it went back to memory, or was purged). */
  killGroup(first: number): void {
    if (this.isDeadGroup(first)) return;
    const { end } = this.groupOf(first);
    for (let row = first; row < end; row++) {
      if (this.kind[row] === ROW_DEAD) continue;
      this.unlink(row);
      if (this.kind[row] === ROW_SALE) this.groups--;
      this.bytes -= this.length[row] as number;
      this.live--;
      // A dead row keeps its place (groupOf walks rows) but no kind: ROW_DEAD never ends a group,
      // so mark the sale row specially: it stays a boundary.
      this.kind[row] = row === first ? ROW_SALE : ROW_DEAD;
      this.hash[row] = 0;
    }
    this.time[first] = Number.NaN; // a dead group: its sale row stays only as a boundary
  }

  /** The group starting at `first` is dead (killGroup). */
  isDeadGroup(first: number): boolean {
    return Number.isNaN(this.time[first] as number);
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
    return {
      hash: this.hash.subarray(0, n),
      offset: this.offset.subarray(0, n),
      length: this.length.subarray(0, n),
      time: this.time.subarray(0, n),
      kind: this.kind.subarray(0, n),
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
      if (cols.kind[row] === ROW_SALE && !Number.isNaN(time)) {
        for (let r = row; r < end; r++) {
          const kind = cols.kind[r] as number;
          if (kind === ROW_DEAD) continue;
          index.push(cols.hash[r] as number, kind, cols.offset[r] as number, cols.length[r] as number, time);
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
    if (this.count === this.hash.length) this.grow(this.count * 2);
    const row = this.count++;
    this.hash[row] = h;
    this.kind[row] = kind;
    this.offset[row] = offset;
    this.length[row] = length;
    this.time[row] = kind === ROW_SALE ? time : 0;
    if (kind === ROW_SALE) {
      this.groups++;
      if (time < this.oldest) this.oldest = time;
    }
    this.live++;
    this.bytes += length;
    if ((this.used + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.insert(row);
  }

  private reserve(rows: number): void {
    let cap = this.hash.length;
    while (cap < rows) cap *= 2;
    if (cap > this.hash.length) this.grow(cap);
    let slots = this.table.length;
    while (slots < rows * 2 + 2) slots *= 2;
    if (slots > this.table.length) this.rehash(slots);
  }

  private insert(row: number): void {
    const mask = this.table.length - 1;
    let slot = (this.hash[row] as number) & mask;
    while ((this.table[slot] as number) >= 0) slot = (slot + 1) & mask;
    if (this.table[slot] === EMPTY) this.used++;
    this.table[slot] = row;
  }

  private unlink(row: number): void {
    const mask = this.table.length - 1;
    for (let slot = (this.hash[row] as number) & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot] as number;
      if (at === EMPTY) return;
      if (at === row) {
        this.table[slot] = TOMBSTONE;
        return;
      }
    }
  }

  private grow(cap: number): void {
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old);
      return next;
    };
    this.hash = grow(this.hash, (n) => new Uint32Array(n));
    this.offset = grow(this.offset, (n) => new Float64Array(n));
    this.length = grow(this.length, (n) => new Uint32Array(n));
    this.time = grow(this.time, (n) => new Float64Array(n));
    this.kind = grow(this.kind, (n) => new Uint8Array(n));
  }

  private rehash(slots: number): void {
    this.table = new Int32Array(slots).fill(EMPTY);
    this.used = 0;
    for (let row = 0; row < this.count; row++) {
      const kind = this.kind[row];
      if (kind === ROW_DEAD || (kind === ROW_SALE && Number.isNaN(this.time[row] as number))) continue;
      this.insert(row);
    }
  }
}
