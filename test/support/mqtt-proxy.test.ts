// The fault proxy itself: its packet splitter on hand-made bytes, then each mode between mqtt.js
// (through the proxy) and Mosquitto, with a subscriber connected to the broker directly.
import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { isPublish, MqttPacketSplitter, type MqttProxy, publishQos, startMqttProxy } from "./mqtt-proxy.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const target = { host: new URL(BROKER).hostname, port: Number(new URL(BROKER).port || 1883) };

/** MQTT variable byte integer (3.1.1 §2.2.3). */
function varint(n: number): Buffer {
  const out: number[] = [];
  let x = n;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out.push(b);
  } while (x > 0);
  return Buffer.from(out);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), varint(body.length), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** MQTT 3.1.1 CONNECT, clean session, keepalive 60 s. */
function connectPacket(clientId: string): Buffer {
  return packet(0x10, Buffer.concat([str("MQTT"), Buffer.from([4, 0x02, 0, 60]), str(clientId)]));
}

/** MQTT 3.1.1 PUBLISH; packet id only for QoS > 0. */
function publishPacket(topic: string, payload: Buffer, qos: 0 | 1 | 2, id = 1): Buffer {
  const pid = qos > 0 ? Buffer.from([id >> 8, id & 0xff]) : Buffer.alloc(0);
  return packet(0x30 | (qos << 1), Buffer.concat([str(topic), pid, payload]));
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("MqttPacketSplitter", () => {
  const packets = [
    connectPacket("c1"),
    publishPacket("a/b", Buffer.from("hello"), 1, 7),
    PINGREQ,
    publishPacket("big", Buffer.alloc(200, 0x41), 0), // 2-byte Remaining Length
    publishPacket("huge", Buffer.alloc(20_000, 0x42), 1, 9), // 3-byte Remaining Length
    Buffer.from([0xe0, 0x00]), // DISCONNECT
  ];
  const stream = Buffer.concat(packets);

  it("returns several packets that arrive in one chunk, in order", () => {
    const s = new MqttPacketSplitter();
    expect(s.push(stream)).toEqual(packets);
    expect(s.pendingBytes).toBe(0);
  });

  it("reassembles packets fed one byte at a time, the header included", () => {
    const s = new MqttPacketSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      const got = s.push(stream.subarray(i, i + 1));
      // A packet completes exactly on its last byte.
      if (got.length > 0) expect(out.reduce((n, p) => n + p.length, 0) + got[0]!.length).toBe(i + 1);
      out.push(...got);
    }
    expect(out).toEqual(packets);
  });

  it("handles chunks that end mid-header and mid-body, and a chunk holding a tail and a head", () => {
    const s = new MqttPacketSplitter();
    const out: Buffer[] = [];
    // cut points: inside the 3-byte Remaining Length of "huge", inside its body, on a boundary…
    const hugeStart = packets.slice(0, 4).reduce((n, p) => n + p.length, 0);
    const cuts = [3, 11, hugeStart + 2, hugeStart + 3, hugeStart + 500, stream.length - 1, stream.length];
    let from = 0;
    for (const to of cuts) {
      out.push(...s.push(stream.subarray(from, to)));
      from = to;
    }
    expect(out).toEqual(packets);
  });

  it("copies packets out, so later pushes do not change them", () => {
    const s = new MqttPacketSplitter();
    const input = Buffer.from(PINGREQ);
    const [p] = s.push(input);
    input[0] = 0xff;
    expect(p).toEqual(PINGREQ);
  });

  it("keeps an incomplete packet until the rest arrives, and ignores empty pushes", () => {
    const s = new MqttPacketSplitter();
    const p = publishPacket("t", Buffer.from("xyz"), 0);
    expect(s.push(p.subarray(0, 4))).toEqual([]);
    expect(s.pendingBytes).toBe(4);
    expect(s.push(Buffer.alloc(0))).toEqual([]);
    expect(s.push(p.subarray(4))).toEqual([p]);
  });

  it("rejects a Remaining Length longer than four bytes", () => {
    const s = new MqttPacketSplitter();
    expect(() => s.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/Remaining Length/);
  });

  it("accepts the largest Remaining Length (268,435,455) as a header and waits for the body", () => {
    const s = new MqttPacketSplitter();
    expect(s.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1]))).toEqual([]);
  });

  it("tells PUBLISH packets and their QoS from the fixed header", () => {
    expect(isPublish(publishPacket("t", Buffer.alloc(0), 0))).toBe(true);
    expect(publishQos(publishPacket("t", Buffer.alloc(0), 1))).toBe(1);
    expect(publishQos(publishPacket("t", Buffer.alloc(0), 2))).toBe(2);
    expect(isPublish(PINGREQ)).toBe(false);
    expect(isPublish(Buffer.from([0x40, 0x02, 0, 1]))).toBe(false); // PUBACK
  });
});

