// What the conformance tool remembers of the sales it played, to answer requests its script did
// not ask for the way the bridge would (docs/terminal-protocol.md §7–§9): EC at any time, QY for
// any order, an SA while a sale is open (busy), a request for an order it never saw (40).
import type { Scheme } from "../payment/scheme.js";
import type { PosAnswer, PosRequest, ResultStatus } from "../pos/pos-messages.js";
import { TEXT } from "../sale/sale-texts.js";

export interface LedgerOrder {
  orderRef: string;
  amountFen: number;
  /** The SA's seq, to end the sale if its step fails half-way. */
  saleSeq: string;
  /** PENDING while the sale is open. */
  status: ResultStatus;
  scheme: Scheme | null;
  channelTradeNo: string;
  text: string;
}

/** An answer to a request the script did not expect, and why, for the operator. */
export interface UnaskedAnswer {
  answer: PosAnswer;
  /** Said to the operator: not a deviation (a request at the wrong moment, an operator's slip). */
  note?: string;
  /** A deviation of the register's, when the request breaks a rule. */
  deviation?: { rule: "sale-request" | "query-request"; message: string };
}

type Result = Extract<PosAnswer, { type: "result" }>;

export function resultOf(seq: string, o: LedgerOrder): Result {
  return {
    type: "result",
    seq,
    orderRef: o.orderRef,
    status: o.status,
    amountFen: o.amountFen,
    scheme: o.scheme,
    channelTradeNo: o.channelTradeNo,
    text: o.text,
  };
}

function rejected(seq: string, orderRef: string, amountFen: number | null, text: string): Result {
  return {
    type: "result",
    seq,
    orderRef,
    status: "REJECTED",
    amountFen,
    scheme: null,
    channelTradeNo: "",
    text,
  };
}

export class SimLedger {
  private readonly orders = new Map<string, LedgerOrder>();
  /** The order of the sale in progress, if any. */
  open: string | null = null;

  get(orderRef: string): LedgerOrder | undefined {
    return this.orders.get(orderRef);
  }

  /** A paid order, for a refund step. */
  anyPaid(): LedgerOrder | undefined {
    return [...this.orders.values()].find((o) => o.status === "PAID");
  }

  openSale(orderRef: string, amountFen: number, saleSeq: string): void {
    this.orders.set(orderRef, {
      orderRef,
      amountFen,
      saleSeq,
      status: "PENDING",
      scheme: null,
      channelTradeNo: "",
      text: TEXT.pending,
    });
    this.open = orderRef;
  }

  /** The sale ends (or a query settles it) with this answer. */
  settle(answer: Result): void {
    const o = this.orders.get(answer.orderRef);
    if (!o) return;
    this.orders.set(answer.orderRef, {
      ...o,
      status: answer.status,
      scheme: answer.scheme,
      channelTradeNo: answer.channelTradeNo,
      text: answer.text,
    });
    if (this.open === answer.orderRef) this.open = null;
  }

  /** The bridge's answer to a request the script did not wait for. */
  answer(req: PosRequest): UnaskedAnswer {
    switch (req.type) {
      case "echo":
        return {
          answer: {
            type: "echoReply",
            seq: req.seq,
            brokerOnline: true,
            laneState: this.open ? "WAIT_SCAN" : "IDLE",
          },
        };
      case "query": {
        const o = this.orders.get(req.orderRef);
        return {
          answer: o ? resultOf(req.seq, o) : rejected(req.seq, req.orderRef, null, TEXT.unknownOrder),
        };
      }
      case "cancel": {
        const o = this.orders.get(req.orderRef);
        if (!o) return { answer: rejected(req.seq, req.orderRef, null, TEXT.unknownOrder) };
        if (o.status !== "PENDING") return { answer: resultOf(req.seq, o) };
        return {
          answer: rejected(req.seq, req.orderRef, null, "conformance: no cancel in this step"),
          note: `CA for order ${req.orderRef} came when this step does not cancel; answered 40`,
        };
      }
      case "sale": {
        const o = this.orders.get(req.orderRef);
        if (this.open)
          return {
            answer: rejected(req.seq, req.orderRef, req.amountFen, TEXT.busy(this.open)),
            deviation: {
              rule: "sale-request",
              message: `SA for order ${req.orderRef} while order ${this.open} is still open: wait for its RS (or send CA) before the next sale`,
            },
          };
        if (o?.status === "UNKNOWN")
          return {
            answer: resultOf(req.seq, o),
            deviation: {
              rule: "query-request",
              message: `SA again for order ${req.orderRef}, whose outcome is UNKNOWN (30): ask with QY, never sell it again`,
            },
          };
        if (o && o.status !== "CANCELLED" && o.status !== "REJECTED") return { answer: resultOf(req.seq, o) };
        return {
          answer: rejected(req.seq, req.orderRef, req.amountFen, "conformance: no sale asked for now"),
          note: `SA for order ${req.orderRef} came when no sale was asked for; answered 40`,
        };
      }
      case "refund":
        return {
          answer: rejected(req.seq, req.orderRef, req.amountFen, "conformance: no refund asked for now"),
          note: `RF for order ${req.orderRef} came when no refund was asked for; answered 40`,
        };
    }
  }
}
