// One lane's sale, as a pure step function (style-examples.md §2 item 2): fed POS requests,
// scans, cloud results and timer expiries with `now`, it returns the next state and the effects
// the runner carries out. Contract: shared/spec/terminal-protocol.md ("Sale timeline", RS table)
// and shared/spec/mqtt-contract.md ("Semantics the bridge relies on").
//
// Scope of this version: one attempt in flight per lane; WAITING_CUSTOMER keeps the attempt open;
// a failure that allows a rescan waits for a new scan (new attempt id); UNKNOWN or no answer ends
// the sale as UNKNOWN (30) honestly — query/reverse and the journal come with the durability work.
import type { CloudCommand, PaymentResult } from "../cloud/cloud-messages.js";
import { classifyCode } from "../payment/classify-code.js";
import { maskCode } from "../payment/mask.js";
import type { PosRequest } from "../pos/pos-messages.js";
import {
  backToScan,
  display,
  event,
  findRecent,
  finish,
  progress,
  repeatFinal,
  result,
} from "./sale-outcomes.js";
import { failedText, rescanText, TEXT } from "./sale-texts.js";
import type {
  ActiveSale,
  FinishedSale,
  LaneSaleState,
  SaleEffect,
  SaleInput,
  SaleSettings,
  SaleStep,
  TimerName,
} from "./sale-types.js";

export function initialSaleState(cloudOnline = false): LaneSaleState {
  return { current: null, recent: [], cloudOnline };
}

export function saleStep(
  settings: SaleSettings,
  state: LaneSaleState,
  input: SaleInput,
  now: number,
): SaleStep {
  switch (input.type) {
    case "pos":
      return onPosRequest(settings, state, input.request, now);
    case "badRequest":
      return {
        state,
        effects: [
          result(input.seq, input.orderRef, "REJECTED", null, null, "", input.message),
          event("saleRejected", input.message, "warn"),
        ],
      };
    case "scan":
      return onScan(settings, state, input.code, input.attemptId, now);
    case "cloudResult":
      return onCloudResult(settings, state, input.attemptId, input.result, input.answers, now);
    case "scanRepeated": {
      const sale = state.current;
      if (sale?.phase !== "waitScan") {
        return { state, effects: [event("scanIgnored", "same code read again within a minute", "warn")] };
      }
      // payment-domain.md §7 rules 7–8: never send the same code again, under any attempt id.
      return {
        state,
        effects: [
          progress(sale.orderRef, "RETRY_SCAN", TEXT.sameCode),
          display({ type: "rescan", amountFen: sale.amountFen, reason: "expired" }),
          event("scanRejected", "same code read again within a minute", "warn"),
        ],
      };
    }
    case "payNotSent": {
      const sale = state.current;
      if (!sale?.attempt || sale.attempt.attemptId !== input.attemptId) return { state, effects: [] };
      // Nothing left the bridge, so no money moved: the cashier may rescan at once.
      return backToScan(
        settings,
        state,
        sale,
        TEXT.notSent,
        "declined",
        now,
        event("attemptFailed", `${input.attemptId} not sent: ${input.reason}`, "warn"),
      );
    }
    case "cloudLink":
      return { state: { ...state, cloudOnline: input.online }, effects: [] };
    case "timer":
      return onTimer(settings, state, input.name, now);
  }
}

function onPosRequest(settings: SaleSettings, state: LaneSaleState, req: PosRequest, now: number): SaleStep {
  switch (req.type) {
    case "sale":
      return onSale(settings, state, req, now);
    case "query": {
      if (state.current?.orderRef === req.orderRef) {
        const s = state.current;
        return {
          state,
          effects: [result(req.seq, s.orderRef, "PENDING", s.amountFen, null, "", TEXT.pending)],
        };
      }
      const done = findRecent(state, req.orderRef);
      if (done) return { state, effects: [repeatFinal(req.seq, done)] };
      return {
        state,
        effects: [result(req.seq, req.orderRef, "REJECTED", null, null, "", TEXT.unknownOrder)],
      };
    }
    case "cancel":
      return onCancel(settings, state, req.seq, req.orderRef, now);
    case "refund":
      return {
        state,
        effects: [result(req.seq, req.orderRef, "REJECTED", req.amountFen, null, "", TEXT.refundUnsupported)],
      };
    case "echo":
      return {
        state,
        effects: [
          {
            type: "answer",
            answer: {
              type: "echoReply",
              seq: req.seq,
              brokerOnline: state.cloudOnline,
              laneState: laneState(state),
            },
          },
        ],
      };
  }
}

