// What a lane reads of the journal, and the views of it the sale machine is handed. The machine
// keeps no past sales: a register request, a cloud result and a restart each bring the journal's
// record of the order they concern (sale, attempts, refunds). Reads only: the runner
// (sale-runner.ts) is the one place a lane writes.
import type { AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "../../protocols/sale/records.js";
import type { SaleView } from "../../protocols/sale/refund-machine.js";

/** What a lane needs of the journal (daemon/journal/journal.ts). */
export interface LaneJournal {
  /** Synchronous: returns once `record` is durable (used when the journal has no commit). */
  write(record: JournalRecord): void;
  /**
   * Group commit (daemon/journal/group-commit.ts): resolves once all of `records` are durable,
   * rejects when none of them is. With it, the runner writes a step's records in one commit.
   */
  commit?(records: readonly JournalRecord[]): Promise<void>;
  sale(laneId: string, orderRef: string): SaleRecord | undefined;
  attempt(attemptId: string): AttemptRecord | undefined;
  attemptsOf(laneId: string, orderRef: string): AttemptRecord[];
  refundsOf(laneId: string, orderRef: string): RefundRecord[];
  unsettledSales(laneId?: string): SaleRecord[];
  /** Every live record (no-integration mode reads its last display-tap sale at start). */
  records?(): JournalRecord[];
  openAttempts(laneId?: string): AttemptRecord[];
  openRefunds(laneId?: string): RefundRecord[];
}

/** The journal's record of `orderRef` on the lane, or undefined when it holds no such sale. */
export function saleView(journal: LaneJournal, laneId: string, orderRef: string): SaleView | undefined {
  const sale = journal.sale(laneId, orderRef);
  if (!sale) return undefined;
  return {
    sale,
    attempts: journal.attemptsOf(laneId, orderRef),
    refunds: journal.refundsOf(laneId, orderRef),
  };
}

/**
 * The sales a restart resumes on the lane: the unsettled ones, and those of open attempts whose
 * sale record is settled already (they still resume, under their own sale).
 */
export function unsettledViews(journal: LaneJournal, laneId: string): SaleView[] {
  const sales = journal.unsettledSales(laneId);
  const keys = new Set(sales.map((s) => s.orderRef));
  for (const a of journal.openAttempts(laneId)) {
    if (keys.has(a.orderRef)) continue;
    const sale = journal.sale(laneId, a.orderRef);
    if (sale) {
      sales.push(sale);
      keys.add(a.orderRef);
    }
  }
  return sales.flatMap((sale) => {
    const view = saleView(journal, laneId, sale.orderRef);
    return view ? [view] : [];
  });
}

/** The journal's record under `record`'s key, before `record` replaces it (for the audit trail). */
export function previousOf(journal: LaneJournal, record: JournalRecord): JournalRecord | undefined {
  switch (record.kind) {
    case "sale":
      return journal.sale(record.laneId, record.orderRef);
    case "attempt":
      return journal.attempt(record.attemptId);
    case "refund":
      return journal.refundsOf(record.laneId, record.orderRef).find((r) => r.refundId === record.refundId);
  }
}

/**
 * A lane in no-integration mode at start: the highest display-tap sequence number its journal holds
 * (numbers keep rising across restarts), and the amount of its last display-tap sale unless that
 * sale was cancelled (paid, unknown or still open: that total must not be charged again just
 * because the bridge restarted while the register still shows it).
 */
export function lastTapSale(
  journal: LaneJournal,
  laneId: string,
): { lastSeq: number; guardFen: number | null } {
  let lastSeq = 0;
  let last: SaleRecord | undefined;
  for (const r of journal.records?.() ?? []) {
    if (r.kind !== "sale" || r.laneId !== laneId || r.amountSource !== "displayTap") continue;
    lastSeq = Math.max(lastSeq, r.tapSeq ?? 0);
    if (!last || r.openedAt > last.openedAt) last = r;
  }
  return { lastSeq, guardFen: last && last.status !== "CANCELLED" ? last.amountFen : null };
}
