// The sale machine when the journal cannot be written (the register hears the storage reason,
// never "busy", and nothing that would need a record is started), and when the cloud refuses a
// pay request because it already holds a payment for the orderRef (ORDERPAID: a bridge that lost
// its journal must never be told "not paid").
import { describe, expect, it } from "vitest";
import type { SaleView } from "../../../protocols/sale/refund-machine.js";
import type { JournalFault } from "../../../protocols/sale/sale-types.js";
import {
  answersOf,
  eventsOf,
  resultsOf,
  SaleHarness,
  sendsOf,
  stagesOf,
  WECHAT,
} from "../../support/sale-harness.js";

const journalOf = (effects: ReturnType<SaleHarness["feed"]>) => effects.filter((e) => e.type === "journal");

function down(h: SaleHarness, fault: JournalFault): void {
  h.feed({ type: "journalHealth", fault, detail: `journal ${fault}` });
}

describe("sale machine with the journal down", () => {
  it.each([
    ["full", "存储空间已满"],
    ["readOnly", "存储只读"],
    ["gone", "交易记录文件丢失"],
    ["failed", "本地交易记录无法写入"],
  ] as const)(
    "%s: SA is refused with the storage text, even while a sale is open (not 'busy')",
    (fault, text) => {
      const h = new SaleHarness();
      h.sale("01", "ORD1", 100);
      down(h, fault);
      const sa = h.sale("02", "ORD2", 200);
      expect(resultsOf(sa)).toMatchObject([
        { seq: "02", status: "REJECTED", text: expect.stringContaining(text) },
      ]);
      expect(resultsOf(sa)[0]?.text).not.toContain("忙");
      expect(journalOf(sa)).toEqual([]);
    },
  );

  it("answers an SA for an order the journal knows from memory, and refuses RF, CA and the scan with the reason", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 100, channelTradeNo: "4200000000000001" });
    h.sale("02", "ORD2", 200);
    down(h, "full");
    const again = h.sale("03", "ORD1", 100);
    expect(resultsOf(again)).toMatchObject([{ seq: "03", status: "PAID" }]);
    const rf = h.pos({ type: "refund", seq: "04", orderRef: "ORD1", refundRef: "R1", amountFen: 50 });
    expect(resultsOf(rf)).toMatchObject([
      { status: "REJECTED", text: expect.stringContaining("存储空间已满") },
    ]);
    const ca = h.pos({ type: "cancel", seq: "05", orderRef: "ORD2" });
    expect(resultsOf(ca)).toMatchObject([
      { seq: "05", status: "REJECTED", text: expect.stringContaining("存储") },
    ]);
    const scan = h.scan("134567890123456780", "ATTEMPT02");
    expect(stagesOf(scan)).toEqual(["RETRY_SCAN"]);
    expect(answersOf(scan)[0]).toMatchObject({ text: expect.stringContaining("存储空间已满") });
    for (const effects of [again, rf, ca, scan]) {
      expect(journalOf(effects)).toEqual([]);
      expect(sendsOf(effects)).toEqual([]);
    }
    expect(h.state.current?.record.orderRef).toBe("ORD2"); // still open, waiting for its scan
    expect(h.state.current?.attempt).toBeNull();
  });

  it("QY of an UNKNOWN order answers from the journal but does not query (it could not be recorded first)", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 198);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1, channelTradeNo: "4200000000000001" }); // mismatch
    down(h, "gone");
    const qy = h.pos({ type: "query", seq: "02", orderRef: "ORD1" });
    expect(resultsOf(qy)).toMatchObject([{ status: "UNKNOWN" }]);
    expect(sendsOf(qy)).toEqual([]);
    expect(journalOf(qy)).toEqual([]);
  });

  it("back up: sales are taken again", () => {
    const h = new SaleHarness();
    down(h, "readOnly");
    h.feed({ type: "journalHealth", fault: null, detail: "restored" });
    expect(stagesOf(h.sale("01", "ORD1", 100))).toEqual(["WAIT_SCAN"]);
  });
});

describe("ORDERPAID: the cloud already holds a payment for the orderRef", () => {
  function refused(): SaleHarness {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan(WECHAT, "ATTEMPT02");
    return h;
  }
  const orderPaid = {
    status: "FAILED" as const,
    amountFen: 100,
    reasonCode: "ORDERPAID",
    rescanAllowed: false,
  };

  it("ends the sale UNKNOWN (30), never 'not paid', with an alarm; QY and a repeated SA say the same and charge nothing", () => {
    const h = refused();
    const end = h.result("ATTEMPT02", orderPaid);
    expect(resultsOf(end)).toMatchObject([
      { seq: "01", status: "UNKNOWN", text: expect.stringContaining("已有支付记录") },
    ]);
    expect(eventsOf(end, "orderAlreadyPaid")).toHaveLength(1);
    expect(h.attempt("ATTEMPT02")).toMatchObject({ phase: "failed", reason: "orderAlreadyPaid" });
    expect(h.state.current).toBeNull();
    expect(h.state.background).toEqual([]);
    expect(resultsOf(h.pos({ type: "query", seq: "02", orderRef: "ORD1" }))).toMatchObject([
      { status: "UNKNOWN" },
    ]);
    const again = h.sale("03", "ORD1", 100);
    expect(resultsOf(again)).toMatchObject([{ seq: "03", status: "UNKNOWN" }]);
    expect(stagesOf(again)).toEqual([]);
  });

  it("even when the cashier cancelled meanwhile (the refusal answers the pay, not the reversal)", () => {
    const h = refused();
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    const end = h.result("ATTEMPT02", orderPaid, "cancel");
    expect(resultsOf(end).map((r) => r.status)).toEqual(["UNKNOWN", "UNKNOWN"]);
  });

  /** A restarted machine that sees what `before` journaled (the SaleHarness journal). */
  function restarted(before: SaleHarness): SaleHarness {
    const h = new SaleHarness(undefined, true, before.now + 1000);
    for (const [k, v] of before.journal) h.journal.set(k, v);
    const sales: SaleView[] = [];
    for (const r of h.journal.values())
      if (r.kind === "sale" && r.status !== "PAID" && r.status !== "CANCELLED") {
        const v = h.view(r.orderRef);
        if (v) sales.push(v);
      }
    h.feed({ type: "recover", sales, refunds: [] });
    return h;
  }

  it("after a restart the sale stays UNKNOWN: it is not settled 'cancelled' from its refused attempt", () => {
    const h = refused();
    h.result("ATTEMPT02", orderPaid);
    const r = restarted(h);
    expect(journalOf(r.effects)).toEqual([]);
    expect(resultsOf(r.pos({ type: "query", seq: "09", orderRef: "ORD1" }))).toMatchObject([
      { status: "UNKNOWN" },
    ]);
  });

  it("a crash between the attempt's record and the sale's: recovery settles it UNKNOWN, not CANCELLED", () => {
    const h = refused();
    h.result("ATTEMPT02", orderPaid);
    const sale = h.journal.get("sale/lane1/ORD1");
    if (sale?.kind !== "sale") throw new Error("no sale");
    h.journal.set("sale/lane1/ORD1", { ...sale, status: "OPEN", answered: false, text: "", endedAt: null });
    const r = restarted(h);
    expect(r.journal.get("sale/lane1/ORD1")).toMatchObject({ status: "UNKNOWN" });
    expect(resultsOf(r.effects)).toMatchObject([{ seq: "01", status: "UNKNOWN" }]);
  });
});
