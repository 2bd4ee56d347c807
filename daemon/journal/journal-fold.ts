// The journal's in-memory state: the latest snapshot of each record (last write wins by
// recordKey), an index lane/orderRef → attempt and refund ids, the byte size of each record's
// line (for the compaction rule), and the queries and purge rule built on them. No I/O.
import {
  type AttemptRecord,
  isFinalAttempt,
  isSettled,
  type JournalRecord,
  type RefundRecord,
  recordKey,
  type SaleRecord,
} from "../../protocols/sale/records.js";

interface OrderIndex {
  attempts: Set<string>;
  refunds: Set<string>;
}

const orderKey = (laneId: string, orderRef: string) => `${laneId}\u0000${orderRef}`;

export class JournalFold {
  private readonly sales = new Map<string, SaleRecord>();
  private readonly attempts = new Map<string, AttemptRecord>();
  private readonly refunds = new Map<string, RefundRecord>();
  private readonly byOrder = new Map<string, OrderIndex>();
  private readonly lineBytes = new Map<string, number>();
  private bytes = 0;

  /** Sum of the line sizes of the live snapshots. */
  get liveBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.lineBytes.size;
  }

  /** Stores `r` (kept by reference: callers hand over a private copy) with its line size. */
  put(r: JournalRecord, bytes: number): void {
    const key = recordKey(r);
    this.bytes += bytes - (this.lineBytes.get(key) ?? 0);
    this.lineBytes.set(key, bytes);
    switch (r.kind) {
      case "sale":
        this.sales.set(orderKey(r.laneId, r.orderRef), r);
        return;
      case "attempt": {
        const prev = this.attempts.get(r.attemptId);
        if (prev) this.unindex(prev.laneId, prev.orderRef, "attempts", r.attemptId);
        this.attempts.set(r.attemptId, r);
        this.index(r.laneId, r.orderRef).attempts.add(r.attemptId);
        return;
      }
      case "refund": {
        const prev = this.refunds.get(r.refundId);
        if (prev) this.unindex(prev.laneId, prev.orderRef, "refunds", r.refundId);
        this.refunds.set(r.refundId, r);
        this.index(r.laneId, r.orderRef).refunds.add(r.refundId);
        return;
      }
    }
  }

  delete(r: JournalRecord): void {
    const key = recordKey(r);
    this.bytes -= this.lineBytes.get(key) ?? 0;
    this.lineBytes.delete(key);
    switch (r.kind) {
      case "sale":
        this.sales.delete(orderKey(r.laneId, r.orderRef));
        return;
      case "attempt":
        if (this.attempts.delete(r.attemptId)) this.unindex(r.laneId, r.orderRef, "attempts", r.attemptId);
        return;
      case "refund":
        if (this.refunds.delete(r.refundId)) this.unindex(r.laneId, r.orderRef, "refunds", r.refundId);
        return;
    }
  }

  sale(laneId: string, orderRef: string): SaleRecord | undefined {
    return this.sales.get(orderKey(laneId, orderRef));
  }

  attempt(attemptId: string): AttemptRecord | undefined {
    return this.attempts.get(attemptId);
  }

  refund(refundId: string): RefundRecord | undefined {
    return this.refunds.get(refundId);
  }

  attemptsOf(laneId: string, orderRef: string): AttemptRecord[] {
    const ids = this.byOrder.get(orderKey(laneId, orderRef))?.attempts ?? [];
    return [...ids].map((id) => this.attempts.get(id)!).sort((a, b) => a.createdAt - b.createdAt);
  }

  refundsOf(laneId: string, orderRef: string): RefundRecord[] {
    const ids = this.byOrder.get(orderKey(laneId, orderRef))?.refunds ?? [];
    return [...ids].map((id) => this.refunds.get(id)!).sort((a, b) => a.requestedAt - b.requestedAt);
  }

  openAttempts(laneId?: string): AttemptRecord[] {
    return [...this.attempts.values()]
      .filter((a) => !isFinalAttempt(a.phase) && (laneId === undefined || a.laneId === laneId))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  openRefunds(laneId?: string): RefundRecord[] {
    return [...this.refunds.values()]
      .filter(
        (r) =>
          (r.phase === "requested" || r.phase === "unknown") && (laneId === undefined || r.laneId === laneId),
      )
      .sort((a, b) => a.requestedAt - b.requestedAt);
  }

  unsettledSales(laneId?: string): SaleRecord[] {
    return [...this.sales.values()]
      .filter(
        (s) =>
          (s.status === "OPEN" || s.status === "PENDING" || s.status === "UNKNOWN") &&
          (laneId === undefined || s.laneId === laneId),
      )
      .sort((a, b) => a.openedAt - b.openedAt);
  }

  /** Sales, then attempts, then refunds, each in the order first written. */
  records(): JournalRecord[] {
    return [...this.sales.values(), ...this.attempts.values(), ...this.refunds.values()];
  }

  /**
   * What compaction may drop at `cutoff` (now − retention): a settled sale that ended before the
   * cutoff, together with its attempts and refunds, when every one of them is settled and was last
   * updated before the cutoff too (a recent refund keeps an old sale); an attempt or refund whose
   * sale is gone, when settled and last updated before the cutoff. Nothing unsettled, ever.
   */
  purgeable(cutoff: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    const old = (r: AttemptRecord | RefundRecord) => isSettled(r) && r.updatedAt < cutoff;
    for (const sale of this.sales.values()) {
      if (!isSettled(sale) || (sale.endedAt ?? sale.updatedAt) >= cutoff) continue;
      const attempts = this.attemptsOf(sale.laneId, sale.orderRef);
      const refunds = this.refundsOf(sale.laneId, sale.orderRef);
      if (attempts.every(old) && refunds.every(old)) out.push(sale, ...attempts, ...refunds);
    }
    for (const a of this.attempts.values()) {
      if (!this.sale(a.laneId, a.orderRef) && old(a)) out.push(a);
    }
    for (const r of this.refunds.values()) {
      if (!this.sale(r.laneId, r.orderRef) && old(r)) out.push(r);
    }
    return out;
  }

  private index(laneId: string, orderRef: string): OrderIndex {
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
