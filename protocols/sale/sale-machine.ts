// One lane's sales, as a pure step function (style-examples.md §2 item 2): fed POS requests,
// scans, cloud results, timer expiries and the journal's view of past sales with the moment
// (`at`: wall clock for records, monotonic clock for every due time), it returns the next state
// and the effects the runner carries out, journal writes first. Contract:
// shared/spec/terminal-protocol.md ("Sale timeline", RS table) and shared/spec/mqtt-contract.md.
//
// One attempt in flight per lane (attempt-machine.ts runs it); a failure that allows a rescan
// waits for a new scan (new attempt id); an attempt whose outcome cannot be settled ends the sale
// UNKNOWN (30) and goes on being resolved in the background, as do attempts recovered after a
// restart; refunds (refund-machine.ts) run beside the sales. This file only dispatches: register
// requests are in sale-register.ts, scans in sale-scan.ts, attempts in sale-attempts.ts, refunds
// in sale-refunds.ts, recovery in sale-recovery.ts.
import type { Instant } from "../core/instant.js";
import { refundOnDue } from "./refund-machine.js";
import { finishCurrent, onAttemptInput, resultInput, stepBackground, stepCurrent } from "./sale-attempts.js";
import { display, Effects, event, result } from "./sale-outcomes.js";
import { onRecover } from "./sale-recovery.js";
import { applyRefund, onRefundResult } from "./sale-refunds.js";
import { onPos } from "./sale-register.js";
import { onScan, onScanRepeated } from "./sale-scan.js";
import { TEXT } from "./sale-texts.js";
import type {
  LaneSaleState,
  SaleInput,
  SaleSettings,
  SaleStep,
  StepContext,
  TimerName,
} from "./sale-types.js";

export { laneState } from "./lane-state.js";

export function initialSaleState(laneId: string, cloudOnline = false): LaneSaleState {
  return {
    laneId,
    current: null,
    background: [],
    refunds: [],
    cloudOnline,
    cloudRefusal: "",
    journalFault: null,
    dueMono: null,
  };
}

export function saleStep(s: SaleSettings, state: LaneSaleState, input: SaleInput, at: Instant): SaleStep {
  const out = new Effects();
  const next = dispatch({ s, at, out }, state, input);
  return { state: armDue(next, out), effects: out.list() };
}

function dispatch(c: StepContext, state: LaneSaleState, input: SaleInput): LaneSaleState {
  switch (input.type) {
    case "pos":
      return onPos(
        c,
        state,
        input.request,
        input.view,
        input.newId ?? "",
        input.training ?? false,
        input.amountFrom,
      );
    case "badRequest":
      c.out.add(
        result(input.seq, input.orderRef, "REJECTED", null, null, "", input.message),
        event("saleRejected", input.message, "warn"),
      );
      return state;
    case "scan":
      return onScan(c, state, input.code, input.attemptId);
    case "scanRepeated":
      return onScanRepeated(c, state);
    case "cloudResult":
      return onAttemptInput(c, state, input.attemptId, resultInput(input.result, input.answers), input.view);
    case "refundResult":
      return onRefundResult(c, state, input.refundId, input.result);
    case "payNotSent":
      return onAttemptInput(c, state, input.attemptId, { type: "notPublished" });
    case "payRefused":
      return onAttemptInput(c, state, input.attemptId, { type: "refused", reasonCode: input.reasonCode });
    case "cancelRefused":
      return onAttemptInput(c, state, input.attemptId, { type: "cancelRefused" });
    case "cloudLink":
      return onCloudLink(c, state, input.online, input.refusal ?? "");
    case "timer":
      return onTimer(c, state, input.name);
    case "recover":
      return onRecover(c, state, input.sales, input.refunds);
    case "journalHealth":
      if (input.fault !== state.journalFault)
        c.out.add(event("journalFault", input.detail, input.fault ? "error" : "info"));
      return { ...state, journalFault: input.fault };
  }
}

function onCloudLink(c: StepContext, state: LaneSaleState, online: boolean, refusal: string): LaneSaleState {
  let next: LaneSaleState = { ...state, cloudOnline: online, cloudRefusal: online ? "" : refusal };
  if (!online) return next;
  // Back online: queued pay requests go out (within their window), the rest act at once.
  if (next.current?.attempt) next = stepCurrent(c, next, { type: "linkUp" });
  for (const bg of next.background) next = stepBackground(c, next, bg, { type: "linkUp" });
  const now = c.at.mono;
  const refunds = next.refunds.map((r) =>
    r.nextDueMono === null ? r : { ...r, nextDueMono: Math.min(r.nextDueMono, now) },
  );
  return runDue(c, { ...next, refunds });
}

function onTimer(c: StepContext, state: LaneSaleState, name: TimerName): LaneSaleState {
  const sale = state.current;
  if (name === "idleDisplay") {
    if (!sale) c.out.add(display({ type: "idle" }));
    return state;
  }
  if (name === "scan") {
    if (sale && !sale.attempt) return finishCurrent(c, state, sale, "CANCELLED", null, "", TEXT.scanTimeout);
    return state;
  }
  return runDue(c, { ...state, dueMono: null });
}

/** Steps every attempt and refund whose (monotonic) due time has come. */
function runDue(c: StepContext, state: LaneSaleState): LaneSaleState {
  const now = c.at.mono;
  let next = state;
  const cur = next.current?.attempt?.nextDueMono;
  if (cur !== null && cur !== undefined && cur <= now) next = stepCurrent(c, next, { type: "due" });
  for (const bg of next.background)
    if (bg.attempt.nextDueMono !== null && bg.attempt.nextDueMono <= now)
      next = stepBackground(c, next, bg, { type: "due" });
  for (const r of next.refunds)
    if (r.nextDueMono !== null && r.nextDueMono <= now)
      next = applyRefund(next, r, refundOnDue(c.s.refund, r, next.cloudOnline, c.at), c.out);
  return next;
}

/** Arms (or cancels) the `attempts` timer for the earliest due time. */
function armDue(state: LaneSaleState, out: Effects): LaneSaleState {
  const times: number[] = [];
  const cur = state.current?.attempt?.nextDueMono;
  if (cur !== null && cur !== undefined) times.push(cur);
  for (const b of state.background) if (b.attempt.nextDueMono !== null) times.push(b.attempt.nextDueMono);
  for (const r of state.refunds) if (r.nextDueMono !== null) times.push(r.nextDueMono);
  const dueMono = times.length ? Math.min(...times) : null;
  if (dueMono === state.dueMono) return state;
  out.add(
    dueMono === null
      ? { type: "cancelTimer", name: "attempts" }
      : { type: "armTimer", name: "attempts", atMono: dueMono },
  );
  return { ...state, dueMono };
}
