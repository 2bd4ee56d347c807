// One payment attempt's life after the scan, as a pure step function: typed inputs (results,
// due times, the cashier's cancel, a restart) in, the next AttemptRecord and the requests to send
// out. Rules: mqtt-contract.md ("Semantics the bridge relies on") and payment-domain.md §2.4, §7
// rules 9–14:
//   - WAITING_CUSTOMER keeps the attempt open: never a second pay for it;
//   - UNKNOWN (no answer, SYSTEMERROR-like) is resolved only by QueryRequest (first after
//     firstQueryMs, then every queryIntervalMs) and by CancelRequest (reverse) reverseAfterMs after
//     the pay request or when the cashier cancels, repeated while the cloud asks, bounded;
//   - a query answered "order does not exist" proves nothing (the pay may still be on its way):
//     only the answer to a CancelRequest closes such an attempt (the cloud keeps a tombstone);
//   - a PAID with another amount is not paid: unresolved, with an alarm;
//   - when the reversal budget runs out the attempt is `unresolved`: re-queried every
//     reconcileIntervalMs, after a restart too, until the cloud says something final;
//   - a final attempt never changes its end, but a PAID that contradicts it (after a confirmed
//     reversal, after a failure, or with another amount after it was paid) is written down as the
//     cloud's late claim (`latePaid…`) with a `latePaid` note: the cloud broke its word.
// Nothing is sent while the link is down: the due time moves on, budgets are not spent; a cancel
// the broker refused (it reached no one) gives its reversal back.
// Every due time is monotonic (`at.mono`, fields `…Mono`): a wall-clock step of hours neither
// hastens a reversal nor delays a query. The wall clock only stamps the record (`…At`).
import type { CloudCommand, PaymentResult } from "../cloud/cloud-messages.js";
import { elapsedSince, type Instant, monoAgo } from "../core/instant.js";
import { reasonCodeOf } from "./sale-texts.js";
import { type AttemptReason, type AttemptRecord, isFinalAttempt, type SaleAttention } from "./records.js";

export interface AttemptSettings {
  /** First query after the pay request (or after an UNKNOWN answer); default 5000. */
  firstQueryMs: number;
  /** Between queries; default 5000. */
  queryIntervalMs: number;
  /** Reverse this long after the pay request if still not final; default 45000. */
  reverseAfterMs: number;
  /** Between reversal requests while the cloud asks again or stays silent; default 5000. */
  reverseRetryMs: number;
  /** Reversal requests before the attempt is handed to background reconciliation; default 10. */
  maxReversals: number;
  /** Between queries of an unresolved attempt; default 60000. */
  reconcileIntervalMs: number;
  /** A queued attempt must be published within this time of its scan, or it is cancelled. */
  sendWindowMs: number;
}

/** The contract's timings (mqtt-contract.md; payment-domain.md §2.1 "Recommended profile"). */
export const DEFAULT_ATTEMPT_SETTINGS: AttemptSettings = {
  firstQueryMs: 5_000,
  queryIntervalMs: 5_000,
  reverseAfterMs: 45_000,
  reverseRetryMs: 5_000,
  maxReversals: 10,
  reconcileIntervalMs: 60_000,
  sendWindowMs: 20_000,
};

export type AttemptInput =
  /** The PayRequest could not be handed to the broker: the attempt waits for the link. */
  | { type: "notPublished" }
  /**
   * The broker refused the attempt's only PayRequest (MQTT 5 PUBACK ≥ 0x80, e.g. "0x87"): it
   * reached no one, so the attempt ends at once, not sent, and a rescan is allowed.
   */
  | { type: "refused"; reasonCode: string }
  /** The broker refused a CancelRequest: it reached no one, so it does not count as a reversal. */
  | { type: "cancelRefused" }
  /** The link is back: a queued attempt is published now, others act at once. */
  | { type: "linkUp" }
  | { type: "result"; result: PaymentResult; answers: CloudCommand["type"] }
  /** `nextDueMono` was reached. */
  | { type: "due" }
  | { type: "cashierCancel" }
  /** Found not final in the journal after a restart. */
  | { type: "recovered" };

export type AttemptSend = { type: "pay" } | { type: "query" } | { type: "cancel"; reason: string };

