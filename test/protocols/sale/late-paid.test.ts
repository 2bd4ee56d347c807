// A cloud that breaks its word (issue 8 item 6): a PAID for an attempt that has already ended —
// after the cloud confirmed its reversal, after it failed or was cancelled, or with another amount
// after it was paid — is journaled beside the end (never instead of it), marks the sale "needs
// attention", raises an alarm, and from then on QY / SA / CA for that order answer 30 asking the
// cashier to check; nothing charges the order again and nothing later hides the mark.
import { describe, expect, it } from "vitest";
import type { SaleView } from "../../../protocols/sale/refund-machine.js";
import { ATTENTION_TEXT, TEXT } from "../../../protocols/sale/sale-texts.js";
import type { SaleEffect } from "../../../protocols/sale/sale-types.js";
import {
  eventsOf,
  resultsOf,
  SaleHarness,
  sendsOf,
  stagesOf,
  viewsOf,
  WECHAT,
} from "../../support/sale-harness.js";

const TRADE_NO = "4200001234202603141234567890";

/** A sale whose pay request got no answer: queried, reversed at 45 s, the reversal confirmed. */
function reversedSale(amountFen = 1234): SaleHarness {
  const h = new SaleHarness();
  h.sale("01", "ORD1", amountFen);
  h.scan();
  h.advance(45_000);
  expect(sendsOf(h.effects).at(-1)).toBe("cancel:ATTEMPT01");
  h.result("ATTEMPT01", { status: "CANCELLED", reasonCode: "REVERSED" }, "cancel");
  expect(resultsOf(h.effects)).toMatchObject([
    { seq: "01", status: "CANCELLED", text: TEXT.reversedTimeout },
  ]);
  return h;
}

/** The register asks about ORD1 (QY), tries to sell it again (SA) and to cancel it (CA). */
function registerAsks(h: SaleHarness, amountFen: number) {
  const qy = h.pos({ type: "query", seq: "10", orderRef: "ORD1" });
  const sa = h.sale("11", "ORD1", amountFen);
  const scanAfter = h.scan("134567890123459999", "ATTEMPT99");
  const ca = h.pos({ type: "cancel", seq: "12", orderRef: "ORD1" });
  return { qy, sa, scanAfter, ca };
}

/** Journal writes come before everything else the step does. */
function journalFirst(effects: SaleEffect[]): void {
  const lastJournal = effects.map((e) => e.type).lastIndexOf("journal");
  const firstOther = effects.findIndex((e) => e.type !== "journal");
  expect(lastJournal).toBeGreaterThanOrEqual(0);
  expect(lastJournal).toBeLessThan(firstOther);
}

function expectNeverChargedAgain(h: SaleHarness, asks: ReturnType<typeof registerAsks>, text: string) {
  expect(resultsOf(asks.qy)).toMatchObject([{ seq: "10", status: "UNKNOWN", text }]);
  expect(resultsOf(asks.sa)).toMatchObject([{ seq: "11", status: "UNKNOWN", text }]);
  expect(resultsOf(asks.ca)).toMatchObject([{ seq: "12", status: "UNKNOWN", text }]);
  // No second sale opened, no scan taken, no pay request for the order.
  expect(stagesOf(asks.sa)).toEqual([]);
  expect(sendsOf([...asks.sa, ...asks.scanAfter, ...asks.ca])).toEqual([]);
  expect(h.state.current).toBeNull();
  expect(h.attempt("ATTEMPT99")).toBeUndefined();
}

