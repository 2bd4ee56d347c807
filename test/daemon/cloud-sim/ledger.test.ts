import { describe, expect, it } from "vitest";
import { NOW, payCommand as pay } from "../../support/commands.js";
import { Ledger, ORDER_PAID } from "../../../daemon/cloud-sim/ledger.js";
import { channelTradeNo } from "../../../daemon/cloud-sim/sim-rules.js";

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

  it("a duplicate pay never executes again, even with another amount or code", () => {
    const ledger = new Ledger();
    ledger.pay(pay({ amountFen: 1000 }), NOW);
    const again = ledger.pay(pay({ amountFen: 2598, authCode: "134567890123450000" }), NOW);
    expect(again).toMatchObject({
      duplicate: true,
      outcome: null,
      result: { status: "PAID", amountFen: 1000 },
    });
    expect(ledger.stats).toMatchObject({ attempts: 1, executions: 1, duplicates: 1, paid: 1 });
  });

  it("answers PAID with the trade number derived from the attempt id, and queries say the same", () => {
    const ledger = new Ledger();
    const { result } = ledger.pay(pay(), NOW);
    expect(result).toMatchObject({ status: "PAID", amountFen: 1234, scheme: "WECHAT" });
    expect(result.channelTradeNo).toBe(channelTradeNo("ATTEMPT_1"));
    expect(ledger.query("ATTEMPT_1")).toEqual(result);
    expect(ledger.stats.queries).toBe(1);
  });

  it("charges a silent attempt (the answer is lost, not the payment), so a query finds it PAID", () => {
    const ledger = new Ledger();
    expect(ledger.pay(pay({ amountFen: 1299 }), NOW).outcome).toEqual({ kind: "silent" });
    expect(ledger.query("ATTEMPT_1").status).toBe("PAID");
  });

  it("records failures with their reason and rescan flag, and a cancel leaves them FAILED", () => {
    const ledger = new Ledger();
    expect(ledger.pay(pay({ amountFen: 197 }), NOW).result).toMatchObject({
      status: "FAILED",
      reasonCode: "MCHCONFIGERR",
      rescanAllowed: false,
    });
    expect(ledger.cancel({ type: "cancel", attemptId: "ATTEMPT_1", reason: "x" }).status).toBe("FAILED");
    expect(ledger.get("ATTEMPT_1")?.charged).toBe(false);
  });

  it("a cancel closes a waiting attempt, and the customer's late confirmation then charges nothing", () => {
    const ledger = new Ledger();
    ledger.pay(pay({ amountFen: 2577 }), NOW);
    expect(ledger.cancel({ type: "cancel", attemptId: "ATTEMPT_1", reason: "x" }).status).toBe("CANCELLED");
    expect(ledger.confirm("ATTEMPT_1")).toBeUndefined();
    expect(ledger.get("ATTEMPT_1")?.charged).toBe(false);
    expect(ledger.stats.reversed).toBe(0);
  });

  it("a cancel closes an UNKNOWN attempt", () => {
    const ledger = new Ledger();
    expect(ledger.pay(pay({ amountFen: 4598 }), NOW).result.status).toBe("UNKNOWN");
    expect(ledger.cancel({ type: "cancel", attemptId: "ATTEMPT_1", reason: "x" }).status).toBe("CANCELLED");
    expect(ledger.query("ATTEMPT_1").status).toBe("CANCELLED");
  });

  it("refuses a refund of an attempt that is not PAID", () => {
    const ledger = new Ledger();
    const refund = (attemptId: string) =>
      ledger.refund({ type: "refund", attemptId, refundId: "RF1", amountFen: 1, reason: "" });
    expect(refund("NEVER_SEEN").status).toBe("REFUND_FAILED");
    ledger.pay(pay({ amountFen: 4598 }), NOW);
    expect(refund("ATTEMPT_1")).toMatchObject({ status: "REFUND_FAILED", reasonCode: "TRADE_STATE_ERROR" });
  });
});

describe("simulated cloud ledger: an orderRef already paid (ORDERPAID)", () => {
  const LANE = "S1/B1/lane1";

  it("refuses a new attempt for an order of the same lane that is PAID, charging nothing", () => {
    const ledger = new Ledger();
    ledger.pay(pay(), NOW, LANE);
    const second = ledger.pay(pay({ attemptId: "ATTEMPT_2", authCode: "134567890123456780" }), NOW, LANE);
    expect(second.result).toMatchObject({ status: "FAILED", reasonCode: ORDER_PAID, rescanAllowed: false });
    expect(ledger.get("ATTEMPT_2")?.charged).toBe(false);
    expect(ledger.ofOrder(LANE, "ORD1").filter((e) => e.charged)).toHaveLength(1);
    expect(ledger.stats).toMatchObject({ paid: 1, orderPaidRefusals: 1 });
    // The refused attempt is executed once too: its resend and a query say the same.
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_2" }), NOW, LANE).result.reasonCode).toBe(ORDER_PAID);
    expect(ledger.query("ATTEMPT_2").reasonCode).toBe(ORDER_PAID);
  });

  it("also while the order's payment is not final (waiting for the customer, unknown)", () => {
    const ledger = new Ledger();
    ledger.pay(pay({ amountFen: 1277 }), NOW, LANE);
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_2", amountFen: 1277 }), NOW, LANE).result.reasonCode).toBe(
      ORDER_PAID,
    );
    ledger.pay(pay({ attemptId: "ATTEMPT_3", orderRef: "ORD3", amountFen: 1298 }), NOW, LANE);
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_4", orderRef: "ORD3" }), NOW, LANE).result.reasonCode).toBe(
      ORDER_PAID,
    );
  });

  it("lets an order be paid again once its payment failed or was reversed, and never mixes lanes or bridges", () => {
    const ledger = new Ledger();
    ledger.pay(pay({ amountFen: 1297 }), NOW, LANE); // FAILED MCHCONFIGERR
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_2" }), NOW, LANE).result.status).toBe("PAID");
    ledger.cancel({ type: "cancel", attemptId: "ATTEMPT_2", reason: "x" });
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_3" }), NOW, LANE).result.status).toBe("PAID");
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_4" }), NOW, "S1/B1/lane2").result.status).toBe("PAID");
    expect(ledger.pay(pay({ attemptId: "ATTEMPT_5" }), NOW, "S1/B2/lane1").result.status).toBe("PAID");
  });
});