export interface AttemptStep {
  attempt: AttemptRecord;
  sends: AttemptSend[];
  /** Something worth an event: an ignored result, an alarm. Never holds a payment code. */
  notes: AttemptNote[];
}

export type AttemptNote =
  | { kind: "resultIgnored"; detail: string }
  | { kind: "amountMismatch"; detail: string }
  | { kind: "notFound"; detail: string }
  /** The cloud said PAID after the attempt had ended otherwise (or with another amount): alarm. */
  | { kind: "latePaid"; attention: Exclude<SaleAttention, "">; detail: string };

const NOT_FOUND = /^(ORDERNOTEXIST|ORDER_NOT_EXIST|TRADE_NOT_EXIST|ACQ\.TRADE_NOT_EXIST|NOT_FOUND)$/i;

/**
 * The cloud refused the pay request because it already holds a payment for this lane's orderRef
 * that is paid or not final (cloud-contract.md): this attempt moved no money, but the order may
 * well be paid, so it is never "not paid" (sale-attempts.ts ends the sale UNKNOWN with an alarm).
 */
export const ORDER_PAID_REASON = "ORDERPAID";

/**
 * A new attempt for a scan at `at`, whose code lives `codeLifetimeMs`: `sent` when the link is up
 * (the caller publishes), else `queued`. `deadlineMs` (wall clock) is what the cloud is told.
 */
export function newAttempt(
  s: AttemptSettings,
  fields: Pick<AttemptRecord, "attemptId" | "laneId" | "orderRef" | "amountFen" | "scheme" | "maskedCode"> & {
    training?: boolean;
  },
  codeLifetimeMs: number,
  online: boolean,
  at: Instant,
): AttemptStep {
  const base: AttemptRecord = {
    kind: "attempt",
    ...fields,
    createdAt: at.wall,
    deadlineMs: at.wall + codeLifetimeMs,
    sentAt: online ? at.wall : null,
    boot: at.boot,
    scannedMono: at.mono,
    sentMono: online ? at.mono : null,
    phase: online ? "sent" : "queued",
    reason: "",
    reasonCode: "",
    channelTradeNo: "",
    paidAmountFen: null,
    queries: 0,
    reversals: 0,
    latePaidAmountFen: null,
    lateTradeNo: "",
    latePaidAt: null,
    nextDueMono: null,
    training: fields.training ?? false,
    updatedAt: at.wall,
  };
  const attempt = { ...base, nextDueMono: online ? at.mono + s.firstQueryMs : sendBy(s, base) };
  return { attempt, sends: online ? [{ type: "pay" }] : [], notes: [] };
}

/** Monotonic instant after which the code is dead: the cloud must not charge, nothing is published. */
export function codeDeadlineMono(a: AttemptRecord): number {
  return a.scannedMono + Math.max(0, a.deadlineMs - a.createdAt);
}

/** The last monotonic instant a queued attempt may still be published. */
function sendBy(s: AttemptSettings, a: AttemptRecord): number {
  return Math.min(a.scannedMono + s.sendWindowMs, codeDeadlineMono(a));
}

export function attemptStep(
  s: AttemptSettings,
  a: AttemptRecord,
  input: AttemptInput,
  online: boolean,
  at: Instant,
): AttemptStep {
  if (isFinalAttempt(a.phase)) {
    if (input.type === "result") return onLateResult(a, input.result, at);
    return { attempt: a, sends: [], notes: [] };
  }
  switch (input.type) {
    case "notPublished":
      if (a.phase !== "sent" || a.sentAt === null || a.queries > 0) return same(a);
      // Nothing left the bridge: wait for the link, within the send window.
      return step({ ...a, phase: "queued", sentAt: null, sentMono: null, nextDueMono: sendBy(s, a) }, at);
    case "refused":
      // Only while nothing else can have reached the cloud: the pay request is the attempt's
      // first word (no answer yet; at most an unanswered query went out after it).
      if (a.phase !== "sent" && !(a.phase === "unknown" && a.reason === "noAnswer")) return same(a);
      return step(
        {
          ...a,
          phase: "cancelled",
          reason: "brokerRefused",
          reasonCode: reasonCodeOf(input.reasonCode),
          nextDueMono: null,
        },
        at,
      );
    case "cancelRefused":
      if (a.phase !== "reversing" || a.reversals === 0) return same(a);
      return step({ ...a, reversals: a.reversals - 1 }, at);
    case "linkUp":
      if (a.phase === "queued") return publishQueued(s, a, online, at);
      return step({ ...a, nextDueMono: Math.min(a.nextDueMono ?? at.mono, at.mono) }, at);
    case "recovered":
      return onRecovered(s, rebase(a, at), online, at);
    case "cashierCancel":
      if (a.phase === "queued") return cancelled(a, "cashierCancel", at);
      if (a.phase === "reversing") return same(a);
      return reverse(s, { ...a, reason: "cashierCancel" }, online, at);
    case "due":
      if (a.nextDueMono === null || at.mono < a.nextDueMono) return same(a);
      return onDue(s, a, online, at);
    case "result":
      return onResult(s, a, input.result, input.answers, online, at);
  }
}