describe("startMqttProxy", () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function proxy(opts: Omit<Parameters<typeof startMqttProxy>[0], "target">): Promise<MqttProxy> {
    const p = await startMqttProxy({ target, ...opts });
    cleanups.push(() => p.stop());
    return p;
  }

  async function client(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, {
      clientId: `pbproxy-${randomUUID().slice(0, 8)}`,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      ...opts,
    });
    cleanups.push(() => c.endAsync(true));
    return c;
  }

  /** A subscriber straight on the broker, recording payloads per topic. */
  async function subscriber(topic: string) {
    const c = await client(BROKER, { protocolVersion: 5 });
    const got: Buffer[] = [];
    c.on("message", (t, payload) => {
      if (t === topic) got.push(payload);
    });
    await c.subscribeAsync(topic, { qos: 1 });
    return got;
  }

  const topicName = () => `pbtest/proxy/${randomUUID()}`;

  it("pass mode: a round trip through the proxy, with PUBLISHes counted", async () => {
    const p = await proxy({ mode: "pass" });
    expect(p.url).toBe(`mqtt://127.0.0.1:${p.port}`);
    const topic = topicName();
    const c = await client(p.url, { protocolVersion: 5 });
    const got: string[] = [];
    c.on("message", (_t, payload) => got.push(payload.toString()));
    await c.subscribeAsync(topic, { qos: 1 });
    await c.publishAsync(topic, "one", { qos: 1 });
    await c.publishAsync(topic, "two", { qos: 0 });
    await waitUntil(() => got.length === 2, "both messages back");
    expect(got).toEqual(["one", "two"]);
    expect(p.stats).toEqual({ connections: 1, publishesSeen: 2, publishesDuplicated: 0, drops: 0 });
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`duplicatePublish (MQTT ${protocolVersion === 4 ? "3.1.1" : "5"}): the subscriber gets each QoS 1 message twice`, async () => {
      const p = await proxy({ mode: "duplicatePublish" });
      const topic = topicName();
      const got = await subscriber(topic);
      const c = await client(p.url, { protocolVersion });
      const acked: string[] = [];
      for (const m of ["m1", "m2", "m3"]) {
        await c.publishAsync(topic, m, { qos: 1 });
        acked.push(m); // the client sees its publish acknowledged (the extra PUBACK is ignored)
      }
      await waitUntil(() => got.length === 6, "six deliveries");
      await sleep(100); // and no more than that
      expect(got.map(String)).toEqual(["m1", "m1", "m2", "m2", "m3", "m3"]);
      expect(acked).toHaveLength(3);
      expect(p.stats.publishesSeen).toBe(3);
      expect(p.stats.publishesDuplicated).toBe(3);
      // The client connection survives duplicate acknowledgements.
      expect(c.connected).toBe(true);
    });
  }

  it("duplicatePublish: a payload spread over many TCP chunks is copied whole", async () => {
    const p = await proxy({ mode: "duplicatePublish" });
    const topic = topicName();
    const got = await subscriber(topic);
    const c = await client(p.url, { protocolVersion: 5 });
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    await c.publishAsync(topic, payload, { qos: 1 });
    await waitUntil(() => got.length === 2, "two deliveries of the big message");
    expect(got[0]!.equals(payload)).toBe(true);
    expect(got[1]!.equals(payload)).toBe(true);
  });

  it("duplicatePublish: packets written one byte at a time are still found and copied", async () => {
    const p = await proxy({ mode: "duplicatePublish" });
    const topic = topicName();
    const got = await subscriber(topic);
    const sock: Socket = connect(p.port, "127.0.0.1");
    sock.setNoDelay(true);
    cleanups.push(() => sock.destroy());
    let received = Buffer.alloc(0);
    sock.on("data", (b: Buffer) => {
      received = Buffer.concat([received, b]);
    });
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    const bytes = Buffer.concat([
      connectPacket(`pbproxy-raw-${randomUUID().slice(0, 8)}`),
      publishPacket(topic, Buffer.from("bytewise"), 1, 42),
    ]);
    for (const b of bytes) {
      sock.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => got.length === 2, "two deliveries");
    expect(got.map(String)).toEqual(["bytewise", "bytewise"]);
    // CONNACK, then a PUBACK for packet id 42 for each copy.
    const puback = Buffer.from([0x40, 0x02, 0x00, 42]);
    await waitUntil(() => received.length >= 4 + 2 * puback.length, "CONNACK and two PUBACKs");
    expect(received.subarray(0, 2)).toEqual(Buffer.from([0x20, 0x02]));
    expect(received.subarray(4)).toEqual(Buffer.concat([puback, puback]));
    expect(p.stats.publishesSeen).toBe(1);
  });

  it("dropAfterPublish: the connection dies right after the n-th PUBLISH, which the broker did get", async () => {
    const p = await proxy({ mode: "dropAfterPublish", dropEvery: 3 });
    const topic = topicName();
    const got = await subscriber(topic);
    const c = await client(p.url, { protocolVersion: 5 });
    let closed = false;
    c.on("close", () => {
      closed = true;
    });
    await c.publishAsync(topic, "1", { qos: 1 });
    await c.publishAsync(topic, "2", { qos: 1 });
    expect(closed).toBe(false);
    let thirdAcked = false;
    c.publish(topic, "3", { qos: 1 }, (err) => {
      if (!err) thirdAcked = true;
    });
    await waitUntil(() => closed, "the client connection to close");
    await waitUntil(() => got.length === 3, "the third message at the subscriber");
    expect(got.map(String)).toEqual(["1", "2", "3"]);
    expect(thirdAcked).toBe(false); // in flight: delivered, never acknowledged to the client
    expect(p.stats).toMatchObject({ connections: 1, publishesSeen: 3, drops: 1 });
  });

  it("dropAfterPublish: a reconnecting client resends the unacknowledged message, so it arrives twice", async () => {
    const p = await proxy({ mode: "dropAfterPublish", dropEvery: 2 });
    const topic = topicName();
    const got = await subscriber(topic);
    const c = await client(p.url, { protocolVersion: 5, reconnectPeriod: 50, clean: false });
    await c.publishAsync(topic, "a", { qos: 1 });
    // The 2nd PUBLISH kills the connection; mqtt.js resends it (3rd) on the new one, which survives.
    await c.publishAsync(topic, "b", { qos: 1 });
    await waitUntil(() => got.length === 3, "three deliveries");
    expect(got.map(String)).toEqual(["a", "b", "b"]);
    expect(p.stats.connections).toBe(2);
    expect(p.stats.drops).toBe(1);
  });

  it("dropAll closes every open connection now; clients that reconnect come back through the proxy", async () => {
    const p = await proxy({ mode: "pass" });
    const a = await client(p.url, { reconnectPeriod: 50 });
    const b = await client(p.url, { reconnectPeriod: 50 });
    let closes = 0;
    for (const c of [a, b]) c.on("close", () => closes++);
    p.dropAll();
    await waitUntil(() => closes >= 2, "both clients to see the drop");
    expect(p.stats.drops).toBe(2);
    await waitUntil(() => a.connected && b.connected, "both clients to reconnect");
    expect(p.stats.connections).toBe(4);
  });

  it("stop closes the listener: new connections are refused", async () => {
    const p = await startMqttProxy({ target, mode: "pass" });
    await p.stop();
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const s = connect(p.port, "127.0.0.1");
      s.once("error", resolve);
      s.once("connect", () => {
        s.destroy();
        resolve(new Error("connected") as NodeJS.ErrnoException);
      });
    });
    expect(err.code).toBe("ECONNREFUSED");
  });

  it("rejects a dropEvery that is not a positive integer", async () => {
    await expect(startMqttProxy({ target, mode: "dropAfterPublish", dropEvery: 0 })).rejects.toThrow(
      /dropEvery/,
    );
  });
});
