// The sale machine's register requests (terminal-protocol.md): SA opens a sale, QY answers from
// the journal, CA cancels (reversing an attempt in flight), RF refunds, EC echoes.
import type { PosRequest } from "../pos/pos-messages.js";
import type { AmountProvenance, SaleRecord } from "./records.js";
import { decideRefund, type SaleView } from "./refund-machine.js";
import { finishCurrent, stepBackground, stepCurrent } from "./sale-attempts.js";
import { display, event, progress, result, saleAnswer } from "./sale-outcomes.js";
import { refundAnswer, refundCommand } from "./sale-refunds.js";
import { storageText, TEXT } from "./sale-texts.js";
import type { ActiveSale, JournalFault, LaneSaleState, StepContext } from "./sale-types.js";
import { laneState } from "./lane-state.js";

export function onPos(
  c: StepContext,
  state: LaneSaleState,
  req: PosRequest,
  view: SaleView | undefined,
  newId: string,
  training = false,
  amountFrom?: AmountProvenance,
): LaneSaleState {
  switch (req.type) {
    case "sale":
      return onSale(c, state, req, view, training, amountFrom);
    case "query":
      return onQuery(c, state, req.seq, req.orderRef, view);
    case "cancel":
      return onCancel(c, state, req.seq, req.orderRef, view);
    case "refund":
      return onRefund(c, state, req, view, newId);
    case "echo":
      c.out.add({
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

/** Why no sale or refund starts while the link is not online: refused by the broker, or offline. */
function offlineText(state: LaneSaleState): string {
  return state.cloudRefusal ? TEXT.cloudRefused(state.cloudRefusal) : TEXT.cloudOffline;
}

/** Refuses a register request with RS 40 and `text`, changing nothing. */
function reject(
  c: StepContext,
  state: LaneSaleState,
  req: { seq: string; orderRef: string; amountFen: number },
  text: string,
): LaneSaleState {
  c.out.add(
    result(req.seq, req.orderRef, "REJECTED", req.amountFen, null, "", text),
    event("saleRejected", text, "warn"),
  );
  return state;
}

/** Refuses a CA with RS 40 and the storage error, changing nothing. */
function refuseForStorage(
  c: StepContext,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  fault: JournalFault,
): LaneSaleState {
  const text = storageText(fault);
  c.out.add(result(seq, orderRef, "REJECTED", null, null, "", text), event("saleRejected", text, "warn"));
  return state;
}

function onSale(
  c: StepContext,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "sale" }>,
  view: SaleView | undefined,
  training: boolean,
  amountFrom: AmountProvenance | undefined,
): LaneSaleState {
  const { s, at, out } = c;
  const prior = view?.sale;
  // While nothing can be recorded the register hears the real reason (storage), never "busy"; an
  // order the journal's memory knows is still answered from it (that needs no write).
  if (state.journalFault) {
    if (prior && answerKnownOrder(c, state, req, prior)) return state;
    return reject(c, state, req, storageText(state.journalFault));
  }
  if (state.current) return reject(c, state, req, TEXT.busy(state.current.record.orderRef));
  if (req.amountFen > s.maxAmountFen) return reject(c, state, req, `金额超过上限 ${s.maxAmountFen} 分`);
  if (prior && answerKnownOrder(c, state, req, prior)) return state;
  // A training sale is answered by the simulated cloud inside the bridge: the broker is not needed.
  if (!state.cloudOnline && !training) return reject(c, state, req, offlineText(state));
  const record: SaleRecord = {
    kind: "sale",
    laneId: state.laneId,
    orderRef: req.orderRef,
    amountFen: req.amountFen,
    seq: req.seq,
    openedAt: at.wall,
    status: "OPEN",
    answered: false,
    scheme: null,
    channelTradeNo: "",
    attemptId: null,
    attempts: 0,
    text: "",
    endedAt: null,
    attention: "",
    attentionAt: null,
    training,
    updatedAt: at.wall,
    ...amountFrom,
  };
  out
    .journal(record)
    .add(
      { type: "cancelTimer", name: "idleDisplay" },
      progress(record.orderRef, "WAIT_SCAN", TEXT.showCode(record.amountFen)),
      display({ type: "amountDue", amountFen: record.amountFen }),
      { type: "armTimer", name: "scan", atMono: at.mono + s.scanTimeoutMs },
      event("saleStarted", `order ${record.orderRef} amount ${record.amountFen} fen`, "info"),
    );
  return { ...state, current: { record, attempt: null, cancelSeqs: [] } };
}

/**
 * An SA for an order the journal knows: refused when the amount differs; a paid order, one whose
 * outcome is not settled, or one the cloud said was paid after it ended (`attention`) is never
 * charged again under the same reference, so what is known is answered instead of opening a
 * second sale. False when the order may be sold (CANCELLED, and nothing contradicts that).
 */
function answerKnownOrder(
  c: StepContext,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "sale" }>,
  prior: SaleRecord,
): boolean {
  if (prior.amountFen !== req.amountFen) {
    reject(c, state, req, TEXT.orderReused);
    return true;
  }
  if (prior.status === "CANCELLED" && prior.attention === "") return false;
  if (prior.status === "OPEN" || prior.status === "PENDING")
    c.out.add(result(req.seq, prior.orderRef, "UNKNOWN", prior.amountFen, prior.scheme, "", TEXT.inProgress));
  else c.out.add(saleAnswer(req.seq, prior));
  return true;
}

function onQuery(
  c: StepContext,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  view: SaleView | undefined,
): LaneSaleState {
  const { out } = c;
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
  // UNKNOWN: answer what the journal knows and ask the cloud afresh, so a later QY may know more
  // (not while the journal is down: the query could not be recorded before it is sent).
  if (sale.status !== "UNKNOWN" || state.journalFault) return state;
  const bg = state.background.find((b) => b.attempt.attemptId === sale.attemptId);
  if (!bg) return state;
  return stepBackground(c, state, bg, { type: "due" }, { ...bg.attempt, nextDueMono: c.at.mono });
}

function onCancel(
  c: StepContext,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  view: SaleView | undefined,
): LaneSaleState {
  const { out } = c;
  const cur = state.current;
  if (cur?.record.orderRef === orderRef) {
    // A cancel must be recorded before it is acted on: refused while the journal is down (the
    // open sale keeps its own SA's answer, which comes once its outcome is recorded).
    if (state.journalFault) return refuseForStorage(c, state, seq, orderRef, state.journalFault);
    const sale: ActiveSale = { ...cur, cancelSeqs: [...cur.cancelSeqs, seq] };
    if (!sale.attempt) return finishCurrent(c, state, sale, "CANCELLED", null, "", TEXT.cancelled);
    return stepCurrent(c, { ...state, current: sale }, { type: "cashierCancel" });
  }
  const sale = view?.sale;
  if (!sale) {
    out.add(result(seq, orderRef, "REJECTED", null, null, "", TEXT.unknownOrder));
    return state;
  }
  const bg = state.background.find((b) => b.attempt.attemptId === sale.attemptId);
  if (bg && (sale.status === "PENDING" || sale.status === "OPEN")) {
    if (state.journalFault) return refuseForStorage(c, state, seq, orderRef, state.journalFault);
    // A sale recovered after a restart: reverse its attempt; the outcome comes by QY.
    out.add(result(seq, orderRef, "UNKNOWN", sale.amountFen, sale.scheme, "", TEXT.cancelPending));
    return stepBackground(c, state, bg, { type: "cashierCancel" });
  }
  out.add(saleAnswer(seq, sale));
  return state;
}

function onRefund(
  c: StepContext,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "refund" }>,
  view: SaleView | undefined,
  newId: string,
): LaneSaleState {
  const { s, at, out } = c;
  if (req.amountFen > s.maxAmountFen) return reject(c, state, req, `金额超过上限 ${s.maxAmountFen} 分`);
  const decision = decideRefund(s.refund, { ...req, laneId: state.laneId, newRefundId: newId }, view, at);
  if (decision.type === "reject") return reject(c, state, req, decision.text);
  if (decision.type === "repeat") {
    out.add(refundAnswer(decision.refund, req.seq));
    return state;
  }
  if (state.journalFault) return reject(c, state, req, storageText(state.journalFault));
  if (!state.cloudOnline) return reject(c, state, req, offlineText(state));
  if (state.current || state.refunds.some((r) => !r.answered && r.refundId !== decision.refund.refundId))
    return reject(c, state, req, TEXT.refundBusy);
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
