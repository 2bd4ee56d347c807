// The sale machine's attempts: the one in flight for the open sale (`stepCurrent`) and those
// running in the background (recovered after a restart, or unresolved), each stepped by the pure
// attempt machine; how an attempt's end ends its sale (`finishCurrent`, `settle`); and what a
// result for an attempt that has already ended does (`onEndedAttempt`).
import type { CloudCommand, PaymentResult } from "../cloud/cloud-messages.js";
import { type AttemptInput, type AttemptNote, type AttemptStep, attemptStep } from "./attempt-machine.js";
import { type AttemptRecord, isFinalAttempt, type SaleRecord } from "./records.js";
import type { SaleView } from "./refund-machine.js";
import { display, type Effects, event, finalView, progress, saleAnswer } from "./sale-outcomes.js";
import { failedText, rescanText, TEXT } from "./sale-texts.js";
import type { ActiveSale, BackgroundAttempt, LaneSaleState, StepContext } from "./sale-types.js";

/** A training attempt's cloud is the simulation inside the bridge: it is always reachable. */
function onlineFor(state: LaneSaleState, attempt: AttemptRecord): boolean {
  return state.cloudOnline || attempt.training;
}

export function resultInput(result: PaymentResult, answers: CloudCommand["type"]): AttemptInput {
  return { type: "result", result, answers };
}

/**
 * Routes an attempt input to the attempt it names: the open sale's, one in the background, or,
 * for a result, one that has already ended as the journal (`view`) knows it.
 */
export function onAttemptInput(
  c: StepContext,
  state: LaneSaleState,
  attemptId: string,
  input: AttemptInput,
  view?: SaleView,
): LaneSaleState {
  if (state.current?.attempt?.attemptId === attemptId) return stepCurrent(c, state, input);
  const bg = state.background.find((b) => b.attempt.attemptId === attemptId);
  if (bg) return stepBackground(c, state, bg, input);
  const ended = view?.attempts.find((a) => a.attemptId === attemptId);
  if (input.type === "result" && view && ended && isFinalAttempt(ended.phase))
    return onEndedAttempt(c, state, ended, view.sale, input);
  if (input.type === "result")
    c.out.add(
      event("resultIgnored", `result ${input.result.status} for attempt ${attemptId} not in flight`, "warn"),
    );
  return state;
}

/**
 * A result for an attempt that has already ended. A PAID its end contradicts (the cloud broke its
 * word) is journaled on the attempt, beside its end, and marks the order's sale "needs attention"
 * (`attention`), with an alarm. The sale's status is not changed: a late PAID never turns a
 * CANCELLED sale PAID, nor is it dropped. The register is not told unsolicited (it had its one
 * RS; `QY` and a repeated `SA` now answer 30 asking the cashier to check), except a sale still
 * open and waiting for a rescan: the customer has paid as far as the cloud says, so it ends at
 * once, answered 30 the same way, instead of taking a second payment.
 */
function onEndedAttempt(
  c: StepContext,
  state: LaneSaleState,
  ended: AttemptRecord,
  journaled: SaleRecord,
  input: AttemptInput,
): LaneSaleState {
  const { s, at, out } = c;
  const step = attemptStep(s.attempt, ended, input, onlineFor(state, ended), at);
  applyAttempt(step, ended, out);
  const late = step.notes.find((n): n is Extract<AttemptNote, { kind: "latePaid" }> => n.kind === "latePaid");
  if (!late) return state;
  // The first contradiction names the sale's attention; later ones are on their attempts and alarms.
  const marked = (r: SaleRecord): SaleRecord =>
    r.attention !== "" ? r : { ...r, attention: late.attention, attentionAt: at.wall, updatedAt: at.wall };
  const cur = state.current;
  if (cur && cur.record.orderRef === ended.orderRef) {
    const record = marked(cur.record);
    if (!cur.attempt)
      return finishCurrent(c, state, { ...cur, record }, "CANCELLED", record.scheme, "", TEXT.cancelled);
    if (record !== cur.record) out.journal(record);
    return { ...state, current: { ...cur, record } };
  }
  // The latest snapshot of the order's sale: the background's copy if it is resolving there.
  const base = state.background.find((b) => b.sale?.orderRef === ended.orderRef)?.sale ?? journaled;
  if (base.orderRef !== ended.orderRef) return state;
  const record = marked(base);
  if (record === base) return state;
  out.journal(record);
  return {
    ...state,
    background: state.background.map((b) =>
      b.sale?.orderRef === record.orderRef ? { ...b, sale: record } : b,
    ),
  };
}

/** Carries out an attempt step's journal write, requests and notes. */
function applyAttempt(step: AttemptStep, before: AttemptRecord, out: Effects): void {
  const a = step.attempt;
  if (a !== before) out.journal(a);
  for (const send of step.sends) {
    if (send.type === "pay") out.add({ type: "pay", attempt: a, scannedAtMs: a.createdAt });
    if (send.type === "query") out.add({ type: "query", command: { type: "query", attemptId: a.attemptId } });
    if (send.type === "cancel")
      out.add({ type: "cancel", command: { type: "cancel", attemptId: a.attemptId, reason: send.reason } });
  }
  for (const n of step.notes)
    out.add(event(n.kind, n.detail, n.kind === "amountMismatch" || n.kind === "latePaid" ? "error" : "warn"));
}

