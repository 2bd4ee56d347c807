// A store on a broker cluster: three nats-server nodes joined by routes, each with JetStream and
// its MQTT front end (MQTT 3.1.1 only, so the bridge runs with protocolVersion 4). The bridge
// (the built daemon) has mqtt.url = [node 1, node 2, node 3] and connects to node 1; the
// simulated cloud answers on node 3. A sale is paid; node 1 is SIGKILLed; the bridge moves on to
// the next node by itself and a second sale is paid through it. The failover takes as long as
// the cluster needs to elect new JetStream leaders for what node 1 led (seconds): until then a
// surviving node cannot load the bridge's MQTT session and answers its CONNECT late or not at all.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../daemon/clock.js";
import { MqttLink } from "../../daemon/cloud/mqtt-link.js";
import { encodeStatus } from "../../daemon/cloud/proto-codec.js";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { bridgeTopics } from "../../protocols/cloud/topics.js";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { type NatsCluster, startNatsCluster } from "../support/nats-cluster.js";

describe("a bridge on a three-node NATS cluster", () => {
  let cluster: NatsCluster;
  let rig: BridgeRig;
  let sim: CloudSim;
  const node = (i: number) => cluster.nodes[i - 1] as NonNullable<NatsCluster["nodes"][number]>;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
    rig = await startBridgeRig({
      name: "cluster",
      broker: cluster.nodes.map((n) => n.mqttUrl),
      protocolVersion: 4,
      // A dead node is seen at once (its port refuses); a node that cannot answer yet is given
      // 5 s (NATS waits up to 4 s on JetStream before it answers a CONNECT), then the next one.
      mqttExtra: "keepaliveSec: 5, connectTimeoutMs: 5000, reconnectMaxMs: 1000",
      watchBroker: node(3).mqttUrl,
    });
    sim = await startCloudSim({ brokerUrl: node(3).mqttUrl, topicPrefix: rig.prefix, protocolVersion: 4 });
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
    await sim?.stop();
    await cluster?.stop();
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

    expect((await rig.sell("CLUSTER-2", 200)).status).toBe("PAID");
    const scope = `${rig.store}/PC1/lane1`;
    for (const order of ["CLUSTER-1", "CLUSTER-2"])
      expect(
        sim.ledger.ofOrder(scope, order).filter((e) => e.charged),
        order,
      ).toHaveLength(1);

    // The failover is told once: one "lost", then at most one line per distinct problem of a
    // node (the dead one refusing, a live one not answering yet), not one per attempt.
    const link = rig.daemon.lines
      .filter((l) => l.includes('"component":"mqtt"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => typeof e.state === "string");
    expect(link.filter((e) => e.msg === "broker connection lost")).toHaveLength(1);
    // The next attempt went to the next node of the list: node 2 (connected, or not ready yet).
    const afterLost = link[link.findIndex((e) => e.msg === "broker connection lost") + 1];
    expect(afterLost?.url).toBe(node(2).mqttUrl);
    const problems = link.filter((e) => e.msg === "broker unreachable; retrying in the background");
    expect(new Set(problems.map((e) => `${e.state} ${e.reason}`)).size).toBe(problems.length);
    expect(rig.daemon.lines.join("\n")).not.toContain(rig.nextCode().slice(0, 14));
  }, 90_000);

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
});
