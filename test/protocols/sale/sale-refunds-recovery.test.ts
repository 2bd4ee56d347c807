// Refunds and recovery after a restart, through the sale machine with a folded journal.
import { describe, expect, it } from "vitest";
import type { SaleView } from "../../../protocols/sale/refund-machine.js";
import { eventsOf, refundResult, resultsOf, SaleHarness, sendsOf, T0 } from "../../support/sale-harness.js";

function paidSale(amountFen = 1000): SaleHarness {
  const h = new SaleHarness();
  h.sale("01", "ORD1", amountFen);
  h.scan();
  h.result("ATTEMPT01", { status: "PAID", amountFen, channelTradeNo: "4200000000000001" });
  return h;
}

/** A new machine (a restarted daemon) that sees only what `before` journaled. */
function restart(before: SaleHarness, afterMs: number): SaleHarness {
  const h = new SaleHarness(undefined, true, before.now + afterMs);
  for (const [k, v] of before.journal) h.journal.set(k, v);
  const sales: SaleView[] = [];
  for (const r of h.journal.values()) {
    if (r.kind !== "sale" || r.status === "PAID" || r.status === "CANCELLED") continue;
    const view = h.view(r.orderRef);
    if (view) sales.push(view);
  }
  const refunds = [...h.journal.values()].flatMap((r) =>
    r.kind === "refund" && (r.phase === "requested" || r.phase === "unknown") ? [r] : [],
  );
  h.feed({ type: "recover", sales, refunds });
  return h;
}

describe("refunds", () => {
  it("refunds part of a paid sale, answers REFUNDED, and refuses more than is left", () => {
    const h = paidSale(1000);
    const rf = h.pos({ type: "refund", seq: "02", orderRef: "ORD1", refundRef: "R1", amountFen: 600 });
    expect(sendsOf(rf)).toEqual(["refund:ATTEMPT01"]);
    const refundId = h.state.refunds[0]?.refundId ?? "";
    h.feed({
      type: "refundResult",
      refundId,
      result: refundResult({ refundId, status: "REFUNDED", amountFen: 600 }),
    });
    expect(resultsOf(h.effects).at(-1)).toMatchObject({ seq: "02", status: "REFUNDED", amountFen: 600 });
    const over = h.pos({ type: "refund", seq: "03", orderRef: "ORD1", refundRef: "R2", amountFen: 401 });
    expect(resultsOf(over)).toMatchObject([
      { seq: "03", status: "REJECTED", text: "退款金额超过可退金额 ¥4.00" },
    ]);
    expect(sendsOf(over)).toEqual([]);
  });

  it("a retried RF reuses its refund id; a finished one repeats its answer; another amount is refused", () => {
    const h = paidSale(1000);
    h.pos({ type: "refund", seq: "02", orderRef: "ORD1", refundRef: "R1", amountFen: 300 });
    const first = [...h.effects].reverse().find((e) => e.type === "refund");
    h.pos({ type: "refund", seq: "03", orderRef: "ORD1", refundRef: "R1", amountFen: 300 });
    const second = [...h.effects].reverse().find((e) => e.type === "refund");
    expect(first?.type === "refund" && second?.type === "refund" && second.command.refundId).toBe(
      first?.type === "refund" && first.command.refundId,
    );
    const refundId = first?.type === "refund" ? first.command.refundId : "";
    h.feed({
      type: "refundResult",
      refundId,
      result: refundResult({ refundId, status: "REFUND_FAILED", amountFen: 300, reasonCode: "NOTENOUGH" }),
    });
    expect(resultsOf(h.effects).at(-1)).toMatchObject({ seq: "03", status: "REFUND_FAILED" });
    const again = h.pos({ type: "refund", seq: "04", orderRef: "ORD1", refundRef: "R1", amountFen: 300 });
    expect(resultsOf(again)).toMatchObject([{ seq: "04", status: "REFUND_FAILED" }]);
    expect(sendsOf(again)).toEqual([]);
    const other = h.pos({ type: "refund", seq: "05", orderRef: "ORD1", refundRef: "R1", amountFen: 200 });
    expect(resultsOf(other)).toMatchObject([{ seq: "05", status: "REJECTED" }]);
  });

  it("refuses refunds of unpaid or unknown sales", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    const rf = h.pos({ type: "refund", seq: "03", orderRef: "ORD1", refundRef: "R1", amountFen: 100 });
    expect(resultsOf(rf)).toMatchObject([{ status: "REJECTED" }]);
    const unknown = h.pos({ type: "refund", seq: "04", orderRef: "NOPE", refundRef: "R1", amountFen: 100 });
    expect(resultsOf(unknown)).toMatchObject([{ status: "REJECTED", text: "未知订单，不能退款" }]);
  });

  it("no answer: resent with the same id, UNKNOWN after 30 s, then resolved in the background", () => {
    const h = paidSale(1000);
    h.pos({ type: "refund", seq: "02", orderRef: "ORD1", refundRef: "R1", amountFen: 1000 });
    const wait = h.advance(30_000);
    expect(sendsOf(wait).length).toBeGreaterThanOrEqual(5);
    expect(resultsOf(wait)).toMatchObject([{ seq: "02", status: "UNKNOWN" }]);
    // A second refund is refused while the first's outcome is unknown: it may have happened.
    const more = h.pos({ type: "refund", seq: "03", orderRef: "ORD1", refundRef: "R2", amountFen: 1 });
    expect(resultsOf(more)).toMatchObject([{ status: "REJECTED" }]);
    const refundId = h.state.refunds[0]?.refundId ?? "";
    const done = h.feed({
      type: "refundResult",
      refundId,
      result: refundResult({ refundId, status: "REFUNDED", amountFen: 1000 }),
    });
    expect(resultsOf(done)).toEqual([]);
    expect([...h.journal.values()].find((r) => r.kind === "refund")).toMatchObject({ phase: "refunded" });
    expect(h.state.refunds).toEqual([]);
  });
});

