// `posbridge doctor` and `posbridge devices`, the built CLI as a child process with the daemon NOT
// running (the doctor then checks config, devices, stateDir and the broker itself), and the faults
// the doctor names reproduced for real: a pty held by another process, an unwritable stateDir
// (a file in its path; a read-only mount in a private mount namespace; the doctor run as an
// unprivileged user), a node the user cannot open, an unreachable broker and a name that does
// not resolve, a broker certificate signed by another CA, bad credentials, an ACL refusing the
// subscription to res (Mosquitto's dynamic security plugin), and a journal with unsettled
// attempts. Tests run as root here: root opens anything, so the permission faults are reproduced
// by running the doctor as `nobody` (setpriv), and the read-only stateDir with a bind mount.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DevicesReport } from "../../daemon/diagnostics/devices.js";
import type { DoctorReport, Finding } from "../../daemon/diagnostics/doctor.js";
import { TestCa } from "../support/certs.js";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { assertBuilt, BIN } from "../support/daemon-process.js";
import { attemptRecord, saleRecord, writeJournal } from "../support/journal-records.js";
import { createTestBroker, freePort } from "../support/mosquitto.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const FULL_CODE = "134567890123456789";
const dir = mkdtempSync(join(tmpdir(), "posbridge-doctor-"));
// `nobody` must reach the config and the pty links.
chmodSync(dir, 0o755);
let n = 0;
let terminal: PtyPair;
let scanner: PtyPair;

function writeConfig(o: { mqtt?: string; stateDir?: string; lanes?: string } = {}): string {
  const name = `d${++n}`;
  const path = join(dir, `${name}.yaml`);
  const stateDir = o.stateDir ?? join(dir, `${name}-state`);
  writeFileSync(
    path,
    `store: DOC
bridge: ${name}
stateDir: ${stateDir}
mqtt: ${o.mqtt ?? `{ url: "${BROKER}", connectTimeoutMs: 3000 }`}
lanes:
${
  o.lanes ??
  `  - id: lane-1
    terminal: { path: ${terminal.daemonPath} }
    scanner: { path: ${scanner.daemonPath} }
`
}`,
  );
  chmodSync(path, 0o644);
  return path;
}

