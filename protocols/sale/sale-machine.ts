// One lane's sales, as a pure step function (style-examples.md §2 item 2): fed POS requests,
// scans, cloud results, timer expiries and the journal's view of past sales with `now`, it returns
// the next state and the effects the runner carries out, journal writes first. Contract:
// shared/spec/terminal-protocol.md ("Sale timeline", RS table) and shared/spec/mqtt-contract.md.
//
// One attempt in flight per lane (attempt-machine.ts runs it); a failure that allows a rescan
// waits for a new scan (new attempt id); an attempt whose outcome cannot be settled ends the sale
// UNKNOWN (30) and goes on being resolved in the background, as do attempts recovered after a
// restart; refunds (refund-machine.ts) run beside the sales.
import type { CloudCommand, PaymentResult, RefundResult } from "../cloud/cloud-messages.js";
import { classifyCode } from "../payment/classify-code.js";
import { maskCode } from "../payment/mask.js";
import type { PosRequest } from "../pos/pos-messages.js";
import { type AttemptInput, type AttemptStep, attemptStep, newAttempt } from "./attempt-machine.js";
import type { AttemptRecord, RefundRecord, SaleRecord } from "./records.js";
import { decideRefund, refundOnDue, refundOnResult, type SaleView } from "./refund-machine.js";
import { display, Effects, event, finalView, progress, result, saleAnswer } from "./sale-outcomes.js";
import { failedText, rescanText, TEXT } from "./sale-texts.js";
import type {
  ActiveSale,
  BackgroundAttempt,
  LaneSaleState,
  SaleInput,
  SaleSettings,
  SaleStep,
  TimerName,
} from "./sale-types.js";

export function initialSaleState(laneId: string, cloudOnline = false): LaneSaleState {
  return {
    laneId,
    current: null,
    background: [],
    refunds: [],
    cloudOnline,
    journalOk: true,
    dueAt: null,
  };
}

export function saleStep(s: SaleSettings, state: LaneSaleState, input: SaleInput, now: number): SaleStep {
  const out = new Effects();
  const next = dispatch(s, state, input, now, out);
  return { state: armDue(next, out), effects: out.list() };
}

function dispatch(
  s: SaleSettings,
  state: LaneSaleState,
  input: SaleInput,
  now: number,
  out: Effects,
): LaneSaleState {
  switch (input.type) {
    case "pos":
      return onPos(s, state, input.request, input.view, input.newId ?? "", now, out);
    case "badRequest":
      out.add(
        result(input.seq, input.orderRef, "REJECTED", null, null, "", input.message),
        event("saleRejected", input.message, "warn"),
      );
      return state;
    case "scan":
      return onScan(s, state, input.code, input.attemptId, now, out);
    case "scanRepeated":
      return onScanRepeated(state, out);
    case "cloudResult":
      return onAttemptInput(s, state, input.attemptId, resultInput(input.result, input.answers), now, out);
    case "refundResult":
      return onRefundResult(state, input.refundId, input.result, now, out);
    case "payNotSent":
      return onAttemptInput(s, state, input.attemptId, { type: "notPublished" }, now, out);
    case "cloudLink":
      return onCloudLink(s, state, input.online, now, out);
    case "timer":
      return onTimer(s, state, input.name, now, out);
    case "recover":
      return onRecover(s, state, input.sales, input.refunds, now, out);
    case "journalHealth":
      if (input.ok !== state.journalOk)
        out.add(event("journalFault", input.detail, input.ok ? "info" : "error"));
      return { ...state, journalOk: input.ok };
  }
}

function resultInput(result: PaymentResult, answers: CloudCommand["type"]): AttemptInput {
  return { type: "result", result, answers };
}

// ─── register requests ──────────────────────────────────────────────────────────────────────────

