// The end-of-day report as pure functions: grouping by scheme × status, totals, local-day
// boundaries (TZ set for this process), refunds and net, the UNKNOWN list, and the text form.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOURNAL_FILE, readJournal } from "../../../daemon/journal/journal.js";
import {
  dayReport,
  formatDayReport,
  localDate,
  localDayBounds,
  type ReportScheme,
} from "../../../daemon/report/day-report.js";
import type { AttemptRecord, RefundRecord, SaleRecord } from "../../../protocols/sale/records.js";

const savedTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = "Asia/Shanghai";
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

const at = (iso: string) => Date.parse(iso);
const NOON = at("2026-03-14T12:00:00+08:00");

function sale(orderRef: string, over: Partial<SaleRecord> = {}): SaleRecord {
  return {
    kind: "sale",
    laneId: "l1",
    orderRef,
    amountFen: 100,
    seq: "01",
    openedAt: NOON,
    status: "PAID",
    answered: true,
    scheme: "WECHAT",
    channelTradeNo: "",
    attemptId: null,
    attempts: 1,
    text: "",
    endedAt: NOON + 5000,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: NOON + 5000,
    ...over,
  };
}

function attempt(attemptId: string, orderRef: string, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    kind: "attempt",
    attemptId,
    laneId: "l1",
    orderRef,
    amountFen: 100,
    scheme: "WECHAT",
    maskedCode: "WECHAT…6789",
    createdAt: NOON,
    deadlineMs: NOON + 60_000,
    sentAt: NOON,
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
    nextDueMono: null,
    training: false,
    updatedAt: NOON,
    ...over,
  };
}

function refund(refundId: string, orderRef: string, attemptId: string, over: Partial<RefundRecord> = {}) {
  const r: RefundRecord = {
    kind: "refund",
    refundId,
    refundRef: `RF${refundId}`,
    laneId: "l1",
    orderRef,
    attemptId,
    amountFen: 50,
    seq: "02",
    phase: "refunded",
    reasonCode: "",
    sends: 1,
    answered: true,
    requestedAt: NOON,
    boot: "testboot",
    requestedMono: 0,
    nextDueMono: null,
    updatedAt: NOON,
    ...over,
  };
  return r;
}

function row(r: ReturnType<typeof dayReport>, scheme: ReportScheme) {
  return r.schemes.find((s) => s.scheme === scheme)!;
}

