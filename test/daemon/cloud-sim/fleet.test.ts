// The simulated cloud as a fleet: three workers on one shared subscription ($share/<group>/…)
// and one ledger, against 50 simulated bridges on a private Mosquitto. Each bridge is a plain
// mqtt.js client that publishes BridgeRequests on its own `req` and listens on its own `res`,
// and resends some pay requests under the same attempt id, at once (a resend after a lost PUBACK:
// the copy usually lands on another worker) and after the answer (a query's worth of resend).
// What must hold: every pay executed exactly once, every request answered on the requesting
// bridge's `res` and on no other, a resend answered with the attempt's current state, and the
// broker spreading the requests over the workers (Mosquitto 2 hands a shared subscription's
// messages out round robin).
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudCommand, CloudResponse, PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import { decodeResponse, encodeRequest } from "../../../daemon/cloud/proto-codec.js";
import { type CloudSim, startCloudSim } from "../../../daemon/cloud-sim/cloud-sim.js";
import { createTestBroker, type TestBroker } from "../../support/mosquitto.js";

const BRIDGES = 50;
const PAYS_PER_BRIDGE = 4;
const WORKERS = 3;
const PREFIX = "pbfleet/v1";

interface SimBridge {
  store: string;
  client: MqttClient;
  /** request id → what it asked. */
  sent: Map<string, CloudCommand>;
  responses: CloudResponse[];
  /** Responses that name a request this bridge never sent (another bridge's answer). */
  foreign: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

describe("cloud-sim fleet: 3 workers on a shared subscription, 50 bridges", () => {
  let broker: TestBroker;
  let sim: CloudSim;
  const bridges: SimBridge[] = [];
  let nextRequest = 0;
  /** attempt id → the workers its pay requests (first and resends) reached, from the sim's log. */
  const payWorkers = new Map<string, Set<string>>();

  beforeAll(async () => {
    broker = await createTestBroker();
    await broker.start();
    sim = await startCloudSim({
      brokerUrl: broker.url,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: "payments",
      workers: WORKERS,
      log: (line) => {
        const m = /^→ pay (\S+) .*\[(w\d)\]$/.exec(line);
        if (m)
          payWorkers.set(m[1] as string, (payWorkers.get(m[1] as string) ?? new Set()).add(m[2] as string));
      },
    });
    for (let i = 0; i < BRIDGES; i++) {
      const store = `S${pad(i, 3)}`;
      const client = await mqtt.connectAsync(broker.url, {
        protocolVersion: 5,
        clientId: `posbridge-${store}-B1`,
        reconnectPeriod: 0,
      });
      const bridge: SimBridge = { store, client, sent: new Map(), responses: [], foreign: 0 };
      client.on("message", (_topic, payload) => {
        const d = decodeResponse(new Uint8Array(payload));
        if (!d.ok) return;
        if (bridge.sent.has(d.value.requestId)) bridge.responses.push(d.value);
        else bridge.foreign++;
      });
      await client.subscribeAsync(`${PREFIX}/${store}/B1/res`, { qos: 1 });
      bridges.push(bridge);
    }
  });
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.client.endAsync()));
    await sim?.stop();
    await broker?.stop();
  });

  /** Publishes one request from `bridge` (a fresh request id, as the bridge does for every send). */
  function send(bridge: SimBridge, command: CloudCommand): Promise<unknown> {
    const requestId = `REQ${pad(nextRequest++, 6)}`;
    bridge.sent.set(requestId, command);
    const bytes = encodeRequest({ requestId, sentAtMs: Date.now(), laneId: "lane-1", command });
    return bridge.client.publishAsync(`${PREFIX}/${bridge.store}/B1/req`, Buffer.from(bytes), {
      qos: 1,
      properties: { responseTopic: `${PREFIX}/${bridge.store}/B1/res` },
    });
  }

  function pay(i: number, k: number): PayCommand {
    return {
      type: "pay",
      attemptId: `ATT${pad(i, 3)}X${k}`,
      orderRef: `O${pad(i, 3)}-${k}`,
      amountFen: 1000 + 100 * k + i, // ends in 00–49: plain PAID (docs/cloud-sim.md)
      authCode: `13${pad(i, 4)}${pad(k, 4)}12345678`,
      scheme: "WECHAT",
      scannedAtMs: Date.now(),
      deadlineMs: Date.now() + 60_000,
    };
  }

  const answersTo = (bridge: SimBridge, attemptId: string) =>
    bridge.responses.filter((r) => r.attemptId === attemptId);

  it("executes every pay exactly once, answers every request on its bridge's res, and spreads the load", async () => {
    // Even bridges resend each pay at once (the copy races the first to another worker); every
    // bridge resends its first pay once more after the answer came.
    await Promise.all(
      bridges.map(async (bridge, i) => {
        for (let k = 0; k < PAYS_PER_BRIDGE; k++) {
          const p = pay(i, k);
          await send(bridge, p);
          if (i % 2 === 0) await send(bridge, p);
        }
      }),
    );
    const immediateResends = (BRIDGES / 2) * PAYS_PER_BRIDGE;
    await expect
      .poll(() => bridges.every((b) => b.responses.length === b.sent.size), { timeout: 15_000 })
      .toBe(true);
    await Promise.all(
      bridges.map(async (bridge, i) => {
        await send(bridge, pay(i, 0));
        await send(bridge, { type: "query", attemptId: pay(i, 1).attemptId });
      }),
    );
    await expect
      .poll(() => bridges.every((b) => b.responses.length === b.sent.size), { timeout: 15_000 })
      .toBe(true);

    // Every request answered once, by its request id, on the bridge that sent it, and only there.
    for (const bridge of bridges) {
      expect(bridge.foreign, bridge.store).toBe(0);
      expect(new Set(bridge.responses.map((r) => r.requestId)).size).toBe(bridge.sent.size);
      for (const r of bridge.responses) expect(r.attemptId).toBe(bridge.sent.get(r.requestId)?.attemptId);
    }

    // Every pay executed exactly once: one ledger entry per attempt, charged once.
    const pays = BRIDGES * PAYS_PER_BRIDGE;
    const entries = sim.ledger.all();
    expect(entries).toHaveLength(pays);
    expect(entries.every((e) => e.status === "PAID" && e.charged)).toBe(true);
    expect(sim.stats()).toMatchObject({
      executions: pays,
      paid: pays,
      duplicates: immediateResends + BRIDGES,
    });
    const workers = sim.workers();
    expect(workers.reduce((n, w) => n + w.pays, 0)).toBe(pays);
    expect(workers.reduce((n, w) => n + w.duplicates, 0)).toBe(immediateResends + BRIDGES);

    // A resend is answered with the attempt's current state: the same PAID, the same trade number.
    for (const [i, bridge] of bridges.entries()) {
      for (let k = 0; k < PAYS_PER_BRIDGE; k++) {
        const answers = answersTo(bridge, pay(i, k).attemptId).map((r) => r.result);
        const copies = 1 + (i % 2 === 0 ? 1 : 0) + (k === 0 ? 1 : 0) + (k === 1 ? 1 : 0);
        expect(answers).toHaveLength(copies);
        const tradeNo = sim.ledger.get(pay(i, k).attemptId)?.channelTradeNo;
        for (const a of answers) expect(a).toMatchObject({ status: "PAID", channelTradeNo: tradeNo });
      }
    }

    // The broker spread the requests: each worker took a fair share (round robin: about a third).
    const total = workers.reduce((n, w) => n + w.requests, 0);
    expect(total).toBe(bridges.reduce((n, b) => n + b.sent.size, 0));
    for (const w of workers) expect(w.requests / total, w.clientId).toBeGreaterThan(0.2);
    // …and resends did land on another worker than the first copy: the shared ledger mattered.
    const crossed = [...payWorkers.values()].filter((w) => w.size > 1).length;
    expect(crossed).toBeGreaterThan(pays / 4);
  });
});
