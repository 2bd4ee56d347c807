// Drives the pure sale machine the way daemon/lanes/sale-runner.ts does, without devices: journal
// effects fold into an in-memory map (the journal's view feeds register requests), armed timers
// fire when `advance` passes them (on the monotonic clock), and every effect is kept for
// assertions. `stepWall` moves the wall clock alone, as NTP does.
import type { PaymentResult, RefundResult } from "../../protocols/cloud/cloud-messages.js";
import type { Instant } from "../../protocols/core/instant.js";
import { DEFAULT_SCHEME_RULES } from "../../protocols/payment/classify-code.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import { DEFAULT_ATTEMPT_SETTINGS } from "../../protocols/sale/attempt-machine.js";
import {
  type AttemptRecord,
  type JournalRecord,
  type RefundRecord,
  recordKey,
  type SaleRecord,
} from "../../protocols/sale/records.js";
import { DEFAULT_REFUND_SETTINGS, type SaleView } from "../../protocols/sale/refund-machine.js";
import { initialSaleState, saleStep } from "../../protocols/sale/sale-machine.js";
import type {
  LaneSaleState,
  SaleEffect,
  SaleInput,
  SaleSettings,
  TimerName,
} from "../../protocols/sale/sale-types.js";

export const T0 = 1_000_000;
export const WECHAT = "134567890123456789";

export const SETTINGS: SaleSettings = {
  scanTimeoutMs: 60_000,
  codeLifetimeMs: 60_000,
  maxAmountFen: 10_000_000,
  schemes: DEFAULT_SCHEME_RULES,
  resultDisplayMs: 5_000,
  answerAfterRestart: true,
  attempt: DEFAULT_ATTEMPT_SETTINGS,
  refund: DEFAULT_REFUND_SETTINGS,
};

export function payment(p: Partial<PaymentResult>): PaymentResult {
  return {
    type: "payment",
    status: "PAID",
    amountFen: 0,
    scheme: "WECHAT",
    channelTradeNo: "",
    reasonCode: "",
    message: "",
    rescanAllowed: false,
    ...p,
  };
}

export function refundResult(p: Partial<RefundResult>): RefundResult {
  return {
    type: "refund",
    refundId: "",
    status: "REFUNDED",
    amountFen: 0,
    reasonCode: "",
    message: "",
    ...p,
  };
}

export const HARNESS_BOOT = "harnessboot0001";

export class SaleHarness {
  state: LaneSaleState;
  /** Wall clock (epoch ms). */
  now: number;
  /** Monotonic clock; starts equal to `now` unless told otherwise. */
  mono: number;
  boot: string;
  readonly journal = new Map<string, JournalRecord>();
  readonly effects: SaleEffect[] = [];
  readonly timers = new Map<TimerName, number>();
  private ids = 0;

  constructor(
    readonly settings: SaleSettings = SETTINGS,
    online = true,
    now = T0,
    mono = now,
    boot = HARNESS_BOOT,
  ) {
    this.state = initialSaleState("lane1", online);
    this.now = now;
    this.mono = mono;
    this.boot = boot;
  }

  get at(): Instant {
    return { wall: this.now, mono: this.mono, boot: this.boot };
  }

  /** The wall clock jumps (NTP, `date -s`); the monotonic clock and the timers do not move. */
  stepWall(ms: number): void {
    this.now += ms;
  }

  /** Feeds one input; returns only this step's effects. */
  feed(input: SaleInput): SaleEffect[] {
    const step = saleStep(this.settings, this.state, input, this.at);
    this.state = step.state;
    for (const e of step.effects) {
      if (e.type === "journal") this.journal.set(recordKey(e.record), e.record);
      if (e.type === "armTimer") this.timers.set(e.name, e.atMono);
      if (e.type === "cancelTimer") this.timers.delete(e.name);
    }
    this.effects.push(...step.effects);
    return step.effects;
  }

  pos(request: PosRequest): SaleEffect[] {
    if (request.type === "echo") return this.feed({ type: "pos", request });
    return this.feed({
      type: "pos",
      request,
      view: this.view(request.orderRef),
      newId: `REFUND${++this.ids}`,
    });
  }

  sale(seq: string, orderRef: string, amountFen: number): SaleEffect[] {
    return this.pos({ type: "sale", seq, orderRef, amountFen });
  }

  scan(code: string = WECHAT, attemptId = "ATTEMPT01"): SaleEffect[] {
    return this.feed({ type: "scan", code, attemptId });
  }

  /** A cloud result, with the journal's view of the attempt's order (as the lane adds it). */
  result(
    attemptId: string,
    p: Partial<PaymentResult>,
    answers: "pay" | "query" | "cancel" = "pay",
  ): SaleEffect[] {
    const a = this.attempt(attemptId);
    const view = a ? this.view(a.orderRef) : undefined;
    return this.feed({ type: "cloudResult", attemptId, answers, result: payment(p), view });
  }

  /** Moves both clocks on, firing armed timers in time order. Returns the effects of those steps. */
  advance(ms: number): SaleEffect[] {
    const end = this.mono + ms;
    const out: SaleEffect[] = [];
    for (;;) {
      const due = [...this.timers.entries()].filter(([, at]) => at <= end).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      const to = Math.max(this.mono, due[1]);
      this.now += to - this.mono;
      this.mono = to;
      out.push(...this.feed({ type: "timer", name: due[0] }));
    }
    this.now += end - this.mono;
    this.mono = end;
    return out;
  }

  view(orderRef: string): SaleView | undefined {
    const sale = this.journal.get(`sale/lane1/${orderRef}`) as SaleRecord | undefined;
    if (!sale) return undefined;
    const all = [...this.journal.values()];
    return {
      sale,
      attempts: all.filter((r): r is AttemptRecord => r.kind === "attempt" && r.orderRef === orderRef),
      refunds: all.filter((r): r is RefundRecord => r.kind === "refund" && r.orderRef === orderRef),
    };
  }

  attempt(id: string): AttemptRecord | undefined {
    return this.journal.get(`attempt/${id}`) as AttemptRecord | undefined;
  }
}

export const answersOf = (effects: SaleEffect[]): PosAnswer[] =>
  effects.flatMap((e) => (e.type === "answer" ? [e.answer] : []));
export const resultsOf = (effects: SaleEffect[]) =>
  answersOf(effects).filter((a): a is Extract<PosAnswer, { type: "result" }> => a.type === "result");
export const stagesOf = (effects: SaleEffect[]) =>
  answersOf(effects).flatMap((a) => (a.type === "progress" ? [a.stage] : []));
export const viewsOf = (effects: SaleEffect[]) =>
  effects.flatMap((e) => (e.type === "display" ? [e.view.type] : []));
export const sendsOf = (effects: SaleEffect[]) =>
  effects.flatMap((e) =>
    e.type === "pay"
      ? [`pay:${e.attempt.attemptId}`]
      : e.type === "query" || e.type === "cancel" || e.type === "refund"
        ? [`${e.type}:${e.command.attemptId}`]
        : [],
  );
export const eventsOf = (effects: SaleEffect[], kind?: string) =>
  effects.flatMap((e) => (e.type === "event" && (!kind || e.kind === kind) ? [e] : []));