export function stepCurrent(c: StepContext, state: LaneSaleState, input: AttemptInput): LaneSaleState {
  const { s, at, out } = c;
  const sale = state.current;
  const before = sale?.attempt;
  if (!sale || !before) return state;
  const step = attemptStep(s.attempt, before, input, onlineFor(state, before), at);
  applyAttempt(step, before, out);
  const a = step.attempt;
  const orderRef = sale.record.orderRef;
  const amountFen = sale.record.amountFen;
  const withAttempt: LaneSaleState = { ...state, current: { ...sale, attempt: a } };
  if (a.phase === before.phase) return withAttempt;
  switch (a.phase) {
    case "paid":
      return finishCurrent(
        c,
        state,
        sale,
        "PAID",
        a.scheme,
        a.channelTradeNo,
        a.reason === "paidDespiteReverse" ? TEXT.reverseFailedPaid : TEXT.paid,
      );
    case "failed": {
      if (a.reason === "orderAlreadyPaid") {
        // Never "not paid": the cloud holds a payment for this order that this bridge does not
        // know of (its journal was lost). UNKNOWN tells the cashier not to charge again.
        out.add(
          event(
            "orderAlreadyPaid",
            `order ${orderRef}: the cloud already holds a payment for it (ORDERPAID); attempt ${a.attemptId} refused, nothing charged; check before charging again`,
            "error",
          ),
        );
        return finishCurrent(c, state, sale, "UNKNOWN", a.scheme, "", TEXT.orderAlreadyPaid);
      }
      const res = failure(a);
      if (a.reason !== "declinedRescan")
        return finishCurrent(c, state, sale, "CANCELLED", a.scheme, "", failedText(res));
      const { text, reason } = rescanText(res);
      out.add(
        { type: "armTimer", name: "scan", atMono: at.mono + s.scanTimeoutMs },
        progress(orderRef, "RETRY_SCAN", text),
        display({ type: "rescan", amountFen, reason }),
        event(
          "attemptFailed",
          `attempt ${a.attemptId} failed ${a.reasonCode || "FAILED"}, rescan allowed`,
          "info",
        ),
      );
      return { ...state, current: { ...sale, attempt: null } };
    }
    case "cancelled": {
      if (a.reason === "brokerRefused") {
        // Nothing reached the cloud: the sale stays open for a rescan (or the cashier's cancel).
        out.add(
          { type: "armTimer", name: "scan", atMono: at.mono + s.scanTimeoutMs },
          progress(orderRef, "RETRY_SCAN", TEXT.payRefused(a.reasonCode)),
          display({ type: "rescan", amountFen, reason: "declined" }),
          event(
            "attemptFailed",
            `attempt ${a.attemptId} refused by the broker (${a.reasonCode}): not sent, no money moved, rescan allowed`,
            "warn",
          ),
        );
        return { ...state, current: { ...sale, attempt: null } };
      }
      const text =
        a.reason === "notSent"
          ? TEXT.notSent
          : sale.cancelSeqs.length > 0
            ? TEXT.cancelled
            : TEXT.reversedTimeout;
      return finishCurrent(c, state, sale, "CANCELLED", a.scheme, "", text);
    }
    case "unresolved": {
      const text = a.reason === "amountMismatch" ? TEXT.amountMismatch : TEXT.unknown;
      const next = finishCurrent(c, state, sale, "UNKNOWN", a.scheme, "", text);
      const ended = next.current === null ? lastSale(c, sale, "UNKNOWN", a.scheme, "", text) : null;
      return { ...next, background: [...next.background, { attempt: a, sale: ended }] };
    }
    case "waitCustomer":
      out.add(
        progress(orderRef, "WAIT_CUSTOMER", TEXT.waitCustomer),
        display({ type: "confirmOnPhone", amountFen }),
      );
      return withAttempt;
    case "unknown":
      out.add(progress(orderRef, "QUERYING", TEXT.querying));
      return withAttempt;
    case "reversing":
      out.add(progress(orderRef, "REVERSING", TEXT.reversing));
      return withAttempt;
    case "sent":
      out.add(progress(orderRef, "SUBMITTED", TEXT.submitted));
      return withAttempt;
    case "queued":
      out.add(progress(orderRef, "SUBMITTED", TEXT.waitingNetwork));
      return withAttempt;
  }
}

