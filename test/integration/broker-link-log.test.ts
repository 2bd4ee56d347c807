// The broker link says what happens once per change, not once per retry (issue 8, item 1), and a
// clean stop is clean (item 9): the retained status says offline, published by the bridge itself
// before it disconnects (not by the broker's Last Will), and nothing is logged as a warning.
// Before the fix every retry logged "reconnecting to broker" and every failure "broker connection
// error" (warn); a SIGTERM logged "broker connection lost" at warn.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";

const dir = mkdtempSync(join(tmpdir(), "posbridge-linklog-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;

function config(url: string, level: string): { path: string; bridge: string } {
  const bridge = `L${++n}`;
  const path = join(dir, `${bridge}.yaml`);
  writeFileSync(
    path,
    `store: LOG
bridge: ${bridge}
stateDir: ${join(dir, bridge)}
log: { level: ${level}, format: json }
mqtt: { url: "${url}", reconnectMinMs: 100, reconnectMaxMs: 1000 }
lanes:
  - id: lane1
    terminal: { path: ${join(dir, "no-register")}, profile: ecr }
    scanner: { path: ${join(dir, "no-scanner")}, type: serial }
`,
  );
  return { path, bridge };
}

const entries = (d: DaemonProcess, from = 0) =>
  d.lines.slice(from).flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
const mqttLines = (d: DaemonProcess, from = 0) => entries(d, from).filter((e) => e.component === "mqtt");

describe("the broker link's log and its clean stop", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function broker(): Promise<TestBroker> {
    const b = await createTestBroker();
    await b.start();
    cleanups.push(() => b.stop());
    return b;
  }

  it("an outage of ~5 s is a few lines, not one per retry; its end is one 'broker connected'", async () => {
    const b = await broker();
    const d = startDaemon(["run", "--config", config(b.url, "debug").path]);
    cleanups.push(() => d.stop("SIGKILL"));
    await d.waitForLog((e) => e.msg === "broker connected");
    const mark = d.lines.length;
    await b.stop();
    await sleep(5_000);
    await b.start();
    await expect
      .poll(() => mqttLines(d, mark).filter((e) => e.msg === "broker connected").length, { timeout: 10_000 })
      .toBe(1);
    const outage = mqttLines(d, mark);
    // It did retry, many times (at debug level)…
    const retries = outage.filter((e) => e.msg === "reconnecting to broker");
    expect(retries.length).toBeGreaterThanOrEqual(5);
    expect(retries.every((e) => e.level === 20)).toBe(true);
    // …and said so once per change: lost, then unreachable (ECONNREFUSED), then connected.
    const told = outage.filter(
      (e) => (e.level as number) >= 30 && !String(e.msg).startsWith("unacknowledged publishes"),
    );
    expect(told.map((e) => e.msg)).toEqual([
      "broker connection lost",
      "broker unreachable; retrying in the background",
      "broker connected",
    ]);
    expect(told[0]).toMatchObject({ level: 40, errCode: "PB_MQTT_CONNECT" }); // "connection lost", or ECONNRESET
    expect(told[1]).toMatchObject({
      level: 40,
      errCode: "PB_MQTT_CONNECT",
      reason: expect.stringMatching(
        /^nothing listens on the broker's port: 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
      ),
    });
    expect(outage.filter((e) => (e.level as number) >= 40)).toHaveLength(2);
  }, 30_000);

  it("SIGTERM: status online=false published by the bridge itself, a clean DISCONNECT, no warning", async () => {
    const b = await broker();
    const { path, bridge } = config(b.url, "info");
    const statusTopic = `posbridge/v1/LOG/${bridge}/status`;
    const watcher = await mqtt.connectAsync(b.url, { protocolVersion: 5 });
    cleanups.push(() => watcher.endAsync(true));
    const statuses: { online: boolean; reason: string; at: number }[] = [];
    watcher.on("message", (_t, payload) => {
      const s = decodeStatus(new Uint8Array(payload));
      if (s.ok) statuses.push({ online: s.value.online, reason: s.value.reason, at: Date.now() });
    });
    await watcher.subscribeAsync(statusTopic, { qos: 1 });
    const d = startDaemon(["run", "--config", path]);
    cleanups.push(() => d.stop("SIGKILL"));
    await d.waitForLog((e) => e.msg === "broker connected");
    await expect.poll(() => statuses.at(-1)?.online).toBe(true);
    expect(await d.stop("SIGTERM")).toBe(0);
    await sleep(500); // a Will would arrive now, after the connection closed
    const after = entries(d).slice(entries(d).findIndex((e) => e.msg === "stopping"));
    expect(after.filter((e) => (e.level as number) >= 40)).toEqual([]);
    expect(after.find((e) => e.msg === "disconnected from broker")).toMatchObject({ level: 30 });
    // The last word is the bridge's own "stopped", not the Will's "no goodbye…".
    expect(statuses.at(-1)).toMatchObject({ online: false, reason: "stopped" });
    expect(statuses.filter((s) => !s.online).map((s) => s.reason)).toEqual(["stopped"]);
    // Mosquitto saw a DISCONNECT ("disconnected."), not a dropped socket ("closed its connection.").
    const clientId = `posbridge-LOG-${bridge}`;
    expect(b.log.some((l) => l.includes(`Client ${clientId} disconnected.`))).toBe(true);
    expect(b.log.some((l) => l.includes(`Client ${clientId} closed its connection.`))).toBe(false);
  }, 20_000);
});
