// The simulated cloud's ledger: what it executed, per attempt. Each attempt is executed at most
// once; a resend of the same attempt is answered with its current state and counted
// (mqtt-contract.md, "Semantics the bridge relies on"). A cancel of an attempt the cloud never saw
// leaves a closed tombstone, so a PayRequest arriving late can no longer charge.
import type {
  CancelCommand,
  PayCommand,
  PaymentResult,
  RefundCommand,
  RefundResult,
} from "../../protocols/cloud/cloud-messages.js";
import type { Scheme } from "../../protocols/payment/scheme.js";
import { channelTradeNo, decideOutcome, type SimOutcome } from "./sim-rules.js";

export interface LedgerEntry {
  attemptId: string;
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
}

export class Ledger {
  private readonly entries = new Map<string, LedgerEntry>();
  readonly stats: LedgerStats = {
    attempts: 0,
    executions: 0,
    duplicates: 0,
    paid: 0,
    reversed: 0,
    queries: 0,
  };

  get(attemptId: string): LedgerEntry | undefined {
    return this.entries.get(attemptId);
  }

  all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  /** Executes a pay once; returns the outcome (for a new attempt) or the entry's state (duplicate). */
  pay(
    cmd: PayCommand,
    now: number,
  ): { duplicate: boolean; outcome: SimOutcome | null; result: PaymentResult } {
    const existing = this.entries.get(cmd.attemptId);
    if (existing) {
      this.stats.duplicates++;
      return { duplicate: true, outcome: null, result: resultOf(existing) };
    }
    this.stats.attempts++;
    this.stats.executions++;
    const outcome = decideOutcome(cmd, now);
    const entry: LedgerEntry = {
      attemptId: cmd.attemptId,
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