function onDue(s: AttemptSettings, a: AttemptRecord, online: boolean, at: Instant): AttemptStep {
  const now = at.mono;
  switch (a.phase) {
    case "queued":
      return publishQueued(s, a, online, at);
    case "sent":
    case "waitCustomer":
    case "unknown": {
      if (a.sentMono !== null && now >= a.sentMono + s.reverseAfterMs)
        return reverse(s, { ...a, reason: a.reason === "cashierCancel" ? a.reason : "deadline" }, online, at);
      if (!online) return step({ ...a, nextDueMono: now + s.queryIntervalMs }, at);
      const phase = a.phase === "sent" ? "unknown" : a.phase;
      const reason: AttemptReason = a.phase === "sent" ? "noAnswer" : a.reason;
      return {
        attempt: touch(
          { ...a, phase, reason, queries: a.queries + 1, nextDueMono: now + s.queryIntervalMs },
          at,
        ),
        sends: [{ type: "query" }],
        notes: [],
      };
    }
    case "reversing":
      if (a.reversals >= s.maxReversals)
        return step(
          {
            ...a,
            phase: "unresolved",
            reason: "reverseExhausted",
            nextDueMono: now + s.reconcileIntervalMs,
          },
          at,
        );
      return reverse(s, a, online, at);
    case "unresolved":
      if (!online) return step({ ...a, nextDueMono: now + s.reconcileIntervalMs }, at);
      return {
        attempt: touch({ ...a, queries: a.queries + 1, nextDueMono: now + s.reconcileIntervalMs }, at),
        sends: [{ type: "query" }],
        notes: [],
      };
    default:
      return same(a);
  }
}

function publishQueued(s: AttemptSettings, a: AttemptRecord, online: boolean, at: Instant): AttemptStep {
  const latest = sendBy(s, a);
  // Never publish a pay request after its send-by time: no money has moved, say so.
  if (at.mono >= latest) return cancelled(a, "notSent", at);
  if (!online) return step({ ...a, nextDueMono: latest }, at);
  return {
    attempt: touch(
      { ...a, phase: "sent", sentAt: at.wall, sentMono: at.mono, nextDueMono: at.mono + s.firstQueryMs },
      at,
    ),
    sends: [{ type: "pay" }],
    notes: [],
  };
}

/**
 * An attempt read back from the journal, moved onto this boot's monotonic clock: how long ago it
 * was scanned and sent is exact when the bridge only restarted (same boot), and taken from the
 * wall clock after a reboot (or from a journal that kept no monotonic time).
 */
export function rebase(a: AttemptRecord, at: Instant): AttemptRecord {
  if (a.boot === at.boot && a.boot !== "") return a;
  const scanned = elapsedSince({ wall: a.createdAt, mono: a.scannedMono, boot: a.boot }, at);
  const sent =
    a.sentAt === null ? null : elapsedSince({ wall: a.sentAt, mono: a.sentMono, boot: a.boot }, at);
  return {
    ...a,
    boot: at.boot,
    scannedMono: monoAgo(at, scanned),
    sentMono: sent === null ? null : monoAgo(at, sent),
    nextDueMono: a.nextDueMono === null ? null : at.mono,
  };
}

