// The sd_notify sender: silent without NOTIFY_SOCKET, one message per send in the order asked,
// STATUS= kept to one line, a missing or failing systemd-notify logged (once) and never thrown;
// and one real round trip through systemd-notify to a fake notify socket.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import {
  createNotifier,
  findSystemdNotify,
  MAX_STATUS_CHARS,
  notifyArgs,
  type RunProgram,
  watchdogIntervalMs,
} from "../../../daemon/health/sd-notify.js";
import { createNotifySocket, type NotifySocket } from "../../support/notify-socket.js";

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

describe("watchdogIntervalMs (sd_watchdog_enabled)", () => {
  it("is half of WATCHDOG_USEC, in ms", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "20000000" }, 42)).toBe(10_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "20000000", WATCHDOG_PID: "42" }, 42)).toBe(10_000);
  });
  it("is null when unset, not a positive integer, or meant for another process", () => {
    expect(watchdogIntervalMs({}, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "0" }, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "abc" }, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "20000000", WATCHDOG_PID: "41" }, 42)).toBeNull();
  });
});

describe("notifyArgs", () => {
  it("makes STATUS one printable line and caps it", () => {
    expect(notifyArgs({ READY: "1", STATUS: "a\nb\r\tc" })).toEqual(["READY=1", "STATUS=a b c"]);
    const long = notifyArgs({ STATUS: "x".repeat(1_000) })[0] ?? "";
    expect(long.length).toBe("STATUS=".length + MAX_STATUS_CHARS);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("createNotifier", () => {
  const clock = new ManualClock();

  it("does nothing without NOTIFY_SOCKET", async () => {
    const calls: string[][] = [];
    const { log } = logSink();
    const n = createNotifier({ env: {}, log, clock, run: async (_f, a) => void calls.push(a) });
    expect(n.enabled).toBe(false);
    expect(await n.send({ READY: "1" })).toBe(false);
    expect(calls).toEqual([]);
  });

  it("runs systemd-notify once per message, in the order asked, even when one is slow", async () => {
    const calls: string[][] = [];
    let release: () => void = () => {};
    const run: RunProgram = (_file, args) => {
      calls.push(args);
      return args.includes("READY=1") ? new Promise((r) => (release = r)) : Promise.resolve();
    };
    const { log } = logSink();
    const n = createNotifier({
      env: { NOTIFY_SOCKET: "/x" },
      log,
      clock,
      run,
      findProgram: () => "/usr/bin/systemd-notify",
    });
    const ready = n.send({ READY: "1", STATUS: "ok" });
    const ping = n.send({ WATCHDOG: "1" });
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([["--", "READY=1", "STATUS=ok"]]);
    release();
    expect(await ready).toBe(true);
    expect(await ping).toBe(true);
    expect(calls).toEqual([
      ["--", "READY=1", "STATUS=ok"],
      ["--", "WATCHDOG=1"],
    ]);
  });

  it("says once that systemd-notify is missing, and never throws", async () => {
    const { log, lines } = logSink();
    const n = createNotifier({ env: { NOTIFY_SOCKET: "/x" }, log, clock, findProgram: () => null });
    expect(await n.send({ READY: "1" })).toBe(false);
    expect(await n.send({ WATCHDOG: "1" })).toBe(false);
    expect(n.enabled).toBe(false);
    expect(lines.filter((l) => l.errCode === "PB_NOTIFY_UNAVAILABLE")).toHaveLength(1);
  });

  it("logs a failed send with PB_NOTIFY_FAILED and the program's reason", async () => {
    const { log, lines } = logSink();
    const n = createNotifier({
      env: { NOTIFY_SOCKET: "/x" },
      log,
      clock,
      findProgram: () => "/usr/bin/systemd-notify",
      run: () => Promise.reject(new Error("Failed to notify init system: Connection refused")),
    });
    expect(await n.send({ WATCHDOG: "1" })).toBe(false);
    expect(lines[0]).toMatchObject({ errCode: "PB_NOTIFY_FAILED" });
    expect(String(lines[0]?.msg)).toContain("Connection refused");
  });
});

describe.skipIf(!findSystemdNotify(process.env))("through the real systemd-notify", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-sdn-"));
  let socket: NotifySocket | undefined;
  afterAll(() => socket?.close());

  it("delivers READY and a multi-line STATUS as one message to NOTIFY_SOCKET", async () => {
    socket = await createNotifySocket(dir);
    const { log, lines } = logSink();
    const n = createNotifier({
      env: { ...process.env, NOTIFY_SOCKET: socket.path },
      log,
      clock: new ManualClock(),
    });
    expect(await n.send({ READY: "1", STATUS: "broker unreachable:\nECONNREFUSED" })).toBe(true);
    expect(await n.send({ STATUS: "--ready", WATCHDOG: "1" })).toBe(true);
    await expect.poll(() => socket?.messages.length).toBe(2);
    expect(socket.messages.map((m) => m.fields)).toEqual([
      { READY: "1", STATUS: "broker unreachable: ECONNREFUSED" },
      { STATUS: "--ready", WATCHDOG: "1" },
    ]);
    expect(lines).toEqual([]);
    expect(existsSync(socket.path)).toBe(true);
  });
});
