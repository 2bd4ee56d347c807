// A private NATS cluster for tests of a bridge on a broker cluster: N nats-server nodes on free
// loopback ports, joined by routes, each with JetStream (its own store directory) and the MQTT
// front end. NATS's MQTT needs JetStream and a server_name; its sessions, retained messages and
// QoS 1 deliveries live in JetStream streams replicated across the cluster (3 replicas at most),
// so a client can move to another node. It speaks MQTT 3.1.1 only. A node can be SIGKILLed.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { withinMs } from "./deadline.js";
import { canConnect, freePort } from "./mosquitto.js";

export const NATS_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

export interface NatsNode {
  /** server_name, e.g. "n1". */
  name: string;
  /** The node's MQTT front end, mqtt://127.0.0.1:<port>. */
  mqttUrl: string;
  mqttPort: number;
  /** What the node logged, line by line. */
  log: string[];
  /** Kills the node at once, as a crash or a power cut would (no goodbye to the routes). */
  kill(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Nodes; default 3 (JetStream needs a majority: 2 of 3 keep it up). */
  size?: number;
  /** How long the cluster may take to elect its JetStream leader and open MQTT; default 20 s. */
  readyWithinMs?: number;
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "pb-nats-"));
  const name = `pbtest-${Math.random().toString(36).slice(2, 8)}`;
  const ports = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort(), cluster: await freePort(), mqtt: await freePort() });
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(", ");
  const procs: (ChildProcess | undefined)[] = [];
  const nodes: NatsNode[] = ports.map((p, i) => {
    const server = `n${i + 1}`;
    const store = join(dir, server);
    mkdirSync(store);
    const conf = join(dir, `${server}.conf`);
    writeFileSync(
      conf,
      `server_name: ${server}
listen: 127.0.0.1:${p.client}
jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 256MB }
cluster { name: ${name}, listen: 127.0.0.1:${p.cluster}, routes: [ ${routes} ] }
mqtt { listen: 127.0.0.1:${p.mqtt} }
`,
    );
    const log: string[] = [];
    const proc = spawn(NATS_BIN, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (b: Buffer) => log.push(...b.toString().split("\n").filter(Boolean));
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    procs[i] = proc;
    return {
      name: server,
      mqttUrl: `mqtt://127.0.0.1:${p.mqtt}`,
      mqttPort: p.mqtt,
      log,
      kill: () => killProc(procs, i),
    };
  });
  const cluster: NatsCluster = {
    nodes,
    stop: async () => {
      await Promise.all(procs.map((_, i) => killProc(procs, i)));
      rmSync(dir, { recursive: true, force: true }); // the JetStream stores
    },
  };
  try {
    const until = Date.now() + (options.readyWithinMs ?? 20_000);
    for (const node of nodes) {
      while (!(await canConnect(node.mqttPort))) {
        if (Date.now() > until)
          throw new Error(`nats ${node.name}: MQTT did not listen\n${node.log.join("\n")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    while (!nodes.some((n) => n.log.some((l) => l.includes("JetStream cluster metadata leader")))) {
      if (Date.now() > until) throw new Error("nats: no JetStream leader was elected");
      await new Promise((r) => setTimeout(r, 50));
    }
    // The first MQTT client of a node creates the account's MQTT streams (and waits for the
    // cluster to place them): done here, once per node, as a cluster in service has done long ago.
    for (const node of nodes) await warmUp(node.mqttUrl, until);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function warmUp(url: string, until: number): Promise<void> {
  for (;;) {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: `warm-up-${Math.random().toString(36).slice(2, 8)}`,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    try {
      // A node still placing its streams may leave the SUBSCRIBE unanswered: each try is bounded.
      await withinMs(
        (async () => {
          await new Promise<void>((resolve, reject) => {
            client.once("connect", () => resolve());
            client.once("error", reject);
            client.once("close", () => reject(new Error(`${url}: closed before CONNACK`)));
          });
          await client.subscribeAsync("pbtest-warm-up/+", { qos: 1 });
          await client.endAsync();
        })(),
        8_000,
        `warming up ${url}`,
      );
      return;
    } catch (err) {
      client.end(true);
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function killProc(procs: (ChildProcess | undefined)[], i: number): Promise<void> {
  const p = procs[i];
  procs[i] = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGKILL");
  });
}