function onPos(
  s: SaleSettings,
  state: LaneSaleState,
  req: PosRequest,
  view: SaleView | undefined,
  newId: string,
  now: number,
  out: Effects,
): LaneSaleState {
  switch (req.type) {
    case "sale":
      return onSale(s, state, req, view, now, out);
    case "query":
      return onQuery(s, state, req.seq, req.orderRef, view, now, out);
    case "cancel":
      return onCancel(s, state, req.seq, req.orderRef, view, now, out);
    case "refund":
      return onRefund(s, state, req, view, newId, now, out);
    case "echo":
      out.add({
        type: "answer",
        answer: {
          type: "echoReply",
          seq: req.seq,
          brokerOnline: state.cloudOnline,
          laneState: laneState(state),
        },
      });
      return state;
  }
}

function onSale(
  s: SaleSettings,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "sale" }>,
  view: SaleView | undefined,
  now: number,
  out: Effects,
): LaneSaleState {
  const reject = (text: string) => {
    out.add(
      result(req.seq, req.orderRef, "REJECTED", req.amountFen, null, "", text),
      event("saleRejected", text, "warn"),
    );
    return state;
  };
  if (state.current) return reject(TEXT.busy(state.current.record.orderRef));
  if (req.amountFen > s.maxAmountFen) return reject(`金额超过上限 ${s.maxAmountFen} 分`);
  const prior = view?.sale;
  if (prior && prior.amountFen !== req.amountFen) return reject(TEXT.orderReused);
  // An order that was paid, or whose outcome is not settled, is never charged again under the same
  // reference: answer what is known instead of opening a second sale.
  if (prior && prior.status !== "CANCELLED") {
    if (prior.status === "OPEN" || prior.status === "PENDING")
      out.add(result(req.seq, prior.orderRef, "UNKNOWN", prior.amountFen, prior.scheme, "", TEXT.inProgress));
    else out.add(saleAnswer(req.seq, prior));
    return state;
  }
  if (!state.journalOk) return reject(TEXT.journalFault);
  if (!state.cloudOnline) return reject(TEXT.cloudOffline);
  const record: SaleRecord = {
    kind: "sale",
    laneId: state.laneId,
    orderRef: req.orderRef,
    amountFen: req.amountFen,
    seq: req.seq,
    openedAt: now,
    status: "OPEN",
    answered: false,
    scheme: null,
    channelTradeNo: "",
    attemptId: null,
    attempts: 0,
    text: "",
    endedAt: null,
    updatedAt: now,
  };
  out
    .journal(record)
    .add(
      { type: "cancelTimer", name: "idleDisplay" },
      progress(record.orderRef, "WAIT_SCAN", TEXT.showCode(record.amountFen)),
      display({ type: "amountDue", amountFen: record.amountFen }),
      { type: "armTimer", name: "scan", at: now + s.scanTimeoutMs },
      event("saleStarted", `order ${record.orderRef} amount ${record.amountFen} fen`, "info"),
    );
  return { ...state, current: { record, attempt: null, cancelSeqs: [] } };
}

function onQuery(
  s: SaleSettings,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  view: SaleView | undefined,
  now: number,
  out: Effects,
): LaneSaleState {
  const cur = state.current;
  if (cur?.record.orderRef === orderRef) {
    out.add(result(seq, orderRef, "PENDING", cur.record.amountFen, null, "", TEXT.pending));
    return state;
  }
  const sale = view?.sale;
  if (!sale) {
    out.add(result(seq, orderRef, "REJECTED", null, null, "", TEXT.unknownOrder));
    return state;
  }
  out.add(saleAnswer(seq, sale));
  // UNKNOWN: answer what the journal knows and ask the cloud afresh, so a later QY may know more.
  if (sale.status !== "UNKNOWN") return state;
  const bg = state.background.find((b) => b.attempt.attemptId === sale.attemptId);
  if (!bg) return state;
  return stepBackground(s, state, bg, { type: "due" }, now, out, { ...bg.attempt, nextAt: now });
}

