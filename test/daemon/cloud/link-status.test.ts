// The link's states (connecting, online, refused, offline) and what each change does: logged once,
// not once per retry; lanes told; the retained status saying why. A scripted stand-in for the mqtt.js
// client plays the broker (CONNACK, SUBACK, PUBACK, close) on a manual clock; what it imitates of
// mqtt.js's callbacks is pinned to the installed version by mqtt-internals.test.ts.
import { EventEmitter } from "node:events";
import type { IClientOptions, MqttClient } from "mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { bridgeTopics } from "../../../protocols/cloud/topics.js";
import { ManualClock } from "../../../daemon/clock.js";
import {
  HOLD_OFF_MIN_MS,
  type LinkStatus,
  MqttLink,
  type PublishRefusal,
} from "../../../daemon/cloud/mqtt-link.js";
import type { MqttConfig } from "../../../daemon/config/config-types.js";

const topics = bridgeTopics("pbtest/v1", "S1", "B1");

type Callback = (err?: Error | null) => void;

class FakeClient extends EventEmitter {
  connected = false;
  stream = { setNoDelay: () => {} };
  outgoing: Record<string, { cmd: string; topic: string; cb: Callback }> = {};
  queue: unknown[] = [];
  connects = 0;
  /** Throw from connect()/reconnect() this many more times (a stream builder that throws). */
  throwOnConnect = 0;
  subscribes: Callback[] = [];
  publishes: { topic: string; payload: Buffer; opts: { qos?: number; retain?: boolean }; cb?: Callback }[] =
    [];
  ended: { force: boolean } | undefined;
  private nextId = 1;

  connect(): this {
    this.connects++;
    if (this.throwOnConnect > 0) {
      this.throwOnConnect--;
      throw Object.assign(new Error("error:05800074:x509 certificate routines::key values mismatch"), {
        code: "ERR_OSSL_X509_KEY_VALUES_MISMATCH",
      });
    }
    return this;
  }
  reconnect(): this {
    return this.connect();
  }
  subscribe(_topic: string, _opts: unknown, cb: Callback): this {
    this.subscribes.push(cb);
    return this;
  }
  publish(topic: string, payload: Buffer, opts: { qos?: number; retain?: boolean }, cb?: Callback): this {
    if ((opts.qos ?? 0) > 0)
      this.outgoing[String(this.nextId++)] = { cmd: "publish", topic, cb: cb ?? (() => {}) };
    this.publishes.push({ topic, payload, opts, ...(cb ? { cb } : {}) });
    return this;
  }
  removeOutgoingMessage(id: number): this {
    const entry = this.outgoing[String(id)];
    delete this.outgoing[String(id)];
    entry?.cb(new Error("Message removed"));
    return this;
  }
  end(force: boolean, _opts: unknown, cb: () => void): this {
    this.ended = { force };
    const was = this.connected;
    this.connected = false;
    if (was) this.emit("close");
    cb();
    return this;
  }

  // ── the broker's side ──
  accept(): void {
    this.connected = true;
    this.emit("connect", {});
  }
  refuseConnect(reasonCode: number, name: string): void {
    this.emit("error", Object.assign(new Error(`Connection refused: ${name}`), { code: reasonCode }));
    this.emit("close");
  }
  fail(code: string, port?: number): void {
    const where = port === undefined ? {} : { address: "127.0.0.1", port };
    this.emit(
      "error",
      Object.assign(new Error(`connect ${code} 127.0.0.1:${port ?? 1883}`), { code, ...where }),
    );
    this.emit("close");
  }
  drop(): void {
    this.connected = false;
    this.emit("close");
  }
  suback(reasonCode?: number): void {
    const cb = this.subscribes.shift();
    if (reasonCode === undefined) cb?.(null);
    else
      cb?.(
        Object.assign(new Error("Subscribe error: Not authorized"), { packet: { granted: [reasonCode] } }),
      );
  }
  /** Acknowledges (or refuses) the oldest unacknowledged publish to `topic`. */
  puback(reasonCode?: number, topic = topics.req): void {
    const [id, entry] = Object.entries(this.outgoing).find(([, e]) => e.topic === topic) ?? [];
    if (!id || !entry) throw new Error("nothing to acknowledge");
    delete this.outgoing[id];
    entry.cb(
      reasonCode === undefined ? null : Object.assign(new Error("Publish error"), { code: reasonCode }),
    );
  }
  statuses(): { online: boolean; reason: string }[] {
    return this.publishes
      .filter((p) => p.topic === topics.status)
      .map((p) => JSON.parse(p.payload.toString()));
  }
}

