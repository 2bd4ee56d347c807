// The supervisor on a manual clock with a recording notifier: READY with the first STATUS, a ping
// per tick only while healthy (a withheld ping logged once per change), STATUS= only on change
// and at once on a broker state change, STOPPING first on stop and nothing after it.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import type { LoopDelayProbe } from "../../../daemon/health/health.js";
import type { Notifier, NotifyFields } from "../../../daemon/health/sd-notify.js";
import {
  STATUS_EVERY_MS,
  type SupervisedApp,
  SystemdSupervisor,
} from "../../../daemon/health/systemd-supervisor.js";

function setup(env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "2000000" }) {
  const clock = new ManualClock();
  const sent: NotifyFields[] = [];
  const notifier: Notifier = {
    enabled: env.NOTIFY_SOCKET !== undefined,
    send: async (f) => {
      sent.push(f);
      return true;
    },
  };
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const loop: number[] = [];
  const probe: LoopDelayProbe = { takeMaxMs: () => loop.shift() ?? 5, stop: () => {} };
  const state = {
    online: false,
    lastError: "connect ECONNREFUSED 127.0.0.1:1",
    journalOk: true,
    scanner: "ABSENT",
  };
  const onlineFns: ((online: boolean) => void)[] = [];
  const app: SupervisedApp = {
    link: {
      get isOnline() {
        return state.online;
      },
      get status() {
        return state.online
          ? { state: "online" as const, reason: "" }
          : { state: "offline" as const, reason: state.lastError };
      },
      onStatusChange: (fn) => onlineFns.push(() => fn()),
    },
    lanes: [
      {
        id: "lane-1",
        config: {},
        details: () => ({ journalOk: state.journalOk }),
        status: () => ({
          laneId: "lane-1",
          terminal: "CONNECTED",
          scanner: state.scanner as "ABSENT",
          display: "ABSENT",
          lastError: "",
          pendingAttempts: 0,
          pendingRefunds: 0,
        }),
      },
    ],
  };
  const sup = new SystemdSupervisor({ notifier, env, clock, log, probe: () => probe });
  const setOnline = (online: boolean) => {
    state.online = online;
    for (const fn of onlineFns) fn(online);
  };
  return { clock, sent, lines, loop, state, app, sup, setOnline };
}

describe("SystemdSupervisor", () => {
  it("sends READY with the first STATUS, then a ping every WATCHDOG_USEC/2", async () => {
    const { clock, sent, app, sup } = setup();
    await sup.ready(app);
    expect(sent).toEqual([
      { READY: "1", STATUS: "broker unreachable: connect ECONNREFUSED 127.0.0.1:1; lane-1 scanner absent" },
    ]);
    clock.advance(999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    clock.advance(1_000);
    clock.advance(1_000);
    expect(sent.slice(1)).toEqual([{ WATCHDOG: "1" }, { WATCHDOG: "1" }, { WATCHDOG: "1" }]);
  });

  it("withholds pings while a lane's journal is unwritable or the loop was held, says so once, and resumes", async () => {
    const { clock, sent, lines, loop, state, app, sup } = setup();
    await sup.ready(app);
    state.journalOk = false;
    clock.advance(3_000);
    expect(sent.filter((f) => f.WATCHDOG)).toEqual([]);
    expect(sent.at(-1)?.STATUS).toContain("lane-1 journal unwritable");
    expect(lines.filter((l) => l.errCode === "PB_WATCHDOG_WITHHELD")).toHaveLength(1);
    state.journalOk = true;
    loop.push(1_500);
    clock.advance(1_000);
    expect(sent.filter((f) => f.WATCHDOG)).toEqual([]);
    expect(lines.filter((l) => l.errCode === "PB_WATCHDOG_WITHHELD").map((l) => l.problems)).toEqual([
      ["lane-1 journal unwritable"],
      ["event loop held up 1500 ms (limit 1000 ms)"],
    ]);
    clock.advance(1_000);
    expect(sent.at(-1)).toMatchObject({ WATCHDOG: "1" });
    expect(lines.some((l) => l.msg === "health ok again: watchdog pings resumed")).toBe(true);
    expect(sup.counters).toMatchObject({ pings: 1, withheld: 4 });
  });

  it("sends STATUS= only when it changes, and at once when the broker comes or goes", async () => {
    const { clock, sent, state, app, sup, setOnline } = setup();
    await sup.ready(app);
    clock.advance(2_000);
    expect(sent.filter((f) => f.STATUS)).toHaveLength(1);
    state.scanner = "CONNECTED";
    setOnline(true);
    await Promise.resolve();
    expect(sent.at(-1)).toEqual({ STATUS: "ready: 1 lane, broker online" });
    clock.advance(2_000);
    expect(sent.filter((f) => f.STATUS)).toHaveLength(2);
  });

  it("sends STOPPING first on stop, and nothing after it", async () => {
    const { clock, sent, app, sup } = setup();
    await sup.ready(app);
    await sup.stopping();
    expect(sent.at(-1)).toEqual({ STOPPING: "1", STATUS: "stopping" });
    const n = sent.length;
    clock.advance(10_000);
    expect(sent).toHaveLength(n);
    expect(clock.pendingTimers).toBe(0);
  });

  it("refreshes STATUS without pinging when systemd set no watchdog", async () => {
    const { clock, sent, state, app, sup } = setup({ NOTIFY_SOCKET: "/run/x" });
    await sup.ready(app);
    expect(sup.watchdogMs).toBeNull();
    state.scanner = "CONNECTED";
    clock.advance(STATUS_EVERY_MS);
    expect(sent.slice(1)).toEqual([{ STATUS: "broker unreachable: connect ECONNREFUSED 127.0.0.1:1" }]);
  });

  it("puts the reason a start failed into STATUS=", async () => {
    const { sent, sup } = setup();
    await sup.failed("journal: cannot create /var/lib/posbridge/journal.log: EACCES (PB_JOURNAL_WRITE)");
    expect(sent).toEqual([
      {
        STATUS:
          "cannot start: journal: cannot create /var/lib/posbridge/journal.log: EACCES (PB_JOURNAL_WRITE)",
      },
    ]);
  });

  it("does nothing and arms no timer without NOTIFY_SOCKET", async () => {
    const { clock, sent, app, sup } = setup({});
    await sup.ready(app);
    await sup.stopping();
    expect(sent).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});
