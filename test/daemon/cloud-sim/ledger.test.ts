import { describe, expect, it } from "vitest";
import type { PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import { Ledger } from "../../../daemon/cloud-sim/ledger.js";
import { channelTradeNo, decideOutcome, SIM_RULES } from "../../../daemon/cloud-sim/sim-rules.js";

const NOW = 1_764_000_000_000;
const pay = (p: Partial<PayCommand> = {}): PayCommand => ({
  type: "pay",
  attemptId: "ATTEMPT_1",
  orderRef: "ORD1",
  amountFen: 1234,
  authCode: "134567890123456789",
  scheme: "WECHAT",
  scannedAtMs: NOW,
  deadlineMs: NOW + 60_000,
  ...p,
});

describe("simulated cloud rules", () => {
  it("decides by amount and code as documented", () => {
    expect(decideOutcome(pay(), NOW)).toEqual({ kind: "paid" });
    expect(decideOutcome(pay({ amountFen: 2577 }), NOW)).toEqual({ kind: "waiting" });
    expect(decideOutcome(pay({ amountFen: 4598 }), NOW)).toMatchObject({
      kind: "unknown",
      reasonCode: "SYSTEMERROR",
    });
    expect(decideOutcome(pay({ amountFen: 1299 }), NOW)).toEqual({ kind: "silent" });
    expect(decideOutcome(pay({ amountFen: 197 }), NOW)).toMatchObject({
      kind: "failed",
      rescanAllowed: false,
    });
    expect(decideOutcome(pay({ authCode: "134567890123450000" }), NOW)).toMatchObject({
      kind: "failed",
      reasonCode: "AUTHCODEEXPIRE",
      rescanAllowed: true,
    });
    expect(decideOutcome(pay({ authCode: "134567890123459999" }), NOW)).toMatchObject({
      kind: "failed",
      reasonCode: "NOTENOUGH",
    });
  });

  it("never charges after the code's deadline", () => {
    expect(decideOutcome(pay(), NOW + 60_001)).toMatchObject({
      kind: "failed",
      reasonCode: "AUTHCODEEXPIRE",
    });
  });

  it("documents each rule in words", () => {
    for (const r of SIM_RULES) {
      expect(r.when.length).toBeGreaterThan(5);
      expect(r.outcome.length).toBeGreaterThan(3);
    }
  });

  it("derives a stable 28-character channel trade number from the attempt id", () => {
    expect(channelTradeNo("A1")).toBe(channelTradeNo("A1"));
    expect(channelTradeNo("A1")).not.toBe(channelTradeNo("A2"));
    expect(channelTradeNo("A1")).toMatch(/^4200\d{24}$/);
  });
});

describe("simulated cloud ledger", () => {
  it("executes an attempt at most once; a resend gets the current state", () => {
    const ledger = new Ledger();
    const first = ledger.pay(pay(), NOW);
    const again = ledger.pay(pay(), NOW + 10);
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.result).toEqual(first.result);
    expect(ledger.stats).toMatchObject({ executions: 1, duplicates: 1, paid: 1 });
  });

  it("turns a waiting attempt into PAID on confirmation, once", () => {
    const ledger = new Ledger();
    expect(ledger.pay(pay({ amountFen: 77 }), NOW).result.status).toBe("WAITING_CUSTOMER");
    expect(ledger.confirm("ATTEMPT_1")?.status).toBe("PAID");
    expect(ledger.confirm("ATTEMPT_1")).toBeUndefined();
    expect(ledger.get("ATTEMPT_1")?.charged).toBe(true);
  });

  it("a cancel reverses a paid attempt and closes an unseen one against late pays", () => {
    const ledger = new Ledger();
    ledger.pay(pay(), NOW);
    expect(ledger.cancel({ type: "cancel", attemptId: "ATTEMPT_1", reason: "x" }).status).toBe("CANCELLED");
    expect(ledger.stats.reversed).toBe(1);
    expect(ledger.cancel({ type: "cancel", attemptId: "NEVER_SEEN", reason: "x" }).status).toBe("CANCELLED");
    const late = ledger.pay(pay({ attemptId: "NEVER_SEEN" }), NOW);
    expect(late.duplicate).toBe(true);
    expect(late.result.status).toBe("CANCELLED");
    expect(ledger.get("NEVER_SEEN")?.charged).toBe(false);
  });

  it("answers a query for an unknown attempt with ORDERNOTEXIST", () => {
    expect(new Ledger().query("NOPE_123")).toMatchObject({ status: "FAILED", reasonCode: "ORDERNOTEXIST" });
  });

  it("refunds at most what was paid, idempotently per refund id", () => {
    const ledger = new Ledger();
    ledger.pay(pay({ amountFen: 1000 }), NOW);
    const r = (refundId: string, amountFen: number) =>
      ledger.refund({ type: "refund", attemptId: "ATTEMPT_1", refundId, amountFen, reason: "" });
    expect(r("RF1", 600).status).toBe("REFUNDED");
    expect(r("RF1", 600).status).toBe("REFUNDED"); // retry of the same refund: not refunded twice
    expect(r("RF2", 500)).toMatchObject({ status: "REFUND_FAILED", reasonCode: "REFUND_FEE_INVALID" });
    expect(r("RF3", 400).status).toBe("REFUNDED");
    expect(ledger.get("ATTEMPT_1")?.refundedFen).toBe(1000);
  });
});