export function stepBackground(
  c: StepContext,
  state: LaneSaleState,
  bg: BackgroundAttempt,
  input: AttemptInput,
  startFrom: AttemptRecord = bg.attempt,
): LaneSaleState {
  const { s, at, out } = c;
  const step = attemptStep(s.attempt, startFrom, input, onlineFor(state, startFrom), at);
  applyAttempt(step, bg.attempt, out);
  const a = step.attempt;
  const others = state.background.filter((b) => b !== bg);
  const sale = bg.sale;
  if (!sale || sale.attemptId !== a.attemptId) {
    if (a.phase === "paid" || a.phase === "failed" || a.phase === "cancelled") {
      out.add(
        event("attemptResolved", `attempt ${a.attemptId} of order ${a.orderRef} is ${a.phase}`, "info"),
      );
      return { ...state, background: others };
    }
    return { ...state, background: [...others, { attempt: a, sale }] };
  }
  const settledAs =
    a.phase === "paid" ? "PAID" : a.phase === "failed" || a.phase === "cancelled" ? "CANCELLED" : null;
  if (settledAs) {
    const text =
      settledAs === "PAID"
        ? a.reason === "paidDespiteReverse"
          ? TEXT.reverseFailedPaid
          : TEXT.paid
        : a.phase === "failed"
          ? failedText(failure(a))
          : TEXT.cancelled;
    const updated = settle(c, sale, settledAs, a, text);
    out.journal(updated);
    if (!sale.answered && s.answerAfterRestart) out.add(saleAnswer(sale.seq, updated));
    out.add(
      event(
        "attemptResolved",
        `order ${sale.orderRef} was ${sale.status}; attempt ${a.attemptId} is now ${a.phase}`,
        sale.status === "UNKNOWN" ? "warn" : "info",
      ),
    );
    return { ...state, background: others };
  }
  if (a.phase === "unresolved" && sale.status === "PENDING") {
    // The reversal budget ran out on a recovered sale: it is UNKNOWN (30) until the cloud knows.
    const text = a.reason === "amountMismatch" ? TEXT.amountMismatch : TEXT.unknown;
    const updated = settle(c, sale, "UNKNOWN", a, text);
    out.journal(updated);
    if (!sale.answered && s.answerAfterRestart) out.add(saleAnswer(sale.seq, updated));
    return { ...state, background: [...others, { attempt: a, sale: updated }] };
  }
  return { ...state, background: [...others, { attempt: a, sale }] };
}

function settle(
  c: StepContext,
  sale: SaleRecord,
  status: SaleRecord["status"],
  a: AttemptRecord,
  text: string,
): SaleRecord {
  const now = c.at.wall;
  return {
    ...sale,
    status,
    scheme: a.scheme,
    channelTradeNo: status === "PAID" ? a.channelTradeNo : "",
    text,
    answered: sale.answered,
    endedAt: status === "UNKNOWN" ? (sale.endedAt ?? now) : now,
    updatedAt: now,
  };
}

/** The cloud's failure as a PaymentResult, for the texts (no message is kept in the journal). */
function failure(a: AttemptRecord): PaymentResult {
  return {
    type: "payment",
    status: "FAILED",
    amountFen: a.amountFen,
    scheme: a.scheme,
    channelTradeNo: "",
    reasonCode: a.reasonCode,
    message: "",
    rescanAllowed: a.reason === "declinedRescan",
  };
}

function lastSale(
  c: StepContext,
  sale: ActiveSale,
  status: SaleRecord["status"],
  scheme: SaleRecord["scheme"],
  channelTradeNo: string,
  text: string,
): SaleRecord {
  return {
    ...sale.record,
    status,
    answered: true,
    scheme,
    channelTradeNo,
    text,
    endedAt: c.at.wall,
    updatedAt: c.at.wall,
  };
}

/**
 * Ends the open sale: journal, one RS for the SA and one for each CA that asked, display. A sale
 * already marked `attention` (the cloud contradicted an earlier attempt of it) is answered 30
 * with the text asking the cashier to check, whatever its own attempts concluded.
 */
export function finishCurrent(
  c: StepContext,
  state: LaneSaleState,
  sale: ActiveSale,
  status: "PAID" | "CANCELLED" | "UNKNOWN",
  scheme: SaleRecord["scheme"],
  channelTradeNo: string,
  text: string,
): LaneSaleState {
  const { s, at, out } = c;
  const done = lastSale(c, sale, status, scheme, channelTradeNo, text);
  out.journal(done);
  const { amountFen, orderRef } = done;
  const shown = done.attention === "" ? status : "UNKNOWN";
  out.add(
    { type: "cancelTimer", name: "scan" },
    saleAnswer(sale.record.seq, done),
    ...sale.cancelSeqs.map((seq) => saleAnswer(seq, done)),
    display(finalView(shown, amountFen)),
    { type: "armTimer", name: "idleDisplay", atMono: at.mono + s.resultDisplayMs },
    event(
      "saleEnded",
      `order ${orderRef} ${status}${done.attention === "" ? "" : ` (needs attention: ${done.attention})`}`,
      shown === "UNKNOWN" ? "error" : "info",
    ),
  );
  if (status === "UNKNOWN" && text === TEXT.amountMismatch)
    out.add(event("amountMismatch", `order ${orderRef} ended UNKNOWN: paid amount differs`, "error"));
  return { ...state, current: null };
}
