// The whole daemon (createApp) with a clock the test moves: the register and scanner on mock
// ports, the real broker, a scripted cloud that never answers the pay request. The wall clock is
// stepped by hours; the query/reversal schedule must follow the monotonic clock only, also
// across a restart (the journal's wall time + monotonic time elapsed, on the same boot) and a
// reboot (another boot: only the wall clock is left to measure the downtime).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../../daemon/app.js";
import { ManualClock } from "../../daemon/clock.js";
import { loadConfig } from "../../daemon/config/load-config.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { createMockSerial } from "../../daemon/devices/mock-serial.js";
import { paymentResult, type ScriptedCloud, startScriptedCloud } from "../support/scripted-cloud.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const HOUR = 3_600_000;

describe("the daemon's schedule with an injected clock: wall steps, restarts, reboots", () => {
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `pbappclk-${run}/v1`;
  const stateDir = mkdtempSync(join(tmpdir(), "posbridge-appclock-"));
  const serial = createMockSerial();
  const regPeer = serial.createPort(`/dev/appclk-${run}-reg`);
  const scanPeer = serial.createPort(`/dev/appclk-${run}-scan`);
  const register = new VirtualRegister((b) => regPeer.emit(b));
  regPeer.onWrite((b) => register.receive(b));
  const config = loadConfig({
    path: "appclock.yaml",
    env: {},
    readFile: () => `
store: S${run}
bridge: B1
stateDir: ${stateDir}
mqtt: { url: "${BROKER}", topicPrefix: "${prefix}" }
lanes:
  - id: lane1
    terminal: { path: ${regPeer.path} }
    scanner: { path: ${scanPeer.path} }
`,
  });
  let cloud: ScriptedCloud;
  let app: App | undefined;

  beforeAll(async () => {
    cloud = await startScriptedCloud(BROKER, prefix);
    cloud.setPolicy((r) =>
      r.request.command.type === "cancel" ? paymentResult({ status: "CANCELLED" }) : undefined,
    );
  });
  afterAll(async () => {
    await app?.stop();
    await cloud.stop();
  });

  async function start(clock: ManualClock): Promise<App> {
    await app?.stop();
    const a = createApp({
      config,
      log: pino({ level: "silent" }),
      version: "test",
      clock,
      opener: serial.opener,
    });
    await a.start();
    await expect.poll(() => a.link.isOnline).toBe(true);
    await expect.poll(() => a.lanes[0]?.status().terminal).toBe("CONNECTED");
    await expect.poll(() => a.lanes[0]?.status().scanner).toBe("CONNECTED");
    app = a;
    return a;
  }

  /** Kinds of the attempt's requests the cloud has seen so far. */
  const kinds = (attemptId: string) => cloud.of(attemptId).map((s) => s.request.command.type);

  /** Moves the clock second by second, letting the network deliver in between. */
  async function tick(clock: ManualClock, seconds: number) {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  let seq = 10;
  async function saleUntilPay(clock: ManualClock, code: string): Promise<string> {
    const sa = String(seq++);
    const mark = register.answers.length;
    register.request({ type: "sale", seq: sa, orderRef: `ORD${sa}`, amountFen: 500 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
    const seen = cloud.seen.length;
    scanPeer.emit(`${code}\r`);
    await expect
      .poll(() => cloud.seen.slice(seen).find((s) => s.request.command.type === "pay"))
      .toBeTruthy();
    clock.advance(0);
    return (
      cloud.seen.slice(seen).find((s) => s.request.command.type === "pay")?.request.command.attemptId ?? ""
    );
  }

  it("±1 h wall steps between the scan and the answer change no query and no reversal", async () => {
    const clock = new ManualClock(Date.now(), 50_000_000, "bootone000000001");
    await start(clock);
    const attemptId = await saleUntilPay(clock, "134567890123450001");
    clock.stepWall(HOUR);
    await tick(clock, 4);
    expect(kinds(attemptId)).toEqual(["pay"]);
    await tick(clock, 1);
    await expect.poll(() => kinds(attemptId)).toEqual(["pay", "query"]); // at 5 s, not a reversal
    clock.stepWall(-2 * HOUR);
    await tick(clock, 35);
    await expect.poll(() => kinds(attemptId).filter((k) => k === "query").length).toBe(8);
    expect(kinds(attemptId)).not.toContain("cancel");
    await tick(clock, 5); // 45 s after the pay request
    await expect.poll(() => kinds(attemptId).at(-1)).toBe("cancel");
    await expect
      .poll(() => register.answers.at(-1)?.answer)
      .toMatchObject({ type: "result", status: "CANCELLED" });
  }, 30_000);

  it("after a restart on the same boot, with the wall clock an hour ahead, it queries first and reverses 45 s after the pay", async () => {
    const c1 = new ManualClock(Date.now(), 60_000_000, "bootone000000001");
    const first = await start(c1);
    const attemptId = await saleUntilPay(c1, "134567890123450002");
    await first.stop(); // as if the process died right after the pay request
    app = undefined;
    // 10 s later by the monotonic clock; meanwhile NTP stepped the wall clock an hour ahead.
    const c2 = new ManualClock(c1.wallNow() + 10_000 + HOUR, c1.monoNow() + 10_000, "bootone000000001");
    await start(c2);
    c2.advance(0);
    await expect.poll(() => kinds(attemptId)).toEqual(["pay", "query"]);
    await tick(c2, 34); // 44 s after the pay request
    expect(kinds(attemptId)).not.toContain("cancel");
    await tick(c2, 1);
    await expect.poll(() => kinds(attemptId).at(-1)).toBe("cancel");
  }, 30_000);

  it("after a reboot, the downtime is measured on the wall clock: 2 minutes later it reverses at once", async () => {
    const c1 = new ManualClock(Date.now(), 70_000_000, "bootone000000001");
    const first = await start(c1);
    const attemptId = await saleUntilPay(c1, "134567890123450003");
    await first.stop();
    app = undefined;
    const c2 = new ManualClock(c1.wallNow() + 120_000, 9_000, "boottwo000000002");
    await start(c2);
    c2.advance(0);
    await expect.poll(() => kinds(attemptId)).toEqual(["pay", "cancel"]);
  }, 30_000);
});
