// What the audit trail records (docs/privacy.md, "The audit trail"): the acts a store, its
// accountant or the cloud team may have to account for later, and that the journal's compaction
// and retention fold away: refunds, cashier cancels, reversals, alarms, clock jumps, and each
// start with its version and config hash. Ordinary paid sales are not audit entries: the journal
// and the cloud hold them. No entry holds a payment code or a payer identifier: ids and amounts
// come from journal records (which never hold one), and free text is masked (maskAuditText).
import type { AttemptPhase, AttemptReason, RefundPhase } from "../../protocols/sale/records.js";

export type AuditEntry =
  /** The daemon started: what runs, with which configuration (hash, never the secrets). */
  | {
      type: "start";
      version: string;
      configHash: string;
      store: string;
      bridge: string;
      lanes: number;
      /** No journal was found at start while the audit trail had entries: the state was lost. */
      journalMissing: boolean;
      /** Damaged journal lines set aside at open (journal.log.corrupt-…). */
      journalDiscardedLines: number;
    }
  | { type: "stop"; failures: number }
  /** The register asked for a refund (`again`: the same refundRef, its outcome not known yet). */
  | {
      type: "refundRequested";
      laneId: string;
      orderRef: string;
      refundRef: string;
      refundId: string;
      attemptId: string;
      amountFen: number;
      again: boolean;
    }
  /** A refund's outcome changed: refunded, failed, or unknown (no final answer in time). */
  | {
      type: "refundEnded";
      laneId: string;
      orderRef: string;
      refundRef: string;
      refundId: string;
      amountFen: number;
      phase: Exclude<RefundPhase, "requested">;
      reasonCode: string;
    }
  /** The cashier's CA changed something: the sale ended, or its attempt is being reversed. */
  | { type: "cashierCancel"; laneId: string; orderRef: string; requestSeq: string; outcome: string }
  /** A CancelRequest (reversal) went out for an attempt, and why (deadline, cashierCancel, recovered…). */
  | {
      type: "reversalSent";
      laneId: string;
      orderRef: string;
      attemptId: string;
      amountFen: number;
      why: AttemptReason;
    }
  /** A reversed attempt's end: cancelled (reversed), paid despite it, or unresolved (budget spent). */
  | {
      type: "reversalEnded";
      laneId: string;
      orderRef: string;
      attemptId: string;
      amountFen: number;
      phase: AttemptPhase;
      reason: AttemptReason;
    }
  /** Every alarm the bridge raised (P/event kind "alarm"), and its clearing; laneId "" = bridge-wide. */
  | { type: "alarm"; laneId: string; detail: string }
  | { type: "alarmCleared"; laneId: string; detail: string }
  | { type: "clockJump"; detail: string };

export type AuditEntryType = AuditEntry["type"];

// Compile-time check: an entry must not name a field of its line (AuditLine: seq, at, prev), which
// it would overwrite. A clash makes this line fail to type-check.
type EntryKeys = AuditEntry extends infer E ? (E extends unknown ? keyof E : never) : never;
type Assert<T extends true> = T;
export type EntryFieldsFree = Assert<
  [Extract<EntryKeys, "seq" | "at" | "prev">] extends [never] ? true : false
>;

/** One line of the trail: the entry, its place in the chain and when it was written (wall ms). */
export type AuditLine = AuditEntry & {
  /** 1, 2, 3… across rotations: a gap means lines were removed. */
  seq: number;
  at: number;
  /** First 32 hex digits of the SHA-256 of the previous line (without its newline); "" for the first. */
  prev: string;
};

// ASCII or full-width digit runs as long as the shortest payment code's prefix and more: free text
// (alarm details, reason codes) may carry what a broker or the cloud wrote, never trusted.
const LONG_DIGITS = /[0-9０-９]{12,}/g;

/** Free text for the trail: runs of 12+ digits become "…" + their last 4 (the journal's rule). */
export function maskAuditText(text: string): string {
  return text.replace(LONG_DIGITS, (run) => `…${run.slice(-4)}`);
}

const yuan = (fen: number) => `${Math.trunc(fen / 100)}.${String(Math.abs(fen) % 100).padStart(2, "0")}`;

/** One line for people: the report and the P/event "refund" detail (never a code). */
export function describeEntry(e: AuditEntry): string {
  switch (e.type) {
    case "start":
      return `started ${e.version}, config ${e.configHash.slice(0, 12)}, store ${e.store} bridge ${e.bridge}, ${e.lanes} lane(s)${e.journalMissing ? ", NO JOURNAL FOUND (state lost)" : ""}${e.journalDiscardedLines ? `, ${e.journalDiscardedLines} damaged journal line(s) set aside` : ""}`;
    case "stop":
      return `stopped${e.failures ? ` (${e.failures} component(s) failed to stop)` : ""}`;
    case "refundRequested":
      return `refund ${e.refundRef} of order ${e.orderRef} requested${e.again ? " again" : ""}: ${yuan(e.amountFen)} yuan (refund ${e.refundId}, attempt ${e.attemptId})`;
    case "refundEnded":
      return `refund ${e.refundRef} of order ${e.orderRef} ${e.phase}: ${yuan(e.amountFen)} yuan${e.reasonCode ? ` (${e.reasonCode})` : ""} (refund ${e.refundId})`;
    case "cashierCancel":
      return `cashier cancelled order ${e.orderRef} (CA ${e.requestSeq}): ${e.outcome}`;
    case "reversalSent":
      return `reversal of attempt ${e.attemptId} (order ${e.orderRef}, ${yuan(e.amountFen)} yuan) sent: ${e.why || "requested"}`;
    case "reversalEnded":
      return `reversal of attempt ${e.attemptId} (order ${e.orderRef}) ended ${e.phase}${e.reason ? ` (${e.reason})` : ""}`;
    case "alarm":
      return `alarm: ${e.detail}`;
    case "alarmCleared":
      return `alarm cleared: ${e.detail}`;
    case "clockJump":
      return `clock: ${e.detail}`;
  }
}
