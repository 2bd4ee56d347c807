// A store on a broker cluster: three nats-server nodes joined by routes, each with JetStream and
// its MQTT front end (MQTT 3.1.1 only, so the bridge runs with protocolVersion 4). The bridge
// (the built daemon) has mqtt.url = [node 1, node 2, node 3] and connects to node 1; the
// simulated cloud answers on node 3. A sale is paid; node 1 is SIGKILLed; the bridge moves on to
// the next node by itself and a second sale is paid through it. The failover takes as long as
// the cluster needs to elect new JetStream leaders for what node 1 led: well under a second when
// node 1 led nothing, some 10–30 s when it led the MQTT streams. Until then a surviving node
// cannot load the bridge's MQTT session (it answers the CONNECT late, or closes it) or make its
// subscription (SUBACK failure), and the bridge keeps trying, node after node.
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../daemon/clock.js";
import { MqttLink } from "../../daemon/cloud/mqtt-link.js";
import { encodeStatus } from "../../daemon/cloud/proto-codec.js";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { bridgeTopics } from "../../protocols/cloud/topics.js";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { withinMs } from "../support/deadline.js";
import { type NatsCluster, startNatsCluster } from "../support/nats-cluster.js";

describe("a bridge on a three-node NATS cluster", () => {
  let cluster: NatsCluster;
  let rig: BridgeRig;
  let sim: CloudSim;
  const node = (i: number) => cluster.nodes[i - 1] as NonNullable<NatsCluster["nodes"][number]>;

  // The fixture: the cluster, the bridge on it and the cloud. Now and then (in CI, and 1 start in
  // 3 here, then none in 20) the start hung until the hook's time-out. Where was not caught; the
  // waits that could last for good were MQTT exchanges with a cluster still placing its streams
  // (the warm-up's and the rig's watcher's CONNECT and SUBSCRIBE). Those are bounded now
  // (test/support/deadline.ts), and a start not done within SETUP_MS is torn down and made
  // again, once, saying what it was stuck on.
  const SETUP_MS = 50_000;
  let attempt = 0;
  const setUp = async (mine: number) => {
    const stale = () => mine !== attempt;
    const c = await startNatsCluster({ size: 3 });
    if (stale()) return void (await c.stop());
    cluster = made.cluster = c;
    step = "the bridge (its watcher, the daemon)";
    const r = await startBridgeRig({
      name: "cluster",
      broker: c.nodes.map((n) => n.mqttUrl),
      protocolVersion: 4,
      // A dead node is seen at once (its port refuses); a node that cannot answer yet is given
      // 5 s (NATS waits up to 4 s on JetStream before it answers a CONNECT), then the next one.
      mqtt: "keepaliveSec: 5, connectTimeoutMs: 5000, reconnectMaxMs: 1000",
      // A result lost while the cluster recovers is asked for again within a second.
      extraConfig: "sale: { firstQueryMs: 1000, queryIntervalMs: 1000 }",
      watchBroker: c.nodes[2]?.mqttUrl,
    });
    if (stale()) return void (await r.stop());
    rig = made.rig = r;
    step = "the simulated cloud";
    const s = await startCloudSim({
      brokerUrl: c.nodes[2]?.mqttUrl as string,
      topicPrefix: r.prefix,
      protocolVersion: 4,
    });
    if (stale()) return void (await s.stop());
    sim = made.sim = s;
  };
  let step = "";
  /** What the current start has made, stopped once by tearDown. */
  let made: { cluster?: NatsCluster; rig?: BridgeRig; sim?: CloudSim } = {};
  const tearDown = async () => {
    const m = made;
    made = {};
    await m.rig?.stop();
    await m.sim?.stop();
    await m.cluster?.stop();
  };

  beforeAll(
    async () => {
      for (;;) {
        const mine = ++attempt;
        step = "the NATS cluster";
        try {
          await withinMs(setUp(mine), SETUP_MS, () => `starting ${step}`);
          return;
        } catch (err) {
          attempt++; // whatever the stuck start still makes is stopped as soon as it is made
          await tearDown();
          if (mine > 1) throw err; // the second start failed too: something is wrong, not slow
          process.stderr.write(`cluster-failover: ${(err as Error).message}; starting afresh\n`);
        }
      }
    },
    2 * SETUP_MS + 15_000,
  );
  afterAll(tearDown);

  it("NATS grants a $share subscription but delivers nothing to it: a cloud on NATS subscribes plainly", async () => {
    // What docs/cloud-contract.md says about NATS, checked on the installed nats-server.
    const prefix = `${rig.prefix}-share`;
    const shared = await mqtt.connectAsync(node(2).mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    const plain = await mqtt.connectAsync(node(2).mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const got = { shared: 0, plain: 0 };
      shared.on("message", () => got.shared++);
      plain.on("message", () => got.plain++);
      const granted = await shared.subscribeAsync(`$share/payments/${prefix}/+/+/req`, { qos: 1 });
      expect(granted[0]?.qos).toBe(1); // granted: nothing says it will stay silent
      await plain.subscribeAsync(`${prefix}/+/+/req`, { qos: 1 });
      await plain.publishAsync(`${prefix}/S1/B1/req`, Buffer.from("x"), { qos: 1 });
      await expect.poll(() => got.plain).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(got.shared).toBe(0);
    } finally {
      await Promise.all([shared.endAsync(), plain.endAsync()]);
    }
  });

  it("an MQTT 5 bridge on NATS is refused and told to use protocol version 4", async () => {
    const lines: Record<string, unknown>[] = [];
    const link = new MqttLink({
      config: {
        url: node(2).mqttUrl,
        topicPrefix: rig.prefix,
        protocolVersion: 5,
        keepaliveSec: 5,
        reconnectMinMs: 200,
        reconnectMaxMs: 1000,
        connectTimeoutMs: 5000,
      },
      clientId: "pbtest-v5-on-nats",
      topics: bridgeTopics(rig.prefix, "V5", "PC1"),
      clock: systemClock,
      log: pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) }),
      statusPayload: (online, reason) =>
        encodeStatus({ online, version: "test", sinceMs: 1, lanes: [], reason }),
    });
    link.start();
    try {
      await expect.poll(() => link.status.state, { timeout: 10_000 }).toBe("refused");
      expect(link.status.reason).toBe("broker refused the connection: 0x01 unacceptable protocol version");
      expect(lines.find((l) => l.state === "refused")?.fix).toContain("set mqtt.protocolVersion to 4");
    } finally {
      await link.stop();
    }
  });

  it("sells through node 1, fails over to another node when node 1 is killed, and sells again", async () => {
    const connected = () => rig.daemon.lines.filter((l) => l.includes('"msg":"broker connected"'));
    expect(JSON.parse(connected()[0] as string)).toMatchObject({ url: node(1).mqttUrl, node: "1/3" });
    expect((await rig.sell("CLUSTER-1", 100)).status).toBe("PAID");

    await node(1).kill();
    const lost = await rig.daemon.waitForLog((e) => e.msg === "broker connection lost");
    expect(lost).toMatchObject({ url: node(1).mqttUrl });
    await expect.poll(() => connected().length, { timeout: 40_000, interval: 200 }).toBe(2);
    const failover = JSON.parse(connected()[1] as string) as Record<string, unknown>;
    expect([node(2).mqttUrl, node(3).mqttUrl]).toContain(failover.url);

    expect((await rig.sell("CLUSTER-2", 200, rig.nextCode(), 20_000)).status).toBe("PAID");
    const scope = `${rig.store}/PC1/lane1`;
    for (const order of ["CLUSTER-1", "CLUSTER-2"])
      expect(
        sim.ledger.ofOrder(scope, order).filter((e) => e.charged),
        order,
      ).toHaveLength(1);

    // Told once per change: between two "broker connected" lines (one outage) each problem is
    // one line (the dead node refusing, a live one not answering yet or refusing the subscription
    // while the cluster recovers; a node that accepts and drops the bridge again is a new outage),
    // not one line per attempt.
    const link = rig.daemon.lines
      .filter((l) => l.includes('"component":"mqtt"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => typeof e.state === "string");
    let outage = new Set<string>();
    for (const e of link) {
      if (e.state === "online") outage = new Set();
      const key = `${e.state} ${e.reason}`;
      expect(outage.has(key), `told twice in one outage: ${key}`).toBe(false);
      outage.add(key);
    }
    // The first attempt after the loss went to the next node of the list: node 2.
    const afterLost = link[link.findIndex((e) => e.msg === "broker connection lost") + 1];
    expect(afterLost?.url).toBe(node(2).mqttUrl);
    expect(rig.daemon.lines.join("\n")).not.toContain(rig.nextCode().slice(0, 14));
  }, 90_000);
});