/** The built CLI as a child; async, so independent runs overlap (most of a run is Node starting). */
function cli(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...rest] = [...(o.prefix ?? []), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, rest, {
      env: { ...process.env, ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

async function doctor(
  configPath: string,
  o: { env?: NodeJS.ProcessEnv; prefix?: string[]; user?: string } = {},
) {
  const r = await cli(["doctor", "--json", "-c", configPath, "--user", o.user ?? "root"], o);
  if (r.code === 3 || r.code === null) throw new Error(`doctor failed (${r.code}): ${r.stderr}`);
  const report = JSON.parse(r.stdout) as DoctorReport;
  expect(report.exitCode).toBe(r.code);
  return report;
}

const bad = (r: DoctorReport) => r.findings.filter((f) => f.level !== "ok");
const of = (r: DoctorReport, id: string) => r.findings.filter((f) => f.id === id);
const brief = (f: Finding) => `${f.level} ${f.subject}: ${f.title}`;

function works(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const asRoot = (process.getuid?.() ?? 1) === 0;
const canSetpriv = asRoot && works("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]);
const canUnshare = asRoot && works("unshare", ["-m", "true"]);

beforeAll(async () => {
  assertBuilt();
  terminal = await createPtyPair(dir, "terminal");
  scanner = await createPtyPair(dir, "scanner");
});
afterAll(async () => {
  await terminal.close();
  await scanner.close();
});

// Independent runs (each its own config, stateDir, broker or pty) overlap: most of a run is Node starting.
describe.concurrent("posbridge doctor without the daemon", () => {
  it("says the daemon is not running, then checks config, devices, broker, stateDir and journal itself", async () => {
    const stateDir = join(dir, "fine-state");
    mkdirSync(stateDir, { mode: 0o700 });
    const config = writeConfig({ stateDir });
    const r = await doctor(config);
    expect(r.daemon).toEqual({ running: false, reason: expect.any(String) });
    expect(bad(r).map(brief)).toEqual([expect.stringMatching(/^warn daemon: not running: /)]);
    expect(r.exitCode).toBe(1);
    const ids = new Set(r.findings.map((f) => f.id));
    for (const id of [
      "config",
      "native-modules",
      "device-present",
      "device-holders",
      "broker",
      "state-dir",
      "journal",
    ])
      expect(ids).toContain(id);
    expect(of(r, "device-present").map(brief)).toEqual([
      expect.stringMatching(/^ok lane-1 terminal: .* is \/dev\/pts\/\d+; \/dev\/pts\/\d+ is a pty/),
      expect.stringMatching(/^ok lane-1 scanner: .* is \/dev\/pts\/\d+; /),
    ]);
    expect(of(r, "broker").map((f) => f.title)).toEqual([
      expect.stringMatching(/^connected to mqtt:\/\/127\.0\.0\.1:1883 as posbridge-DOC-d\d+-doctor/),
      expect.stringMatching(/^the broker grants the subscription to posbridge\/v1\/DOC\/d\d+\/res$/),
    ]);
    // The text form: one line per finding, the daemon first, the counts last.
    const text = await cli(["doctor", "-c", config, "--user", "root"]);
    expect(text.code).toBe(1);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^WARN {2}daemon: not running: .* — fix: systemctl start posbridge/);
    expect(lines).toHaveLength(r.findings.length + 1);
    expect(lines.at(-1)).toBe(`0 errors, 1 warning, ${r.summary.ok} ok (exit 1)`);
  });

  it("a pty held by another process: pid and program named; gone once that process ends", async ({
    onTestFinished,
  }) => {
    // Its own register line: the other tests must not see this holder.
    const line = await createPtyPair(dir, "held");
    onTestFinished(() => line.close());
    const config = writeConfig({
      lanes: `  - id: lane-1\n    terminal: { path: ${line.daemonPath} }\n    scanner: { path: ${scanner.daemonPath} }\n`,
    });
    // The other end of the pty is socat's, which holds it too: not reported (it is the line).
    expect(of(await doctor(config), "device-holders").map(brief)).toEqual([
      "ok devices: no other program holds a lane device",
    ]);
    const holder: ChildProcess = spawn("sh", ["-c", 'exec 3<>"$0"; exec sleep 30', line.daemonPath], {
      stdio: "ignore",
    });
    try {
      await expect
        .poll(() => readdirSync(`/proc/${holder.pid}/fd`).length > 3 && readFileComm(holder.pid))
        .toBe("sleep");
      const held = of(await doctor(config), "device-holders");
      expect(held).toEqual([
        expect.objectContaining({
          level: "error",
          subject: "lane-1 terminal",
          code: "PB_PORT_LOCKED",
          title: expect.stringMatching(
            new RegExp(`^/dev/pts/\\d+ is held by pid ${holder.pid} sleep \\(sleep 30\\)$`),
          ),
          fix: `stop that program (kill ${holder.pid}) or configure it to leave the port alone`,
        }),
      ]);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("stateDir with a file in its path: not usable (ENOTDIR)", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const r = await doctor(writeConfig({ stateDir: join(file, "state") }));
    expect(of(r, "state-dir")).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_JOURNAL_WRITE",
        title: `${join(file, "state")} cannot be used: a part of the path is not a directory (ENOTDIR)`,
      }),
    ]);
    expect(r.exitCode).toBe(2);
  });

  it.skipIf(!canUnshare)(
    "stateDir on a read-only mount: the doctor's own write fails with EROFS",
    async () => {
      const stateDir = join(dir, "ro-state");
      mkdirSync(stateDir, { mode: 0o700 });
      // A private mount namespace: the read-only bind mount ends with the doctor.
      const config = writeConfig({ stateDir });
      const r = await doctor(config, {
        prefix: ["unshare", "-m", "sh", "-c", `mount --bind -o ro "$0" "$0" && exec "$@"`, stateDir],
      });
      expect(of(r, "state-dir")[0]).toMatchObject({
        level: "error",
        code: "PB_JOURNAL_WRITE",
        title: `${stateDir} is not writable: the filesystem is read-only (EROFS)`,
        fix: expect.stringContaining("fsck"),
      });
    },
  );

  it.skipIf(!canSetpriv)(
    "run as an unprivileged user: the pty it cannot open and the stateDir it cannot write, for real",
    async () => {
      const stateDir = join(dir, "root-state");
      writeJournal(stateDir, [saleRecord("P1")]); // journal.log 0600, root's
      chmodSync(stateDir, 0o755);
      const r = await doctor(writeConfig({ stateDir }), {
        prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
        user: "no-such-service-user",
      });
      expect(r.user).toBe("nobody");
      expect(of(r, "device-access").map(brief)).toEqual([
        expect.stringMatching(
          /^error lane-1 terminal: \/dev\/pts\/\d+: permission denied for user nobody \(owner root, group \w+, mode 0[0-7]{3}\)$/,
        ),
        expect.stringMatching(/^error lane-1 scanner: \/dev\/pts\/\d+: permission denied for user nobody/),
      ]);
      expect(of(r, "state-dir")[0]).toMatchObject({
        level: "error",
        title: `${stateDir} is not writable: permission denied (EACCES)`,
      });
      expect(of(r, "journal").map(brief)).toEqual([
        `error journal: ${join(stateDir, "journal.log")} cannot be read: permission denied (EACCES)`,
      ]);
      // Other users' processes are hidden from it: it says so instead of claiming no one holds a port.
      expect(of(r, "device-holders")[0]?.detail).toBe("run as root to see other users' processes too");
    },
  );

  it("a journal with unsettled attempts: listed with ids, amounts and masked codes, never a full code", async () => {
    const stateDir = join(dir, "journal-state");
    writeJournal(stateDir, [
      attemptRecord("U1", {
        laneId: "lane-1",
        phase: "unknown",
        reason: "noAnswer",
        amountFen: 1234,
        maskedCode: "WECHAT…6789",
        paidAmountFen: null,
      }),
      saleRecord("U1", { laneId: "lane-1", status: "OPEN", amountFen: 1234, endedAt: null }),
      attemptRecord("U2", {
        laneId: "lane-1",
        phase: "unresolved",
        reason: "reverseExhausted",
        amountFen: 500,
        maskedCode: "ALIPAY…4242",
        paidAmountFen: null,
      }),
    ]);
    const config = writeConfig({ stateDir });
    const r = await doctor(config);
    expect(of(r, "journal").map(brief)).toEqual([
      "warn lane-1 journal: attempt AU1: order U1, 12.34 yuan, WECHAT…6789: unknown (noAnswer) since 2026-03-14T04:00:00Z",
      "error lane-1 journal: attempt AU2: order U2, 5.00 yuan, ALIPAY…4242: unresolved (reverseExhausted) since 2026-03-14T04:00:00Z",
    ]);
    const text = await cli(["doctor", "-c", config, "--user", "root"]);
    expect(text.stdout + text.stderr).not.toContain(FULL_CODE);
  });

  it("a missing config: an error, and what it can still check", async () => {
    const r = await doctor(join(dir, "missing.yaml"));
    expect(of(r, "config")).toEqual([
      expect.objectContaining({ level: "error", code: "PB_CONFIG_NOT_FOUND" }),
    ]);
    expect(r.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(["native-modules", "clock-sync", "clock-sane", "modem-manager", "brltty"]),
    );
    expect(r.findings.some((f) => f.id === "broker" || f.id === "state-dir")).toBe(false);
    expect(r.exitCode).toBe(2);
    expect((await cli(["doctor", "extra-argument"])).code).toBe(64);
  });
});

describe.concurrent("posbridge doctor and the broker, without the daemon", () => {
  const brokerFindings = async (mqtt: string, env?: NodeJS.ProcessEnv) =>
    of(await doctor(writeConfig({ mqtt }), { env: env ?? {} }), "broker");

  it("nothing listening, and a host name that does not resolve, told apart", async () => {
    const port = await freePort();
    expect(await brokerFindings(`{ url: "mqtt://127.0.0.1:${port}" }`)).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_MQTT_CONNECT",
        title: `cannot connect to mqtt://127.0.0.1:${port}: nothing listens on the broker's port: 127.0.0.1:${port} (ECONNREFUSED)`,
      }),
    ]);
    const [dns] = await brokerFindings(`{ url: "mqtt://broker.posbridge-test.invalid:1883" }`);
    expect(dns).toMatchObject({ level: "error", code: "PB_MQTT_CONNECT" });
    expect(dns?.title).toMatch(
      /the broker's host name (does not resolve|cannot be resolved now \(DNS\)): broker\.posbridge-test\.invalid/,
    );
  });

  it("a broker certificate signed by another CA: PB_MQTT_TLS; the right CA connects", async ({
    onTestFinished,
  }) => {
    const ca = new TestCa();
    const other = new TestCa("another CA");
    const server = ca.issue("server", { cn: "127.0.0.1", san: "IP:127.0.0.1" });
    const broker = await createTestBroker({
      tls: { cafile: ca.cert, certfile: server.cert, keyfile: server.key },
    });
    onTestFinished(() => broker.stop());
    await broker.start();
    const wrong = await brokerFindings(`{ url: "${broker.url}", tls: { ca: ${other.cert} } }`);
    expect(wrong).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_MQTT_TLS",
        // Mosquitto sends its CA along: Node names the untrusted end of the chain.
        title: expect.stringMatching(
          /^cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: TLS: the broker's certificate (chain ends in an untrusted CA \(SELF_SIGNED_CERT_IN_CHAIN\)|is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\))$/,
        ),
        fix: "set mqtt.tls.ca to the CA that signed the broker's certificate",
      }),
    ]);
    expect(
      (await brokerFindings(`{ url: "${broker.url}", tls: { ca: ${ca.cert} } }`)).map((f) => f.level),
    ).toEqual(["ok", "ok"]);
  });

  it("bad credentials: PB_MQTT_AUTH from the CONNACK; the right password connects", async ({
    onTestFinished,
  }) => {
    const broker = await createTestBroker({ passwords: { bridge: "right-password" } });
    onTestFinished(() => broker.stop());
    await broker.start();
    const mqtt = `{ url: "${broker.url}", username: bridge }`;
    expect(await brokerFindings(mqtt, { POSBRIDGE_MQTT__PASSWORD: "wrong-password" })).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_MQTT_AUTH",
        // Mosquitto 2 answers a wrong password from its password_file with 0x87 (0x86 elsewhere).
        title: expect.stringMatching(
          /^cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: broker refused the connection: 0x8(6 bad user name or password|7 not authorized)$/,
        ),
        fix: expect.stringContaining("mqtt.username / mqtt.password"),
      }),
    ]);
    expect(
      (await brokerFindings(mqtt, { POSBRIDGE_MQTT__PASSWORD: "right-password" })).map((f) => f.level),
    ).toEqual(["ok", "ok"]);
  });

  it("an ACL refusing the subscription to res: PB_MQTT_REFUSED, the bridge could not hear answers", async ({
    onTestFinished,
  }) => {
    const broker = await createTestBroker({
      dynsec: {
        defaultACLAccess: {
          publishClientSend: true,
          publishClientReceive: true,
          subscribe: true,
          unsubscribe: true,
        },
        clients: [],
        groups: [{ groupname: "anon", roles: [{ rolename: "bridge" }] }],
        roles: [
          {
            rolename: "bridge",
            acls: [{ acltype: "subscribePattern", topic: "posbridge/v1/+/+/res", priority: 0, allow: false }],
          },
        ],
        anonymousGroup: "anon",
      },
    });
    onTestFinished(() => broker.stop());
    await broker.start();
    const f = await brokerFindings(`{ url: "${broker.url}" }`);
    expect(f.map(brief)).toEqual([
      expect.stringMatching(/^ok broker: connected to /),
      expect.stringMatching(
        /^error broker: subscription to posbridge\/v1\/DOC\/d\d+\/res refused: 0x87 not authorized$/,
      ),
    ]);
    expect(f[1]).toMatchObject({ code: "PB_MQTT_REFUSED", fix: expect.stringContaining("Broker ACL") });
    // It published nothing: the broker saw a subscribe and a disconnect, no PUBLISH from it.
    expect(broker.log.filter((l) => /Received PUBLISH from posbridge-DOC/.test(l))).toEqual([]);
  });
});

