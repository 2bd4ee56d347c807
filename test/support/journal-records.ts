// Journal records for tests, one of each kind with every field set, patched per test; and a
// journal written with them through the real Journal (the format the daemon writes).
import pino from "pino";
import { ManualClock } from "../../daemon/clock.js";
import { Journal } from "../../daemon/journal/journal.js";
import type { AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "../../protocols/sale/records.js";

/** 2026-03-14 12:00 in Shanghai. */
export const RECORD_NOON = Date.parse("2026-03-14T12:00:00+08:00");

export function saleRecord(orderRef: string, over: Partial<SaleRecord> = {}): SaleRecord {
  return {
    kind: "sale",
    laneId: "l1",
    orderRef,
    amountFen: 100,
    seq: "01",
    openedAt: RECORD_NOON,
    status: "PAID",
    answered: true,
    scheme: "WECHAT",
    channelTradeNo: "4200001234202603141234567890",
    attemptId: `A${orderRef}`,
    attempts: 1,
    text: "支付成功",
    endedAt: RECORD_NOON + 5000,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: RECORD_NOON + 5000,
    ...over,
  };
}

export function attemptRecord(orderRef: string, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    kind: "attempt",
    attemptId: `A${orderRef}`,
    laneId: "l1",
    orderRef,
    amountFen: 100,
    scheme: "WECHAT",
    maskedCode: "WECHAT…6789",
    createdAt: RECORD_NOON,
    deadlineMs: RECORD_NOON + 60_000,
    sentAt: RECORD_NOON,
    boot: "testboot",
    scannedMono: 0,
    sentMono: null,
    phase: "paid",
    reason: "",
    reasonCode: "",
    channelTradeNo: "4200001234202603141234567890",
    paidAmountFen: 100,
    queries: 0,
    reversals: 0,
    latePaidAmountFen: null,
    lateTradeNo: "",
    latePaidAt: null,
    training: false,
    nextDueMono: null,
    updatedAt: RECORD_NOON,
    ...over,
  };
}

export function refundRecord(
  refundId: string,
  orderRef: string,
  over: Partial<RefundRecord> = {},
): RefundRecord {
  return {
    kind: "refund",
    refundId,
    refundRef: `RF-${refundId}`,
    laneId: "l1",
    orderRef,
    attemptId: `A${orderRef}`,
    amountFen: 100,
    seq: "02",
    phase: "refunded",
    reasonCode: "",
    sends: 1,
    answered: true,
    requestedAt: RECORD_NOON + 60_000,
    boot: "testboot",
    requestedMono: 0,
    nextDueMono: null,
    updatedAt: RECORD_NOON + 60_000,
    ...over,
  };
}

/** Writes `records` to <dir>/journal.log through the Journal (fsync'd, CRC'd lines). */
export function writeJournal(dir: string, records: readonly JournalRecord[], wallNow = RECORD_NOON): void {
  const j = Journal.open({ dir, clock: new ManualClock(wallNow), log: pino({ level: "silent" }) });
  for (const r of records) j.write(r);
  j.close();
}
