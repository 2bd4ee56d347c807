// The sale machine after a restart: what the journal holds unsettled for this lane resumes. A
// sale whose latest attempt is final is settled from the journal; open attempts run on in the
// background (queried, or reversed when past their deadline); open refunds are resent.
import { rebaseRefund, type SaleView } from "./refund-machine.js";
import type { RefundRecord, SaleRecord } from "./records.js";
import { stepBackground } from "./sale-attempts.js";
import { event, saleAnswer } from "./sale-outcomes.js";
import { TEXT } from "./sale-texts.js";
import type { BackgroundAttempt, LaneSaleState, StepContext } from "./sale-types.js";

export function onRecover(
  c: StepContext,
  state: LaneSaleState,
  sales: SaleView[],
  refunds: RefundRecord[],
): LaneSaleState {
  let next = state;
  for (const view of sales) next = recoverSale(c, next, view);
  for (const r of refunds) {
    c.out.add(event("recovered", `refund ${r.refundRef} of order ${r.orderRef} resumed`, "warn"));
    next = {
      ...next,
      refunds: [...next.refunds.filter((x) => x.refundId !== r.refundId), rebaseRefund(r, c.at)],
    };
  }
  return next;
}

/** One unsettled sale from the journal: settle it from its attempts, or resume its open attempt. */
function recoverSale(c: StepContext, state: LaneSaleState, view: SaleView): LaneSaleState {
  const { s, at, out } = c;
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
    const owner = a.attemptId === sale.attemptId ? pendingSale(sale, at.wall) : null;
    if (owner && owner !== sale) out.journal(owner);
    const bg: BackgroundAttempt = { attempt: a, sale: owner };
    next = stepBackground(c, { ...next, background: [...next.background, bg] }, bg, { type: "recovered" });
  }
  if (latest && open.includes(latest)) return next;
  // The cloud refused the latest attempt because it holds a payment for this order that the
  // journal does not (ORDERPAID): the sale is UNKNOWN for a person, never "not paid".
  const orderKnown = latest?.reason === "orderAlreadyPaid";
  if (orderKnown && sale.status === "UNKNOWN") return next;
  if (sale.status === "OPEN" || sale.status === "PENDING" || sale.status === "UNKNOWN") {
    // Its latest attempt is final (or there is none): the journal already holds the truth.
    const status = latest?.phase === "paid" ? "PAID" : orderKnown ? "UNKNOWN" : "CANCELLED";
    const text = !latest
      ? TEXT.recoveredNoScan
      : status === "PAID"
        ? TEXT.paid
        : orderKnown
          ? TEXT.orderAlreadyPaid
          : TEXT.cancelled;
    const updated: SaleRecord = {
      ...sale,
      status,
      scheme: latest?.scheme ?? sale.scheme,
      channelTradeNo: status === "PAID" ? (latest?.channelTradeNo ?? "") : "",
      text,
      endedAt: at.wall,
      updatedAt: at.wall,
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

function pendingSale(sale: SaleRecord, wall: number): SaleRecord {
  if (sale.status !== "OPEN") return sale;
  return { ...sale, status: "PENDING", updatedAt: wall };
}
