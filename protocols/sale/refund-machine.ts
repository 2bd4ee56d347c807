// A refund's life, pure: RF checked against the journal's view of the sale (paid minus what is
// already refunded or in flight), then a RefundRequest with our refund id, resent with the same id
// while no final answer comes (the cloud refunds a refund id once: payment-domain.md §2.5, §7
// rule 23), answered REFUNDED / REFUND_FAILED, or UNKNOWN after `answerWithinMs` and kept being
// resolved in the background.
import type { RefundResult } from "../cloud/cloud-messages.js";
import { elapsedSince, type Instant, monoAgo } from "../core/instant.js";
import { formatYuan } from "../payment/amount.js";
import type { AttemptRecord, RefundRecord, SaleRecord } from "./records.js";
import { reasonCodeOf } from "./sale-texts.js";

export interface RefundSettings {
  /** Resend an unanswered refund request after this long; default 5000. */
  retryMs: number;
  /** Answer the register UNKNOWN (30) if no final result within this; default 30000. */
  answerWithinMs: number;
  /** Resend interval once the register has had its UNKNOWN; default 60000. */
  reconcileIntervalMs: number;
  /** WeChat allows at most 50 partial refunds per order. */
  maxRefundsPerSale: number;
}

export const DEFAULT_REFUND_SETTINGS: RefundSettings = {
  retryMs: 5_000,
  answerWithinMs: 30_000,
  reconcileIntervalMs: 60_000,
  maxRefundsPerSale: 50,
};

export interface RefundAsk {
  seq: string;
  laneId: string;
  orderRef: string;
  refundRef: string;
  amountFen: number;
  /** A fresh id, used only if a new refund is opened. */
  newRefundId: string;
}

export interface SaleView {
  sale: SaleRecord;
  attempts: readonly AttemptRecord[];
  refunds: readonly RefundRecord[];
}

export type RefundDecision =
  | { type: "reject"; text: string }
  /** The same refundRef was already answered finally: repeat it. */
  | { type: "repeat"; refund: RefundRecord }
  /** Open (or retry) this refund: journal it, then send. */
  | { type: "send"; refund: RefundRecord };

/** Checks an RF. `view` is the journal's view of the sale (undefined: unknown orderRef). */
export function decideRefund(
  s: RefundSettings,
  ask: RefundAsk,
  view: SaleView | undefined,
  at: Instant,
): RefundDecision {
  if (!view) return { type: "reject", text: "未知订单，不能退款" };
  const { sale } = view;
  if (sale.status !== "PAID") return { type: "reject", text: "订单未支付成功，不能退款" };
  const paidAttempt = view.attempts.find((a) => a.attemptId === sale.attemptId && a.phase === "paid");
  if (!paidAttempt) return { type: "reject", text: "找不到已支付的交易，不能退款" };
  const same = view.refunds.find((r) => r.refundRef === ask.refundRef);
  if (same) {
    if (same.amountFen !== ask.amountFen) return { type: "reject", text: "退款单号已使用且金额不同" };
    if (same.phase === "refunded" || same.phase === "failed") return { type: "repeat", refund: same };
    // In flight or unknown: retry under the same refund id, answering this RF.
    return {
      type: "send",
      refund: {
        ...same,
        seq: ask.seq,
        answered: false,
        sends: same.sends + 1,
        requestedAt: at.wall,
        boot: at.boot,
        requestedMono: at.mono,
        nextDueMono: at.mono + s.retryMs,
        updatedAt: at.wall,
      },
    };
  }
  if (view.refunds.length >= s.maxRefundsPerSale)
    return { type: "reject", text: `退款次数已达上限 ${s.maxRefundsPerSale}` };
  // Refunded and in-flight refunds both count: a refund whose outcome is unknown may have happened.
  const taken = view.refunds.filter((r) => r.phase !== "failed").reduce((sum, r) => sum + r.amountFen, 0);
  const left = sale.amountFen - taken;
  if (ask.amountFen > left)
    return { type: "reject", text: `退款金额超过可退金额 ¥${formatYuan(Math.max(0, left))}` };
  return {
    type: "send",
    refund: {
      kind: "refund",
      refundId: ask.newRefundId,
      refundRef: ask.refundRef,
      laneId: ask.laneId,
      orderRef: ask.orderRef,
      attemptId: paidAttempt.attemptId,
      amountFen: ask.amountFen,
      seq: ask.seq,
      phase: "requested",
      reasonCode: "",
      sends: 1,
      answered: false,
      requestedAt: at.wall,
      boot: at.boot,
      requestedMono: at.mono,
      nextDueMono: at.mono + s.retryMs,
      updatedAt: at.wall,
    },
  };
}

export type RefundStep = {
  refund: RefundRecord;
  /** Send (or resend) the RefundRequest now. */
  send: boolean;
  /** Answer the register now (final, or UNKNOWN after answerWithinMs). */
  answer: boolean;
};

export function refundOnResult(r: RefundRecord, res: RefundResult, at: Instant): RefundStep {
  if (r.phase === "refunded" || r.phase === "failed") return { refund: r, send: false, answer: false };
  const reasonCode = reasonCodeOf(res.reasonCode);
  if (res.status === "REFUNDED" || res.status === "REFUND_FAILED") {
    const phase = res.status === "REFUNDED" ? "refunded" : "failed";
    return {
      refund: { ...r, phase, reasonCode, nextDueMono: null, answered: true, updatedAt: at.wall },
      send: false,
      answer: !r.answered,
    };
  }
  return { refund: { ...r, reasonCode, updatedAt: at.wall }, send: false, answer: false };
}

/** `nextDueMono` reached (or the link came back: due now). Sends only while online. */
export function refundOnDue(s: RefundSettings, r: RefundRecord, online: boolean, at: Instant): RefundStep {
  if (r.phase === "refunded" || r.phase === "failed") return { refund: r, send: false, answer: false };
  const now = at.mono;
  const late = !r.answered && now >= r.requestedMono + s.answerWithinMs;
  const interval = r.answered || late ? s.reconcileIntervalMs : s.retryMs;
  const next: RefundRecord = {
    ...r,
    phase: late || r.answered ? "unknown" : r.phase,
    answered: r.answered || late,
    sends: online ? r.sends + 1 : r.sends,
    nextDueMono: now + interval,
    updatedAt: at.wall,
  };
  return { refund: next, send: online, answer: late };
}

/**
 * A refund read back from the journal after a restart, moved onto this boot's monotonic clock
 * (exact after a restart, by the wall clock after a reboot) and due at once.
 */
export function rebaseRefund(r: RefundRecord, at: Instant): RefundRecord {
  const moved =
    r.boot === at.boot && r.boot !== ""
      ? r
      : {
          ...r,
          boot: at.boot,
          requestedMono: monoAgo(
            at,
            elapsedSince({ wall: r.requestedAt, mono: r.requestedMono, boot: r.boot }, at),
          ),
        };
  return { ...moved, nextDueMono: at.mono };
}
