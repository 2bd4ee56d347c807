// The journal's state: the latest snapshot of each record (last write wins by recordKey) and where
// its line is in journal.log. Memory holds in full only the sales that are unsettled or recent
// (the last `recentSales` to settle), with their attempts and refunds; an older settled sale and
// its attempts and refunds become rows of the ColdIndex (journal-index.ts), read back from the
// file through a LineSource when asked for (a QY of an old order, a refund, a late cloud result)
// and taken back into memory when written to again. The queries the sale path runs
// (openAttempts, openRefunds, unsettledSales) walk sets of the unsettled, never the settled.
// No I/O of its own: the journal hands it the source (docs/journal.md, "Memory").
import {
  type AttemptRecord,
  isFinalAttempt,
  isSettled,
  type JournalRecord,
  type RefundRecord,
  recordKey,
  type SaleRecord,
} from "../../protocols/sale/records.js";
import {
  ColdIndex,
  keyHash,
  ROW_ATTEMPT,
  ROW_REFUND,
  ROW_SALE,
  type RowInput,
  type RowKind,
} from "./journal-index.js";
import { decodeLine } from "./journal-line.js";
import { canonicalRecord, checkRecord, upgradeRecord } from "./record-shape.js";

/** Where a record's line is in journal.log. */
export interface LineLoc {
  offset: number;
  length: number;
}

/** Reads lines of journal.log back (journal-reader.ts). */
export interface LineSource {
  /** The `length` bytes at `offset`; throws when they cannot be read. */
  read(offset: number, length: number): Uint8Array;
  /** The file's lines are of an older format and are upgraded as they are read. */
  readonly upgrade: boolean;
}

interface OrderIndex {
  attempts: Set<string>;
  refunds: Set<string>;
}

export const DEFAULT_RECENT_SALES = 1024;

const orderKey = (laneId: string, orderRef: string) => `${laneId}\u0000${orderRef}`;
const saleKeyOf = (laneId: string, orderRef: string) => `sale/${laneId}/${orderRef}`;

/** A compaction's plan: what is written (hot records, cold groups), what is purged. */
export interface CompactPlan {
  hot: JournalRecord[];
  hotPurged: JournalRecord[];
  /** Live cold groups kept, as row ranges of the current index. */
  cold: { first: number; end: number }[];
  coldPurged: number[];
  /** Records purged (hot and cold). */
  purged: number;
}

export class JournalFold {
  private readonly sales = new Map<string, SaleRecord>();
  private readonly attempts = new Map<string, AttemptRecord>();
  private readonly refunds = new Map<string, RefundRecord>();
  private readonly byOrder = new Map<string, OrderIndex>();
  private readonly locs = new Map<string, LineLoc>();
  private readonly unsettled = new Set<string>();
  private readonly openAttemptIds = new Set<string>();
  private readonly openRefundIds = new Set<string>();
  /** Settled sales still in memory, oldest first; past recentSales the oldest go to the index. */
  private readonly recent = new Set<string>();
  private cold = new ColdIndex();
  private hotBytes = 0;
  private readonly recentSales: number;
  /** Lines of cold records that could not be read back or no longer matched (file changed under us). */
  badReads = 0;
  source: LineSource | null = null;

  constructor(options: { recentSales?: number } = {}) {
    this.recentSales = options.recentSales ?? DEFAULT_RECENT_SALES;
  }

  /** Sum of the line sizes of the live snapshots. */
  get liveBytes(): number {
    return this.hotBytes + this.cold.liveBytes;
  }

  get size(): number {
    return this.locs.size + this.cold.liveRows;
  }

  /** Records held in memory (the rest are index rows). */
  get hotRecords(): number {
    return this.locs.size;
  }

  get index(): ColdIndex {
    return this.cold;
  }

  /** Starts from an index read from a snapshot (journal-snapshot.ts); the fold must be empty. */
  adoptIndex(index: ColdIndex): void {
    this.cold = index;
  }

  /**
   * Takes the records a snapshot held in memory, all at once (a settled sale joins the recent
   * ones only once its attempts and refunds are in too).
   */
  load(records: [JournalRecord, LineLoc][]): void {
    for (const [r, loc] of records) this.putHot(r, loc);
    for (const [r] of records) if (r.kind === "sale") this.touch(orderKey(r.laneId, r.orderRef));
  }

  /** Stores `r` (kept by reference: callers hand over a private copy) and where its line is. */
  put(r: JournalRecord, offset: number, length: number): void {
    const ok = orderKey(r.laneId, r.orderRef);
    if (!this.sales.has(ok) && this.cold.liveRows > 0) this.warm(r.laneId, r.orderRef);
    this.putHot(r, { offset, length });
    this.touch(ok);
  }