describe("posbridge doctor with the daemon running on ptys and Mosquitto", () => {
  let rig: BridgeRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it("reads the daemon's own view when it answers; names the daemon holding its ports when it does not", async () => {
    rig = await startBridgeRig({ name: "doctor", env: { PB_TEST_STALL_MS: "1500" } });
    const r = await doctor(rig.configPath);
    const pid = rig.daemon.proc.pid;
    if (r.daemon.running) {
      // Through the control socket: the daemon's link and devices, and it holds its own ports.
      expect(of(r, "broker").map(brief)).toEqual([expect.stringMatching(/^ok broker: the daemon is online/)]);
      expect(of(r, "device-holders").map((f) => f.level)).toEqual(["ok"]);
      expect(of(r, "device-state").map(brief)).toEqual(["ok devices: the daemon has 2 lane devices open"]);
      // A blocked event loop, measured by the daemon itself (test stall: SIGUSR2 holds it 1.5 s).
      rig.daemon.proc.kill("SIGUSR2");
      await rig.daemon.waitForLog((e) => e.msg === "test stall: event loop released");
      expect(of(await doctor(rig.configPath), "event-loop")).toEqual([
        expect.objectContaining({ level: "error", code: "PB_WATCHDOG_WITHHELD" }),
      ]);
    } else {
      // No answer on the socket (this branch's stand-in client, or a socket it cannot reach): the
      // posbridge holding the ports is named, and said to be one that did not answer.
      expect(of(r, "device-holders")).toEqual([
        expect.objectContaining({
          level: "error",
          subject: "lane1 terminal",
          title: expect.stringMatching(
            new RegExp(
              `^/dev/pts/\\d+ is held by pid ${pid} node \\(.*posbridge\\.js run --config ${rig.configPath}\\)`,
            ),
          ),
          detail: expect.stringContaining("did not answer on the control socket"),
          fix: "stop the other bridge (systemctl status posbridge; one bridge per device)",
        }),
        expect.objectContaining({ level: "error", subject: "lane1 scanner" }),
      ]);
    }
  }, 30_000);
});