function onSale(
  settings: SaleSettings,
  state: LaneSaleState,
  req: Extract<PosRequest, { type: "sale" }>,
  now: number,
): SaleStep {
  const reject = (text: string): SaleStep => ({
    state,
    effects: [
      result(req.seq, req.orderRef, "REJECTED", req.amountFen, null, "", text),
      event("saleRejected", text, "warn"),
    ],
  });
  if (state.current) return reject(TEXT.busy(state.current.orderRef));
  if (req.amountFen > settings.maxAmountFen) return reject(`金额超过上限 ${settings.maxAmountFen} 分`);
  const done = findRecent(state, req.orderRef);
  if (done && done.amountFen !== req.amountFen) return reject(TEXT.orderReused);
  // An order that was paid, or whose outcome is unknown, must never be charged again under the
  // same reference: answer what is known instead of opening a second sale.
  if (done && (done.status === "PAID" || done.status === "UNKNOWN"))
    return { state, effects: [repeatFinal(req.seq, done)] };
  if (!state.cloudOnline) return reject(TEXT.cloudOffline);
  const sale: ActiveSale = {
    orderRef: req.orderRef,
    amountFen: req.amountFen,
    seq: req.seq,
    startedAt: now,
    phase: "waitScan",
    attempt: null,
    attempts: 0,
    cancelSeqs: [],
  };
  return {
    state: { ...state, current: sale },
    effects: [
      { type: "cancelTimer", name: "idleDisplay" },
      progress(sale.orderRef, "WAIT_SCAN", TEXT.showCode(sale.amountFen)),
      display({ type: "amountDue", amountFen: sale.amountFen }),
      { type: "armTimer", name: "scan", at: now + settings.scanTimeoutMs },
      event("saleStarted", `order ${sale.orderRef} amount ${sale.amountFen} fen`, "info"),
    ],
  };
}

function onScan(
  settings: SaleSettings,
  state: LaneSaleState,
  code: string,
  attemptId: string,
  now: number,
): SaleStep {
  const sale = state.current;
  if (!sale) return { state, effects: [event("scanIgnored", "scan with no open sale dropped", "warn")] };
  if (sale.phase !== "waitScan") {
    return {
      state,
      effects: [event("scanIgnored", `scan ignored: attempt ${sale.attempt?.attemptId} in flight`, "warn")],
    };
  }
  const cls = classifyCode(code, settings.schemes);
  if (cls.type !== "payment") {
    const reason = cls.type === "notPayment" ? "notPayment" : "invalidCode";
    const text =
      cls.type === "notPayment"
        ? `不是付款码（${cls.reason}），请扫顾客付款码`
        : `付款码无法识别（${cls.reason}），请重扫`;
    return {
      state,
      effects: [
        progress(sale.orderRef, "RETRY_SCAN", text),
        display({ type: "rescan", amountFen: sale.amountFen, reason }),
        event("scanRejected", cls.reason, "warn"),
      ],
    };
  }
  if (!state.cloudOnline) {
    // Nothing can be sent: say so now rather than submit into a dead link.
    return {
      state,
      effects: [
        progress(sale.orderRef, "RETRY_SCAN", TEXT.cloudOffline),
        display({ type: "rescan", amountFen: sale.amountFen, reason: "declined" }),
        event("scanRejected", "cloud offline: scan not submitted", "warn"),
      ],
    };
  }
  const deadlineMs = now + settings.codeLifetimeMs;
  const next: ActiveSale = {
    ...sale,
    phase: "submitted",
    attempts: sale.attempts + 1,
    attempt: {
      attemptId,
      scheme: cls.scheme,
      maskedCode: maskCode(cls.code, cls.scheme),
      submittedAt: now,
      deadlineMs,
    },
  };
  return {
    state: { ...state, current: next },
    effects: [
      { type: "cancelTimer", name: "scan" },
      {
        type: "pay",
        command: {
          type: "pay",
          attemptId,
          orderRef: sale.orderRef,
          amountFen: sale.amountFen,
          authCode: cls.code,
          scheme: cls.scheme,
          scannedAtMs: now,
          deadlineMs,
        },
      },
      { type: "armTimer", name: "result", at: now + settings.resultTimeoutMs },
      progress(sale.orderRef, "SUBMITTED", TEXT.submitted),
      display({ type: "processing", amountFen: sale.amountFen }),
      event("attemptSubmitted", `attempt ${attemptId} ${maskCode(cls.code, cls.scheme)}`, "info"),
    ],
  };
}