describe("dayReport", () => {
  it("counts sales per scheme × status, with OPEN and PENDING as IN_PROGRESS, and totals", () => {
    const r = dayReport(
      [
        sale("P1", { amountFen: 1000 }),
        sale("P2", { amountFen: 2345 }),
        sale("C1", { scheme: "ALIPAY", status: "CANCELLED", amountFen: 500 }),
        sale("O1", { scheme: null, status: "OPEN", amountFen: 300, endedAt: null }),
        sale("G1", { scheme: "UNIONPAY", status: "PENDING", amountFen: 700, endedAt: null }),
        sale("U1", { scheme: "ECNY", status: "UNKNOWN", amountFen: 999, attemptId: "AU1" }),
        attempt("AU1", "U1", { scheme: "ECNY", maskedCode: "ECNY…4321", phase: "unresolved" }),
        sale("P3", { scheme: "ALIPAY", amountFen: 1 }),
      ],
      "2026-03-14",
    );
    expect(r.schemes.map((s) => s.scheme)).toEqual(["WECHAT", "ALIPAY", "UNIONPAY", "ECNY", "none"]);
    expect(row(r, "WECHAT").sales.PAID).toEqual({ count: 2, amountFen: 3345 });
    expect(row(r, "ALIPAY").sales).toMatchObject({
      PAID: { count: 1, amountFen: 1 },
      CANCELLED: { count: 1, amountFen: 500 },
    });
    expect(row(r, "UNIONPAY").sales.IN_PROGRESS).toEqual({ count: 1, amountFen: 700 });
    expect(row(r, "none").sales.IN_PROGRESS).toEqual({ count: 1, amountFen: 300 });
    expect(row(r, "ECNY").sales.UNKNOWN).toEqual({ count: 1, amountFen: 999 });
    expect(r.totals.sales).toEqual({
      PAID: { count: 3, amountFen: 3346 },
      CANCELLED: { count: 1, amountFen: 500 },
      UNKNOWN: { count: 1, amountFen: 999 },
      IN_PROGRESS: { count: 2, amountFen: 1000 },
    });
    expect(r.totals.netFen).toBe(3346);
    expect(r.needsAttention).toEqual([
      {
        laneId: "l1",
        orderRef: "U1",
        attemptId: "AU1",
        scheme: "ECNY",
        maskedCode: "ECNY…4321",
        amountFen: 999,
        openedAt: NOON,
        reason: "unknown",
        status: "UNKNOWN",
        claimedAmountFen: null,
        attentionAt: null,
      },
    ]);
    expect(r).toMatchObject({ date: "2026-03-14", timeZone: "Asia/Shanghai", journal: null });
  });

  it("cuts the day at local midnight (Asia/Shanghai), by openedAt", () => {
    const records = [
      sale("before", { openedAt: at("2026-03-13T23:59:59.999+08:00") }),
      sale("first", { openedAt: at("2026-03-14T00:00:00+08:00") }), // still 03-13 in UTC
      sale("last", { openedAt: at("2026-03-14T23:59:59.999+08:00") }),
      sale("after", { openedAt: at("2026-03-15T00:00:00+08:00") }),
      // Ended the next day: still counted on the day it was opened.
      sale("late", { openedAt: at("2026-03-14T23:59:00+08:00"), endedAt: at("2026-03-15T00:01:00+08:00") }),
    ];
    const r = dayReport(records, "2026-03-14");
    expect(r.totals.sales.PAID.count).toBe(3);
    expect(r.from).toBe(at("2026-03-14T00:00:00+08:00"));
    expect(r.to - r.from).toBe(24 * 3600_000);
    expect(dayReport(records, "2026-03-13").totals.sales.PAID.count).toBe(1);
    expect(dayReport(records, "2026-03-15").totals.sales.PAID.count).toBe(1);
    expect(localDate(at("2026-03-14T00:00:00+08:00"))).toBe("2026-03-14");
  });

  it("has 23 hours on a spring-forward day where the zone has DST", () => {
    process.env.TZ = "Europe/Berlin";
    try {
      const b = localDayBounds("2026-03-29")!;
      expect(b.to - b.from).toBe(23 * 3600_000);
      expect(b.from).toBe(at("2026-03-29T00:00:00+01:00"));
    } finally {
      process.env.TZ = "Asia/Shanghai";
    }
  });

  it("counts refunds on the day they were requested, under the paid attempt's scheme; net = paid − refunded", () => {
    const yesterday = at("2026-03-13T18:00:00+08:00");
    const r = dayReport(
      [
        sale("S1", { amountFen: 1000, attemptId: "A1" }),
        attempt("A1", "S1"),
        sale("S0", { scheme: "ALIPAY", amountFen: 5000, openedAt: yesterday, attemptId: "A0" }),
        attempt("A0", "S0", { scheme: "ALIPAY", maskedCode: "ALIPAY…1111", createdAt: yesterday }),
        refund("R1", "S1", "A1", { amountFen: 300 }),
        refund("R2", "S1", "A1", { amountFen: 200, phase: "failed" }),
        refund("R3", "S0", "A0", { amountFen: 2000 }), // yesterday's sale, refunded today
        refund("R4", "S0", "A0", { amountFen: 100, phase: "unknown" }),
        refund("R5", "S0", "A0", { amountFen: 10, phase: "requested" }),
        refund("R6", "S0", "A0", { amountFen: 7, requestedAt: yesterday }), // another day
      ],
      "2026-03-14",
    );
    expect(row(r, "WECHAT").refunds).toEqual({
      refunded: { count: 1, amountFen: 300 },
      failed: { count: 1, amountFen: 200 },
      open: { count: 0, amountFen: 0 },
    });
    expect(row(r, "WECHAT").netFen).toBe(700);
    expect(row(r, "ALIPAY").refunds).toEqual({
      refunded: { count: 1, amountFen: 2000 },
      failed: { count: 0, amountFen: 0 },
      open: { count: 2, amountFen: 110 },
    });
    expect(row(r, "ALIPAY").netFen).toBe(-2000);
    expect(r.totals.refunds.refunded).toEqual({ count: 2, amountFen: 2300 });
    expect(r.totals.netFen).toBe(1000 - 2300);
  });

  it("falls back to the sale's scheme, then 'none', for a refund whose attempt is gone", () => {
    const r = dayReport(
      [sale("S1", { scheme: "UNIONPAY" }), refund("R1", "S1", "GONE"), refund("R2", "S9", "GONE")],
      "2026-03-14",
    );
    expect(row(r, "UNIONPAY").refunds.refunded.count).toBe(1);
    expect(row(r, "none").refunds.refunded.count).toBe(1);
  });

  it("tells sales whose amount was read from the register's display apart, with their total's seq and evidence hash", () => {
    const tap = { amountSource: "displayTap" as const, tapSeq: 7, tapEvidence: "0123456789abcdef" };
    const r = dayReport(
      [
        sale("REG1", { amountFen: 1000 }),
        sale("TAP1", { amountFen: 1250, seq: "T6", ...tap, tapSeq: 6 }),
        sale("TAP2", { amountFen: 1500, seq: "T7", status: "UNKNOWN", attemptId: "A7", ...tap }),
        attempt("A7", "TAP2", { amountFen: 1500, phase: "unresolved" }),
        sale("TRN", { amountFen: 1, training: true, ...tap }),
      ],
      "2026-03-14",
    );
    expect(r.amountSources.register.PAID).toEqual({ count: 1, amountFen: 1000 });
    expect(r.amountSources.displayTap.PAID).toEqual({ count: 1, amountFen: 1250 });
    expect(r.amountSources.displayTap.UNKNOWN).toEqual({ count: 1, amountFen: 1500 });
    expect(r.totals.sales.PAID).toEqual({ count: 2, amountFen: 2250 });
    expect(r.needsAttention).toHaveLength(1);
    expect(r.needsAttention[0]).toMatchObject({
      orderRef: "TAP2",
      amountFrom: { tapSeq: 7, tapEvidence: "0123456789abcdef" },
    });
    const text = formatDayReport(r);
    expect(text).toContain("register display  PAID 1 (12.50 yuan), UNKNOWN 1 (15.00 yuan)");
    expect(text).toContain("register request  PAID 1 (10.00 yuan)");
    expect(text).toContain(
      "amount read from the register's display: total #7, bytes sha256 0123456789abcdef…",
    );
  });

  it("says nothing of amount sources on a day without display-tap sales", () => {
    const r = dayReport([sale("REG1", { amountFen: 1000 })], "2026-03-14");
    expect(r.amountSources.register.PAID).toEqual({ count: 1, amountFen: 1000 });
    expect(formatDayReport(r)).not.toContain("Amount source");
  });

  it("keeps training sales and their refunds apart: never in a scheme row, the totals or needsAttention", () => {
    const r = dayReport(
      [
        sale("P1", { amountFen: 1000 }),
        sale("TRAIN-A", { amountFen: 1, training: true, attemptId: "trn_A" }),
        attempt("trn_A", "TRAIN-A", { amountFen: 1, training: true }),
        sale("TRAIN-U", { amountFen: 98, status: "UNKNOWN", training: true, attemptId: "trn_U" }),
        attempt("trn_U", "TRAIN-U", { amountFen: 98, phase: "unresolved", training: true }),
        refund("R1", "TRAIN-A", "trn_A", { amountFen: 1 }),
      ],
      "2026-03-14",
    );
    expect(row(r, "WECHAT").sales.PAID).toEqual({ count: 1, amountFen: 1000 });
    expect(r.totals.sales.PAID).toEqual({ count: 1, amountFen: 1000 });
    expect(r.totals.sales.UNKNOWN).toEqual({ count: 0, amountFen: 0 });
    expect(r.totals.refunds.refunded).toEqual({ count: 0, amountFen: 0 });
    expect(r.totals.netFen).toBe(1000);
    expect(r.needsAttention).toEqual([]);
    expect(r.training.sales.PAID).toEqual({ count: 1, amountFen: 1 });
    expect(r.training.sales.UNKNOWN).toEqual({ count: 1, amountFen: 98 });
    expect(r.training.refunds.refunded).toEqual({ count: 1, amountFen: 1 });
    const text = formatDayReport(r);
    expect(text).toMatch(/^total\s+1\s+10\.00\s/m);
    expect(text).toContain(
      "Training sales (posbridge test sale: the simulated cloud answered, no money moved; not in any figure above)",
    );
    expect(text).toContain("PAID 1 (0.01 yuan), UNKNOWN 1 (0.98 yuan); refunds 1");
  });

  it("refuses what is not a calendar date", () => {
    for (const bad of ["2026-13-01", "2026-02-30", "2026-2-3", "14.03.2026", "", "2026-03-14T00:00"]) {
      expect(localDayBounds(bad), bad).toBeNull();
      expect(() => dayReport([], bad)).toThrow(RangeError);
    }
    expect(localDayBounds("2028-02-29")).not.toBeNull();
  });
});

