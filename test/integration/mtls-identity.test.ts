// Two bridges behind one broker that knows them by their certificates (issue 11, item 1): the
// broker runs the mosquitto.conf and the ACL file of docs/cloud-contract.md, read from that file
// (so the document a cloud team follows is the one tested), with a CA, a server certificate and
// client certificates made here by openssl. Bridge A (CN S1/PC1) and bridge B (CN S1/PC2) sell
// through the simulated cloud (worker CN cloud.worker-1, on a shared subscription). Then, holding
// A's own key, the test tries what a stolen or misconfigured bridge would: publish to B's `req`,
// read B's `res`, take B's client id. Each is refused.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { type Pair, TestCa } from "../support/certs.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";

const DOC = new URL("../../docs/cloud-contract.md", import.meta.url).pathname;
const PREFIX = "posbridge/v1";

/** The ```conf block that follows `<!-- cloud-contract:<name>` in docs/cloud-contract.md. */
function docBlock(name: string): string {
  const text = readFileSync(DOC, "utf8");
  const at = text.indexOf(`<!-- cloud-contract:${name}`);
  if (at < 0) throw new Error(`docs/cloud-contract.md has no block marked cloud-contract:${name}`);
  const block = /```conf\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`docs/cloud-contract.md: no conf block after cloud-contract:${name}`);
  return block[1];
}

/** `text` with each key replaced by its value; every key must occur (the document's shape is checked). */
function substitute(text: string, replacements: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(replacements)) {
    if (!out.includes(from)) throw new Error(`docs/cloud-contract.md no longer says "${from}"`);
    out = out.split(from).join(to);
  }
  return out;
}

describe("mutual TLS and the per-bridge ACL of docs/cloud-contract.md, on Mosquitto", () => {
  let ca: TestCa;
  let certs: Record<"a" | "b" | "worker1" | "worker2" | "monitor", Pair>;
  let broker: TestBroker;
  let sim: CloudSim;
  let a: BridgeRig;
  let b: BridgeRig;
  const clients: MqttClient[] = [];

  const material = (p: Pair): Pick<IClientOptions, "ca" | "cert" | "key"> => ({
    ca: readFileSync(ca.cert),
    cert: readFileSync(p.cert),
    key: readFileSync(p.key),
  });
  const tlsYaml = (p: Pair) => `tls: { ca: ${ca.cert}, cert: ${p.cert}, key: ${p.key} }`;
  /** Someone holding `p`'s key, e.g. A's: no reconnects, every message it is given kept. */
  async function holderOf(p: Pair, clientId: string) {
    const client = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      clientId,
      reconnectPeriod: 0,
      ...material(p),
    });
    clients.push(client);
    const got: string[] = [];
    client.on("message", (topic) => got.push(topic));
    return { client, got };
  }
  /** PUBACK reason code of a QoS 1 publish: 0 delivered, 0x87 refused by the ACL. */
  async function pubackOf(client: MqttClient, topic: string): Promise<number> {
    try {
      const packet = await client.publishAsync(topic, Buffer.from("x"), { qos: 1 });
      return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }
  const connects = (rig: BridgeRig) =>
    rig.daemon.lines.filter((l) => l.includes('"broker connected"')).length;

  beforeAll(async () => {
    ca = new TestCa("posbridge bridges CA");
    const server = ca.issue("broker", { cn: "127.0.0.1", san: "IP:127.0.0.1" });
    certs = {
      a: ca.issue("bridge-a", { cn: "S1/PC1" }),
      b: ca.issue("bridge-b", { cn: "S1/PC2" }),
      worker1: ca.issue("worker-1", { cn: "cloud.worker-1" }),
      worker2: ca.issue("worker-2", { cn: "cloud.worker-2" }),
      monitor: ca.issue("monitor", { cn: "cloud.monitor" }),
    };
    broker = await createTestBroker({
      listener: {
        tls: true,
        lines: (port, dir) => {
          const aclPath = join(dir, "posbridge.acl");
          writeAcl(aclPath, docBlock("posbridge.acl"));
          return substitute(docBlock("mosquitto.conf"), {
            "listener 8883": `listener ${port} 127.0.0.1`,
            "/etc/mosquitto/certs/posbridge-bridges-ca.crt": ca.cert,
            "/etc/mosquitto/certs/broker.crt": server.cert,
            "/etc/mosquitto/certs/broker.key": server.key,
            "/etc/mosquitto/posbridge.acl": aclPath,
          }).split("\n");
        },
      },
    });
    await broker.start();
    sim = await startCloudSim({ brokerUrl: broker.url, topicPrefix: PREFIX, tls: material(certs.worker1) });
    const rig = (name: string, bridge: string, cert: Pair, watcher: Pair) =>
      startBridgeRig({
        name,
        broker: broker.url,
        prefix: PREFIX,
        store: "S1",
        bridge,
        mqtt: tlsYaml(cert),
        watcher: { ...material(watcher), reconnectPeriod: 0 },
      });
    [a, b] = await Promise.all([
      rig("mtls-a", "PC1", certs.a, certs.monitor),
      rig("mtls-b", "PC2", certs.b, certs.worker2),
    ]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await Promise.all([a?.stop(), b?.stop()]);
    await sim?.stop();
    await broker?.stop();
  });

  it("both bridges sell, each under its own certificate's name, and the fleet sees their events", async () => {
    expect(await a.sell("A-1", 1200)).toMatchObject({ status: "PAID" });
    expect(await b.sell("B-1", 2300)).toMatchObject({ status: "PAID" });
    // Who they are comes from the certificate: the broker names each by its CN.
    expect(broker.log.some((l) => /New client connected .* as S1\/PC1 .*u'S1\/PC1'/.test(l))).toBe(true);
    expect(broker.log.some((l) => /New client connected .* as S1\/PC2 .*u'S1\/PC2'/.test(l))).toBe(true);
    // The monitor (A's watcher) reads A's events; worker-2 (B's watcher) reads B's: a refund each.
    expect(await a.ask({ type: "refund", orderRef: "A-1", refundRef: "RA-1", amountFen: 200 })).toMatchObject(
      {
        status: "REFUNDED",
      },
    );
    expect(await b.ask({ type: "refund", orderRef: "B-1", refundRef: "RB-1", amountFen: 300 })).toMatchObject(
      {
        status: "REFUNDED",
      },
    );
    await expect.poll(() => a.events.filter((e) => e.kind === "refund")).toHaveLength(2);
    await expect.poll(() => b.events.filter((e) => e.kind === "refund")).toHaveLength(2);
  }, 30_000);

  it("with A's key: B's req and a look-alike bridge's req are refused, and nothing of B's reaches A", async () => {
    // The daemon steps aside: with use_username_as_clientid, A's key can only ever be S1/PC1,
    // and two connections of one client id take turns.
    await a.daemon.stop();
    const thief = await holderOf(certs.a, "whatever-it-asks-for");
    expect(await pubackOf(thief.client, `${PREFIX}/S1/PC2/req`)).toBe(0x87);
    expect(await pubackOf(thief.client, `${PREFIX}/S1/PC10/req`)).toBe(0x87);
    expect(await pubackOf(thief.client, `${PREFIX}/S1/PC2/status`)).toBe(0x87);
    expect(await pubackOf(thief.client, `${PREFIX}/S1/PC2/res`)).toBe(0x87); // no forged answers either
    expect(await pubackOf(thief.client, `${PREFIX}/S1/PC1/event`)).toBe(0); // its own topics are its own
    await thief.client.subscribeAsync([`${PREFIX}/S1/PC2/res`, `${PREFIX}/+/+/res`, "#"], { qos: 1 });
    const requestsBefore = sim.stats().requests;
    // B sells: its request goes to the cloud and its answer to B, none of it to A's key.
    expect(await b.sell("B-2", 3400)).toMatchObject({ status: "PAID" });
    expect(sim.stats().requests).toBeGreaterThan(requestsBefore);
    await new Promise((r) => setTimeout(r, 300));
    expect(thief.got.filter((t) => !t.startsWith(`${PREFIX}/S1/PC1/`))).toEqual([]);
    expect(
      broker.log.some((l) => /Denied PUBLISH from S1\/PC1 .*'posbridge\/v1\/S1\/PC2\/req'/.test(l)),
    ).toBe(true);
    await thief.client.endAsync(true);
    await a.restart();
    expect(await a.sell("A-2", 1300)).toMatchObject({ status: "PAID" });
  }, 30_000);

  it("A configured with B's client id connects as S1/PC1 and B stays connected", async () => {
    const bConnects = connects(b);
    // The client id B is known by, as the broker logged it (its CN, with use_username_as_clientid).
    const bId = broker.log
      .map((l) => / as (\S+) \(p5, .*u'S1\/PC2'\)/.exec(l)?.[1])
      .find((id) => id !== undefined);
    expect(bId).toBe("S1/PC2");
    writeConfig(a.configPath, (yaml) => yaml.replace(/mqtt: \{ /, `mqtt: { clientId: "${bId}", `));
    await a.restart();
    expect(await a.sell("A-3", 1400)).toMatchObject({ status: "PAID" });
    expect(await b.sell("B-3", 2400)).toMatchObject({ status: "PAID" });
    expect(connects(b)).toBe(bConnects);
    expect(b.daemon.lines.filter((l) => /0x8E|session taken over/i.test(l))).toEqual([]);
    expect(broker.log.filter((l) => l.includes("Client S1/PC2 already connected"))).toEqual([]);
  }, 30_000);

  it("cloud roles: the monitor cannot answer a payment, a worker cannot write a bridge's status", async () => {
    expect(await pubackOf(a.watcher, `${PREFIX}/S1/PC2/res`)).toBe(0x87); // cloud.monitor
    expect(await pubackOf(b.watcher, `${PREFIX}/S1/PC1/status`)).toBe(0x87); // cloud.worker-2
    expect(await pubackOf(b.watcher, `${PREFIX}/S1/PC1/req`)).toBe(0x87);
  });
});

function writeAcl(path: string, text: string): void {
  // Mosquitto drops to its own user before reading the ACL: world-readable, like the test CA.
  writeFileSync(path, text, { mode: 0o644 });
}

function writeConfig(path: string, edit: (yaml: string) => string): void {
  const before = readFileSync(path, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`config ${path} unchanged`);
  writeFileSync(path, after);
}