function onCloudResult(
  settings: SaleSettings,
  state: LaneSaleState,
  attemptId: string,
  res: PaymentResult,
  answers: CloudCommand["type"],
  now: number,
): SaleStep {
  const sale = state.current;
  if (!sale?.attempt || sale.attempt.attemptId !== attemptId) return onLateResult(state, attemptId, res, now);
  const scheme = res.scheme ?? sale.attempt.scheme;
  if (sale.phase === "reversing") return onReversalResult(settings, state, sale, res, answers, now);
  switch (res.status) {
    case "PAID":
      if (res.amountFen !== sale.amountFen) {
        // mqtt-contract.md: a PAID with another amount is not paid; the sale becomes UNKNOWN.
        return finish(settings, state, sale, "UNKNOWN", scheme, "", TEXT.amountMismatch, now, [
          event(
            "amountMismatch",
            `attempt ${attemptId} PAID ${res.amountFen} fen, asked ${sale.amountFen}`,
            "error",
          ),
        ]);
      }
      return finish(settings, state, sale, "PAID", scheme, res.channelTradeNo, TEXT.paid, now);
    case "WAITING_CUSTOMER": {
      const first = sale.phase !== "waitCustomer";
      const next: ActiveSale = { ...sale, phase: "waitCustomer" };
      // Each further WAITING result restarts the wait, but never past the code's life plus one
      // result timeout: a cloud that keeps saying "waiting" cannot hold the lane forever.
      const latest = sale.attempt.deadlineMs + settings.resultTimeoutMs;
      const effects: SaleEffect[] = [
        { type: "armTimer", name: "result", at: Math.min(now + settings.resultTimeoutMs, latest) },
      ];
      if (first) {
        effects.push(progress(sale.orderRef, "WAIT_CUSTOMER", TEXT.waitCustomer));
        effects.push(display({ type: "confirmOnPhone", amountFen: sale.amountFen }));
      }
      return { state: { ...state, current: next }, effects };
    }
    case "FAILED": {
      if (!res.rescanAllowed)
        return finish(settings, state, sale, "CANCELLED", scheme, "", failedText(res), now);
      const { text, reason } = rescanText(res);
      return backToScan(
        settings,
        state,
        sale,
        text,
        reason,
        now,
        event(
          "attemptFailed",
          `attempt ${attemptId} failed ${res.reasonCode || "FAILED"}, rescan allowed`,
          "info",
        ),
      );
    }
    case "CANCELLED":
      return finish(settings, state, sale, "CANCELLED", scheme, "", TEXT.cancelled, now);
    case "UNKNOWN":
      return finish(settings, state, sale, "UNKNOWN", scheme, "", TEXT.unknown, now);
  }
}

/**
 * While a cashier's cancel reverses the attempt, only the cancel's own answer may end the sale as
 * paid or cancelled: a PAID that answers the pay request may already be undone by the reversal.
 */
function onReversalResult(
  settings: SaleSettings,
  state: LaneSaleState,
  sale: ActiveSale,
  res: PaymentResult,
  answers: CloudCommand["type"],
  now: number,
): SaleStep {
  const scheme = res.scheme ?? sale.attempt?.scheme ?? null;
  if (res.status === "CANCELLED" || res.status === "FAILED") {
    // Reversed, or the payment itself failed: either way no money moved.
    return finish(settings, state, sale, "CANCELLED", scheme, "", TEXT.cancelled, now);
  }
  if (answers !== "cancel") {
    return {
      state,
      effects: [
        event("resultIgnored", `${res.status} for the pay request ignored: a reversal is under way`, "info"),
      ],
    };
  }
  if (res.status === "PAID") {
    // The cloud could not reverse: the customer has paid. Say so rather than pretend.
    if (res.amountFen !== sale.amountFen) {
      return finish(settings, state, sale, "UNKNOWN", scheme, "", TEXT.amountMismatch, now, [
        event(
          "amountMismatch",
          `reversal answered PAID ${res.amountFen} fen, asked ${sale.amountFen}`,
          "error",
        ),
      ]);
    }
    return finish(settings, state, sale, "PAID", scheme, res.channelTradeNo, TEXT.reverseFailedPaid, now);
  }
  return { state, effects: [] }; // WAITING or UNKNOWN: the result timer decides (UNKNOWN)
}