describe.concurrent("posbridge devices", () => {
  it("on this machine: every serial node sysfs has (ptys are not devices); the lanes' ptys shown under their lane", async () => {
    const config = writeConfig();
    const r = await cli(["devices", "--json", "-c", config]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DevicesReport;
    // What sysfs lists as ttys with a device (and a UART where one answered), nothing else.
    const expected = readdirSync("/sys/class/tty").filter((t) => hasDevice(t));
    expect(
      report.nodes
        .filter((x) => x.kind === "serial")
        .map((x) => x.name)
        .sort(),
    ).toEqual(expected.sort());
    expect(report.nodes.some((x) => x.path.startsWith("/dev/pts/"))).toBe(false);
    expect(report.lanes).toEqual([
      expect.objectContaining({
        subject: "lane-1 terminal",
        status: "found",
        node: null,
        text: expect.stringContaining("is a pty"),
      }),
      expect.objectContaining({ subject: "lane-1 scanner", status: "found", node: null }),
    ]);
    expect(report.daemon.running).toBe(false);
    const text = await cli(["devices", "-c", config]);
    expect(text.stdout).toMatch(/^Serial ports \(\d+\)\n/);
    expect(text.stdout).toContain(`  lane-1 terminal  ${terminal.daemonPath} is /dev/pts/`);
    expect(text.stdout).toMatch(/Daemon: not running \(.*\); the lanes above are what this PC shows\.\n$/);
  });

  it("a configured USB device that is not plugged in, and no config at all", async () => {
    const config = writeConfig({
      lanes: `  - id: lane-1\n    terminal: { path: ${terminal.daemonPath} }\n    scanner: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F71" } }\n`,
    });
    const r = JSON.parse((await cli(["devices", "--json", "-c", config])).stdout) as DevicesReport;
    expect(r.lanes[1]).toMatchObject({ status: "absent", text: "0c2e:0b61 serial 21100B4F71 not present" });
    const none = await cli(["devices", "-c", join(dir, "missing.yaml")]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(
      `Lanes: none shown: configuration file not found: ${join(dir, "missing.yaml")} (PB_CONFIG_NOT_FOUND)`,
    );
  });
});

function readFileComm(pid: number | undefined): string {
  try {
    return execFileSync("cat", [`/proc/${pid}/comm`], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function hasDevice(tty: string): boolean {
  try {
    readdirSync(`/sys/class/tty/${tty}/device/`);
  } catch {
    return false;
  }
  try {
    return execFileSync("cat", [`/sys/class/tty/${tty}/type`], { encoding: "utf8" }).trim() !== "0";
  } catch {
    return true;
  }
}
