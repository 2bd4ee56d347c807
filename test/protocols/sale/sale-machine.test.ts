import { describe, expect, it } from "vitest";
import { laneState } from "../../../protocols/sale/sale-machine.js";
import {
  answersOf,
  eventsOf,
  resultsOf,
  SaleHarness,
  sendsOf,
  stagesOf,
  T0,
  viewsOf,
  WECHAT,
} from "../../support/sale-harness.js";

describe("sale machine", () => {
  it("walks the happy path: SA → WAIT_SCAN → scan → pay request → SUBMITTED → PAID", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD123", 1234);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1234, channelTradeNo: "4200000000000001" });
    const effects = h.effects;
    expect(stagesOf(effects)).toEqual(["WAIT_SCAN", "SUBMITTED"]);
    const pay = effects.find((e) => e.type === "pay");
    expect(pay).toMatchObject({
      type: "pay",
      attempt: {
        attemptId: "ATTEMPT01",
        orderRef: "ORD123",
        amountFen: 1234,
        scheme: "WECHAT",
        deadlineMs: T0 + 60_000,
      },
    });
    expect(resultsOf(effects)).toEqual([
      {
        type: "result",
        seq: "01",
        orderRef: "ORD123",
        status: "PAID",
        amountFen: 1234,
        scheme: "WECHAT",
        channelTradeNo: "4200000000000001",
        text: "支付成功",
      },
    ]);
    expect(viewsOf(effects)).toEqual(["amountDue", "processing", "paid"]);
    expect(h.state.current).toBeNull();
    expect(laneState(h.state)).toBe("IDLE");
    expect(h.view("ORD123")?.sale).toMatchObject({ status: "PAID", answered: true, attemptId: "ATTEMPT01" });
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "paid", channelTradeNo: "4200000000000001" });
  });

  it("journals the attempt before the pay request and the sale before its RS, in every step", () => {
    const h = new SaleHarness();
    const open = h.sale("01", "ORD1", 100);
    expect(open.findIndex((e) => e.type === "journal")).toBeLessThan(
      open.findIndex((e) => e.type === "answer"),
    );
    const scanned = h.scan();
    const firstExternal = scanned.findIndex((e) => e.type === "pay" || e.type === "answer");
    const journaled = scanned.flatMap((e, i) => (e.type === "journal" ? [i] : []));
    expect(journaled.length).toBe(2);
    expect(Math.max(...journaled)).toBeLessThan(firstExternal);
    const done = h.result("ATTEMPT01", { status: "PAID", amountFen: 100 });
    const lastJournal = Math.max(...done.flatMap((e, i) => (e.type === "journal" ? [i] : [])));
    expect(lastJournal).toBeLessThan(done.findIndex((e) => e.type === "answer"));
  });

  it("keeps the code out of its state, its journal records and event details", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    expect(JSON.stringify(h.state)).not.toContain(WECHAT);
    expect(JSON.stringify([...h.journal.values()])).not.toContain(WECHAT);
    expect(JSON.stringify(h.effects)).not.toContain(WECHAT);
    expect(h.state.current?.attempt?.maskedCode).toBe("WECHAT…6789");
  });

  it("refuses a sale while the cloud is offline, with a clear text", () => {
    const h = new SaleHarness(undefined, false);
    const effects = h.sale("01", "ORD1", 100);
    expect(resultsOf(effects)[0]).toMatchObject({ status: "REJECTED", seq: "01" });
    expect(resultsOf(effects)[0]?.text).toContain("离线");
    expect(h.state.current).toBeNull();
    expect(h.journal.size).toBe(0);
  });

  it("WAITING_CUSTOMER keeps the attempt open, says so once, never pays again and queries when silent", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 2577);
    h.scan();
    h.result("ATTEMPT01", { status: "WAITING_CUSTOMER", reasonCode: "USERPAYING" });
    h.result("ATTEMPT01", { status: "WAITING_CUSTOMER", reasonCode: "USERPAYING" });
    expect(stagesOf(h.effects)).toEqual(["WAIT_SCAN", "SUBMITTED", "WAIT_CUSTOMER"]);
    expect(laneState(h.state)).toBe("WAIT_CUSTOMER");
    const later = h.advance(5_000);
    expect(sendsOf(later)).toEqual(["query:ATTEMPT01"]);
    expect(sendsOf(h.effects).filter((s) => s.startsWith("pay"))).toHaveLength(1);
    h.result("ATTEMPT01", { status: "PAID", amountFen: 2577 }, "query");
    expect(resultsOf(h.effects).at(-1)?.status).toBe("PAID");
  });

  it("no answer: queries after 5 s and every 5 s, reverses at 45 s, repeats the reversal bounded, then UNKNOWN", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    const querying = h.advance(5_000);
    expect(sendsOf(querying)).toEqual(["query:ATTEMPT01"]);
    expect(stagesOf(querying)).toEqual(["QUERYING"]);
    const untilDeadline = h.advance(40_000);
    expect(sendsOf(untilDeadline)).toEqual(Array(7).fill("query:ATTEMPT01").concat(["cancel:ATTEMPT01"]));
    expect(stagesOf(untilDeadline)).toEqual(["REVERSING"]);
    expect(resultsOf(h.effects)).toEqual([]);
    // The cloud keeps saying "try again" (UNKNOWN to the cancel): repeated every 5 s, 10 in all.
    h.result("ATTEMPT01", { status: "UNKNOWN", reasonCode: "SYSTEMERROR" }, "cancel");
    const rest = h.advance(60_000);
    expect(sendsOf(h.effects).filter((s) => s.startsWith("cancel"))).toHaveLength(10);
    expect(resultsOf(rest)).toMatchObject([
      { seq: "01", status: "UNKNOWN", text: "支付结果未知，请勿重复收款" },
    ]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "unresolved",
      reason: "reverseExhausted",
      reversals: 10,
    });
    expect(h.view("ORD1")?.sale.status).toBe("UNKNOWN");
    // Left to background reconciliation: re-queried every minute, and the lane is free.
    expect(h.state.background).toHaveLength(1);
    expect(laneState(h.state)).toBe("IDLE");
    expect(sendsOf(h.advance(60_000))).toEqual(["query:ATTEMPT01"]);
  });

  it("a cloud UNKNOWN (SYSTEMERROR) is resolved by query, never by paying again", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 4598);
    h.scan();
    h.result("ATTEMPT01", { status: "UNKNOWN", reasonCode: "SYSTEMERROR" });
    expect(stagesOf(h.effects).at(-1)).toBe("QUERYING");
    expect(sendsOf(h.advance(5_000))).toEqual(["query:ATTEMPT01"]);
    h.result("ATTEMPT01", { status: "PAID", amountFen: 4598, channelTradeNo: "42" }, "query");
    expect(resultsOf(h.effects)).toMatchObject([{ status: "PAID", channelTradeNo: "42" }]);
    expect(sendsOf(h.effects).filter((s) => s.startsWith("pay"))).toHaveLength(1);
  });

  it("'no such order' from a query proves nothing; only the reversal closes the attempt", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.advance(5_000);
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "ORDERNOTEXIST" }, "query");
    expect(h.state.current?.attempt?.phase).toBe("unknown");
    expect(eventsOf(h.effects, "notFound")).toHaveLength(1);
    h.advance(40_000);
    h.result("ATTEMPT01", { status: "CANCELLED", reasonCode: "ORDERNOTEXIST" }, "cancel");
    expect(resultsOf(h.effects)).toMatchObject([{ status: "CANCELLED", text: "支付超时，已撤销，未扣款" }]);
  });

  it("a failure that allows a rescan waits for a new scan, which gets a new attempt id", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 500);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", reasonCode: "AUTHCODEEXPIRE", rescanAllowed: true });
    h.scan("134567890123451111", "ATTEMPT02");
    expect(stagesOf(h.effects)).toEqual(["WAIT_SCAN", "SUBMITTED", "RETRY_SCAN", "SUBMITTED"]);
    expect(sendsOf(h.effects)).toEqual(["pay:ATTEMPT01", "pay:ATTEMPT02"]);
    expect(resultsOf(h.effects)).toEqual([]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "failed", reason: "declinedRescan" });
    // A late non-PAID result for the first attempt changes nothing (a late PAID is an alarm:
    // late-paid.test.ts).
    const late = h.result("ATTEMPT01", { status: "FAILED", reasonCode: "AUTHCODEEXPIRE" });
    expect(late.filter((e) => e.type !== "event")).toEqual([]);
    expect(eventsOf(late, "resultIgnored")).toHaveLength(1);
  });

  it("a failure without rescan ends the sale as CANCELLED (no money moved)", () => {
    const h = new SaleHarness();
    h.sale("07", "ORD1", 500);
    h.scan();
    h.result("ATTEMPT01", { status: "FAILED", rescanAllowed: false, reasonCode: "MCHCONFIGERR" });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "07", status: "CANCELLED" }]);
    expect(h.attempt("ATTEMPT01")?.reason).toBe("declinedFinal");
  });

  it("CA while waiting for the scan answers both the SA and the CA with CANCELLED", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    expect(resultsOf(h.effects).map((r) => [r.seq, r.status])).toEqual([
      ["01", "CANCELLED"],
      ["02", "CANCELLED"],
    ]);
  });

  it("CA with an attempt in flight reverses it at once and answers when it is final", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    const ca = h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    expect(sendsOf(ca)).toEqual(["cancel:ATTEMPT01"]);
    expect(stagesOf(ca)).toEqual(["REVERSING"]);
    expect(resultsOf(h.effects)).toEqual([]);
    // A PAID answering the pay request cannot end the sale while the reversal is under way.
    const racing = h.result("ATTEMPT01", { status: "PAID", amountFen: 100 });
    expect(resultsOf(racing)).toEqual([]);
    expect(laneState(h.state)).toBe("REVERSING");
    h.result("ATTEMPT01", { status: "CANCELLED", reasonCode: "REVERSED" }, "cancel");
    expect(resultsOf(h.effects).map((r) => [r.seq, r.status, r.text])).toEqual([
      ["01", "CANCELLED", "交易已取消"],
      ["02", "CANCELLED", "交易已取消"],
    ]);
  });

  it("a reversal the cloud could not make (its answer is PAID) ends the sale PAID, saying so", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    h.result("ATTEMPT01", { status: "PAID", amountFen: 100, channelTradeNo: "4200000000000009" }, "cancel");
    expect(resultsOf(h.effects).map((r) => [r.seq, r.status, r.text])).toEqual([
      ["01", "PAID", "撤销未成功，顾客已支付"],
      ["02", "PAID", "撤销未成功，顾客已支付"],
    ]);
  });

  it("a scan while the cloud is down is journaled and queued, and published when the link returns in time", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.feed({ type: "cloudLink", online: false });
    const scanned = h.scan();
    expect(sendsOf(scanned)).toEqual([]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "queued", sentAt: null });
    h.advance(3_000);
    const back = h.feed({ type: "cloudLink", online: true });
    expect(sendsOf(back)).toEqual(["pay:ATTEMPT01"]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "sent", sentAt: T0 + 3_000 });
  });

  it("a pay request that could not be sent within its window ends CANCELLED at once, never published late", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.feed({ type: "payNotSent", attemptId: "ATTEMPT01", reason: "broker not connected" });
    h.feed({ type: "cloudLink", online: false });
    expect(h.attempt("ATTEMPT01")?.phase).toBe("queued");
    const expired = h.advance(20_000);
    expect(resultsOf(expired)).toMatchObject([
      { status: "CANCELLED", text: "网络中断，支付请求未发出，未扣款" },
    ]);
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "cancelled", reason: "notSent" });
    const back = h.feed({ type: "cloudLink", online: true });
    expect(sendsOf(back)).toEqual([]);
    expect(sendsOf(h.effects)).toEqual(["pay:ATTEMPT01"]);
  });

  it("the same code read again is refused with a hint to refresh it, never resubmitted", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const again = h.feed({ type: "scanRepeated" });
    expect(sendsOf(again)).toEqual([]);
    expect(answersOf(again)).toMatchObject([{ type: "progress", stage: "RETRY_SCAN" }]);
    expect(laneState(h.state)).toBe("WAIT_SCAN");
  });

  it("a final result for an unresolved attempt becomes the sale's truth for QY", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.advance(45_000);
    h.advance(50_000); // ten silent reversals → UNKNOWN
    expect(resultsOf(h.effects)).toMatchObject([{ status: "UNKNOWN" }]);
    const q1 = h.pos({ type: "query", seq: "05", orderRef: "ORD1" });
    // UNKNOWN is answered from the journal and the cloud is asked afresh at once.
    expect(resultsOf(q1)).toMatchObject([{ seq: "05", status: "UNKNOWN" }]);
    expect(sendsOf(q1)).toEqual(["query:ATTEMPT01"]);
    const late = h.result(
      "ATTEMPT01",
      { status: "PAID", amountFen: 100, channelTradeNo: "4200000000000001" },
      "query",
    );
    expect(eventsOf(late, "attemptResolved")).toHaveLength(1);
    expect(resultsOf(late)).toEqual([]); // the SA already had its one RS
    const q2 = h.pos({ type: "query", seq: "06", orderRef: "ORD1" });
    expect(resultsOf(q2)).toMatchObject([{ seq: "06", status: "PAID", channelTradeNo: "4200000000000001" }]);
    expect(h.state.background).toEqual([]);
  });

  it("cloud texts reach the register short and with long digit runs masked", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.result("ATTEMPT01", {
      status: "FAILED",
      rescanAllowed: true,
      message: `code ${WECHAT} refused ${"x".repeat(500)}`,
    });
    const text =
      answersOf(h.effects)
        .flatMap((a) => (a.type === "progress" ? [a.text] : []))
        .at(-1) ?? "";
    expect(text).not.toContain(WECHAT);
    expect(text.length).toBeLessThanOrEqual(50);
  });

  it("no scan within the timeout ends the sale as CANCELLED", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const step = h.advance(60_000);
    expect(resultsOf(step)).toMatchObject([{ status: "CANCELLED", seq: "01" }]);
    expect(h.state.current).toBeNull();
  });

  it("an EAN-13 or a URL keeps the sale waiting and says why", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan("5901234123457");
    h.scan("https://example.com/x");
    expect(stagesOf(h.effects)).toEqual(["WAIT_SCAN", "RETRY_SCAN", "RETRY_SCAN"]);
    expect(sendsOf(h.effects)).toEqual([]);
    const texts = answersOf(h.effects).flatMap((a) => (a.type === "progress" ? [a.text] : []));
    expect(texts[1]).toContain("不是付款码");
  });

  it("tells the cashier why a read is no payment code in one language (the classifier's English stays in the log)", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const reads = [
      "5901234123457", // EAN-13
      "036000291452", // UPC-A
      "https://example.com/x",
      "fp0123456789abcdefghijklmnop",
      "１３４５６７８９０１２３４５６７８９", // full-width digits
      "1345 6789 0123 4567 89",
      "]E05901234123457", // behind an AIM id
      "1345\u00076789012345678",
      "99123456789012345678", // no scheme
    ];
    for (const r of reads) h.scan(r);
    const texts = answersOf(h.effects).flatMap((a) =>
      a.type === "progress" && a.stage === "RETRY_SCAN" ? [a.text] : [],
    );
    expect(texts).toHaveLength(reads.length);
    expect(texts[0]).toBe("不是付款码（13位商品条码），请扫顾客付款码");
    for (const text of texts) {
      // "AIM" names a scanner setting as the scanner's manual does; nothing else in Latin letters.
      expect(text.replace(/AIM/g, ""), text).not.toMatch(/[A-Za-z]{2,}/);
      expect(text).toMatch(/^(不是付款码|付款码无法识别)/);
    }
  });

  it("a second SA while busy is REJECTED and the first sale is untouched", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const before = h.state.current;
    const second = h.sale("02", "ORD2", 300);
    expect(resultsOf(second)).toMatchObject([{ seq: "02", orderRef: "ORD2", status: "REJECTED" }]);
    expect(h.state.current).toEqual(before);
  });

  it("one attempt per lane: a scan during an attempt in flight is ignored", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.scan("134567890123450001", "ATTEMPT02");
    expect(sendsOf(h.effects)).toEqual(["pay:ATTEMPT01"]);
  });

  it("a scan with no open sale is dropped with a display hint and counted, never queued", () => {
    const h = new SaleHarness();
    const dropped = h.scan();
    expect(viewsOf(dropped)).toEqual(["waitForCashier"]);
    expect(viewsOf(h.advance(5_000))).toEqual(["idle"]);
    expect(eventsOf(dropped, "scanIgnored")).toHaveLength(1);
    h.sale("01", "ORD1", 100);
    expect(sendsOf(h.effects)).toEqual([]);
    expect(laneState(h.state)).toBe("WAIT_SCAN");
  });

  it("a PAID with another amount is not paid: UNKNOWN with an alarm, the attempt kept unresolved", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 1000);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 100 });
    expect(resultsOf(h.effects)).toMatchObject([
      { status: "UNKNOWN", text: "支付金额不符，结果未知，请勿重复收款" },
    ]);
    expect(eventsOf(h.effects, "amountMismatch").some((e) => e.level === "error")).toBe(true);
    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "unresolved",
      reason: "amountMismatch",
      paidAmountFen: 100,
    });
  });

  it("a paid orderRef is never charged again: SA with it repeats PAID; another amount is REJECTED", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 1000);
    h.scan();
    h.result("ATTEMPT01", { status: "PAID", amountFen: 1000 });
    h.sale("02", "ORD1", 1000);
    h.sale("03", "ORD1", 999);
    expect(resultsOf(h.effects).map((r) => [r.seq, r.status])).toEqual([
      ["01", "PAID"],
      ["02", "PAID"],
      ["03", "REJECTED"],
    ]);
    expect(h.state.current).toBeNull();
  });

  it("a cancelled orderRef may be sold again", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    h.sale("03", "ORD1", 100);
    expect(laneState(h.state)).toBe("WAIT_SCAN");
  });

  it("QY answers PENDING for the open sale and REJECTED for an unknown order", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.pos({ type: "query", seq: "02", orderRef: "ORD1" });
    h.pos({ type: "query", seq: "03", orderRef: "NOPE" });
    expect(resultsOf(h.effects).map((r) => [r.seq, r.status])).toEqual([
      ["02", "PENDING"],
      ["03", "REJECTED"],
    ]);
  });

  it("EC reports the broker link and the lane state", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const ec = h.pos({ type: "echo", seq: "05" });
    expect(answersOf(ec)).toEqual([
      { type: "echoReply", seq: "05", brokerOnline: true, laneState: "WAIT_SCAN" },
    ]);
  });

  it("a bad request is answered REJECTED with its reason and changes nothing", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    const before = h.state;
    const bad = h.feed({ type: "badRequest", seq: "09", orderRef: "", message: "amount 12.34: fen only" });
    expect(resultsOf(bad)).toMatchObject([{ seq: "09", status: "REJECTED", text: "amount 12.34: fen only" }]);
    expect(h.state).toEqual(before);
  });

  it("with the journal down, no new sale or refund starts", () => {
    const h = new SaleHarness();
    h.feed({ type: "journalHealth", fault: "failed", detail: "disk failed" });
    expect(resultsOf(h.sale("01", "ORD1", 100))).toMatchObject([
      { status: "REJECTED", text: expect.stringContaining("记录") },
    ]);
    h.feed({ type: "journalHealth", fault: null, detail: "ok" });
    expect(laneState(h.state)).toBe("IDLE");
    h.sale("02", "ORD2", 100);
    expect(laneState(h.state)).toBe("WAIT_SCAN");
  });
});

