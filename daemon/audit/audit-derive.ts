// The audit entries of one lane step, from the journal records it made durable and what each
// replaced: the audit follows what the journal holds, never what a machine merely intended, and
// needs no hook inside the sale machine. Pure: no I/O, no clock.
import {
  type AttemptRecord,
  isFinalAttempt,
  type JournalRecord,
  type RefundRecord,
} from "../../protocols/sale/records.js";
import type { AuditEntry } from "./audit-entry.js";

/** Why the step ran, without anything a scan carried (the lane never hands over a code). */
export interface AuditCause {
  input: string;
  /** The register's request, for `pos` inputs. */
  request?: { type: string; seq: string; orderRef: string };
}

/** A record the step wrote, and the journal's record under the same key before it (if any). */
export interface JournaledWrite {
  record: JournalRecord;
  before: JournalRecord | undefined;
}

/** Phases in which an attempt is being, or has been tried to be, reversed. */
const REVERSING: ReadonlySet<string> = new Set(["reversing", "unresolved"]);

export function auditEntriesOf(laneId: string, cause: AuditCause, writes: JournaledWrite[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const { record, before } of writes) {
    if (record.kind === "refund")
      out.push(...refundEntries(laneId, cause, record, before as RefundRecord | undefined));
    if (record.kind === "attempt")
      out.push(...attemptEntries(laneId, record, before as AttemptRecord | undefined));
  }
  const cancel = cashierCancel(laneId, cause, writes);
  // The cashier's act first: the reversal it caused follows it.
  return cancel ? [cancel, ...out] : out;
}

function refundEntries(
  laneId: string,
  cause: AuditCause,
  r: RefundRecord,
  before: RefundRecord | undefined,
): AuditEntry[] {
  const ids = {
    laneId,
    orderRef: r.orderRef,
    refundRef: r.refundRef,
    refundId: r.refundId,
    amountFen: r.amountFen,
  };
  // The register's RF (a new refund, or the same refundRef asked again while its outcome is not
  // known) is a request; the bridge's own resends of it are not.
  const asked = cause.request?.type === "refund" && cause.request.orderRef === r.orderRef;
  if (asked)
    return [{ type: "refundRequested", ...ids, attemptId: r.attemptId, again: before !== undefined }];
  if (r.phase === "requested" || before?.phase === r.phase) return [];
  return [{ type: "refundEnded", ...ids, phase: r.phase, reasonCode: r.reasonCode }];
}

function attemptEntries(laneId: string, a: AttemptRecord, before: AttemptRecord | undefined): AuditEntry[] {
  const ids = { laneId, orderRef: a.orderRef, attemptId: a.attemptId, amountFen: a.amountFen };
  const was = before?.phase;
  if (a.phase === "reversing" && was !== "reversing")
    return [{ type: "reversalSent", ...ids, why: a.reason }];
  if (
    was !== undefined &&
    REVERSING.has(was) &&
    a.phase !== was &&
    (isFinalAttempt(a.phase) || a.phase === "unresolved")
  )
    return [{ type: "reversalEnded", ...ids, phase: a.phase, reason: a.reason }];
  return [];
}

/** A CA that changed the journal: what it did to the sale. One that changed nothing is no act. */
function cashierCancel(laneId: string, cause: AuditCause, writes: JournaledWrite[]): AuditEntry | undefined {
  const req = cause.request;
  if (cause.input !== "pos" || req?.type !== "cancel") return undefined;
  const mine = writes.filter((w) => w.record.orderRef === req.orderRef);
  if (mine.length === 0) return undefined;
  const attempt = mine.find((w) => w.record.kind === "attempt")?.record as AttemptRecord | undefined;
  const sale = mine.find((w) => w.record.kind === "sale")?.record;
  let outcome: string;
  if (attempt?.phase === "reversing") outcome = `reversal of attempt ${attempt.attemptId} requested`;
  else if (attempt && isFinalAttempt(attempt.phase))
    outcome = `attempt ${attempt.attemptId} ${attempt.phase} before it was sent; sale ${sale?.kind === "sale" ? sale.status : "ended"}`;
  else if (sale?.kind === "sale") outcome = `sale ${sale.status}`;
  else outcome = "recorded";
  return { type: "cashierCancel", laneId, orderRef: req.orderRef, requestSeq: req.seq, outcome };
}
