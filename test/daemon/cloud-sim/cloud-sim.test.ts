// The simulated cloud as an MQTT peer against the real Mosquitto.
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudCommand, CloudResponse } from "../../../protocols/cloud/cloud-messages.js";
import { decodeResponse, encodeRequest } from "../../../daemon/cloud/proto-codec.js";
import { type CloudSim, startCloudSim } from "../../../daemon/cloud-sim/cloud-sim.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbsim-${run}/v1`;
const BASE = `${PREFIX}/S1/B1`;

describe("cloud-sim over MQTT", () => {
  let sim: CloudSim;
  let client: mqtt.MqttClient;
  const responses: { topic: string; res: CloudResponse; correlation: string }[] = [];
  const logLines: string[] = [];
  let n = 0;

  beforeAll(async () => {
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      group: `g${run}`,
      confirmDelayMs: 100,
      log: (line) => logLines.push(line),
    });
    client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    client.on("message", (topic, payload, packet) => {
      const d = decodeResponse(new Uint8Array(payload));
      if (d.ok)
        responses.push({
          topic,
          res: d.value,
          correlation: Buffer.from(packet.properties?.correlationData ?? []).toString(),
        });
    });
    await client.subscribeAsync([`${BASE}/res`, `${PREFIX}/OTHER/B9/res`], { qos: 1 });
  });
  afterAll(async () => {
    await client?.endAsync();
    await sim?.stop();
  });

  async function send(command: CloudCommand, responseTopic?: string): Promise<string> {
    const requestId = `REQ${run}${n++}`;
    await client.publishAsync(
      `${BASE}/req`,
      Buffer.from(encodeRequest({ requestId, sentAtMs: Date.now(), laneId: "l1", command })),
      { qos: 1, ...(responseTopic ? { properties: { responseTopic } } : {}) },
    );
    return requestId;
  }
  const pay = (attemptId: string, amountFen: number, authCode = "134567890123456789") =>
    ({
      type: "pay",
      attemptId,
      orderRef: `O-${attemptId}`,
      amountFen,
      authCode,
      scheme: "WECHAT",
      scannedAtMs: Date.now(),
      deadlineMs: Date.now() + 60_000,
    }) as const;
  const answersTo = (requestId: string) => responses.filter((r) => r.res.requestId === requestId);

  it("answers a pay on the requesting bridge's res topic, echoing the request id", async () => {
    const id = await send(pay("ATT_PAID_1", 1234));
    await expect.poll(() => answersTo(id).length).toBe(1);
    const [a] = answersTo(id);
    expect(a?.res.result).toMatchObject({ type: "payment", status: "PAID", amountFen: 1234 });
    expect(a?.correlation).toBe(id);
  });

  it("sends WAITING_CUSTOMER and then PAID for the same request", async () => {
    const id = await send(pay("ATT_WAIT_1", 2577));
    await expect
      .poll(() => answersTo(id).map((r) => r.res.result.status))
      .toEqual(["WAITING_CUSTOMER", "PAID"]);
  });

  it("executes a duplicate pay once and answers it with the current state", async () => {
    await send(pay("ATT_DUP_1", 500));
    const again = await send(pay("ATT_DUP_1", 500));
    await expect.poll(() => answersTo(again).length).toBe(1);
    expect(sim.ledger.all().filter((e) => e.attemptId === "ATT_DUP_1")).toHaveLength(1);
    expect(sim.stats().duplicates).toBeGreaterThanOrEqual(1);
  });

  it("ignores garbage and goes on", async () => {
    const before = sim.stats().garbage;
    await client.publishAsync(`${BASE}/req`, Buffer.from([0xff, 0x00, 0x13]), { qos: 1 });
    await expect.poll(() => sim.stats().garbage).toBe(before + 1);
    const id = await send({ type: "query", attemptId: "ATT_PAID_1" });
    await expect.poll(() => answersTo(id)[0]?.res.result.status).toBe("PAID");
  });

  it("reverses on cancel", async () => {
    await send(pay("ATT_REV_1", 800));
    const id = await send({ type: "cancel", attemptId: "ATT_REV_1", reason: "test" });
    await expect.poll(() => answersTo(id)[0]?.res.result.status).toBe("CANCELLED");
  });

  it("answers a query for an attempt it never saw with FAILED ORDERNOTEXIST", async () => {
    const id = await send({ type: "query", attemptId: "ATT_NEVER_SEEN" });
    await expect
      .poll(() => answersTo(id)[0]?.res.result)
      .toMatchObject({
        status: "FAILED",
        reasonCode: "ORDERNOTEXIST",
      });
  });

  it("stays silent on an amount ending in 99, and a later query finds the attempt PAID", async () => {
    const silent = await send(pay("ATT_SILENT_1", 1299));
    const id = await send({ type: "query", attemptId: "ATT_SILENT_1" });
    await expect.poll(() => answersTo(id)[0]?.res.result.status).toBe("PAID");
    expect(answersTo(silent)).toEqual([]);
  });

  it("refunds a paid attempt once per refund id", async () => {
    await send(pay("ATT_REFUND_1", 1000));
    const refund = {
      type: "refund",
      attemptId: "ATT_REFUND_1",
      refundId: "RF_0001",
      amountFen: 400,
      reason: "r",
    } as const;
    const first = await send(refund);
    const again = await send(refund);
    await expect
      .poll(() => answersTo(again)[0]?.res.result)
      .toMatchObject({ type: "refund", status: "REFUNDED" });
    expect(answersTo(first)[0]?.res.result).toMatchObject({
      type: "refund",
      status: "REFUNDED",
      amountFen: 400,
    });
    expect(sim.ledger.get("ATT_REFUND_1")?.refundedFen).toBe(400);
  });

  it("answers on the requesting bridge's res topic even when the request asks for another", async () => {
    const id = await send(pay("ATT_DEPUTY_1", 1234), `${PREFIX}/OTHER/B9/res`);
    await expect.poll(() => answersTo(id).length).toBe(1);
    expect(answersTo(id).map((r) => r.topic)).toEqual([`${BASE}/res`]);
    expect(responses.filter((r) => r.topic !== `${BASE}/res`)).toEqual([]);
    expect(sim.stats().foreignResponseTopic).toBeGreaterThanOrEqual(1);
  });

  it("never prints a payment code in its log, only its last four digits", async () => {
    const code = "280123456789012345674321";
    const id = await send(pay("ATT_LOG_1", 1234, code));
    await expect.poll(() => answersTo(id).length).toBe(1);
    expect(logLines.join("\n")).not.toContain(code.slice(-8));
    expect(logLines.some((l) => l.includes("ATT_LOG_1") && l.includes("…4321"))).toBe(true);
  });
});

describe("cloud-sim over MQTT 3.1.1", () => {
  it("uses a plain subscription and answers from the payload alone", async () => {
    const prefix = `pbsim4-${run}/v1`;
    const sim4 = await startCloudSim({ brokerUrl: BROKER, topicPrefix: prefix, protocolVersion: 4 });
    const client4 = await mqtt.connectAsync(BROKER, { protocolVersion: 4 });
    try {
      const got: CloudResponse[] = [];
      client4.on("message", (_t, payload) => {
        const d = decodeResponse(new Uint8Array(payload));
        if (d.ok) got.push(d.value);
      });
      await client4.subscribeAsync(`${prefix}/S4/B4/res`, { qos: 1 });
      const command = { type: "query", attemptId: "ATT_V4_01" } as const;
      const bytes = encodeRequest({ requestId: "REQV4", sentAtMs: Date.now(), laneId: "l", command });
      await client4.publishAsync(`${prefix}/S4/B4/req`, Buffer.from(bytes), { qos: 1 });
      await expect.poll(() => got[0]).toMatchObject({ requestId: "REQV4", attemptId: "ATT_V4_01" });
    } finally {
      await client4.endAsync();
      await sim4.stop();
    }
  });
});
