// A journal of N settled sales (a sale and its paid attempt each, within retention), written
// through the journal's own public API, for the restart figure. Written whether `write`/`close`
// return at once or a promise (a group commit), so it fits the journal before and after that
// change.
import pino from "pino";
import { systemClock } from "../../daemon/clock.js";
import { Journal } from "../../daemon/journal/journal.js";
import type { AttemptRecord, SaleRecord } from "../../protocols/sale/records.js";

export async function writeJournalOfSales(dir: string, sales: number, laneId = "lane1"): Promise<void> {
  // Awaited: fits a journal whose open, write and close return at once or a promise.
  const journal = await Journal.open({ dir, clock: systemClock, log: pino({ level: "silent" }) });
  // Spread over the last day: nothing is old enough to be purged at the next start.
  const first = Date.now() - 86_400_000;
  const step = Math.max(1, Math.floor(80_000_000 / sales));
  let pending: unknown[] = [];
  for (let i = 0; i < sales; i++) {
    const at = first + i * step;
    const orderRef = `FIX${String(i).padStart(8, "0")}`;
    const attemptId = `01FIXTURE${String(i).padStart(17, "0")}`;
    const attempt: AttemptRecord = {
      kind: "attempt",
      attemptId,
      laneId,
      orderRef,
      amountFen: 1000 + (i % 5000),
      scheme: "WECHAT",
      maskedCode: "WECHAT…6789",
      createdAt: at,
      deadlineMs: at + 60_000,
      sentAt: at + 5,
      boot: "fixture",
      scannedMono: 0,
      sentMono: 5,
      phase: "paid",
      reason: "",
      reasonCode: "",
      channelTradeNo: `4200${String(i).padStart(24, "0")}`,
      paidAmountFen: 1000 + (i % 5000),
      queries: 0,
      reversals: 0,
      latePaidAmountFen: null,
      lateTradeNo: "",
      latePaidAt: null,
      training: false,
      nextDueMono: null,
      updatedAt: at + 300,
    };
    const sale: SaleRecord = {
      kind: "sale",
      laneId,
      orderRef,
      amountFen: attempt.amountFen,
      seq: String(i % 100).padStart(2, "0"),
      openedAt: at - 2000,
      status: "PAID",
      answered: true,
      scheme: "WECHAT",
      channelTradeNo: attempt.channelTradeNo,
      attemptId,
      attempts: 1,
      text: "支付成功",
      endedAt: at + 300,
      attention: "",
      attentionAt: null,
      training: false,
      updatedAt: at + 300,
    };
    pending.push(journal.write(attempt), journal.write(sale));
    if (pending.length >= 512) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await journal.close();
}
