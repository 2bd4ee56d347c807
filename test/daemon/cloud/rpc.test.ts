import pino from "pino";
import { describe, expect, it } from "vitest";
import type { CloudResponse, PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { MqttLink } from "../../../daemon/cloud/mqtt-link.js";
import { decodeRequest, encodeResponse } from "../../../daemon/cloud/proto-codec.js";
import { CloudRpc } from "../../../daemon/cloud/rpc.js";

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

function setup(online = true) {
  const f = fakeLink(online);
  let id = 0;
  const clock = new ManualClock();
  const rpc = new CloudRpc({
    link: f.link as unknown as MqttLink,
    clock,
    log: pino({ level: "silent" }),
    newId: () => `REQ${++id}`,
  });
  const delivered: [string, CloudResponse][] = [];
  rpc.onResult((lane, r) => delivered.push([lane, r]));
  return { ...f, rpc, delivered, clock };
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
});