describe("formatDayReport", () => {
  it("prints yuan, the status columns, refunds, net and the UNKNOWN sales, never a code", () => {
    const r = dayReport(
      [
        sale("P1", { amountFen: 1234, attemptId: "A1" }),
        attempt("A1", "P1", { paidAmountFen: 1234 }),
        sale("O1", { scheme: null, status: "OPEN", amountFen: 5, endedAt: null }),
        sale("U1", { status: "UNKNOWN", amountFen: 8800, attemptId: "AU1", openedAt: NOON + 61_000 }),
        attempt("AU1", "U1", { phase: "unresolved", maskedCode: "WECHAT…4242" }),
        refund("R1", "P1", "A1", { amountFen: 234 }),
      ],
      "2026-03-14",
      {
        path: "/var/lib/posbridge/journal.log",
        report: {
          lines: 9,
          records: 6,
          discardedLines: 2,
          discardedBytes: 321,
          tornTail: false,
          savedTo: null,
          missing: false,
        },
      },
    );
    const text = formatDayReport(r);
    expect(text).toContain("posbridge day report 2026-03-14 (Asia/Shanghai)");
    expect(text).toContain("IN PROGRESS");
    expect(text).toMatch(/^WECHAT\s+1\s+12\.34\s+0\s+0\.00\s+1\s+88\.00\s+0\s+0\.00$/m);
    expect(text).toMatch(/^none\s+0\s+0\.00\s+0\s+0\.00\s+0\s+0\.00\s+1\s+0\.05$/m);
    expect(text).toMatch(/^WECHAT\s+1\s+2\.34\s+0\s+0\s+0\.00$/m);
    expect(text).toMatch(/^total\s+10\.00$/m);
    expect(text).toMatch(/Needs attention: 1 sale/);
    expect(text).toContain("lane l1  order U1  attempt AU1  WECHAT…4242  88.00 yuan  opened 12:01:01");
    expect(text).toMatch(/WARNING: 2 damaged journal line\(s\) \(321 bytes\)/);
    expect(text).not.toContain("ALIPAY"); // rows without activity are left out
    expect(text).not.toMatch(/\d{12,}/);
    expect(JSON.stringify(r)).not.toMatch(/"\d{12,}"|4200001234/);
  });

  it("lists sales the cloud contradicted after they ended, opened that day or flagged that day, with the claim", () => {
    const YESTERDAY = NOON - 86_400_000;
    const records = [
      // Reversed and answered 20, then the cloud said PAID: counted CANCELLED, listed with the claim.
      sale("C1", {
        status: "CANCELLED",
        attemptId: "AC1",
        attention: "paidAfterReversal",
        attentionAt: NOON + 60_000,
      }),
      attempt("AC1", "C1", {
        phase: "cancelled",
        reason: "reversed",
        paidAmountFen: null,
        channelTradeNo: "",
        maskedCode: "WECHAT…1111",
        latePaidAmountFen: 100,
        lateTradeNo: "4200001234202603149999999999",
        latePaidAt: NOON + 60_000,
      }),
      // Opened yesterday, paid; today the cloud claimed another amount: today's report lists it.
      sale("P9", {
        openedAt: YESTERDAY,
        attemptId: "AP9",
        attention: "amountMismatchAfterEnd",
        attentionAt: NOON,
      }),
      attempt("AP9", "P9", {
        createdAt: YESTERDAY,
        latePaidAmountFen: 9999,
        latePaidAt: NOON,
        maskedCode: "WECHAT…2222",
      }),
      // The mark names the contradicted attempt, not the sale's latest one; an UNKNOWN sale is listed once.
      sale("U2", { status: "UNKNOWN", attemptId: "AU3", attention: "paidAfterEnd", attentionAt: NOON + 1 }),
      attempt("AU2", "U2", {
        phase: "failed",
        reason: "declinedRescan",
        maskedCode: "WECHAT…3333",
        latePaidAmountFen: 100,
        latePaidAt: NOON + 1,
      }),
      attempt("AU3", "U2", { phase: "unresolved", maskedCode: "WECHAT…4444" }),
      // Flagged on another day and opened on another day: not today's.
      sale("OLD", { openedAt: YESTERDAY, attention: "paidAfterEnd", attentionAt: YESTERDAY }),
    ];
    const r = dayReport(records, "2026-03-14");
    expect(row(r, "WECHAT").sales.CANCELLED).toEqual({ count: 1, amountFen: 100 });
    expect(r.needsAttention).toEqual([
      {
        laneId: "l1",
        orderRef: "P9",
        attemptId: "AP9",
        scheme: "WECHAT",
        maskedCode: "WECHAT…2222",
        amountFen: 100,
        openedAt: YESTERDAY,
        reason: "amountMismatchAfterEnd",
        status: "PAID",
        claimedAmountFen: 9999,
        attentionAt: NOON,
      },
      {
        laneId: "l1",
        orderRef: "C1",
        attemptId: "AC1",
        scheme: "WECHAT",
        maskedCode: "WECHAT…1111",
        amountFen: 100,
        openedAt: NOON,
        reason: "paidAfterReversal",
        status: "CANCELLED",
        claimedAmountFen: 100,
        attentionAt: NOON + 60_000,
      },
      {
        laneId: "l1",
        orderRef: "U2",
        attemptId: "AU2",
        scheme: "WECHAT",
        maskedCode: "WECHAT…3333",
        amountFen: 100,
        openedAt: NOON,
        reason: "paidAfterEnd",
        status: "UNKNOWN",
        claimedAmountFen: 100,
        attentionAt: NOON + 1,
      },
    ]);
    const text = formatDayReport(r);
    expect(text).toMatch(
      /Needs attention: 3 sale\(s\) — do not take payment again or refund before checking/,
    );
    expect(text).toContain("lane l1  order C1  attempt AC1  WECHAT…1111  1.00 yuan  opened 12:00:00");
    expect(text).toContain(
      "journal says CANCELLED; the cloud later said PAID 1.00 yuan after it confirmed the reversal at 2026-03-14 12:01:00",
    );
    expect(text).toContain("the cloud later said PAID 99.99 yuan with another amount after the sale ended");
    expect(text).not.toMatch(/\d{12,}/);
  });

  it("warns that its figures mean nothing when the journal file is missing (its directory removed)", () => {
    const { report } = readJournal(join(mkdtempSync(join(tmpdir(), "pb-report-")), "gone", JOURNAL_FILE));
    const r = dayReport([], "2026-03-14", { path: "/var/lib/posbridge/journal.log", report });
    expect(r.journal).toMatchObject({ missing: true, records: 0 });
    expect(formatDayReport(r)).toMatch(/WARNING: the journal file does not exist/);
    const present = dayReport([], "2026-03-14", { path: "x", report: { ...report, missing: false } });
    expect(formatDayReport(present)).not.toContain("does not exist");
  });

  it("says so when the day had nothing", () => {
    const text = formatDayReport(dayReport([sale("X", { openedAt: NOON - 86_400_000 })], "2026-03-14"));
    expect(text).toContain("No sales and no refunds on this day.");
  });
});