describe("sale machine time: NTP steps of an hour change no timing", () => {
  const HOUR = 3_600_000;
  /** The sends of a sale with no answer over 50 s, the wall clock stepped by `step` at `when`. */
  function unanswered(step: number, when: "beforeSale" | "afterScan" | "whileQuerying") {
    const h = new SaleHarness();
    if (when === "beforeSale") h.stepWall(step);
    h.sale("01", "ORD1", 100);
    h.scan();
    if (when === "afterScan") h.stepWall(step);
    const sends: string[] = [];
    for (let s = 1; s <= 50; s++) {
      if (when === "whileQuerying" && s === 12) h.stepWall(step);
      sends.push(...sendsOf(h.advance(1_000)).map((x) => `${x}@${s}`));
    }
    return { sends, h };
  }
  const base = unanswered(0, "afterScan").sends;

  for (const step of [HOUR, -HOUR])
    for (const when of ["beforeSale", "afterScan", "whileQuerying"] as const)
      it(`a ${step > 0 ? "+" : "-"}1 h step ${when}: the same queries at the same times, the reversal at 45 s`, () => {
        const { sends, h } = unanswered(step, when);
        expect(sends).toEqual(base);
        expect(sends).toContain("cancel:ATTEMPT01@45");
        // The deadline the cloud is told is the wall clock at the scan + the code's life.
        const wallAtScan = T0 + (when === "beforeSale" ? step : 0);
        expect(h.attempt("ATTEMPT01")?.deadlineMs).toBe(wallAtScan + 60_000);
      });

  it("the scan timeout runs on the monotonic clock: a +1 h step does not end the sale early", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.stepWall(HOUR);
    expect(resultsOf(h.advance(59_999))).toEqual([]);
    expect(resultsOf(h.advance(1))).toMatchObject([{ status: "CANCELLED" }]);
  });

  it("a -1 h step does not stretch the scan timeout either", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.stepWall(-HOUR);
    expect(resultsOf(h.advance(60_000))).toMatchObject([{ status: "CANCELLED" }]);
  });

  it("a refund is answered UNKNOWN 30 s after the RF, not sooner or later, whatever the wall clock does", () => {
    for (const step of [HOUR, -HOUR]) {
      const h = new SaleHarness();
      h.sale("01", "ORD1", 1000);
      h.scan();
      h.result("ATTEMPT01", { status: "PAID", amountFen: 1000, channelTradeNo: "4200000000000001" });
      h.pos({ type: "refund", seq: "02", orderRef: "ORD1", refundRef: "R1", amountFen: 500 });
      h.stepWall(step);
      expect(resultsOf(h.advance(29_000))).toEqual([]);
      expect(resultsOf(h.advance(1_000))).toMatchObject([{ seq: "02", status: "UNKNOWN" }]);
    }
  });
});