describe("a PAID after the cloud confirmed the reversal", () => {
  it("is journaled beside the CANCELLED end, marks the sale, raises an alarm, and tells the register nothing unasked", () => {
    const h = reversedSale(1234);
    const late = h.result("ATTEMPT01", { status: "PAID", amountFen: 1234, channelTradeNo: TRADE_NO }, "pay");

    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "cancelled",
      reason: "reversed",
      paidAmountFen: null,
      channelTradeNo: "",
      latePaidAmountFen: 1234,
      lateTradeNo: TRADE_NO,
      latePaidAt: h.now,
    });
    expect(h.view("ORD1")?.sale).toMatchObject({
      status: "CANCELLED",
      text: TEXT.reversedTimeout,
      attention: "paidAfterReversal",
      attentionAt: h.now,
    });
    journalFirst(late);
    const [alarm] = eventsOf(late, "latePaid");
    expect(alarm).toMatchObject({ level: "error" });
    expect(alarm?.detail).toContain("ORD1");
    expect(alarm?.detail).toContain("ATTEMPT01");
    expect(alarm?.detail).not.toContain(WECHAT);
    // The register already had its one RS for the SA: nothing unsolicited.
    expect(late.filter((e) => e.type === "answer" || e.type === "display")).toEqual([]);
  });

  it("QY, a repeated SA and a CA answer 30 asking to check; the order is never charged again", () => {
    const h = reversedSale(1234);
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1234, channelTradeNo: TRADE_NO }, "pay");
    expectNeverChargedAgain(h, registerAsks(h, 1234), ATTENTION_TEXT.paidAfterReversal);
  });

  it("also when it answers the cancel itself or comes unsolicited (as a query's answer), and a repeat is not a second alarm", () => {
    for (const answers of ["cancel", "query"] as const) {
      const h = reversedSale(500);
      h.result("ATTEMPT01", { status: "PAID", amountFen: 500 }, answers);
      expect(h.view("ORD1")?.sale.attention).toBe("paidAfterReversal");
      const again = h.result("ATTEMPT01", { status: "PAID", amountFen: 500 }, answers);
      expect(again.filter((e) => e.type === "journal")).toEqual([]);
      expect(eventsOf(again, "latePaid")).toEqual([]);
      expect(eventsOf(again, "resultIgnored")).toHaveLength(1);
    }
  });

  it("with another amount: the claimed amount is kept, the register was told and stays told CANCELLED", () => {
    const h = reversedSale(1234);
    h.result("ATTEMPT01", { status: "PAID", amountFen: 999 }, "query");
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "cancelled", latePaidAmountFen: 999 });
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED", attention: "paidAfterReversal" });
    expect(eventsOf(h.effects, "latePaid")).toHaveLength(1);
  });

  it("a sale sold again after the reversal (a CANCELLED order may be) is marked: the order was charged twice", () => {
    const h = reversedSale(100);
    h.sale("02", "ORD1", 100);
    h.scan("134567890123452222", "ATTEMPT02");
    h.result("ATTEMPT02", { status: "PAID", amountFen: 100 });
    h.result("ATTEMPT01", { status: "PAID", amountFen: 100 }, "pay");
    expect(h.view("ORD1")?.sale).toMatchObject({
      status: "PAID",
      attemptId: "ATTEMPT02",
      attention: "paidAfterReversal",
    });
    expect(resultsOf(h.pos({ type: "query", seq: "09", orderRef: "ORD1" }))).toMatchObject([
      { status: "UNKNOWN", text: ATTENTION_TEXT.paidAfterReversal },
    ]);
  });
});

describe("a PAID for an attempt that ended failed or cancelled", () => {
  it("declined (no rescan): the CANCELLED sale is marked paidAfterEnd, with an alarm; QY/SA/CA answer 30", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 800);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "MCHCONFIGERR", rescanAllowed: false });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "01", status: "CANCELLED" }]);
    const late = h.result("ATTEMPT01", { status: "PAID", amountFen: 800, channelTradeNo: TRADE_NO }, "query");
    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "failed",
      reason: "declinedFinal",
      latePaidAmountFen: 800,
      lateTradeNo: TRADE_NO,
    });
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED", attention: "paidAfterEnd" });
    expect(eventsOf(late, "latePaid")).toMatchObject([{ level: "error" }]);
    expect(late.filter((e) => e.type === "answer")).toEqual([]);
    expectNeverChargedAgain(h, registerAsks(h, 800), ATTENTION_TEXT.paidAfterEnd);
  });

  it("cancelled by the cashier while queued (never published): still marked, never silently PAID", () => {
    const h = new SaleHarness(undefined, true);
    h.sale("01", "ORD1", 300);
    h.feed({ type: "cloudLink", online: false });
    h.scan();
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "cancelled", reason: "cashierCancel" });
    h.feed({ type: "cloudLink", online: true });
    h.result("ATTEMPT01", { status: "PAID", amountFen: 300 }, "pay");
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED", attention: "paidAfterEnd" });
    expectNeverChargedAgain(h, registerAsks(h, 300), ATTENTION_TEXT.paidAfterEnd);
  });

  it("failed with a rescan allowed and the sale still waiting for it: the sale ends 30 at once, no second payment", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 500);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "AUTHCODEEXPIRE", rescanAllowed: true });
    expect(h.state.current?.attempt).toBeNull();
    const late = h.result("ATTEMPT01", { status: "PAID", amountFen: 500 }, "query");
    journalFirst(late);
    expect(resultsOf(late)).toMatchObject([
      { seq: "01", status: "UNKNOWN", text: ATTENTION_TEXT.paidAfterEnd },
    ]);
    expect(viewsOf(late)).toEqual(["unknown"]);
    expect(h.state.current).toBeNull();
    expect(h.view("ORD1")?.sale).toMatchObject({ attention: "paidAfterEnd", answered: true });
    expect(eventsOf(late, "latePaid")).toHaveLength(1);
    // The customer's rescan is not taken.
    expect(sendsOf(h.scan("134567890123453333", "ATTEMPT02"))).toEqual([]);
    expectNeverChargedAgain(h, registerAsks(h, 500), ATTENTION_TEXT.paidAfterEnd);
  });

  it("failed with a rescan allowed while the rescan's attempt runs: that attempt's end is answered 30, not 00", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 500);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "AUTHCODEEXPIRE", rescanAllowed: true });
    h.scan("134567890123451111", "ATTEMPT02");
    const late = h.result("ATTEMPT01", { status: "PAID", amountFen: 500 }, "pay");
    expect(resultsOf(late)).toEqual([]);
    expect(h.state.current?.record.attention).toBe("paidAfterEnd");
    expect(h.view("ORD1")?.sale.attention).toBe("paidAfterEnd");
    const end = h.result("ATTEMPT02", { status: "PAID", amountFen: 500, channelTradeNo: TRADE_NO });
    expect(resultsOf(end)).toMatchObject([
      { seq: "01", status: "UNKNOWN", text: ATTENTION_TEXT.paidAfterEnd },
    ]);
    // The journal keeps the bridge's own conclusion (ATTEMPT02 paid) and the mark.
    expect(h.view("ORD1")?.sale).toMatchObject({
      status: "PAID",
      attention: "paidAfterEnd",
      attemptId: "ATTEMPT02",
    });
    expectNeverChargedAgain(h, registerAsks(h, 500), ATTENTION_TEXT.paidAfterEnd);
  });
});

