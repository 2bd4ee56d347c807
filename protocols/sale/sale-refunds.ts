// The sale machine's refunds in flight: their requests, their answers to the register, and the
// cloud's results applied through the pure refund machine (refund-machine.ts).
import type { RefundResult } from "../cloud/cloud-messages.js";
import type { RefundRecord } from "./records.js";
import { type RefundStep, refundOnResult } from "./refund-machine.js";
import { type Effects, event, result } from "./sale-outcomes.js";
import { TEXT } from "./sale-texts.js";
import type { LaneSaleState, SaleEffect, StepContext } from "./sale-types.js";

export function refundCommand(r: RefundRecord): SaleEffect {
  return {
    type: "refund",
    command: {
      type: "refund",
      attemptId: r.attemptId,
      refundId: r.refundId,
      amountFen: r.amountFen,
      reason: `refund ${r.refundRef}`,
    },
  };
}

/** The RS for a refund, echoing `seq` (the request being answered; default the refund's own RF). */
export function refundAnswer(r: RefundRecord, seq = r.seq): SaleEffect {
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

export function onRefundResult(
  c: StepContext,
  state: LaneSaleState,
  refundId: string,
  res: RefundResult,
): LaneSaleState {
  const r = state.refunds.find((x) => x.refundId === refundId);
  if (!r) {
    c.out.add(
      event("resultIgnored", `refund result ${res.status} for refund ${refundId} not in flight`, "warn"),
    );
    return state;
  }
  if (res.status === "REFUNDED" && res.amountFen !== r.amountFen) {
    c.out.add(
      event(
        "amountMismatch",
        `refund ${refundId} REFUNDED ${res.amountFen} fen, asked ${r.amountFen}`,
        "error",
      ),
    );
    return state;
  }
  return applyRefund(state, r, refundOnResult(r, res, c.at), c.out);
}

export function applyRefund(
  state: LaneSaleState,
  before: RefundRecord,
  step: RefundStep,
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
