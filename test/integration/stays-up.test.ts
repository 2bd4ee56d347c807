// A store PC boots before its network and its USB hub: the daemon must keep waiting, retrying
// by itself, and end only on a signal (issue 8, item 1). Before the fix it exited 0 within a
// second, because every timer was unref'd and nothing held the event loop.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";

const dir = mkdtempSync(join(tmpdir(), "posbridge-up-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(name: string, url: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `store: UP
bridge: ${name}
stateDir: ${join(dir, name)}
log: { level: info, format: json }
mqtt: { url: "${url}", reconnectMinMs: 100, reconnectMaxMs: 1000 }
lanes:
  - id: lane1
    terminal: { path: ${join(dir, "no-register")}, profile: ecr }
    scanner: { path: ${join(dir, "no-scanner")}, type: serial }
`,
  );
  return path;
}

const count = (d: DaemonProcess, pred: (e: Record<string, unknown>) => boolean) =>
  d.lines.filter((l) => {
    try {
      return pred(JSON.parse(l) as Record<string, unknown>);
    } catch {
      return false;
    }
  }).length;

describe("the daemon never exits by itself", () => {
  const daemons: DaemonProcess[] = [];
  let broker: TestBroker | undefined;
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop("SIGKILL")));
    await broker?.stop();
  });

  it("keeps waiting with no device present and the broker unreachable, then exits 0 on SIGTERM", async () => {
    const d = startDaemon(["run", "--config", config("nothing", "mqtt://127.0.0.1:1")]);
    daemons.push(d);
    await d.waitForLog((e) => e.msg === "posbridge started");
    await sleep(3_000);
    expect(d.proc.exitCode, d.lines.slice(-10).join("\n")).toBeNull();
    // The devices were retried about every second, yet each said so once (one state change).
    const absent = (device: string) =>
      count(d, (e) => e.msg === "device unavailable; retrying in the background" && e.device === device);
    expect(absent("terminal")).toBe(1);
    expect(absent("scanner")).toBe(1);
    expect(await d.stop("SIGTERM")).toBe(0);
    expect(d.lines.at(-1)).toContain("posbridge stopped");
  });

  it("stays up when the broker dies while no device is open, and reconnects when it is back", async () => {
    broker = await createTestBroker();
    await broker.start();
    const d = startDaemon(["run", "--config", config("brokerdies", broker.url)]);
    daemons.push(d);
    await d.waitForLog((e) => e.msg === "broker connected");
    await broker.stop();
    await sleep(3_000);
    expect(d.proc.exitCode, d.lines.slice(-10).join("\n")).toBeNull();
    const connected = count(d, (e) => e.msg === "broker connected");
    await broker.start();
    await expect
      .poll(() => count(d, (e) => e.msg === "broker connected"), { timeout: 10_000 })
      .toBe(connected + 1);
    expect(await d.stop("SIGINT")).toBe(0);
  });
});
