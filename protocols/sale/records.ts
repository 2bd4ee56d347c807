// What the journal keeps about sales, attempts and refunds (issue "Never lose a payment").
// Each record is a full snapshot of one entity; the journal folds them last-write-wins by key.
// Never a payment code, never payer identifiers (payment-domain.md §7 rules 18–19): the only
// trace of a code is `maskedCode`, scheme + last 4 digits at most.
// Time (protocols/core/instant.ts): fields ending in `At` (and `deadlineMs`) are wall-clock epoch
// ms, written down for people and the cloud; fields ending in `Mono` are monotonic ms of the boot
// named by `boot`, and every schedule runs on them, so an NTP step moves no query or reversal.
import type { Scheme } from "../payment/scheme.js";

/**
 * An attempt's life. `queued` → `sent` → (`waitCustomer` | `unknown`)* → `reversing` → final,
 * with `unresolved` when the reversal budget ran out (kept and re-queried until final).
 */
export type AttemptPhase =
  /** Journaled, not yet published (link down); the code waits in memory only. */
  | "queued"
  /** Published; no answer yet. */
  | "sent"
  /** The customer must confirm on the phone; never a second pay for this attempt. */
  | "waitCustomer"
  /** The outcome is not known: resolved only by query, then reverse. */
  | "unknown"
  /** A CancelRequest (reverse) was sent: deadline reached, cashier cancelled, or recovery. */
  | "reversing"
  /** The reversal budget ran out: not final; re-queried periodically and after a restart. */
  | "unresolved"
  | "paid"
  | "failed"
  | "cancelled";

export const FINAL_ATTEMPT_PHASES: ReadonlySet<AttemptPhase> = new Set(["paid", "failed", "cancelled"]);

export function isFinalAttempt(phase: AttemptPhase): boolean {
  return FINAL_ATTEMPT_PHASES.has(phase);
}

/** Why an attempt is where it is (typed, for logs, the journal and the day report). */
export type AttemptReason =
  | ""
  /** The channel declined; a rescan (new attempt) is allowed. */
  | "declinedRescan"
  /** The channel declined; the sale ends. */
  | "declinedFinal"
  /** Could not be published before its send-by time: no money moved. */
  | "notSent"
  /** The broker refused the pay request (MQTT 5 PUBACK ≥ 0x80): it reached no one; a rescan is allowed. */
  | "brokerRefused"
  /** No answer within the first query delay. */
  | "noAnswer"
  /** The cloud answered UNKNOWN (SYSTEMERROR-like). */
  | "cloudUnknown"
  /** PAID with another amount: not treated as paid; alarm. */
  | "amountMismatch"
  /** The query/reverse window (45 s) ran out. */
  | "deadline"
  /** The cashier cancelled (CA) while the attempt was in flight. */
  | "cashierCancel"
  /** Found open in the journal after a restart. */
  | "recovered"
  /** Reversed: no money moved, or the money was returned. */
  | "reversed"
  /** The reversal could not be confirmed within its budget. */
  | "reverseExhausted"
  /** The cloud confirmed payment after a reversal was asked for. */
  | "paidDespiteReverse"
  /**
   * The cloud refused the pay request (ORDERPAID): it already holds a payment for this orderRef,
   * paid or in flight (a journal lost with its stateDir). This attempt moved no money; the sale
   * is UNKNOWN for a person to check.
   */
  | "orderAlreadyPaid";

export interface AttemptRecord {
  kind: "attempt";
  attemptId: string;
  laneId: string;
  orderRef: string;
  amountFen: number;
  scheme: Scheme;
  /** scheme + last 4 at most (protocols/payment/mask.ts). */
  maskedCode: string;
  /** When the code was scanned (the attempt was made): wall clock, sent as scanned_at_ms. */
  createdAt: number;
  /**
   * Wall clock, sent as deadline_ms: after this instant the cloud must not charge. The bridge
   * itself enforces it on the monotonic clock (scannedMono + deadlineMs - createdAt).
   */
  deadlineMs: number;
  /** When the PayRequest was first published (wall clock); null while queued. */
  sentAt: number | null;
  /** The boot `scannedMono`, `sentMono` and `nextDueMono` count on ("" when not known). */
  boot: string;
  /** When the code was scanned, monotonic: the send window and the code's life run from here. */
  scannedMono: number;
  /** When the PayRequest was first published, monotonic: the reversal deadline runs from here. */
  sentMono: number | null;
  phase: AttemptPhase;
  reason: AttemptReason;
  /** The cloud's reason code (e.g. USERPAYING, SYSTEMERROR); no payer data. */
  reasonCode: string;
  channelTradeNo: string;
  /** The amount a PAID result named (differs from amountFen only on a mismatch). */
  paidAmountFen: number | null;
  queries: number;
  reversals: number;
  /**
   * What the cloud claimed after the attempt had ended (a PAID for an attempt it had confirmed
   * reversed, or that ended failed/cancelled; or a PAID with another amount after it ended paid):
   * the claimed amount, its channel trade number and when it arrived (wall clock). Never folded
   * into `phase`: the attempt keeps the end the register was told, and its sale is marked
   * `attention`. All null/"" while the cloud kept its word.
   */
  latePaidAmountFen: number | null;
  lateTradeNo: string;
  latePaidAt: number | null;
  /** When the machine next acts on this attempt (query, reverse, send-by), monotonic; null when final. */
  nextDueMono: number | null;
  /**
   * A training attempt (`posbridge test sale`): answered by the simulated cloud inside the bridge,
   * never published (its id starts with TRAINING_ATTEMPT_PREFIX; protocols/sale/training.ts).
   */
  training: boolean;
  updatedAt: number;
}