function onCancel(
  s: SaleSettings,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  view: SaleView | undefined,
  now: number,
  out: Effects,
): LaneSaleState {
  const cur = state.current;
  if (cur?.record.orderRef === orderRef) {
    const sale: ActiveSale = { ...cur, cancelSeqs: [...cur.cancelSeqs, seq] };
    if (!sale.attempt) return finishCurrent(s, state, sale, "CANCELLED", null, "", TEXT.cancelled, now, out);
    return stepCurrent(s, { ...state, current: sale }, { type: "cashierCancel" }, now, out);
  }
  const sale = view?.sale;
  if (!sale) {
    out.add(result(seq, orderRef, "REJECTED", null, null, "", TEXT.unknownOrder));
    return state;
  }
  const bg = state.background.find((b) => b.attempt.attemptId === sale.attemptId);
  if (bg && (sale.status === "PENDING" || sale.status === "OPEN")) {
    // A sale recovered after a restart: reverse its attempt; the outcome comes by QY.
    out.add(result(seq, orderRef, "UNKNOWN", sale.amountFen, sale.scheme, "", TEXT.cancelPending));
    return stepBackground(s, state, bg, { type: "cashierCancel" }, now, out);
  }
  out.add(saleAnswer(seq, sale));
  return state;
}

function onRefund(
  s: SaleSettings,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "refund" }>,
  view: SaleView | undefined,
  newId: string,
  now: number,
  out: Effects,
): LaneSaleState {
  const reject = (text: string) => {
    out.add(
      result(req.seq, req.orderRef, "REJECTED", req.amountFen, null, "", text),
      event("saleRejected", text, "warn"),
    );
    return state;
  };
  if (req.amountFen > s.maxAmountFen) return reject(`金额超过上限 ${s.maxAmountFen} 分`);
  const decision = decideRefund(s.refund, { ...req, laneId: state.laneId, newRefundId: newId }, view, now);
  if (decision.type === "reject") return reject(decision.text);
  if (decision.type === "repeat") {
    out.add(refundAnswer(decision.refund, req.seq));
    return state;
  }
  if (!state.journalOk) return reject(TEXT.journalFault);
  if (!state.cloudOnline) return reject(TEXT.cloudOffline);
  if (state.current || state.refunds.some((r) => !r.answered && r.refundId !== decision.refund.refundId))
    return reject(TEXT.refundBusy);
  const refund = decision.refund;
  out
    .journal(refund)
    .add(
      refundCommand(refund),
      event(
        "saleStarted",
        `refund ${refund.refundRef} of order ${refund.orderRef}: ${refund.amountFen} fen`,
        "info",
      ),
    );
  return { ...state, refunds: [...state.refunds.filter((r) => r.refundId !== refund.refundId), refund] };
}

// ─── scans ──────────────────────────────────────────────────────────────────────────────────────

function onScanRepeated(state: LaneSaleState, out: Effects): LaneSaleState {
  const sale = state.current;
  if (!sale || sale.attempt) {
    out.add(event("scanIgnored", "same code read again within a minute", "warn"));
    return state;
  }
  // payment-domain.md §7 rules 7–8: never send the same code again, under any attempt id.
  out.add(
    progress(sale.record.orderRef, "RETRY_SCAN", TEXT.sameCode),
    display({ type: "rescan", amountFen: sale.record.amountFen, reason: "expired" }),
    event("scanRejected", "same code read again within a minute", "warn"),
  );
  return state;
}

