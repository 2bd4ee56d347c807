// Building blocks of the sale machine's steps: the effects it emits, an accumulator that keeps
// journal writes ahead of everything else in a step, and the final answer of a sale.
import type { DisplayView } from "../display/display-view.js";
import type { Scheme } from "../payment/scheme.js";
import type { PosAnswer, ResultStatus } from "../pos/pos-messages.js";
import type { JournalRecord, SaleRecord } from "./records.js";
import { ATTENTION_TEXT } from "./sale-texts.js";
import type { SaleEffect, SaleEventKind } from "./sale-types.js";

/**
 * Effects of one step. Journal records always come first: the runner makes them durable before
 * it publishes anything or tells the register or the display anything (issue 3, item 1).
 */
export class Effects {
  private readonly journaled: SaleEffect[] = [];
  private readonly rest: SaleEffect[] = [];

  journal(record: JournalRecord): this {
    this.journaled.push({ type: "journal", record });
    return this;
  }
  add(...effects: SaleEffect[]): this {
    this.rest.push(...effects);
    return this;
  }
  merge(other: Effects): this {
    this.journaled.push(...other.journaled);
    this.rest.push(...other.rest);
    return this;
  }
  list(): SaleEffect[] {
    return [...this.journaled, ...this.rest];
  }
}

/**
 * Final RS fields of a settled or answered sale record. A sale the cloud contradicted after it
 * ended (`attention`) answers `30` with a text asking the cashier to check first, whatever the
 * register was told before: neither that answer nor the cloud's later claim can be trusted alone.
 */
export function saleAnswer(seq: string, sale: SaleRecord): SaleEffect {
  if (sale.attention !== "")
    return result(
      seq,
      sale.orderRef,
      "UNKNOWN",
      sale.amountFen,
      sale.scheme,
      "",
      ATTENTION_TEXT[sale.attention],
    );
  const status: ResultStatus = sale.status === "OPEN" || sale.status === "PENDING" ? "PENDING" : sale.status;
  return result(seq, sale.orderRef, status, sale.amountFen, sale.scheme, sale.channelTradeNo, sale.text);
}

export function finalView(status: ResultStatus, amountFen: number): DisplayView {
  if (status === "PAID") return { type: "paid", amountFen };
  if (status === "UNKNOWN") return { type: "unknown", amountFen };
  return { type: "cancelled", amountFen };
}

export function result(
  seq: string,
  orderRef: string,
  status: ResultStatus,
  amountFen: number | null,
  scheme: Scheme | null,
  channelTradeNo: string,
  text: string,
): SaleEffect {
  const answer: PosAnswer = {
    type: "result",
    seq,
    orderRef,
    status,
    amountFen,
    scheme,
    channelTradeNo,
    text,
  };
  return { type: "answer", answer };
}

export function progress(
  orderRef: string,
  stage: Extract<PosAnswer, { type: "progress" }>["stage"],
  text: string,
): SaleEffect {
  return { type: "answer", answer: { type: "progress", orderRef, stage, text } };
}

export function display(view: DisplayView): SaleEffect {
  return { type: "display", view };
}

export function event(kind: SaleEventKind, detail: string, level: "info" | "warn" | "error"): SaleEffect {
  return { type: "event", kind, detail, level };
}