  sale(laneId: string, orderRef: string): SaleRecord | undefined {
    const hot = this.sales.get(orderKey(laneId, orderRef));
    if (hot || this.cold.liveRows === 0) return hot;
    const row = this.coldRow(saleKeyOf(laneId, orderRef), ROW_SALE);
    return row === undefined ? undefined : (this.readRow(row) as SaleRecord | undefined);
  }

  attempt(attemptId: string): AttemptRecord | undefined {
    const hot = this.attempts.get(attemptId);
    if (hot || this.cold.liveRows === 0) return hot;
    const row = this.coldRow(`attempt/${attemptId}`, ROW_ATTEMPT);
    return row === undefined ? undefined : (this.readRow(row) as AttemptRecord | undefined);
  }

  refund(refundId: string): RefundRecord | undefined {
    const hot = this.refunds.get(refundId);
    if (hot || this.cold.liveRows === 0) return hot;
    const row = this.coldRow(`refund/${refundId}`, ROW_REFUND);
    return row === undefined ? undefined : (this.readRow(row) as RefundRecord | undefined);
  }

  attemptsOf(laneId: string, orderRef: string): AttemptRecord[] {
    const ids = this.byOrder.get(orderKey(laneId, orderRef))?.attempts;
    const list = ids
      ? [...ids].map((id) => this.attempts.get(id)!)
      : (this.coldGroup(laneId, orderRef).filter((r) => r.kind === "attempt") as AttemptRecord[]);
    return list.sort((a, b) => a.createdAt - b.createdAt);
  }

  refundsOf(laneId: string, orderRef: string): RefundRecord[] {
    const ids = this.byOrder.get(orderKey(laneId, orderRef))?.refunds;
    const list = ids
      ? [...ids].map((id) => this.refunds.get(id)!)
      : (this.coldGroup(laneId, orderRef).filter((r) => r.kind === "refund") as RefundRecord[]);
    return list.sort((a, b) => a.requestedAt - b.requestedAt);
  }