function onScan(
  s: SaleSettings,
  state: LaneSaleState,
  code: string,
  attemptId: string,
  now: number,
  out: Effects,
): LaneSaleState {
  const sale = state.current;
  if (!sale) {
    // Never queued: the customer is told to wait for the cashier.
    out.add(
      display({ type: "waitForCashier" }),
      { type: "armTimer", name: "idleDisplay", at: now + s.resultDisplayMs },
      event("scanIgnored", "scan with no open sale dropped", "warn"),
    );
    return state;
  }
  if (sale.attempt) {
    out.add(event("scanIgnored", `scan ignored: attempt ${sale.attempt.attemptId} in flight`, "warn"));
    return state;
  }
  const amountFen = sale.record.amountFen;
  const cls = classifyCode(code, s.schemes);
  if (cls.type !== "payment") {
    const reason = cls.type === "notPayment" ? "notPayment" : "invalidCode";
    const text =
      cls.type === "notPayment"
        ? `不是付款码（${cls.reason}），请扫顾客付款码`
        : `付款码无法识别（${cls.reason}），请重扫`;
    out.add(
      progress(sale.record.orderRef, "RETRY_SCAN", text),
      display({ type: "rescan", amountFen, reason }),
      event("scanRejected", cls.reason, "warn"),
    );
    return state;
  }
  const masked = maskCode(cls.code, cls.scheme);
  const started = newAttempt(
    s.attempt,
    {
      attemptId,
      laneId: state.laneId,
      orderRef: sale.record.orderRef,
      amountFen,
      scheme: cls.scheme,
      maskedCode: masked,
      deadlineMs: now + s.codeLifetimeMs,
    },
    state.cloudOnline,
    now,
  );
  const record: SaleRecord = {
    ...sale.record,
    attemptId,
    attempts: sale.record.attempts + 1,
    scheme: cls.scheme,
    updatedAt: now,
  };
  out.journal(started.attempt).journal(record).add({ type: "cancelTimer", name: "scan" });
  if (started.sends.length) out.add({ type: "pay", attempt: started.attempt, scannedAtMs: now });
  out.add(
    progress(record.orderRef, "SUBMITTED", state.cloudOnline ? TEXT.submitted : TEXT.waitingNetwork),
    display({ type: "processing", amountFen }),
    event(
      "attemptSubmitted",
      `attempt ${attemptId} ${masked}${state.cloudOnline ? "" : " queued: cloud offline"}`,
      "info",
    ),
  );
  return { ...state, current: { ...sale, record, attempt: started.attempt } };
}

// ─── attempts ───────────────────────────────────────────────────────────────────────────────────

function onAttemptInput(
  s: SaleSettings,
  state: LaneSaleState,
  attemptId: string,
  input: AttemptInput,
  now: number,
  out: Effects,
): LaneSaleState {
  if (state.current?.attempt?.attemptId === attemptId) return stepCurrent(s, state, input, now, out);
  const bg = state.background.find((b) => b.attempt.attemptId === attemptId);
  if (bg) return stepBackground(s, state, bg, input, now, out);
  if (input.type === "result")
    out.add(
      event("resultIgnored", `result ${input.result.status} for attempt ${attemptId} not in flight`, "warn"),
    );
  return state;
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
    out.add(event(n.kind, n.detail, n.kind === "amountMismatch" ? "error" : "warn"));
}