function config(over: Partial<MqttConfig> = {}): MqttConfig {
  return {
    url: "mqtt://127.0.0.1:1883",
    topicPrefix: "pbtest/v1",
    protocolVersion: 5,
    keepaliveSec: 30,
    reconnectMinMs: 1000,
    reconnectMaxMs: 8000,
    connectTimeoutMs: 5000,
    ...over,
  };
}

function setup(over: Partial<MqttConfig> = {}) {
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const client = new FakeClient();
  let options: IClientOptions | undefined;
  const link = new MqttLink({
    config: config(over),
    clientId: "pbtest",
    topics,
    clock,
    log,
    random: () => 0.5,
    statusPayload: (online, reason) => Buffer.from(JSON.stringify({ online, reason })),
    createClient: (_url, o) => {
      options = o;
      return client as unknown as MqttClient;
    },
  });
  const changes: LinkStatus[] = [];
  const online: boolean[] = [];
  link.onStatusChange((s) => changes.push(s));
  link.onOnlineChange((o) => online.push(o));
  const msgs = (pred: (l: Record<string, unknown>) => boolean = () => true) =>
    lines.filter(pred).map((l) => l.msg as string);
  return { clock, lines, client, link, changes, online, msgs, options: () => options };
}

describe("MqttLink states", () => {
  it("is online only once the broker granted the responses subscription, and says so once", () => {
    const t = setup();
    t.link.start();
    expect(t.link.status.state).toBe("connecting");
    expect(t.options()?.manualConnect).toBe(true);
    t.client.accept();
    expect(t.link.isOnline).toBe(false); // connected, but not able to hear answers yet
    expect(t.client.statuses()).toEqual([]);
    t.client.suback();
    expect(t.link.isOnline).toBe(true);
    expect(t.link.status).toMatchObject({ state: "online", code: undefined, reason: "" });
    expect(t.online).toEqual([true]);
    expect(t.client.statuses()).toEqual([{ online: true, reason: "" }]);
    expect(t.msgs((l) => (l.level as number) >= 30)).toEqual(["connecting to broker", "broker connected"]);
  });

  it("an unreachable broker is one line per change, not one per retry, with growing back-off", () => {
    const t = setup();
    t.link.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = t.client.connects;
      t.client.fail("ECONNREFUSED");
      let waited = 0;
      while (t.client.connects === before) {
        t.clock.advance(100);
        waited += 100;
      }
      delays.push(waited);
    }
    // min 1000, doubling, cap 8000, random 0.5 → half-way between min and the ceiling
    expect(delays).toEqual([1000, 1500, 2500, 4500, 4500, 4500]);
    const warnings = t.lines.filter((l) => (l.level as number) >= 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      state: "offline",
      errCode: "PB_MQTT_CONNECT",
      reason: "nothing listens on the broker's port (ECONNREFUSED)",
      msg: "broker unreachable; retrying in the background",
    });
    expect(t.msgs((l) => l.msg === "reconnecting to broker")).toHaveLength(6); // at debug only
    expect(t.lines.filter((l) => l.msg === "reconnecting to broker").every((l) => l.level === 20)).toBe(true);
    t.client.accept();
    t.client.suback();
    expect(t.msgs((l) => l.msg === "broker connected")).toHaveLength(1);
    expect(t.lines.find((l) => l.msg === "broker connected")).toMatchObject({ attempts: 7 });
    expect(t.changes.map((c) => c.state)).toEqual(["connecting", "offline", "online"]);
  });

  it("a connection lost is one warning; the back-off is forgotten only after a healthy connection", () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    t.clock.advance(5_000); // up less than HEALTHY_MS
    t.client.drop();
    expect(t.link.status).toMatchObject({
      state: "offline",
      code: "PB_MQTT_CONNECT",
      reason: "connection lost",
    });
    expect(t.msgs((l) => l.level === 40)).toEqual(["broker connection lost"]);
    t.clock.advance(1000);
    t.client.accept();
    t.client.suback();
    t.clock.advance(100);
    t.client.drop(); // a flap: accepted and dropped at once (two bridges with one client id)
    const before = t.client.connects;
    t.clock.advance(1400);
    expect(t.client.connects).toBe(before); // backing off further, not 1 s again
    t.clock.advance(100);
    expect(t.client.connects).toBe(before + 1);
  });

  it("bad credentials are PB_MQTT_AUTH, state refused, retried at the slow pace and never given up", () => {
    const t = setup();
    t.link.start();
    for (let i = 0; i < 20; i++) {
      const before = t.client.connects;
      t.client.refuseConnect(0x86, "Bad User Name or Password");
      expect(t.link.status).toMatchObject({ state: "refused", code: "PB_MQTT_AUTH", reasonCode: 0x86 });
      t.clock.advance(29_000);
      expect(t.client.connects).toBe(before);
      t.clock.advance(1_000);
      expect(t.client.connects).toBe(before + 1);
    }
    const errors = t.lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      errCode: "PB_MQTT_AUTH",
      reason: "broker refused the connection: 0x86 bad user name or password",
      reasonCode: "0x86",
      retry: "slow",
    });
    expect(String(errors[0]?.fix)).toContain("mqtt.username");
    expect(t.link.isOnline).toBe(false);
  });

  it("MQTT 3.1.1 CONNACK code 5 is PB_MQTT_AUTH too", () => {
    const t = setup({ protocolVersion: 4 });
    t.link.start();
    t.client.refuseConnect(5, "Not authorized");
    expect(t.link.status).toMatchObject({
      state: "refused",
      code: "PB_MQTT_AUTH",
      reason: "broker refused the connection: 5 not authorized",
    });
  });

  it("a refused subscription to res: not online, the status says why, retried slowly, online once granted", () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback(0x87);
    expect(t.link.isOnline).toBe(false);
    expect(t.link.status).toMatchObject({
      state: "refused",
      code: "PB_MQTT_REFUSED",
      reason: `subscription to ${topics.res} refused: 0x87 not authorized`,
    });
    expect(t.client.statuses()).toEqual([
      {
        online: false,
        reason: `subscription to ${topics.res} refused: 0x87 not authorized (PB_MQTT_REFUSED)`,
      },
    ]);
    expect(t.link.publishRequest(Uint8Array.of(1), { requestId: "R1", expirySec: 30 })).toBe(false);
    const error = t.lines.find((l) => l.level === 50);
    expect(error).toMatchObject({ errCode: "PB_MQTT_REFUSED", topic: topics.res });
    expect(String(error?.fix)).toContain("Broker ACL");
    t.clock.advance(23_000);
    expect(t.client.subscribes).toHaveLength(0);
    t.clock.advance(10_000);
    expect(t.client.subscribes).toHaveLength(1);
    t.client.suback(0x87); // still refused: no new line
    expect(t.lines.filter((l) => l.level === 50)).toHaveLength(1);
    t.clock.advance(40_000);
    t.client.suback();
    expect(t.link.isOnline).toBe(true);
    expect(t.msgs().at(-1)).toBe("broker connected");
    expect(t.client.statuses().at(-1)).toEqual({ online: true, reason: "" });
  });

  it("a refused request: onAck says refused, requests are held back 5, 10, 20, 30 s, then probed again", () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    const holds: number[] = [];
    const acks: [boolean, PublishRefusal | undefined][] = [];
    for (let i = 0; i < 5; i++) {
      expect(
        t.link.publishRequest(Uint8Array.of(i), { requestId: `R${i}`, expirySec: 30 }, (a, r) =>
          acks.push([a, r]),
        ),
      ).toBe(true);
      t.client.puback(0x87);
      expect(t.link.isOnline).toBe(false);
      expect(t.link.status).toMatchObject({
        state: "refused",
        code: "PB_MQTT_REFUSED",
        reason: `publish to ${topics.req} refused: 0x87 not authorized`,
      });
      let held = 0;
      while (!t.link.isOnline) {
        t.clock.advance(1000);
        held += 1000;
      }
      holds.push(held);
    }
    expect(holds).toEqual([HOLD_OFF_MIN_MS, 10_000, 20_000, 30_000, 30_000]);
    expect(t.msgs((l) => l.msg === "requests allowed again; the next one probes the broker")).toHaveLength(1);
    expect(t.msgs((l) => l.msg === "broker connected")).toHaveLength(1); // still the same connection
    expect(acks[0]).toEqual([false, { reasonCode: 0x87, name: "0x87 not authorized" }]);
    const refused = t.lines.filter((l) => l.errCode === "PB_MQTT_REFUSED" && l.topic === topics.req);
    expect(refused[0]).toMatchObject({
      level: 50,
      reason: "0x87 not authorized",
      requestId: "R0",
      msg: `broker refused a request published to ${topics.req}: 0x87 not authorized (PB_MQTT_REFUSED)`,
    });
    expect(refused.length).toBeLessThan(5); // repeats counted, not written
    // A request the broker takes ends the doubling.
    t.link.publishRequest(Uint8Array.of(9), { requestId: "R9", expirySec: 30 }, () => {});
    t.client.puback();
    t.link.publishRequest(Uint8Array.of(9), { requestId: "R10", expirySec: 30 }, () => {});
    t.client.puback(0x87);
    let held = 0;
    while (!t.link.isOnline) {
      t.clock.advance(1000);
      held += 1000;
    }
    expect(held).toBe(HOLD_OFF_MIN_MS);
  });

  it("an ack lost to a dropped link is not a refusal", () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    const acks: unknown[][] = [];
    t.link.publishRequest(Uint8Array.of(1), { requestId: "R1", expirySec: 30 }, (...a) => acks.push(a));
    t.client.drop(); // the link drops the unacknowledged publish: "Message removed"
    expect(acks).toEqual([[false]]);
    expect(t.link.status.state).toBe("offline");
  });

  it("a connect that throws (the stream builder) fails that attempt only: logged, retried, connected", () => {
    const t = setup();
    t.client.throwOnConnect = 3;
    t.link.start();
    expect(t.link.status).toMatchObject({ state: "offline", code: "PB_MQTT_CONNECT" });
    expect(t.link.status.reason).toContain("connecting threw: error:05800074");
    t.clock.advance(10_000);
    expect(t.client.connects).toBe(4);
    t.client.accept();
    t.client.suback();
    expect(t.link.isOnline).toBe(true);
    const warned = t.lines.filter((l) => (l.level as number) >= 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ errCode: "PB_MQTT_CONNECT" });
  });

  it("the broker ending the session for another client with our id is PB_MQTT_REFUSED and slow", () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    t.client.emit("disconnect", { cmd: "disconnect", reasonCode: 0x8e });
    t.client.drop();
    expect(t.link.status).toMatchObject({
      state: "refused",
      code: "PB_MQTT_REFUSED",
      reason: "broker ended the connection: 0x8e session taken over",
    });
    const before = t.client.connects;
    t.clock.advance(20_000);
    expect(t.client.connects).toBe(before);
  });

  it("a clean stop publishes online=false 'stopped', waits for its ack, ends gracefully and logs at info", async () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    const stopping = t.link.stop();
    expect(t.client.statuses().at(-1)).toEqual({ online: false, reason: "stopped" });
    expect(t.client.ended).toBeUndefined(); // waiting for the PUBACK
    t.client.puback(undefined, topics.status);
    await stopping;
    expect(t.client.ended).toEqual({ force: false }); // DISCONNECT: the broker drops the Will
    expect(t.msgs((l) => (l.level as number) >= 40)).toEqual([]);
    expect(t.msgs().at(-1)).toBe("disconnected from broker");
    expect(t.changes.map((c) => c.state)).toEqual(["connecting", "online"]); // none after stop
    expect(t.link.status).toMatchObject({ state: "offline", reason: "stopped" });
  });

  it("a stop whose status is never acknowledged ends anyway, within 2 s, by cutting the connection", async () => {
    const t = setup();
    t.link.start();
    t.client.accept();
    t.client.suback();
    const stopping = t.link.stop();
    t.clock.advance(2_000);
    await stopping;
    expect(t.client.ended).toEqual({ force: true });
  });

  it("the Will says offline with its own reason", () => {
    const t = setup();
    t.link.start();
    const will = t.options()?.will;
    expect(will).toMatchObject({ topic: topics.status, qos: 1, retain: true });
    expect(JSON.parse(String(will?.payload))).toEqual({
      online: false,
      reason: "no goodbye: connection lost or bridge crashed (Last Will)",
    });
  });
});

