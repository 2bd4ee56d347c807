// Journal records for the benches: sale i of 32 lanes and its one paid attempt, sizes as the
// daemon writes them (a WeChat payment, a 28-digit trade number, a ULID attempt id).
import type { AttemptRecord, SaleRecord } from "../protocols/sale/records.js";

/** An hour ago: records of today, inside any retention. */
export const T = Date.now() - 3_600_000;

export function sale(i: number, status: SaleRecord["status"]): SaleRecord {
  const done = status === "PAID";
  return {
    kind: "sale",
    laneId: `l${(i % 32) + 1}`,
    orderRef: `2026${String(i).padStart(10, "0")}`,
    amountFen: 100 + (i % 9000),
    seq: String(i % 100).padStart(2, "0"),
    openedAt: T + i,
    status,
    answered: done,
    scheme: "WECHAT",
    channelTradeNo: done ? `42000012342026${String(i).padStart(14, "0")}` : "",
    attemptId: `01J${String(i).padStart(23, "0")}`,
    attempts: 1,
    text: done ? "支付成功" : "",
    endedAt: done ? T + i + 1500 : null,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: T + i + (done ? 1500 : 0),
  };
}

export function attempt(i: number): AttemptRecord {
  return {
    kind: "attempt",
    attemptId: `01J${String(i).padStart(23, "0")}`,
    laneId: `l${(i % 32) + 1}`,
    orderRef: `2026${String(i).padStart(10, "0")}`,
    amountFen: 100 + (i % 9000),
    scheme: "WECHAT",
    maskedCode: "WECHAT…6789",
    createdAt: T + i,
    deadlineMs: T + i + 60_000,
    sentAt: T + i + 10,
    boot: "0123456789abcdef",
    scannedMono: i,
    sentMono: i + 10,
    phase: "paid",
    reason: "",
    reasonCode: "",
    channelTradeNo: `42000012342026${String(i).padStart(14, "0")}`,
    paidAmountFen: 100 + (i % 9000),
    queries: 0,
    reversals: 0,
    latePaidAmountFen: null,
    lateTradeNo: "",
    latePaidAt: null,
    nextDueMono: null,
    training: false,
    updatedAt: T + i + 1400,
  };
}