/**
 * A result for an attempt no longer in flight. If its sale ended UNKNOWN, a final answer that
 * arrives late becomes the sale's truth for later QY; anything else is counted and ignored.
 */
function onLateResult(state: LaneSaleState, attemptId: string, res: PaymentResult, now: number): SaleStep {
  const index = state.recent.findIndex((r) => r.attemptId === attemptId);
  const done = state.recent[index];
  const final = res.status === "PAID" || res.status === "CANCELLED" || res.status === "FAILED";
  const amountOk = res.status !== "PAID" || res.amountFen === done?.amountFen;
  if (done?.status !== "UNKNOWN" || !final || !amountOk) {
    return {
      state,
      effects: [
        event("resultIgnored", `result ${res.status} for attempt ${attemptId} not in flight`, "warn"),
      ],
    };
  }
  const paid = res.status === "PAID";
  const resolved: FinishedSale = {
    ...done,
    status: paid ? "PAID" : "CANCELLED",
    channelTradeNo: paid ? res.channelTradeNo : "",
    text: paid ? TEXT.paid : TEXT.cancelled,
    endedAt: now,
  };
  const recent = state.recent.map((r, i) => (i === index ? resolved : r));
  return {
    state: { ...state, recent },
    effects: [
      event(
        "lateResult",
        `order ${done.orderRef} was UNKNOWN; attempt ${attemptId} is now ${resolved.status}`,
        "warn",
      ),
    ],
  };
}

function onCancel(
  settings: SaleSettings,
  state: LaneSaleState,
  seq: string,
  orderRef: string,
  now: number,
): SaleStep {
  const sale = state.current;
  if (sale?.orderRef === orderRef) {
    if (sale.phase === "waitScan") {
      return finish(
        settings,
        { ...state },
        { ...sale, cancelSeqs: [...sale.cancelSeqs, seq] },
        "CANCELLED",
        null,
        "",
        TEXT.cancelled,
        now,
      );
    }
    // An attempt is in flight: ask the cloud to reverse it and answer when its state is final.
    const next: ActiveSale = { ...sale, phase: "reversing", cancelSeqs: [...sale.cancelSeqs, seq] };
    const effects: SaleEffect[] = [];
    if (sale.phase !== "reversing" && sale.attempt) {
      effects.push({
        type: "cancel",
        command: { type: "cancel", attemptId: sale.attempt.attemptId, reason: "cashier cancelled" },
      });
      effects.push(progress(sale.orderRef, "REVERSING", TEXT.reversing));
      effects.push({ type: "armTimer", name: "result", at: now + settings.resultTimeoutMs });
    }
    return { state: { ...state, current: next }, effects };
  }
  const done = findRecent(state, orderRef);
  if (done) return { state, effects: [repeatFinal(seq, done)] };
  return { state, effects: [result(seq, orderRef, "REJECTED", null, null, "", TEXT.unknownOrder)] };
}

function onTimer(settings: SaleSettings, state: LaneSaleState, name: TimerName, now: number): SaleStep {
  const sale = state.current;
  if (name === "idleDisplay") return { state, effects: sale ? [] : [display({ type: "idle" })] };
  if (!sale) return { state, effects: [] };
  if (name === "scan" && sale.phase === "waitScan") {
    return finish(settings, state, sale, "CANCELLED", null, "", TEXT.scanTimeout, now);
  }
  if (name === "result" && sale.phase !== "waitScan") {
    return finish(settings, state, sale, "UNKNOWN", sale.attempt?.scheme ?? null, "", TEXT.noAnswer, now);
  }
  return { state, effects: [] };
}

export function laneState(state: LaneSaleState): string {
  const phase = state.current?.phase;
  if (!phase) return "IDLE";
  return {
    waitScan: "WAIT_SCAN",
    submitted: "SUBMITTED",
    waitCustomer: "WAIT_CUSTOMER",
    reversing: "REVERSING",
  }[phase];
}
