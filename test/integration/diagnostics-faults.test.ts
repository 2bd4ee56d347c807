// The faults a technician meets first, reproduced on real parts, as `posbridge status` and
// `check-config` show them: a port another process holds, an unreachable broker, a broker whose
// certificate the CA does not sign, a blocked event loop, and a stateDir the service cannot write.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BridgeSnapshot } from "../../daemon/diagnostics/snapshot.js";
import { runCli } from "../support/bridge-rig.js";
import { TestCa } from "../support/certs.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, freePort, type TestBroker } from "../support/mosquitto.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const dir = mkdtempSync(join(tmpdir(), "posbridge-faults-"));
chmodSync(dir, 0o755); // the unwritable-stateDir case reads its config as nobody

function config(name: string, mqtt: string, lanes: string, extra = ""): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `store: F1
bridge: ${name}
stateDir: ${join(dir, name, "state")}
log: { level: info, format: json }
mqtt: ${mqtt}
diagnostics: { socket: ${join(dir, name, "control.sock")} }
${extra}
lanes:
${lanes}`,
  );
  return path;
}

async function status(path: string, args: string[] = []): Promise<BridgeSnapshot> {
  const r = await runCli(["status", "--json", ...args, "-c", path]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as BridgeSnapshot;
}

describe("faults as status shows them", () => {
  const daemons: DaemonProcess[] = [];
  const ptys: PtyPair[] = [];
  let holder: SerialEnd | undefined;
  let broker: TestBroker | undefined;

  afterAll(async () => {
    await holder?.close();
    await Promise.all(daemons.map((d) => d.stop("SIGKILL")));
    await Promise.all(ptys.map((p) => p.close()));
    await broker?.stop();
  });

  it("a scanner port held by another process (PB_PORT_LOCKED) and an unreachable broker (PB_MQTT_CONNECT); the port comes back once let go", async () => {
    const [register, scanner] = await Promise.all([
      createPtyPair(dir, "held-register"),
      createPtyPair(dir, "held-scanner"),
    ]);
    ptys.push(register, scanner);
    holder = await openSerialEnd(scanner.daemonPath); // takes the lock serialport's binding asks for
    const port = await freePort();
    const path = config(
      "held",
      `{ url: "mqtt://127.0.0.1:${port}", reconnectMinMs: 200, reconnectMaxMs: 1000 }`,
      `  - id: l1\n    terminal: { path: ${register.daemonPath} }\n    scanner: { path: ${scanner.daemonPath} }\n`,
    );
    const d = startDaemon(["run", "-c", path]);
    daemons.push(d);
    await d.waitForLog((e) => e.errCode === "PB_PORT_LOCKED");
    await d.waitForLog((e) => e.msg === "control socket ready");
    const s = await status(path);
    expect(s.lanes[0]?.devices.scanner).toMatchObject({
      state: "FAULT",
      code: "PB_PORT_LOCKED",
      error: expect.stringContaining("another program holds the port"),
    });
    expect(s.lanes[0]?.devices.terminal.state).toBe("CONNECTED");
    expect(s.link).toMatchObject({
      state: "offline",
      code: "PB_MQTT_CONNECT",
      reason: expect.stringContaining(`127.0.0.1:${port}`),
    });
    const text = await runCli(["status", "-c", path]);
    expect(text.stdout).toMatch(
      /^ {2}scanner {3}FAULT .*another program holds the port.*\(PB_PORT_LOCKED\)$/m,
    );
    expect(text.stdout).toMatch(/^broker {3}OFFLINE since .*\(PB_MQTT_CONNECT\)$/m);
    await holder.close();
    holder = undefined;
    await d.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
    expect((await status(path)).lanes[0]?.devices.scanner).toMatchObject({
      state: "CONNECTED",
      code: null,
      opens: 1,
    });
  });

  it("a broker certificate the configured CA did not sign: PB_MQTT_TLS, with the CA's expiry", async () => {
    const good = new TestCa("posbridge test CA");
    const other = new TestCa("some other CA");
    const server = good.issue("server", { cn: "127.0.0.1", san: "IP:127.0.0.1" });
    broker = await createTestBroker({
      tls: { cafile: good.cert, certfile: server.cert, keyfile: server.key },
    });
    await broker.start();
    const path = config(
      "badcert",
      `{ url: "${broker.url}", reconnectMinMs: 200, reconnectMaxMs: 1000, tls: { ca: ${other.cert} } }`,
      `  - id: l1\n    terminal: { path: ${join(dir, "none-1")} }\n    scanner: { path: ${join(dir, "none-2")} }\n`,
    );
    const d = startDaemon(["run", "-c", path]);
    daemons.push(d);
    await d.waitForLog((e) => e.errCode === "PB_MQTT_TLS");
    await d.waitForLog((e) => e.msg === "control socket ready");
    const s = await status(path);
    expect(s.link).toMatchObject({ state: "offline", code: "PB_MQTT_TLS" });
    expect(s.link.tls?.caExpiresAt).toBeGreaterThan(Date.now());
    expect(s.link.tls?.brokerCertExpiresAt).toBeNull(); // no handshake ever succeeded
    expect(s.lanes[0]?.devices.terminal).toMatchObject({ state: "ABSENT", code: "PB_PORT_OPEN" });
  });

  it("a blocked event loop: status times out saying so; afterwards the stall shows in the process snapshot", async () => {
    const path = config(
      "stall",
      `{ url: "mqtt://127.0.0.1:1883" }`,
      `  - id: l1\n    terminal: { path: ${join(dir, "none-3")} }\n    scanner: { path: ${join(dir, "none-4")} }\n`,
    );
    const d = startDaemon(["run", "-c", path], { PB_TEST_STALL_MS: "2500" });
    daemons.push(d);
    await d.waitForLog((e) => e.msg === "control socket ready");
    await status(path); // a look before the stall must not hide it from the next one
    d.proc.kill("SIGUSR2");
    await d.waitForLog((e) => e.msg === "test stall: holding the event loop (PB_TEST_STALL_MS)");
    const blocked = await runCli(["status", "--timeout", "1", "-c", path]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(
      /accepted the connection .* but did not answer within 1 s: its event loop may be blocked \(PB_CONTROL_TIMEOUT\)/,
    );
    await d.waitForLog((e) => e.msg === "test stall: event loop released");
    const s = await status(path);
    expect(s.process.eventLoopDelayMs.maxLastMinute).toBeGreaterThanOrEqual(2000);
  });
});

describe("an unwritable stateDir", () => {
  it("check-config warns; the daemon refuses to start (PB_JOURNAL_WRITE); status says it is not running and why the journal cannot be read", async () => {
    const root = join(dir, "locked");
    mkdirSync(root, { mode: 0o700 }); // root's: the service user (nobody here) may not enter
    const path = join(dir, "locked.yaml");
    writeFileSync(
      path,
      `store: F1\nbridge: locked\nstateDir: ${join(root, "state")}\nlog: { format: json }\nmqtt: { url: "mqtt://127.0.0.1:1883" }\ndiagnostics: { socket: ${join(dir, "locked.sock")} }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n`,
    );
    chmodSync(path, 0o644);
    const asNobody = { uid: 65534, gid: 65534 };
    const check = await runCli(["check-config", "-c", path], { spawn: asNobody });
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(
      /warning: stateDir: .*locked\S* (is not writable|cannot be reached) \(EACCES\): the bridge refuses to start without its journal/,
    );
    const run = await runCli(["run", "-c", path], { spawn: asNobody });
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain("PB_JOURNAL_WRITE");
    const s = await runCli(["status", "-c", path], { spawn: asNobody });
    expect(s.code).toBe(3);
    expect(s.stdout).toContain("posbridge is not running: no control socket at");
    expect(s.stdout).toMatch(/journal .*: journal: permission denied reading .*\(PB_JOURNAL_UNREADABLE\)/);
  });
});
