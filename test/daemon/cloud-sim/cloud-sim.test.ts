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
  const responses: { res: CloudResponse; correlation: string }[] = [];
  let n = 0;

  beforeAll(async () => {
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      group: `g${run}`,
      confirmDelayMs: 100,
    });
    client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    client.on("message", (_t, payload, packet) => {
      const d = decodeResponse(new Uint8Array(payload));
      if (d.ok)
        responses.push({
          res: d.value,
          correlation: Buffer.from(packet.properties?.correlationData ?? []).toString(),
        });
    });
    await client.subscribeAsync(`${BASE}/res`, { qos: 1 });
  });
  afterAll(async () => {
    await client?.endAsync();
    await sim?.stop();
  });

  async function send(command: CloudCommand): Promise<string> {
    const requestId = `REQ${run}${n++}`;
    await client.publishAsync(
      `${BASE}/req`,
      Buffer.from(encodeRequest({ requestId, sentAtMs: Date.now(), laneId: "l1", command })),
      { qos: 1 },
    );
    return requestId;
  }
  const pay = (attemptId: string, amountFen: number) =>
    ({
      type: "pay",
      attemptId,
      orderRef: "O1",
      amountFen,
      authCode: "134567890123456789",
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
});
