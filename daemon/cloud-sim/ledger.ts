// The simulated cloud's ledger: what it executed, per attempt. Each attempt is executed at most
// once; a resend of the same attempt is answered with its current state and counted
// (mqtt-contract.md, "Semantics the bridge relies on"). A cancel of an attempt the cloud never saw
// leaves a closed tombstone, so a PayRequest arriving late can no longer charge. A PayRequest for
// an orderRef of the same store/bridge/lane that already has a payment PAID or not final (waiting,
// unknown) is refused with FAILED ORDERPAID and charges nothing (cloud-contract.md): a bridge that
// lost its journal must not be able to charge an order twice.
import type {
  CancelCommand,
  PayCommand,
  PaymentResult,
  RefundCommand,
  RefundResult,
} from "../../protocols/cloud/cloud-messages.js";
import type { Scheme } from "../../protocols/payment/scheme.js";
import { channelTradeNo, decideOutcome, type SimOutcome } from "./sim-rules.js";

/** The reason code of a pay refused because the order already has a payment (cloud-contract.md). */
export const ORDER_PAID = "ORDERPAID";

/** Payments that make an order "already paid" for a new attempt: paid, or not final yet. */
const HOLDS_ORDER: ReadonlySet<PaymentResult["status"]> = new Set(["PAID", "WAITING_CUSTOMER", "UNKNOWN"]);

export interface LedgerEntry {
  attemptId: string;
  /** `store/bridge/lane` of the bridge that sent the pay request ("" when not told). */
  scope: string;
  orderRef: string;
  amountFen: number;
  scheme: Scheme | null;
  status: PaymentResult["status"];
  reasonCode: string;
  message: string;
  rescanAllowed: boolean;
  channelTradeNo: string;
  /** The customer was charged at some point (PAID, possibly reversed later). */
  charged: boolean;
  refundedFen: number;
  refunds: Map<string, RefundResult>;
}

export interface LedgerStats {
  attempts: number;
  executions: number;
  duplicates: number;
  paid: number;
  reversed: number;
  queries: number;
  /** Pay requests refused with ORDERPAID (their order already had a payment). */
  orderPaidRefusals: number;
}

export class Ledger {
  private readonly entries = new Map<string, LedgerEntry>();
  /** scope + orderRef → the attempts made for it. */
  private readonly orders = new Map<string, string[]>();
  readonly stats: LedgerStats = {
    attempts: 0,
    executions: 0,
    duplicates: 0,
    paid: 0,
    reversed: 0,
    queries: 0,
    orderPaidRefusals: 0,
  };

  get(attemptId: string): LedgerEntry | undefined {
    return this.entries.get(attemptId);
  }

  all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  /** The attempts made for an order of a bridge's lane (`scope` = store/bridge/lane), oldest first. */
  ofOrder(scope: string, orderRef: string): LedgerEntry[] {
    const ids = this.orders.get(orderKey(scope, orderRef)) ?? [];
    return ids.flatMap((id) => {
      const e = this.entries.get(id);
      return e ? [e] : [];
    });
  }

  /**
   * Executes a pay once; returns the outcome (for a new attempt) or the entry's state (duplicate).
   * `scope` (store/bridge/lane) names whose orderRef this is: a new attempt for an order that
   * already has a payment paid or not final is refused with ORDERPAID, and nothing is charged.
   */
  pay(
    cmd: PayCommand,
    now: number,
    scope = "",
  ): { duplicate: boolean; outcome: SimOutcome | null; result: PaymentResult } {
    const existing = this.entries.get(cmd.attemptId);
    if (existing) {
      this.stats.duplicates++;
      return { duplicate: true, outcome: null, result: resultOf(existing) };
    }
    this.stats.attempts++;
    this.stats.executions++;
    const held = this.ofOrder(scope, cmd.orderRef).some((e) => HOLDS_ORDER.has(e.status));
    const outcome: SimOutcome = held
      ? { kind: "failed", reasonCode: ORDER_PAID, message: "该订单已有支付记录", rescanAllowed: false }
      : decideOutcome(cmd, now);
    if (held) this.stats.orderPaidRefusals++;
    const entry: LedgerEntry = {
      attemptId: cmd.attemptId,
      scope,
      orderRef: cmd.orderRef,
      amountFen: cmd.amountFen,
      scheme: cmd.scheme,
      status: "PAID",
      reasonCode: "",
      message: "支付成功",
      rescanAllowed: false,
      channelTradeNo: "",
      charged: false,
      refundedFen: 0,
      refunds: new Map(),
    };
    switch (outcome.kind) {
      case "paid":
      case "silent":
        this.charge(entry);
        break;
      case "waiting":
        Object.assign(entry, {
          status: "WAITING_CUSTOMER",
          reasonCode: "USERPAYING",
          message: "需要用户输入支付密码",
        });
        break;
      case "failed":
        Object.assign(entry, {
          status: "FAILED",
          reasonCode: outcome.reasonCode,
          message: outcome.message,
          rescanAllowed: outcome.rescanAllowed,
        });
        break;
      case "unknown":
        Object.assign(entry, { status: "UNKNOWN", reasonCode: outcome.reasonCode, message: "系统繁忙" });
        break;
    }
    this.entries.set(cmd.attemptId, entry);
    const key = orderKey(scope, cmd.orderRef);
    this.orders.set(key, [...(this.orders.get(key) ?? []), cmd.attemptId]);
    return { duplicate: false, outcome, result: resultOf(entry) };
  }