describe("recovery after a restart", () => {
  it("an attempt sent before the crash is queried, and its sale answered unsolicited when PAID", () => {
    const before = new SaleHarness();
    before.sale("01", "ORD1", 100);
    before.scan();
    const h = restart(before, 2_000);
    expect(eventsOf(h.effects, "recovered")).toHaveLength(1);
    expect(h.view("ORD1")?.sale.status).toBe("PENDING");
    expect(sendsOf(h.advance(0))).toEqual(["query:ATTEMPT01"]);
    // QY while it resolves: PENDING; a new SA on the lane is not blocked.
    expect(resultsOf(h.pos({ type: "query", seq: "07", orderRef: "ORD1" }))).toMatchObject([
      { status: "PENDING" },
    ]);
    h.result("ATTEMPT01", { status: "PAID", amountFen: 100, channelTradeNo: "42" }, "query");
    expect(resultsOf(h.effects).at(-1)).toMatchObject({ seq: "01", orderRef: "ORD1", status: "PAID" });
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "PAID" });
  });

  it("an attempt past its reverse time is reversed at once; CANCELLED answers the SA", () => {
    const before = new SaleHarness();
    before.sale("01", "ORD1", 100);
    before.scan();
    const h = restart(before, 50_000);
    expect(sendsOf(h.effects)).toEqual(["cancel:ATTEMPT01"]);
    h.result("ATTEMPT01", { status: "CANCELLED", reasonCode: "REVERSED" }, "cancel");
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "01", status: "CANCELLED" }]);
  });

  it("a sale open without an attempt is cancelled: no money can have moved", () => {
    const before = new SaleHarness();
    before.sale("01", "ORD1", 100);
    const h = restart(before, 1_000);
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "CANCELLED" });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "01", status: "CANCELLED" }]);
  });

  it("a queued attempt never left: cancelled, never published after the restart", () => {
    const before = new SaleHarness();
    before.sale("01", "ORD1", 100);
    before.feed({ type: "cloudLink", online: false });
    before.scan();
    const h = restart(before, 1_000);
    expect(sendsOf(h.effects)).toEqual([]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "cancelled", reason: "notSent" });
    expect(h.view("ORD1")?.sale.status).toBe("CANCELLED");
  });

  it("a crash between the attempt's PAID and the sale's record still settles the sale PAID", () => {
    const before = paidSale(100);
    const sale = before.view("ORD1")?.sale;
    if (!sale) throw new Error("no sale");
    // Roll the sale record back to before its final write (the attempt's PAID write survived).
    before.journal.set("sale/lane1/ORD1", {
      ...sale,
      status: "OPEN",
      answered: false,
      text: "",
      endedAt: null,
    });
    const h = restart(before, 1_000);
    expect(h.view("ORD1")?.sale).toMatchObject({ status: "PAID", channelTradeNo: "4200000000000001" });
    expect(sendsOf(h.effects)).toEqual([]);
  });

  it("recovering with the broker down sends nothing until it returns, then catches up", () => {
    const before = new SaleHarness();
    before.sale("01", "ORD1", 100);
    before.scan();
    const h = new SaleHarness(undefined, false, before.now + 1_000);
    for (const [k, v] of before.journal) h.journal.set(k, v);
    const view = h.view("ORD1");
    if (!view) throw new Error("no view");
    h.feed({ type: "recover", sales: [view], refunds: [] });
    expect(sendsOf(h.advance(30_000))).toEqual([]);
    // 31 s after the pay request: still within the query window, so a query goes out at once.
    expect(h.now).toBe(T0 + 31_000);
    expect(sendsOf(h.feed({ type: "cloudLink", online: true }))).toEqual(["query:ATTEMPT01"]);
    expect(sendsOf(h.advance(15_000))).toContain("cancel:ATTEMPT01");
  });

  it("an unanswered refund resumes with its refund id", () => {
    const before = paidSale(1000);
    before.pos({ type: "refund", seq: "02", orderRef: "ORD1", refundRef: "R1", amountFen: 500 });
    const refundId = before.state.refunds[0]?.refundId;
    const h = restart(before, 1_000);
    const resent = h.advance(0);
    expect(resent.find((e) => e.type === "refund")).toMatchObject({ command: { refundId } });
    h.feed({
      type: "refundResult",
      refundId: refundId ?? "",
      result: refundResult({ refundId, status: "REFUNDED", amountFen: 500 }),
    });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "02", status: "REFUNDED" }]);
  });
});