describe("a PAID with another amount after the sale ended", () => {
  it("a paid sale stays PAID with its paid amount; the claim is kept, marked, alarmed; QY/SA/CA answer 30", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 1000);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1000, channelTradeNo: TRADE_NO });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "01", status: "PAID" }]);
    const late = h.result(
      "ATTEMPT01",
      { status: "PAID", amountFen: 9000, channelTradeNo: TRADE_NO },
      "query",
    );
    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "paid",
      paidAmountFen: 1000,
      latePaidAmountFen: 9000,
    });
    expect(h.view("ORD1")?.sale).toMatchObject({
      status: "PAID",
      channelTradeNo: TRADE_NO,
      attention: "amountMismatchAfterEnd",
    });
    const [alarm] = eventsOf(late, "latePaid");
    expect(alarm).toMatchObject({ level: "error" });
    expect(alarm?.detail).toContain("9000");
    expect(late.filter((e) => e.type === "answer")).toEqual([]);
    expectNeverChargedAgain(h, registerAsks(h, 1000), ATTENTION_TEXT.amountMismatchAfterEnd);
  });

  it("a PAID repeating the paid amount is only a duplicate: nothing marked, no alarm", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 1000);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1000 });
    const dup = h.result("ATTEMPT01", { status: "PAID", amountFen: 1000 }, "query");
    expect(dup.filter((e) => e.type !== "event")).toEqual([]);
    expect(eventsOf(dup, "latePaid")).toEqual([]);
    expect(h.view("ORD1")?.sale.attention).toBe("");
    expect(resultsOf(h.pos({ type: "query", seq: "02", orderRef: "ORD1" }))).toMatchObject([
      { status: "PAID" },
    ]);
  });
});

describe("nothing later hides the mark", () => {
  /** ORD1: ATTEMPT01 failed (rescan), ATTEMPT02 PAID with another amount → UNKNOWN, in the background. */
  function unknownSaleWithEarlierAttempt(): SaleHarness {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 700);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "AUTHCODEEXPIRE", rescanAllowed: true });
    h.scan("134567890123451111", "ATTEMPT02");
    h.result("ATTEMPT02", { status: "PAID", amountFen: 70 });
    expect(h.view("ORD1")?.sale.status).toBe("UNKNOWN");
    expect(h.state.background.map((b) => b.attempt.attemptId)).toEqual(["ATTEMPT02"]);
    return h;
  }

  it("the background attempt resolving later settles the sale but keeps the mark; QY still answers 30", () => {
    const h = unknownSaleWithEarlierAttempt();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 700 }, "query");
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "UNKNOWN", attention: "paidAfterEnd" });
    h.result("ATTEMPT02", { status: "CANCELLED", reasonCode: "REVERSED" }, "query");
    expect(h.state.background).toEqual([]);
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED", attention: "paidAfterEnd" });
    expectNeverChargedAgain(h, registerAsks(h, 700), ATTENTION_TEXT.paidAfterEnd);
  });

  it("a restart settling the sale from the journal keeps the mark", () => {
    const before = unknownSaleWithEarlierAttempt();
    before.result("ATTEMPT01", { status: "PAID", amountFen: 700 }, "query");
    // The unresolved attempt is closed meanwhile; the sale record itself is still UNKNOWN.
    const a2 = before.attempt("ATTEMPT02");
    if (!a2) throw new Error("no ATTEMPT02");
    before.journal.set("attempt/ATTEMPT02", {
      ...a2,
      phase: "cancelled",
      reason: "reversed",
      nextDueMono: null,
    });
    const h = new SaleHarness(undefined, true, before.now + 60_000);
    for (const [k, v] of before.journal) h.journal.set(k, v);
    const view = h.view("ORD1") as SaleView;
    const recovered = h.feed({ type: "recover", sales: [view], refunds: [] });
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED", attention: "paidAfterEnd" });
    expect(resultsOf(recovered)).toEqual([]); // the SA was answered before the restart
    expectNeverChargedAgain(h, registerAsks(h, 700), ATTENTION_TEXT.paidAfterEnd);
  });
});
