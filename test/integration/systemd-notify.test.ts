// Type=notify supervision of the real built daemon (issue 9, item 1), with a fake NOTIFY_SOCKET
// received by test/support/notify-socket.ts and the messages sent by systemd's own systemd-notify,
// as on a store PC. The broker is unreachable (mqtt://127.0.0.1:1) and the scanner absent: READY
// must come anyway, STATUS must say what is wrong, the watchdog pings must come every
// WATCHDOG_USEC/2, stop while the event loop is held (SIGUSR2 with PB_TEST_STALL_MS, test-only)
// and resume after it, and SIGTERM must be announced with STOPPING=1.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createNotifySocket, type NotifySocket } from "../support/notify-socket.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";

const WATCHDOG_USEC = 2_000_000; // pings every 1 s
const PING_MS = WATCHDOG_USEC / 2_000;
const STALL_MS = 3_000;

describe("systemd notify and watchdog (fake NOTIFY_SOCKET, broker unreachable)", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-notify-"));
  let notify: NotifySocket;
  let regPty: PtyPair;
  let daemon: DaemonProcess;
  let startedAt = 0;

  beforeAll(async () => {
    notify = await createNotifySocket(dir);
    regPty = await createPtyPair(dir, "register");
    const configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: NTF
bridge: PC1
stateDir: ${join(dir, "state")}
log: { level: info, format: json }
mqtt: { url: "mqtt://127.0.0.1:1", reconnectMinMs: 100, reconnectMaxMs: 1000 }
lanes:
  - id: lane-1
    terminal: { path: ${regPty.daemonPath}, profile: ecr }
    scanner: { path: ${join(dir, "no-scanner")}, type: serial }
`,
    );
    startedAt = performance.now();
    daemon = startDaemon(["run", "--config", configPath], {
      NOTIFY_SOCKET: notify.path,
      WATCHDOG_USEC: String(WATCHDOG_USEC),
      PB_TEST_STALL_MS: String(STALL_MS),
    });
  });

  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await Promise.all([notify?.close(), regPty?.close()]);
  });

  it("sends READY=1 once started, without waiting for the unreachable broker", async () => {
    await expect.poll(() => notify.with("READY").length, { timeout: 10_000 }).toBe(1);
    const ready = notify.with("READY")[0];
    expect(ready?.fields.STATUS).toMatch(/^broker (connecting|unreachable)/);
    // After the journal opened and the lanes started, never before.
    const started = await daemon.waitForLog((e) => e.msg === "posbridge started");
    expect(started).toBeDefined();
    expect(daemon.lines.some((l) => l.includes('"broker connected"'))).toBe(false);
    expect((ready?.at ?? 0) - startedAt).toBeLessThan(8_000);
  });

  it("says in STATUS= what is wrong: the broker's refusal and the absent scanner", async () => {
    // Once the register's pty is open only the broker and the scanner are wrong, and it says so.
    await expect
      .poll(() => notify.with("STATUS").at(-1)?.fields.STATUS, { timeout: 10_000 })
      .toMatch(
        /^broker unreachable: nothing listens on the broker's port: 127\.0\.0\.1:1 \(ECONNREFUSED\); lane-1 scanner absent$/,
      );
  });

  it("pings the watchdog every WATCHDOG_USEC/2", async () => {
    await expect.poll(() => notify.with("WATCHDOG").length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const at = notify.with("WATCHDOG").map((m) => m.at);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    for (const gap of gaps.slice(-3)) {
      expect(gap).toBeGreaterThan(PING_MS * 0.6);
      expect(gap).toBeLessThan(PING_MS * 1.8);
    }
  });

  it("stops pinging while the event loop is held, and resumes after it", async () => {
    const before = notify.with("WATCHDOG").length;
    const sentAt = performance.now();
    daemon.proc.kill("SIGUSR2");
    await daemon.waitForLog((e) => e.msg === "test stall: event loop released", STALL_MS + 5_000);
    const releasedAt = performance.now();
    await expect
      .poll(() => notify.with("WATCHDOG").length, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(before + 2);
    const during = notify.with("WATCHDOG").filter((m) => m.at > sentAt + 200 && m.at < releasedAt);
    expect(during).toEqual([]);
    // The tick right after the stall is withheld (the loop was held longer than the ping interval),
    // so the first ping after it comes about one interval later, not at once.
    const firstAfter = notify.with("WATCHDOG").find((m) => m.at >= releasedAt);
    expect((firstAfter?.at ?? 0) - releasedAt).toBeGreaterThan(PING_MS * 0.5);
    const withheld = await daemon.waitForLog((e) => e.errCode === "PB_WATCHDOG_WITHHELD");
    expect(String(withheld.msg)).toMatch(/event loop held up \d+ ms/);
    await daemon.waitForLog((e) => e.msg === "health ok again: watchdog pings resumed");
  });

  it("sends STOPPING=1 on SIGTERM and exits 0", async () => {
    const code = await daemon.stop("SIGTERM");
    expect(code).toBe(0);
    expect(notify.with("STOPPING")).toHaveLength(1);
    const stoppingAt = notify.with("STOPPING")[0]?.at ?? 0;
    expect(notify.with("WATCHDOG").filter((m) => m.at > stoppingAt)).toEqual([]);
  });
});