/** A link to a broker cluster: each node's client is its own FakeClient, made on demand. */
function setupCluster(urls: string[]) {
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const made: { url: string; client: FakeClient }[] = [];
  const link = new MqttLink({
    config: config({ url: urls }),
    clientId: "pbtest",
    topics,
    clock,
    log,
    random: () => 0.5,
    statusPayload: (online, reason) => Buffer.from(JSON.stringify({ online, reason })),
    createClient: (url) => {
      const client = new FakeClient();
      made.push({ url, client });
      return client as unknown as MqttClient;
    },
  });
  const current = () => made.at(-1) as { url: string; client: FakeClient };
  /** Advances the clock until the link makes its next attempt (a new client, or a reconnect). */
  const untilNextAttempt = () => {
    const clients = made.length;
    const connects = current().client.connects;
    for (let waited = 0; made.length === clients && current().client.connects === connects; waited += 100) {
      if (waited > 60_000) throw new Error("no new attempt");
      clock.advance(100);
    }
  };
  return { clock, lines, made, link, current, untilNextAttempt };
}

describe("MqttLink on a broker cluster (mqtt.url a list)", () => {
  const urls = ["mqtt://127.0.0.1:24241", "mqtt://127.0.0.1:24242", "mqtt://127.0.0.1:24243"];

  it("each failed attempt moves on to the next node, round the list; each node's failure is one line per outage", () => {
    const t = setupCluster(urls);
    t.link.start();
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 3; n++) {
        expect(t.current().url).toBe(urls[n]);
        expect(t.link.status.node).toBe(urls[n]);
        t.current().client.fail("ECONNREFUSED", 24241 + n);
        t.untilNextAttempt();
      }
    }
    expect(t.made.map((m) => m.url)).toEqual([...urls, ...urls, ...urls, urls[0]]);
    // The node left behind is closed for good: its client ended, its events reach no one.
    expect(t.made.slice(0, -1).every((m) => m.client.ended?.force === true)).toBe(true);
    const warnings = t.lines.filter((l) => (l.level as number) >= 40);
    expect(warnings.map((l) => [l.url, l.reason])).toEqual(
      urls.map((u, n) => [u, `nothing listens on the broker's port: 127.0.0.1:${24241 + n} (ECONNREFUSED)`]),
    );
    t.current().client.accept();
    t.current().client.suback();
    expect(t.link.isOnline).toBe(true);
    expect(t.lines.find((l) => l.msg === "connecting to broker")).toMatchObject({
      url: urls[0],
      nodes: urls,
    });
    expect(t.lines.filter((l) => l.msg === "broker connected")).toMatchObject([
      { url: urls[0], node: "1/3", attempts: 10 },
    ]);
  });

  it("a lost connection fails over to the next node: one line lost, one connected naming the new node", () => {
    const t = setupCluster(urls);
    t.link.start();
    const first = t.current().client;
    first.accept();
    first.suback();
    expect(t.link.status).toMatchObject({ state: "online", node: urls[0], nodes: 3 });
    first.drop(); // node 1 killed
    expect(t.link.status).toMatchObject({ state: "offline", reason: "connection lost", node: urls[1] });
    t.untilNextAttempt();
    expect(t.current().url).toBe(urls[1]);
    t.current().client.accept();
    t.current().client.suback();
    expect(t.link.status).toMatchObject({ state: "online", node: urls[1] });
    expect(t.lines.filter((l) => l.state !== undefined).map((l) => [l.msg, l.url, l.node ?? ""])).toEqual([
      ["connecting to broker", urls[0], ""],
      ["broker connected", urls[0], "1/3"],
      ["broker connection lost", urls[0], ""],
      ["broker connected", urls[1], "2/3"],
    ]);
    // What the dead node's client still emits changes nothing (and an 'error' does not throw).
    first.emit("error", new Error("late"));
    first.emit("close");
    expect(t.link.status).toMatchObject({ state: "online", node: urls[1] });
    // A later outage is logged again: once per outage, not once per process.
    t.current().client.drop();
    expect(t.lines.filter((l) => l.msg === "broker connection lost")).toHaveLength(2);
  });

  it("a single URL keeps one client and reconnects it", () => {
    const t = setupCluster([urls[0] as string]);
    t.link.start();
    for (let i = 0; i < 3; i++) {
      t.current().client.fail("ECONNREFUSED", 24241);
      t.untilNextAttempt();
    }
    expect(t.made).toHaveLength(1);
    expect(t.current().client.connects).toBe(4);
    expect(t.link.status).toMatchObject({ node: urls[0], nodes: 1 });
  });
});