function onRecovered(s: AttemptSettings, a: AttemptRecord, online: boolean, at: Instant): AttemptStep {
  switch (a.phase) {
    case "queued":
      // A queued attempt was refused by the link: it never left, and its code died with the process.
      return cancelled(a, "notSent", at);
    case "sent":
    case "waitCustomer":
    case "unknown":
      if (a.sentMono === null || at.mono >= a.sentMono + s.reverseAfterMs)
        return reverse(s, { ...a, reason: "recovered" }, online, at);
      return step({ ...a, phase: "unknown", reason: "recovered", nextDueMono: at.mono }, at);
    case "reversing":
    case "unresolved":
      return step({ ...a, nextDueMono: at.mono }, at);
    default:
      return same(a);
  }
}

function onResult(
  s: AttemptSettings,
  a: AttemptRecord,
  res: PaymentResult,
  answers: CloudCommand["type"],
  online: boolean,
  at: Instant,
): AttemptStep {
  const withCode = { ...a, reasonCode: reasonCodeOf(res.reasonCode) };
  // Whatever this attempt was doing (even reversing: there is nothing of it to reverse).
  if (res.status === "FAILED" && res.reasonCode.toUpperCase() === ORDER_PAID_REASON)
    return step({ ...withCode, phase: "failed", reason: "orderAlreadyPaid", nextDueMono: null }, at);
  if (res.status === "FAILED" && NOT_FOUND.test(res.reasonCode) && answers !== "cancel") {
    // "No such order" from a query proves nothing: the pay request may still be on its way. In
    // reconciliation, close it for good with a cancel (the cloud keeps a tombstone).
    if (a.phase === "unresolved" && online)
      return {
        attempt: touch({ ...withCode, phase: "reversing", reversals: a.reversals + 1 }, at),
        sends: [{ type: "cancel", reason: "not found by the cloud" }],
        notes: [{ kind: "notFound", detail: `cloud does not know attempt ${a.attemptId}; closing it` }],
      };
    return {
      attempt: a,
      sends: [],
      notes: [{ kind: "notFound", detail: `cloud does not know attempt ${a.attemptId} yet` }],
    };
  }
  if (a.phase === "reversing") return onReversalResult(s, withCode, res, answers, at);
  switch (res.status) {
    case "PAID":
      return onPaid(s, withCode, res, at, "");
    case "WAITING_CUSTOMER":
      return step({ ...withCode, phase: "waitCustomer", nextDueMono: at.mono + s.queryIntervalMs }, at);
    case "UNKNOWN":
      return step(
        {
          ...withCode,
          phase: a.phase === "unresolved" ? "unresolved" : "unknown",
          reason: a.phase === "unresolved" ? a.reason : "cloudUnknown",
          nextDueMono: a.phase === "unresolved" ? a.nextDueMono : at.mono + s.firstQueryMs,
        },
        at,
      );
    case "FAILED":
      return step(
        {
          ...withCode,
          phase: "failed",
          reason: res.rescanAllowed ? "declinedRescan" : "declinedFinal",
          nextDueMono: null,
        },
        at,
      );
    case "CANCELLED":
      return cancelled(withCode, "reversed", at);
  }
}

function onReversalResult(
  s: AttemptSettings,
  a: AttemptRecord,
  res: PaymentResult,
  answers: CloudCommand["type"],
  at: Instant,
): AttemptStep {
  // Reversed, or the payment itself failed: either way no money moved (or it was returned).
  if (res.status === "CANCELLED" || res.status === "FAILED") return cancelled(a, "reversed", at);
  if (res.status === "PAID") {
    // A PAID answering the pay request or a query may be undone by the reversal under way; only
    // the cancel's own PAID ("could not reverse") is the truth.
    if (answers !== "cancel")
      return note(a, "resultIgnored", `PAID for ${answers} of ${a.attemptId} ignored: reversal under way`);
    return onPaid(s, a, res, at, "paidDespiteReverse");
  }
  // WAITING or UNKNOWN to a cancel: the cloud asks us to try again (recall=Y); the due time does.
  return step(
    { ...a, nextDueMono: Math.min(a.nextDueMono ?? at.mono + s.reverseRetryMs, at.mono + s.reverseRetryMs) },
    at,
  );
}