function stepCurrent(
  s: SaleSettings,
  state: LaneSaleState,
  input: AttemptInput,
  now: number,
  out: Effects,
): LaneSaleState {
  const sale = state.current;
  const before = sale?.attempt;
  if (!sale || !before) return state;
  const step = attemptStep(s.attempt, before, input, state.cloudOnline, now);
  applyAttempt(step, before, out);
  const a = step.attempt;
  const orderRef = sale.record.orderRef;
  const amountFen = sale.record.amountFen;
  const withAttempt: LaneSaleState = { ...state, current: { ...sale, attempt: a } };
  if (a.phase === before.phase) return withAttempt;
  switch (a.phase) {
    case "paid":
      return finishCurrent(
        s,
        state,
        sale,
        "PAID",
        a.scheme,
        a.channelTradeNo,
        a.reason === "paidDespiteReverse" ? TEXT.reverseFailedPaid : TEXT.paid,
        now,
        out,
      );
    case "failed": {
      const res = failure(a);
      if (a.reason !== "declinedRescan")
        return finishCurrent(s, state, sale, "CANCELLED", a.scheme, "", failedText(res), now, out);
      const { text, reason } = rescanText(res);
      out.add(
        { type: "armTimer", name: "scan", at: now + s.scanTimeoutMs },
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
      const text =
        a.reason === "notSent"
          ? TEXT.notSent
          : sale.cancelSeqs.length > 0
            ? TEXT.cancelled
            : TEXT.reversedTimeout;
      return finishCurrent(s, state, sale, "CANCELLED", a.scheme, "", text, now, out);
    }
    case "unresolved": {
      const text = a.reason === "amountMismatch" ? TEXT.amountMismatch : TEXT.unknown;
      const next = finishCurrent(s, state, sale, "UNKNOWN", a.scheme, "", text, now, out);
      const ended = next.current === null ? lastSale(sale, "UNKNOWN", a.scheme, "", text, now) : null;
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

function stepBackground(
  s: SaleSettings,
  state: LaneSaleState,
  bg: BackgroundAttempt,
  input: AttemptInput,
  now: number,
  out: Effects,
  startFrom: AttemptRecord = bg.attempt,
): LaneSaleState {
  const step = attemptStep(s.attempt, startFrom, input, state.cloudOnline, now);
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
    const updated = settle(sale, settledAs, a, text, now);
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
    const updated = settle(sale, "UNKNOWN", a, text, now);
    out.journal(updated);
    if (!sale.answered && s.answerAfterRestart) out.add(saleAnswer(sale.seq, updated));
    return { ...state, background: [...others, { attempt: a, sale: updated }] };
  }
  return { ...state, background: [...others, { attempt: a, sale }] };
}

function settle(
  sale: SaleRecord,
  status: SaleRecord["status"],
  a: AttemptRecord,
  text: string,
  now: number,
): SaleRecord {
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
  sale: ActiveSale,
  status: SaleRecord["status"],
  scheme: SaleRecord["scheme"],
  channelTradeNo: string,
  text: string,
  now: number,
): SaleRecord {
  return {
    ...sale.record,
    status,
    answered: true,
    scheme,
    channelTradeNo,
    text,
    endedAt: now,
    updatedAt: now,
  };
}

/** Ends the open sale: journal, one RS for the SA and one for each CA that asked, display. */
function finishCurrent(
  s: SaleSettings,
  state: LaneSaleState,
  sale: ActiveSale,
  status: "PAID" | "CANCELLED" | "UNKNOWN",
  scheme: SaleRecord["scheme"],
  channelTradeNo: string,
  text: string,
  now: number,
  out: Effects,
): LaneSaleState {
  const done = lastSale(sale, status, scheme, channelTradeNo, text, now);
  out.journal(done);
  const { amountFen, orderRef } = done;
  out.add(
    { type: "cancelTimer", name: "scan" },
    result(sale.record.seq, orderRef, status, amountFen, scheme, channelTradeNo, text),
    ...sale.cancelSeqs.map((seq) => result(seq, orderRef, status, amountFen, scheme, channelTradeNo, text)),
    display(finalView(status, amountFen)),
    { type: "armTimer", name: "idleDisplay", at: now + s.resultDisplayMs },
    event("saleEnded", `order ${orderRef} ${status}`, status === "UNKNOWN" ? "error" : "info"),
  );
  if (status === "UNKNOWN" && text === TEXT.amountMismatch)
    out.add(event("amountMismatch", `order ${orderRef} ended UNKNOWN: paid amount differs`, "error"));
  return { ...state, current: null };
}

// ─── refunds ────────────────────────────────────────────────────────────────────────────────────

function refundCommand(r: RefundRecord) {
  return {
    type: "refund" as const,
    command: {
      type: "refund" as const,
      attemptId: r.attemptId,
      refundId: r.refundId,
      amountFen: r.amountFen,
      reason: `refund ${r.refundRef}`,
    },
  };
}

/** The RS for a refund, echoing `seq` (the request being answered; default the refund's own RF). */
function refundAnswer(r: RefundRecord, seq = r.seq) {
  const status = r.phase === "refunded" ? "REFUNDED" : r.phase === "failed" ? "REFUND_FAILED" : "UNKNOWN";
  const text =
    r.phase === "refunded" ? TEXT.refunded : r.phase === "failed" ? TEXT.refundFailed : TEXT.refundUnknown;
  return result(
    seq,
    r.orderRef,
    status,
    r.amountFen,
    null,
    "",
    r.reasonCode && r.phase === "failed" ? `${text}（${r.reasonCode}）` : text,
  );
}

function onRefundResult(
  state: LaneSaleState,
  refundId: string,
  res: RefundResult,
  now: number,
  out: Effects,
): LaneSaleState {
  const r = state.refunds.find((x) => x.refundId === refundId);
  if (!r) {
    out.add(
      event("resultIgnored", `refund result ${res.status} for refund ${refundId} not in flight`, "warn"),
    );
    return state;
  }
  if (res.status === "REFUNDED" && res.amountFen !== r.amountFen) {
    out.add(
      event(
        "amountMismatch",
        `refund ${refundId} REFUNDED ${res.amountFen} fen, asked ${r.amountFen}`,
        "error",
      ),
    );
    return state;
  }
  return applyRefund(state, r, refundOnResult(r, res, now), out);
}

function applyRefund(
  state: LaneSaleState,
  before: RefundRecord,
  step: { refund: RefundRecord; send: boolean; answer: boolean },
  out: Effects,
): LaneSaleState {
  const r = step.refund;
  if (r !== before) out.journal(r);
  if (step.send) out.add(refundCommand(r));
  if (step.answer) out.add(refundAnswer(r));
  const done = r.phase === "refunded" || r.phase === "failed";
  if (done) out.add(event("refundEnded", `refund ${r.refundRef} of order ${r.orderRef} ${r.phase}`, "info"));
  const others = state.refunds.filter((x) => x.refundId !== r.refundId);
  return { ...state, refunds: done ? others : [...others, r] };
}

// ─── link, timers, recovery ─────────────────────────────────────────────────────────────────────

function onCloudLink(
  s: SaleSettings,
  state: LaneSaleState,
  online: boolean,
  now: number,
  out: Effects,
): LaneSaleState {
  let next: LaneSaleState = { ...state, cloudOnline: online };
  if (!online) return next;
  // Back online: queued pay requests go out (within their window), the rest act at once.
  if (next.current?.attempt) next = stepCurrent(s, next, { type: "linkUp" }, now, out);
  for (const bg of next.background) next = stepBackground(s, next, bg, { type: "linkUp" }, now, out);
  const refunds = next.refunds.map((r) =>
    r.nextAt === null ? r : { ...r, nextAt: Math.min(r.nextAt, now) },
  );
  return runDue(s, { ...next, refunds }, now, out);
}

function onTimer(
  s: SaleSettings,
  state: LaneSaleState,
  name: TimerName,
  now: number,
  out: Effects,
): LaneSaleState {
  const sale = state.current;
  if (name === "idleDisplay") {
    if (!sale) out.add(display({ type: "idle" }));
    return state;
  }
  if (name === "scan") {
    if (sale && !sale.attempt)
      return finishCurrent(s, state, sale, "CANCELLED", null, "", TEXT.scanTimeout, now, out);
    return state;
  }
  return runDue(s, { ...state, dueAt: null }, now, out);
}

/** Steps every attempt and refund whose time has come. */
function runDue(s: SaleSettings, state: LaneSaleState, now: number, out: Effects): LaneSaleState {
  let next = state;
  const cur = next.current?.attempt;
  if (cur?.nextAt !== null && cur?.nextAt !== undefined && cur.nextAt <= now)
    next = stepCurrent(s, next, { type: "due" }, now, out);
  for (const bg of next.background)
    if (bg.attempt.nextAt !== null && bg.attempt.nextAt <= now)
      next = stepBackground(s, next, bg, { type: "due" }, now, out);
  for (const r of next.refunds)
    if (r.nextAt !== null && r.nextAt <= now)
      next = applyRefund(next, r, refundOnDue(s.refund, r, next.cloudOnline, now), out);
  return next;
}

function onRecover(
  s: SaleSettings,
  state: LaneSaleState,
  sales: SaleView[],
  refunds: RefundRecord[],
  now: number,
  out: Effects,
): LaneSaleState {
  let next = state;
  for (const view of sales) next = recoverSale(s, next, view, now, out);
  for (const r of refunds) {
    out.add(event("recovered", `refund ${r.refundRef} of order ${r.orderRef} resumed`, "warn"));
    next = {
      ...next,
      refunds: [...next.refunds.filter((x) => x.refundId !== r.refundId), { ...r, nextAt: now }],
    };
  }
  return next;
}

/** One unsettled sale from the journal: settle it from its attempts, or resume its open attempt. */
function recoverSale(
  s: SaleSettings,
  state: LaneSaleState,
  view: SaleView,
  now: number,
  out: Effects,
): LaneSaleState {
  const sale = view.sale;
  let next = state;
  // Open attempts of older sales under the same orderRef, or of this one, all resume.
  const open = view.attempts.filter(
    (a) => a.phase !== "paid" && a.phase !== "failed" && a.phase !== "cancelled",
  );
  const latest = view.attempts.find((a) => a.attemptId === sale.attemptId);
  for (const a of open) {
    out.add(
      event("recovered", `attempt ${a.attemptId} of order ${a.orderRef} was ${a.phase}; resuming`, "warn"),
    );
    const owner = a.attemptId === sale.attemptId ? pendingSale(sale, now) : null;
    if (owner && owner !== sale) out.journal(owner);
    const bg: BackgroundAttempt = { attempt: a, sale: owner };
    next = stepBackground(
      s,
      { ...next, background: [...next.background, bg] },
      bg,
      { type: "recovered" },
      now,
      out,
    );
  }
  if (latest && open.includes(latest)) return next;
  if (sale.status === "OPEN" || sale.status === "PENDING" || sale.status === "UNKNOWN") {
    // Its latest attempt is final (or there is none): the journal already holds the truth.
    const status = latest?.phase === "paid" ? "PAID" : "CANCELLED";
    const text = latest ? (status === "PAID" ? TEXT.paid : TEXT.cancelled) : TEXT.recoveredNoScan;
    const updated: SaleRecord = {
      ...sale,
      status,
      scheme: latest?.scheme ?? sale.scheme,
      channelTradeNo: status === "PAID" ? (latest?.channelTradeNo ?? "") : "",
      text,
      endedAt: now,
      updatedAt: now,
    };
    out
      .journal(updated)
      .add(
        event(
          "recovered",
          `order ${sale.orderRef} was ${sale.status}; settled ${status} from the journal`,
          "warn",
        ),
      );
    if (!sale.answered && s.answerAfterRestart) out.add(saleAnswer(sale.seq, updated));
  }
  return next;
}

function pendingSale(sale: SaleRecord, now: number): SaleRecord {
  if (sale.status !== "OPEN") return sale;
  return { ...sale, status: "PENDING", updatedAt: now };
}

/** Arms (or cancels) the `attempts` timer for the earliest due time. */
function armDue(state: LaneSaleState, out: Effects): LaneSaleState {
  const times: number[] = [];
  const cur = state.current?.attempt?.nextAt;
  if (cur !== null && cur !== undefined) times.push(cur);
  for (const b of state.background) if (b.attempt.nextAt !== null) times.push(b.attempt.nextAt);
  for (const r of state.refunds) if (r.nextAt !== null) times.push(r.nextAt);
  const dueAt = times.length ? Math.min(...times) : null;
  if (dueAt === state.dueAt) return state;
  out.add(
    dueAt === null
      ? { type: "cancelTimer", name: "attempts" }
      : { type: "armTimer", name: "attempts", at: dueAt },
  );
  return { ...state, dueAt };
}

export function laneState(state: LaneSaleState): string {
  const cur = state.current;
  if (!cur) return state.refunds.some((r) => !r.answered) ? "REFUNDING" : "IDLE";
  const phase = cur.attempt?.phase;
  if (!phase) return "WAIT_SCAN";
  if (phase === "waitCustomer") return "WAIT_CUSTOMER";
  if (phase === "unknown") return "QUERYING";
  if (phase === "reversing") return "REVERSING";
  return "SUBMITTED";
}
