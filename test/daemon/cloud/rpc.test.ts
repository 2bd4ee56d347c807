import pino from "pino";
import { describe, expect, it } from "vitest";
import type { CloudResponse, PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { MqttLink } from "../../../daemon/cloud/mqtt-link.js";
import { decodeRequest, encodeResponse } from "../../../daemon/cloud/proto-codec.js";
import { ANSWERED_KEPT, type Answers, CloudRpc } from "../../../daemon/cloud/rpc.js";

/** A link that records what is published and lets the test deliver responses. */
function fakeLink(online = true) {
  const published: { bytes: Uint8Array; requestId: string; expirySec: number }[] = [];
  let handler: (b: Uint8Array) => void = () => {};
  const link = {
    online,
    onResponse: (fn: (b: Uint8Array) => void) => {
      handler = fn;
    },
    publishRequest(bytes: Uint8Array, meta: { requestId: string; expirySec: number }) {
      if (!link.online) return false;
      published.push({ bytes, ...meta });
      return true;
    },
  };
  return { link, published, deliver: (b: Uint8Array) => handler(b) };
}

const pay: PayCommand = {
  type: "pay",
  attemptId: "ATTEMPT_1",
  orderRef: "O1",
  amountFen: 100,
  authCode: "134567890123456789",
  scheme: "WECHAT",
  scannedAtMs: 1_700_000_000_000,
  deadlineMs: 1_700_000_060_000, // ManualClock starts at 1_700_000_000_000
};

function setup(online = true, laneOfAttempt?: (attemptId: string) => string | undefined) {
  const f = fakeLink(online);
  let id = 0;
  const clock = new ManualClock();
  const rpc = new CloudRpc({
    link: f.link as unknown as MqttLink,
    clock,
    log: pino({ level: "silent" }),
    newId: () => `REQ${++id}`,
    ...(laneOfAttempt ? { laneOfAttempt } : {}),
  });
  const delivered: [string, CloudResponse][] = [];
  const answered: Answers[] = [];
  rpc.onResult((lane, r, answers) => {
    delivered.push([lane, r]);
    answered.push(answers);
  });
  return { ...f, rpc, delivered, answered, clock };
}

/** Expires `ms` from the clock's monotonic now. */
const within = (clock: ManualClock, ms: number) => ({ expiresAtMono: clock.monoNow() + ms });

describe("CloudRpc deadline", () => {
  it("never publishes a request at or after its (monotonic) deadline, and counts it", () => {
    const { rpc, published, clock } = setup();
    expect(rpc.send("lane1", pay, within(clock, 0))).toEqual({ ok: false, reason: "past its deadline" });
    expect(published).toEqual([]);
    expect(rpc.counters.expired).toBe(1);
    expect(rpc.send("lane1", { type: "query", attemptId: "A" }, within(clock, 60_000)).ok).toBe(true);
  });

  it("a wall-clock step neither kills a fresh pay request nor changes its expiry", () => {
    const { rpc, published, clock } = setup();
    const expiresAtMono = clock.monoNow() + 50_000;
    clock.stepWall(3_600_000); // NTP: the wall clock jumps an hour ahead
    expect(rpc.send("lane1", pay, { expiresAtMono }).ok).toBe(true);
    clock.stepWall(-7_200_000); // and two hours back
    clock.advance(20_000);
    expect(rpc.send("lane1", pay, { expiresAtMono }).ok).toBe(true);
    expect(published.map((p) => p.expirySec)).toEqual([50, 30]);
    clock.advance(30_000);
    expect(rpc.send("lane1", pay, { expiresAtMono })).toEqual({ ok: false, reason: "past its deadline" });
  });
});
const response = (requestId: string, attemptId: string, status: "PAID" | "WAITING_CUSTOMER" = "PAID") =>
  encodeResponse({
    requestId,
    attemptId,
    sentAtMs: 1,
    result: {
      type: "payment",
      status,
      amountFen: 100,
      scheme: "WECHAT",
      channelTradeNo: "",
      reasonCode: "",
      message: "",
      rescanAllowed: false,
    },
  });

describe("CloudRpc", () => {
  it("publishes a request with a fresh request id and routes its answer to the lane", () => {
    const { rpc, published, deliver, delivered, clock } = setup();
    const sent = rpc.send("lane1", pay, within(clock, 59_500));
    expect(sent).toEqual({ ok: true, requestId: "REQ1" });
    const decoded = decodeRequest(published[0]?.bytes as Uint8Array);
    expect(decoded.ok && decoded.value).toMatchObject({ requestId: "REQ1", laneId: "lane1", command: pay });
    expect(published[0]?.expirySec).toBe(59.5);
    deliver(response("REQ1", "ATTEMPT_1"));
    expect(delivered.map(([lane, r]) => [lane, r.result.status])).toEqual([["lane1", "PAID"]]);
  });

  it("says so, and keeps nothing, when the broker is down", () => {
    const { rpc, published, clock } = setup(false);
    expect(rpc.send("lane1", pay, within(clock, 60_000))).toEqual({
      ok: false,
      reason: "broker not connected",
    });
    expect(published).toHaveLength(0);
    expect(rpc.pendingCount).toBe(0);
    expect(rpc.counters.notSent).toBe(1);
  });

  it("counts and ignores responses for unknown requests, another attempt, duplicates and garbage", () => {
    const { rpc, deliver, delivered, clock } = setup();
    rpc.send("lane1", pay, within(clock, 60_000));
    deliver(response("NOPE", "ATTEMPT_1"));
    deliver(response("REQ1", "OTHER_ATTEMPT"));
    deliver(response("REQ1", "ATTEMPT_1", "WAITING_CUSTOMER"));
    deliver(response("REQ1", "ATTEMPT_1", "WAITING_CUSTOMER")); // QoS 1 redelivery
    deliver(response("REQ1", "ATTEMPT_1", "PAID")); // a further result for the same request
    deliver(new TextEncoder().encode("garbage!"));
    expect(delivered.map(([, r]) => r.result.status)).toEqual(["WAITING_CUSTOMER", "PAID"]);
    expect(rpc.counters).toMatchObject({
      unknown: 1,
      mismatched: 1,
      duplicates: 1,
      garbage: 1,
      responses: 2,
    });
  });

  it("delivers a payment result for an unknown request id by the attempt it names, when the journal knows it", () => {
    // A late PAID for an attempt that has long ended must be seen, whatever request id it carries.
    const known = new Map([["ATTEMPT_1", "lane2"]]);
    const { rpc, deliver, delivered, answered, clock } = setup(true, (id) => known.get(id));
    rpc.send("lane2", pay, within(clock, 60_000));
    clock.advance(11 * 60_000);
    rpc.send("lane2", { type: "query", attemptId: "ATTEMPT_2" }, within(clock, 60_000)); // forgets REQ1
    expect(rpc.pendingCount).toBe(1);
    deliver(response("REQ1", "ATTEMPT_1", "PAID")); // its request was forgotten after 10 minutes
    deliver(response("NEVER_SENT", "ATTEMPT_1", "PAID"));
    deliver(response("NEVER_SENT", "STRANGER_1", "PAID")); // an attempt the journal does not know
    deliver(
      encodeResponse({
        requestId: "NEVER_SENT",
        attemptId: "ATTEMPT_1",
        sentAtMs: 1,
        result: {
          type: "refund",
          refundId: "REFUND_1",
          status: "REFUNDED",
          amountFen: 1,
          reasonCode: "",
          message: "",
        },
      }),
    );
    expect(delivered.map(([lane, r]) => [lane, r.attemptId, r.requestId])).toEqual([
      ["lane2", "ATTEMPT_1", "REQ1"],
      ["lane2", "ATTEMPT_1", "NEVER_SENT"],
    ]);
    expect(answered).toEqual(["unsolicited", "unsolicited"]);
    expect(rpc.counters).toMatchObject({ unsolicited: 2, unknown: 2 });
  });
});

describe("CloudRpc: the cloud's clock against ours", () => {
  it("is the median of the last answers' sent_at_ms minus our wall clock at receipt; null before any", () => {
    const { rpc, deliver, clock } = setup();
    expect(rpc.cloudSkewMs()).toBeNull();
    rpc.send("lane1", pay, within(clock, 60_000));
    const at = (sentAtMs: number) =>
      encodeResponse({
        requestId: "REQ1",
        attemptId: "ATTEMPT_1",
        sentAtMs,
        result: {
          type: "payment",
          status: "WAITING_CUSTOMER",
          amountFen: 100,
          scheme: "WECHAT",
          channelTradeNo: "",
          reasonCode: "",
          message: "",
          rescanAllowed: false,
        },
      });
    const now = clock.wallNow();
    // The cloud is an hour ahead; one answer was delivered late (it looks less ahead).
    for (const late of [0, 0, 9_000, 0, 0]) deliver(at(now + 3_600_000 - late));
    expect(rpc.cloudSkewMs()).toBe(3_600_000);
    expect(rpc.describe().cloudClockSkewMs).toBe(3_600_000);
  });
});

describe("CloudRpc: bounded memory, no scan on the hot path", () => {
  it("drops a request at once when its final answer comes; one still waiting (WAITING_CUSTOMER) stays", () => {
    const { rpc, deliver, delivered, clock } = setup();
    rpc.send("lane1", pay, within(clock, 60_000));
    rpc.send("lane1", { type: "query", attemptId: "ATTEMPT_1" }, within(clock, 60_000));
    expect(rpc.pendingCount).toBe(2);
    deliver(response("REQ1", "ATTEMPT_1", "WAITING_CUSTOMER"));
    expect(rpc.pendingCount).toBe(2); // more will come for it
    deliver(response("REQ1", "ATTEMPT_1", "PAID"));
    expect(rpc.pendingCount).toBe(1);
    deliver(response("REQ2", "ATTEMPT_1", "PAID"));
    expect(rpc.pendingCount).toBe(0);
    expect(delivered.map(([, r]) => r.result.status)).toEqual(["WAITING_CUSTOMER", "PAID", "PAID"]);
  });

  it("recognises a redelivered answer of one of the last ANSWERED_KEPT answered requests; older ones go by their attempt id", () => {
    const known = new Map([["ATTEMPT_1", "lane1"]]);
    const { rpc, deliver, delivered, answered, clock } = setup(true, (id) => known.get(id));
    rpc.send("lane1", pay, within(clock, 60_000));
    deliver(response("REQ1", "ATTEMPT_1", "PAID"));
    deliver(response("REQ1", "ATTEMPT_1", "PAID")); // QoS 1 redelivery
    expect(rpc.counters.duplicates).toBe(1);
    expect(delivered).toHaveLength(1);
    for (let i = 0; i < ANSWERED_KEPT; i++) {
      const attemptId = `OTHER_${i}`;
      const sent = rpc.send("lane1", { type: "query", attemptId }, within(clock, 60_000));
      if (sent.ok) deliver(response(sent.requestId, attemptId, "PAID"));
    }
    expect(rpc.pendingCount).toBe(0);
    // REQ1 is no longer remembered: its redelivery is the cloud's word on the attempt, delivered.
    deliver(response("REQ1", "ATTEMPT_1", "PAID"));
    expect(rpc.counters.duplicates).toBe(1);
    expect(answered.at(-1)).toBe("unsolicited");
  });

  it("forgets what waited longer than forgetAfterMs, looking only at those: the young are not visited", () => {
    const { rpc, clock } = setup();
    // Count the entries forgetting visits (it runs on every send).
    class Counting<K, V> extends Map<K, V> {
      visits = 0;
      override *[Symbol.iterator](): MapIterator<[K, V]> {
        for (const e of super.entries()) {
          this.visits++;
          yield e;
        }
      }
    }
    const pending = new Counting<string, unknown>();
    (rpc as unknown as { pending: Map<string, unknown> }).pending = pending;
    for (let i = 0; i < 100; i++)
      rpc.send("lane1", { type: "query", attemptId: `OLD_${i}` }, within(clock, 60_000));
    clock.advance(5 * 60_000);
    for (let i = 0; i < 1000; i++)
      rpc.send("lane1", { type: "query", attemptId: `NEW_${i}` }, within(clock, 60_000));
    expect(rpc.pendingCount).toBe(1100);
    // 1000 sends over 1100 entries: each looked at the oldest entry only.
    expect(pending.visits).toBeLessThanOrEqual(1100);
    pending.visits = 0;
    clock.advance(5 * 60_000 + 1); // the first 100 are past their 10 minutes
    rpc.send("lane1", { type: "query", attemptId: "LAST" }, within(clock, 60_000));
    expect(rpc.pendingCount).toBe(1001);
    expect(pending.visits).toBe(101); // the 100 forgotten and the first one still young
  });
});