  openAttempts(laneId?: string): AttemptRecord[] {
    const out: AttemptRecord[] = [];
    for (const id of this.openAttemptIds) {
      const a = this.attempts.get(id)!;
      if (laneId === undefined || a.laneId === laneId) out.push(a);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  openRefunds(laneId?: string): RefundRecord[] {
    const out: RefundRecord[] = [];
    for (const id of this.openRefundIds) {
      const r = this.refunds.get(id)!;
      if (laneId === undefined || r.laneId === laneId) out.push(r);
    }
    return out.sort((a, b) => a.requestedAt - b.requestedAt);
  }

  unsettledSales(laneId?: string): SaleRecord[] {
    const out: SaleRecord[] = [];
    for (const key of this.unsettled) {
      const s = this.sales.get(key)!;
      if (laneId === undefined || s.laneId === laneId) out.push(s);
    }
    return out.sort((a, b) => a.openedAt - b.openedAt);
  }

  /** Sales, then attempts, then refunds held in memory (each in the order first written), then the index's, read back. */
  records(): JournalRecord[] {
    const out: JournalRecord[] = [
      ...this.sales.values(),
      ...this.attempts.values(),
      ...this.refunds.values(),
    ];
    for (const { first, end } of this.cold.liveGroupRanges()) {
      for (let row = first; row < end; row++) {
        if (this.cold.rowKind(row) === 0) continue;
        const r = this.readRow(row);
        if (r) out.push(r);
      }
    }
    return out;
  }

  /** Records held in memory with where their lines are (for a snapshot), in records() order. */
  hotLocs(): LineLoc[] {
    const out: LineLoc[] = [];
    for (const r of [...this.sales.values(), ...this.attempts.values(), ...this.refunds.values()]) {
      out.push(this.locs.get(recordKey(r))!);
    }
    return out;
  }

  /**
   * Is anything past `cutoff` (now − retention)? Looks at the records in memory and the index's
   * oldest group only: no walk over the settled sales.
   */
  hasPurgeable(cutoff: number): boolean {
    if (this.cold.liveGroups > 0 && this.cold.oldestTime < cutoff) return true;
    return this.hotPurgeable(cutoff).length > 0;
  }

  /**
   * What a compaction at `cutoff` writes and drops. Purged: a settled sale that ended before the
   * cutoff, together with its attempts and refunds, when every one of them is settled and was last
   * updated before the cutoff too (a recent refund keeps an old sale); an attempt or refund whose
   * sale is gone, when settled and last updated before the cutoff. Nothing unsettled, ever.
   */
  plan(cutoff: number): CompactPlan {
    const hotPurged = this.hotPurgeable(cutoff);
    const gone = new Set(hotPurged);
    const hot = [...this.sales.values(), ...this.attempts.values(), ...this.refunds.values()].filter(
      (r) => !gone.has(r),
    );
    const cold: { first: number; end: number }[] = [];
    const coldPurged: number[] = [];
    let purged = hotPurged.length;
    for (const g of this.cold.liveGroupRanges()) {
      if (this.cold.rowTime(g.first) < cutoff) {
        coldPurged.push(g.first);
        for (let row = g.first; row < g.end; row++) if (this.cold.rowKind(row) !== 0) purged++;
      } else {
        cold.push(g);
      }
    }
    return { hot, hotPurged, cold, coldPurged, purged };
  }

  /**
   * The compaction of `plan` is now journal.log: drop what it purged, and move every record to
   * its new place (`hotLocs` in plan.hot order; `cold`, the new index built while writing).
   */
  afterCompaction(plan: CompactPlan, hotLocs: LineLoc[], cold: ColdIndex): void {
    for (const r of plan.hotPurged) this.deleteHot(r);
    plan.hot.forEach((r, i) => {
      const key = recordKey(r);
      const loc = hotLocs[i]!;
      this.hotBytes += loc.length - (this.locs.get(key)?.length ?? 0);
      this.locs.set(key, loc);
    });
    this.cold = cold;
  }

  /** Reads an index row back as a record (checked against its key's hash), or undefined. */
  readRow(row: number): JournalRecord | undefined {
    const bytes = this.readRowBytes(row);
    if (!bytes) return undefined;
    const r = this.decode(bytes);
    if (!r || keyHash(recordKey(r)) !== this.cold.rowHash(row)) {
      this.badReads++;
      return undefined;
    }
    return r;
  }

  /** The line of an index row as it is in the file, or undefined when it cannot be read. */
  readRowBytes(row: number): Uint8Array | undefined {
    if (!this.source) return undefined;
    try {
      return this.source.read(this.cold.rowOffset(row), this.cold.rowLength(row));
    } catch {
      this.badReads++;
      return undefined;
    }
  }

  /** A line's bytes as a checked record in today's shape, or undefined. */
  decode(bytes: Uint8Array): JournalRecord | undefined {
    const decoded = decodeLine(bytes, { start: 0, end: bytes.length });
    if (!decoded.ok) return undefined;
    const value = this.source?.upgrade ? upgradeRecord(decoded.value) : decoded.value;
    if (checkRecord(value) !== undefined) return undefined;
    return canonicalRecord(value as JournalRecord);
  }

  private hotPurgeable(cutoff: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    const old = (r: AttemptRecord | RefundRecord) => isSettled(r) && r.updatedAt < cutoff;
    for (const sale of this.sales.values()) {
      if (!isSettled(sale) || (sale.endedAt ?? sale.updatedAt) >= cutoff) continue;
      const attempts = this.attemptsOf(sale.laneId, sale.orderRef);
      const refunds = this.refundsOf(sale.laneId, sale.orderRef);
      if (attempts.every(old) && refunds.every(old)) out.push(sale, ...attempts, ...refunds);
    }
    for (const a of this.attempts.values()) {
      if (!this.sales.has(orderKey(a.laneId, a.orderRef)) && old(a)) out.push(a);
    }
    for (const r of this.refunds.values()) {
      if (!this.sales.has(orderKey(r.laneId, r.orderRef)) && old(r)) out.push(r);
    }
    return out;
  }

  private putHot(r: JournalRecord, loc: LineLoc): void {
    const key = recordKey(r);
    this.hotBytes += loc.length - (this.locs.get(key)?.length ?? 0);
    this.locs.set(key, loc);
    switch (r.kind) {
      case "sale": {
        const ok = orderKey(r.laneId, r.orderRef);
        this.sales.set(ok, r);
        if (isSettled(r)) this.unsettled.delete(ok);
        else this.unsettled.add(ok);
        return;
      }
      case "attempt": {
        const prev = this.attempts.get(r.attemptId);
        if (prev) this.unindex(prev.laneId, prev.orderRef, "attempts", r.attemptId);
        this.attempts.set(r.attemptId, r);
        this.indexOf(r.laneId, r.orderRef).attempts.add(r.attemptId);
        if (isFinalAttempt(r.phase)) this.openAttemptIds.delete(r.attemptId);
        else this.openAttemptIds.add(r.attemptId);
        return;
      }
      case "refund": {
        const prev = this.refunds.get(r.refundId);
        if (prev) this.unindex(prev.laneId, prev.orderRef, "refunds", r.refundId);
        this.refunds.set(r.refundId, r);
        this.indexOf(r.laneId, r.orderRef).refunds.add(r.refundId);
        if (r.phase === "requested" || r.phase === "unknown") this.openRefundIds.add(r.refundId);
        else this.openRefundIds.delete(r.refundId);
        return;
      }
    }
  }

  private deleteHot(r: JournalRecord): void {
    const key = recordKey(r);
    this.hotBytes -= this.locs.get(key)?.length ?? 0;
    this.locs.delete(key);
    switch (r.kind) {
      case "sale": {
        const ok = orderKey(r.laneId, r.orderRef);
        this.sales.delete(ok);
        this.unsettled.delete(ok);
        this.recent.delete(ok);
        return;
      }
      case "attempt":
        if (this.attempts.delete(r.attemptId)) this.unindex(r.laneId, r.orderRef, "attempts", r.attemptId);
        this.openAttemptIds.delete(r.attemptId);
        return;
      case "refund":
        if (this.refunds.delete(r.refundId)) this.unindex(r.laneId, r.orderRef, "refunds", r.refundId);
        this.openRefundIds.delete(r.refundId);
        return;
    }
  }

  /** After a write to the order: a settled sale joins the recent ones; the oldest beyond the limit go to the index. */
  private touch(ok: string): void {
    this.recent.delete(ok);
    if (!this.groupSettled(ok)) return;
    this.recent.add(ok);
    while (this.recent.size > this.recentSales) {
      const oldest = this.recent.values().next().value as string;
      this.recent.delete(oldest);
      if (this.groupSettled(oldest)) this.demote(oldest);
    }
  }

  private groupSettled(ok: string): boolean {
    const sale = this.sales.get(ok);
    if (!sale || !isSettled(sale)) return false;
    const index = this.byOrder.get(ok);
    if (!index) return true;
    for (const id of index.attempts) if (this.openAttemptIds.has(id)) return false;
    for (const id of index.refunds) if (this.openRefundIds.has(id)) return false;
    return true;
  }

  /** A settled sale, its attempts and refunds leave memory for index rows. */
  private demote(ok: string): void {
    const sale = this.sales.get(ok)!;
    const group: JournalRecord[] = [
      sale,
      ...this.attemptsOf(sale.laneId, sale.orderRef),
      ...this.refundsOf(sale.laneId, sale.orderRef),
    ];
    let time = sale.endedAt ?? sale.updatedAt;
    const rows: RowInput[] = group.map((r) => {
      if (r.kind !== "sale" && r.updatedAt > time) time = r.updatedAt;
      const key = recordKey(r);
      const loc = this.locs.get(key)!;
      return { key, kind: KIND_ROW[r.kind], offset: loc.offset, length: loc.length };
    });
    this.cold.addGroup(rows, time);
    for (const r of group) this.deleteHot(r);
  }

  /** The order's records come back from the index into memory (it is being written to again). */
  private warm(laneId: string, orderRef: string): void {
    const row = this.coldRow(saleKeyOf(laneId, orderRef), ROW_SALE);
    if (row === undefined) return;
    const { first, end } = this.cold.groupOf(row);
    for (let at = first; at < end; at++) {
      if (this.cold.rowKind(at) === 0) continue;
      const r = this.readRow(at);
      if (r) this.putHot(r, { offset: this.cold.rowOffset(at), length: this.cold.rowLength(at) });
    }
    this.cold.killGroup(first);
  }

  /** The live index row holding `key` (read back to confirm, a hash being only a hint). */
  private coldRow(key: string, kind: RowKind): number | undefined {
    for (const row of this.cold.find(key, kind)) {
      const r = this.readRow(row);
      if (r && recordKey(r) === key) return row;
    }
    return undefined;
  }

  private coldGroup(laneId: string, orderRef: string): JournalRecord[] {
    if (this.cold.liveRows === 0) return [];
    const row = this.coldRow(saleKeyOf(laneId, orderRef), ROW_SALE);
    if (row === undefined) return [];
    const { first, end } = this.cold.groupOf(row);
    const out: JournalRecord[] = [];
    for (let at = first + 1; at < end; at++) {
      if (this.cold.rowKind(at) === 0) continue;
      const r = this.readRow(at);
      if (r) out.push(r);
    }
    return out;
  }

  private indexOf(laneId: string, orderRef: string): OrderIndex {
    const key = orderKey(laneId, orderRef);
    let entry = this.byOrder.get(key);
    if (!entry) {
      entry = { attempts: new Set(), refunds: new Set() };
      this.byOrder.set(key, entry);
    }
    return entry;
  }

  private unindex(laneId: string, orderRef: string, which: keyof OrderIndex, id: string): void {
    const key = orderKey(laneId, orderRef);
    const entry = this.byOrder.get(key);
    if (!entry) return;
    entry[which].delete(id);
    if (entry.attempts.size === 0 && entry.refunds.size === 0) this.byOrder.delete(key);
  }
}

const KIND_ROW: Record<JournalRecord["kind"], RowKind> = {
  sale: ROW_SALE,
  attempt: ROW_ATTEMPT,
  refund: ROW_REFUND,
};