/** OPEN while the sale runs; PENDING when recovered after a restart with an attempt in flight. */
export type SaleStatus = "OPEN" | "PENDING" | "PAID" | "CANCELLED" | "UNKNOWN";

/**
 * Why a sale needs a person although the register already has its answer: the cloud broke its
 * word about one of its attempts after the bridge had settled it (docs/guarantees.md, promise 6).
 * Set once by the sale machine, never cleared by it: a person settles it with the cloud/back office.
 */
export type SaleAttention =
  | ""
  /** The cloud confirmed the reversal (CANCELLED) of an attempt, then said it was PAID. */
  | "paidAfterReversal"
  /** An attempt ended failed or cancelled (not by a confirmed reversal), then the cloud said PAID. */
  | "paidAfterEnd"
  /** An attempt ended paid, then the cloud said PAID with another amount. */
  | "amountMismatchAfterEnd";

export interface SaleRecord {
  kind: "sale";
  laneId: string;
  orderRef: string;
  amountFen: number;
  /** seq of the SA that opened the sale (its one RS echoes it). */
  seq: string;
  openedAt: number;
  status: SaleStatus;
  /** The SA has had its RS. */
  answered: boolean;
  scheme: Scheme | null;
  channelTradeNo: string;
  /** The sale's latest attempt, if any. */
  attemptId: string | null;
  attempts: number;
  /** The text the register was (or will be) given with the final status. */
  text: string;
  endedAt: number | null;
  /**
   * "" unless the cloud contradicted itself after one of the sale's attempts ended (SaleAttention).
   * The status and text above stay the bridge's own conclusion from its attempts (what the
   * register was told, unless the mark came before the sale ended); the claim is on the attempt
   * record (`latePaid…`). While set, every answer for the order (`QY`, a repeated `SA`, `CA`, the
   * end of a sale still open) is `30` with a text asking the cashier to check, and the day report
   * lists the sale.
   */
  attention: SaleAttention;
  /** When `attention` was set (wall clock); null while it is "". */
  attentionAt: number | null;
  /**
   * A training sale (`posbridge test sale`): opened by a technician, not by the register; its
   * attempts moved no money. The day report keeps it apart, never in the totals.
   */
  training: boolean;
  updatedAt: number;
  /**
   * Where the amount came from (journal version 4): "displayTap" for a sale of no-integration mode,
   * whose amount was read from the register's customer display (docs/hardware.md). Absent on a sale
   * the register asked for (SA): the amount is the register's.
   */
  amountSource?: AmountSource;
  /** displayTap: the accepted total's sequence number (protocols/display-tap/amount-machine.ts). */
  tapSeq?: number;
  /** displayTap: the first 16 hex digits of the SHA-256 of the display bytes the amount was read from. */
  tapEvidence?: string;
}

export type AmountSource = "register" | "displayTap";

/** A sale's amount as read from the register's display (SaleRecord amountSource … tapEvidence). */
export interface AmountProvenance {
  amountSource: "displayTap";
  tapSeq: number;
  tapEvidence: string;
}

export type RefundPhase = "requested" | "refunded" | "failed" | "unknown";

export interface RefundRecord {
  kind: "refund";
  /** Our id toward the cloud; reused on every retry of the same refundRef. */
  refundId: string;
  /** The register's reference for this refund (unique per sale). */
  refundRef: string;
  laneId: string;
  orderRef: string;
  /** The paid attempt being refunded. */
  attemptId: string;
  amountFen: number;
  /** seq of the RF being answered. */
  seq: string;
  phase: RefundPhase;
  reasonCode: string;
  sends: number;
  /** The RF has had its RS. */
  answered: boolean;
  /** When the refund was (last) asked for: wall clock. */
  requestedAt: number;
  /** The boot `requestedMono` and `nextDueMono` count on ("" when not known). */
  boot: string;
  /** The same moment, monotonic: the register's answer is due `answerWithinMs` after it. */
  requestedMono: number;
  /** When the refund is next resent, monotonic; null when final. */
  nextDueMono: number | null;
  updatedAt: number;
}

export type JournalRecord = SaleRecord | AttemptRecord | RefundRecord;

/** The key a record folds under (last write wins). */
export function recordKey(r: JournalRecord): string {
  switch (r.kind) {
    case "sale":
      return `sale/${r.laneId}/${r.orderRef}`;
    case "attempt":
      return `attempt/${r.attemptId}`;
    case "refund":
      return `refund/${r.refundId}`;
  }
}

/** True when nothing about the record can change any more (purge candidates, day report). */
export function isSettled(r: JournalRecord): boolean {
  switch (r.kind) {
    case "sale":
      return r.status === "PAID" || r.status === "CANCELLED";
    case "attempt":
      return isFinalAttempt(r.phase);
    case "refund":
      return r.phase === "refunded" || r.phase === "failed";
  }
}
