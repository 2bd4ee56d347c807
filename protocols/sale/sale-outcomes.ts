// Building blocks of the sale machine's steps: the effects it emits and the two ways an attempt
// can end (back to scanning, or the sale's final answer). Pure, like the machine itself.
import type { DisplayView } from "../display/display-view.js";
import type { Scheme } from "../payment/scheme.js";
import type { PosAnswer, ResultStatus } from "../pos/pos-messages.js";
import type { DisplayRescanReason } from "./sale-texts.js";
import type {
  ActiveSale,
  FinishedSale,
  LaneSaleState,
  SaleEffect,
  SaleSettings,
  SaleStep,
} from "./sale-types.js";

/** The attempt is over without money moving: wait for a new scan (a new attempt id). */
export function backToScan(
  settings: SaleSettings,
  state: LaneSaleState,
  sale: ActiveSale,
  text: string,
  reason: DisplayRescanReason,
  now: number,
  why: SaleEffect,
): SaleStep {
  const next: ActiveSale = { ...sale, phase: "waitScan", attempt: null };
  return {
    state: { ...state, current: next },
    effects: [
      { type: "cancelTimer", name: "result" },
      { type: "armTimer", name: "scan", at: now + settings.scanTimeoutMs },
      progress(sale.orderRef, "RETRY_SCAN", text),
      display({ type: "rescan", amountFen: sale.amountFen, reason }),
      why,
    ],
  };
}

/** Ends the open sale: one RS for the SA and one for each CA that asked, display, memory. */
export function finish(
  settings: SaleSettings,
  state: LaneSaleState,
  sale: ActiveSale,
  status: ResultStatus,
  scheme: Scheme | null,
  channelTradeNo: string,
  text: string,
  now: number,
  extra: SaleEffect[] = [],
): SaleStep {
  const done: FinishedSale = {
    orderRef: sale.orderRef,
    attemptId: sale.attempt?.attemptId ?? null,
    amountFen: sale.amountFen,
    status,
    scheme,
    channelTradeNo,
    text,
    endedAt: now,
  };
  const recent = [...state.recent.filter((r) => r.orderRef !== sale.orderRef), done].slice(
    -settings.recentLimit,
  );
  const effects: SaleEffect[] = [
    ...extra,
    { type: "cancelTimer", name: "scan" },
    { type: "cancelTimer", name: "result" },
    result(sale.seq, sale.orderRef, status, sale.amountFen, scheme, channelTradeNo, text),
    ...sale.cancelSeqs.map((seq) =>
      result(seq, sale.orderRef, status, sale.amountFen, scheme, channelTradeNo, text),
    ),
    display(finalView(status, sale.amountFen)),
    { type: "armTimer", name: "idleDisplay", at: now + settings.resultDisplayMs },
    event("saleEnded", `order ${sale.orderRef} ${status}`, status === "UNKNOWN" ? "error" : "info"),
  ];
  return { state: { ...state, current: null, recent }, effects };
}

function finalView(status: ResultStatus, amountFen: number): DisplayView {
  if (status === "PAID") return { type: "paid", amountFen };
  if (status === "UNKNOWN") return { type: "unknown", amountFen };
  return { type: "cancelled", amountFen };
}

export function findRecent(state: LaneSaleState, orderRef: string): FinishedSale | undefined {
  for (let i = state.recent.length - 1; i >= 0; i--)
    if (state.recent[i]?.orderRef === orderRef) return state.recent[i];
  return undefined;
}

export function repeatFinal(seq: string, done: FinishedSale): SaleEffect {
  return result(seq, done.orderRef, done.status, done.amountFen, done.scheme, done.channelTradeNo, done.text);
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

export function event(
  kind: Extract<SaleEffect, { type: "event" }>["kind"],
  detail: string,
  level: "info" | "warn" | "error",
): SaleEffect {
  return { type: "event", kind, detail, level };
}
