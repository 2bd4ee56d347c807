// A broker that refuses our requests (MQTT 5 PUBACK ≥ 0x80: delivered to no one) or refuses us
// altogether: the sale machine's side. A refused pay request ends its attempt at once as not
// sent, with the sale open for a rescan; a refused cancel is no reversal spent; while the link is
// refused, SA and RF are refused with the broker's reason code in the text.
import { describe, expect, it } from "vitest";
import { laneState } from "../../../protocols/sale/sale-machine.js";
import {
  answersOf,
  eventsOf,
  resultsOf,
  SaleHarness,
  sendsOf,
  stagesOf,
  viewsOf,
  WECHAT,
} from "../../support/sale-harness.js";

describe("sale machine: broker refusals", () => {
  it("a refused pay request ends the attempt as not sent; the sale stays open for a rescan", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    const refused = h.feed({ type: "payRefused", attemptId: "ATTEMPT01", reasonCode: "0x87" });
    expect(h.attempt("ATTEMPT01")).toMatchObject({
      phase: "cancelled",
      reason: "brokerRefused",
      reasonCode: "0x87",
      nextDueMono: null,
    });
    expect(resultsOf(refused)).toEqual([]); // no RS: the sale is not over
    expect(answersOf(refused)).toMatchObject([
      { type: "progress", stage: "RETRY_SCAN", text: "支付请求被拒绝(MQTT 0x87)，未扣款，请重扫或取消" },
    ]);
    expect(viewsOf(refused)).toEqual(["rescan"]);
    expect(eventsOf(refused, "attemptFailed")[0]?.detail).toContain("refused by the broker (0x87)");
    expect(laneState(h.state)).toBe("WAIT_SCAN");
    // Nothing more goes out for that attempt: no query, no reversal.
    expect(sendsOf(h.advance(60_000))).toEqual([]);
  });

  it("after a refusal the cashier may rescan (a new attempt) or cancel", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.feed({ type: "payRefused", attemptId: "ATTEMPT01", reasonCode: "0x87" });
    const again = h.scan(WECHAT, "ATTEMPT02");
    expect(sendsOf(again)).toEqual(["pay:ATTEMPT02"]);
    h.result("ATTEMPT02", { status: "PAID", amountFen: 100, channelTradeNo: "4200000000000002" });
    expect(resultsOf(h.effects)).toMatchObject([{ seq: "01", status: "PAID" }]);

    const c = new SaleHarness();
    c.sale("01", "ORD2", 100);
    c.scan();
    c.feed({ type: "payRefused", attemptId: "ATTEMPT01", reasonCode: "0x97" });
    const cancel = c.pos({ type: "cancel", seq: "02", orderRef: "ORD2" });
    expect(sendsOf(cancel)).toEqual([]); // nothing to reverse
    expect(resultsOf(cancel)).toMatchObject([
      { seq: "01", status: "CANCELLED" },
      { seq: "02", status: "CANCELLED" },
    ]);
  });

  it("a refusal is ignored once the cloud has answered the attempt", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.result("ATTEMPT01", { status: "WAITING_CUSTOMER" });
    h.feed({ type: "payRefused", attemptId: "ATTEMPT01", reasonCode: "0x87" });
    expect(h.attempt("ATTEMPT01")?.phase).toBe("waitCustomer");
  });

  it("a refused cancel does not spend the reversal budget", () => {
    const h = new SaleHarness();
    h.sale("01", "ORD1", 100);
    h.scan();
    h.pos({ type: "cancel", seq: "02", orderRef: "ORD1" });
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "reversing", reversals: 1 });
    h.feed({ type: "cancelRefused", attemptId: "ATTEMPT01" });
    expect(h.attempt("ATTEMPT01")).toMatchObject({ phase: "reversing", reversals: 0 });
    // The schedule goes on: the next reversal is sent when it is due.
    expect(sendsOf(h.advance(5_000))).toEqual(["cancel:ATTEMPT01"]);
  });

  it("while the broker refuses us, SA and RF are refused naming its reason code; plain offline says offline", () => {
    const h = new SaleHarness();
    h.feed({ type: "cloudLink", online: false, refusal: "0x87" });
    expect(resultsOf(h.sale("01", "ORD1", 100))).toMatchObject([
      { status: "REJECTED", text: "支付平台拒绝访问(MQTT 0x87)，请联系管理员" },
    ]);
    const echo = h.pos({ type: "echo", seq: "03" });
    expect(answersOf(echo)).toMatchObject([{ type: "echoReply", brokerOnline: false }]);
    h.feed({ type: "cloudLink", online: false });
    expect(resultsOf(h.sale("02", "ORD2", 100))).toMatchObject([
      { status: "REJECTED", text: "支付平台离线，请稍后再试" },
    ]);
    h.feed({ type: "cloudLink", online: true });
    expect(stagesOf(h.sale("04", "ORD4", 100))).toEqual(["WAIT_SCAN"]);
  });
});