function onPaid(
  s: AttemptSettings,
  a: AttemptRecord,
  res: PaymentResult,
  at: Instant,
  reason: AttemptReason,
): AttemptStep {
  if (res.amountFen !== a.amountFen) {
    const detail = `attempt ${a.attemptId} PAID ${res.amountFen} fen, asked ${a.amountFen}`;
    return {
      attempt: touch(
        {
          ...a,
          phase: "unresolved",
          reason: "amountMismatch",
          paidAmountFen: res.amountFen,
          nextDueMono: at.mono + s.reconcileIntervalMs,
        },
        at,
      ),
      sends: [],
      notes: [{ kind: "amountMismatch", detail }],
    };
  }
  return step(
    {
      ...a,
      phase: "paid",
      reason,
      channelTradeNo: res.channelTradeNo.slice(0, 64),
      paidAmountFen: res.amountFen,
      nextDueMono: null,
    },
    at,
  );
}

/**
 * A result for an attempt that has already ended. Only a PAID the end contradicts matters: it is
 * kept beside the end (never instead of it: the register was told otherwise, and only a person
 * can tell which word of the cloud's is true), once per claimed amount. Anything else, and a PAID
 * repeating the paid end, is noted and ignored.
 */
function onLateResult(a: AttemptRecord, res: PaymentResult, at: Instant): AttemptStep {
  const ignored = () => note(a, "resultIgnored", `${res.status} for final attempt ${a.attemptId}`);
  if (res.status !== "PAID") return ignored();
  if (a.phase === "paid" && res.amountFen === (a.paidAmountFen ?? a.amountFen)) return ignored();
  if (a.latePaidAt !== null && a.latePaidAmountFen === res.amountFen) return ignored();
  const attention: Exclude<SaleAttention, ""> =
    a.phase === "paid"
      ? "amountMismatchAfterEnd"
      : a.phase === "cancelled" && a.reason === "reversed"
        ? "paidAfterReversal"
        : "paidAfterEnd";
  const ended =
    a.phase === "paid" ? `paid ${a.paidAmountFen ?? a.amountFen} fen` : `${a.phase} (${a.reason})`;
  const detail =
    `order ${a.orderRef}: attempt ${a.attemptId} ended ${ended}, now the cloud says PAID ` +
    `${res.amountFen} fen (asked ${a.amountFen}): needs attention`;
  return {
    attempt: touch(
      {
        ...a,
        latePaidAmountFen: res.amountFen,
        lateTradeNo: res.channelTradeNo.slice(0, 64),
        latePaidAt: at.wall,
      },
      at,
    ),
    sends: [],
    notes: [{ kind: "latePaid", attention, detail }],
  };
}

function reverse(s: AttemptSettings, a: AttemptRecord, online: boolean, at: Instant): AttemptStep {
  if (!online) return step({ ...a, phase: "reversing", nextDueMono: at.mono + s.reverseRetryMs }, at);
  return {
    attempt: touch(
      { ...a, phase: "reversing", reversals: a.reversals + 1, nextDueMono: at.mono + s.reverseRetryMs },
      at,
    ),
    sends: [{ type: "cancel", reason: reverseReason(a.reason) }],
    notes: [],
  };
}

function reverseReason(reason: AttemptReason): string {
  if (reason === "cashierCancel") return "cashier cancelled";
  if (reason === "recovered") return "bridge restarted; outcome unknown";
  return "no final result before the deadline";
}

function cancelled(a: AttemptRecord, reason: AttemptReason, at: Instant): AttemptStep {
  return step({ ...a, phase: "cancelled", reason, nextDueMono: null }, at);
}

function note(a: AttemptRecord, kind: Exclude<AttemptNote["kind"], "latePaid">, detail: string): AttemptStep {
  return { attempt: a, sends: [], notes: [{ kind, detail }] };
}

function step(a: AttemptRecord, at: Instant): AttemptStep {
  return { attempt: touch(a, at), sends: [], notes: [] };
}

function same(a: AttemptRecord): AttemptStep {
  return { attempt: a, sends: [], notes: [] };
}

function touch(a: AttemptRecord, at: Instant): AttemptRecord {
  return { ...a, updatedAt: at.wall };
}
