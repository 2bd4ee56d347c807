// The broker link against a private Mosquitto that the test kills and restarts.
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import mqtt, { type IClientOptions } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeTopics } from "../../../protocols/cloud/topics.js";
import { systemClock } from "../../../daemon/clock.js";
import { MqttLink } from "../../../daemon/cloud/mqtt-link.js";
import { decodeStatus, encodeStatus } from "../../../daemon/cloud/proto-codec.js";
import type { MqttConfig } from "../../../daemon/config/config-types.js";
import { createTestBroker, type TestBroker } from "../../support/mosquitto.js";

const topics = bridgeTopics("pbtest/v1", "S1", "B1");
const log = pino({ level: "silent" });

function config(url: string, protocolVersion: 4 | 5 = 5): MqttConfig {
  return {
    url,
    topicPrefix: "pbtest/v1",
    protocolVersion,
    keepaliveSec: 5,
    reconnectMinMs: 100,
    reconnectMaxMs: 400,
    connectTimeoutMs: 2000,
  };
}

function newLink(
  url: string,
  protocolVersion: 4 | 5 = 5,
  createClient?: (url: string, options: IClientOptions) => mqtt.MqttClient,
) {
  return new MqttLink({
    ...(createClient ? { createClient } : {}),
    config: config(url, protocolVersion),
    clientId: `pbtest-${Math.random().toString(36).slice(2)}`,
    topics,
    clock: systemClock,
    log,
    statusPayload: (online, reason) =>
      encodeStatus({ online, version: "test", sinceMs: 1, lanes: [], reason }),
  });
}

async function watchStatus(url: string) {
  const seen: boolean[] = [];
  const reasons: string[] = [];
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 100 });
  client.on("message", (_t, payload) => {
    const s = decodeStatus(new Uint8Array(payload));
    if (s.ok) {
      seen.push(s.value.online);
      reasons.push(s.value.reason);
    }
  });
  await client.subscribeAsync(topics.status, { qos: 1 });
  return { seen, reasons, close: () => client.endAsync() };
}

describe("MqttLink", () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await createTestBroker();
    await broker.start();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("publishes a retained online status, and offline itself on a clean stop", async () => {
    const link = newLink(broker.url);
    link.start();
    await expect.poll(() => link.isOnline).toBe(true);
    const watch = await watchStatus(broker.url);
    await expect.poll(() => watch.seen.at(-1)).toBe(true); // retained
    await link.stop();
    await expect.poll(() => watch.seen.at(-1)).toBe(false);
    expect(watch.reasons.at(-1)).toBe("stopped"); // ours, not the Will's
    await watch.close();
  });

  it("the Last Will says offline when the connection dies without a goodbye", async () => {
    const link = newLink(broker.url);
    link.start();
    await expect.poll(() => link.isOnline).toBe(true);
    const watch = await watchStatus(broker.url);
    await expect.poll(() => watch.seen.at(-1)).toBe(true);
    // Kill the TCP connection under the client, as a crash or a cable pull would.
    (link as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await expect.poll(() => watch.seen.includes(false)).toBe(true);
    expect(watch.reasons).toContain("no goodbye: connection lost or bridge crashed (Last Will)");
    // …and it comes back by itself, saying online again.
    await expect.poll(() => link.isOnline, { timeout: 5000 }).toBe(true);
    await expect.poll(() => watch.seen.at(-1)).toBe(true);
    await link.stop();
    await watch.close();
  });

  it("refuses to queue requests while the broker is down and reconnects when it returns", async () => {
    const link = newLink(broker.url);
    const changes: boolean[] = [];
    link.onOnlineChange((o) => changes.push(o));
    link.start();
    await expect.poll(() => link.isOnline).toBe(true);
    await broker.stop();
    await expect.poll(() => link.isOnline).toBe(false);
    expect(link.publishRequest(Uint8Array.of(1, 2, 3), { requestId: "R1", expirySec: 30 })).toBe(false);
    expect(link.counters.refusedOffline).toBe(1);
    await broker.start();
    await expect.poll(() => link.isOnline, { timeout: 8000 }).toBe(true);
    expect(changes).toEqual([true, false, true]);
    await link.stop();
  });

  it("a stream builder that throws fails those attempts only: the link retries and connects", async () => {
    let throws = 2;
    let builds = 0;
    const link = newLink(broker.url, 5, (_url, options) => {
      return new mqtt.MqttClient(() => {
        builds++;
        if (throws-- > 0) throw new Error("error:05800074:x509 certificate routines::key values mismatch");
        return netConnect(broker.port, "127.0.0.1");
      }, options);
    });
    link.start();
    expect(link.status).toMatchObject({ state: "offline", code: "PB_MQTT_CONNECT" });
    await expect.poll(() => link.isOnline, { timeout: 5000 }).toBe(true);
    expect(builds).toBe(3);
    await link.stop();
  });

  it("between CONNACK and SUBACK: connected, not online, and mqtt.js holds only the SUBSCRIBE", async () => {
    // A broker that accepts the connection and sits on the subscription: the window every
    // reconnect passes through. The stats line tells it apart from an offline queue (mqttConnected).
    const held: Buffer[] = [];
    const sockets = new Set<Socket>();
    const slow = createServer((socket) => {
      sockets.add(socket);
      socket.once("data", () => {
        socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, 3.1.1, accepted
        socket.on("data", (chunk) => held.push(chunk)); // the SUBSCRIBE, never granted
      });
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    const port = (slow.address() as AddressInfo).port;
    const link = newLink(`mqtt://127.0.0.1:${port}`, 4);
    try {
      expect(link.isConnected).toBe(false);
      link.start();
      await expect.poll(() => held.length).toBeGreaterThan(0);
      expect(held[0]?.[0]).toBe(0x82); // SUBSCRIBE
      expect(link.isConnected).toBe(true);
      expect(link.isOnline).toBe(false);
      expect(link.queueDepth()).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await link.stop();
      await new Promise<void>((r) => slow.close(() => r()));
    }
    expect(link.isConnected).toBe(false);
  });

  it("works over MQTT 3.1.1 too", async () => {
    const link = newLink(broker.url, 4);
    link.start();
    await expect.poll(() => link.isOnline).toBe(true);
    expect(link.publishRequest(Uint8Array.of(1), { requestId: "R2", expirySec: 30 })).toBe(true);
    await link.stop();
  });
});