  /** The customer confirmed on the phone: a waiting attempt becomes PAID. */
  confirm(attemptId: string): PaymentResult | undefined {
    const entry = this.entries.get(attemptId);
    if (entry?.status !== "WAITING_CUSTOMER") return undefined;
    this.charge(entry);
    return resultOf(entry);
  }

  query(attemptId: string): PaymentResult {
    this.stats.queries++;
    const entry = this.entries.get(attemptId);
    if (!entry) return { ...EMPTY, status: "FAILED", reasonCode: "ORDERNOTEXIST", message: "订单不存在" };
    return resultOf(entry);
  }

  cancel(cmd: CancelCommand): PaymentResult {
    const entry = this.entries.get(cmd.attemptId);
    if (!entry) {
      const tombstone: LedgerEntry = {
        attemptId: cmd.attemptId,
        scope: "",
        orderRef: "",
        amountFen: 0,
        scheme: null,
        status: "CANCELLED",
        reasonCode: "ORDERNOTEXIST",
        message: "订单已关闭",
        rescanAllowed: false,
        channelTradeNo: "",
        charged: false,
        refundedFen: 0,
        refunds: new Map(),
      };
      this.entries.set(cmd.attemptId, tombstone);
      return resultOf(tombstone);
    }
    if (entry.status === "PAID") this.stats.reversed++;
    if (entry.status !== "FAILED")
      Object.assign(entry, { status: "CANCELLED", reasonCode: "REVERSED", message: "已撤销" });
    return resultOf(entry);
  }

  refund(cmd: RefundCommand): RefundResult {
    const entry = this.entries.get(cmd.attemptId);
    const base = { type: "refund" as const, refundId: cmd.refundId, amountFen: cmd.amountFen };
    if (entry?.status !== "PAID") {
      return { ...base, status: "REFUND_FAILED", reasonCode: "TRADE_STATE_ERROR", message: "订单未支付" };
    }
    const previous = entry.refunds.get(cmd.refundId);
    if (previous) return previous; // idempotent on refund_id
    if (cmd.amountFen > entry.amountFen - entry.refundedFen) {
      return {
        ...base,
        status: "REFUND_FAILED",
        reasonCode: "REFUND_FEE_INVALID",
        message: "退款金额超过可退金额",
      };
    }
    entry.refundedFen += cmd.amountFen;
    const result: RefundResult = { ...base, status: "REFUNDED", reasonCode: "", message: "退款成功" };
    entry.refunds.set(cmd.refundId, result);
    return result;
  }

  private charge(entry: LedgerEntry): void {
    Object.assign(entry, {
      status: "PAID",
      reasonCode: "",
      message: "支付成功",
      charged: true,
      channelTradeNo: channelTradeNo(entry.attemptId),
    });
    this.stats.paid++;
  }
}

function orderKey(scope: string, orderRef: string): string {
  return `${scope}\u0000${orderRef}`;
}

const EMPTY: PaymentResult = {
  type: "payment",
  status: "FAILED",
  amountFen: 0,
  scheme: null,
  channelTradeNo: "",
  reasonCode: "",
  message: "",
  rescanAllowed: false,
};

function resultOf(e: LedgerEntry): PaymentResult {
  return {
    type: "payment",
    status: e.status,
    amountFen: e.amountFen,
    scheme: e.scheme,
    channelTradeNo: e.status === "PAID" ? e.channelTradeNo : "",
    reasonCode: e.reasonCode,
    message: e.message,
    rescanAllowed: e.rescanAllowed,
  };
}
