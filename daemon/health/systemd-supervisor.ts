// The bridge's side of Type=notify supervision (systemd/posbridge.service):
//   ready()     after app.start() — the journal is open and every lane's device supervisors run —
//               READY=1 with the first STATUS=. The broker is not waited for: the register must
//               get answers (cloud offline) while the store's network is still down.
//   every tick  (the watchdog interval, WATCHDOG_USEC/2; STATUS_EVERY_MS without a watchdog)
//               the health verdict (health.ts): WATCHDOG=1 only while it is ok; a withheld ping is
//               logged once per change (PB_WATCHDOG_WITHHELD) and systemd restarts the bridge
//               after WatchdogSec. STATUS= goes out whenever its text changed (status-line.ts),
//               and at once when the broker link goes up or down.
//   stopping()  first thing on SIGTERM: STOPPING=1, then no more pings.
// Without NOTIFY_SOCKET every call is a no-op and no timer runs.
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "../log/logger.js";
import {
  eventLoopProbe,
  Health,
  type JournalHealthSource,
  type LaneHealthSource,
  type LoopDelayProbe,
} from "./health.js";
import { type Notifier, type NotifyFields, watchdogIntervalMs } from "./sd-notify.js";
import { type StatusSource, statusLine } from "./status-line.js";

/** STATUS= refresh without a watchdog. */
export const STATUS_EVERY_MS = 5_000;
/** How long stop waits for STOPPING=1 to be taken before it goes on regardless. */
const STOPPING_WAIT_MS = 2_000;

export interface SupervisedApp extends StatusSource {
  lanes: readonly (StatusSource["lanes"][number] & LaneHealthSource)[];
  link: StatusSource["link"] & { onStatusChange(fn: () => void): void };
  /** Its batch in flight counts against the watchdog (health.ts). */
  journal?: JournalHealthSource;
}

export interface SupervisorDeps {
  notifier: Notifier;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Logger;
  /** Test seam: default eventLoopProbe(). */
  probe?: () => LoopDelayProbe;
}

export class SystemdSupervisor {
  private timer: TimerHandle | undefined;
  private probe: LoopDelayProbe | undefined;
  private health: Health | undefined;
  private app: SupervisedApp | undefined;
  private lastStatus = "";
  private withheld: string | undefined;
  private problems: readonly string[] = [];
  private stopped = false;
  readonly counters = { pings: 0, withheld: 0, statusSent: 0 };
  /** The ping interval, or null when systemd asked for no watchdog. */
  readonly watchdogMs: number | null;

  constructor(private readonly deps: SupervisorDeps) {
    this.watchdogMs = deps.notifier.enabled ? watchdogIntervalMs(deps.env) : null;
  }

  async ready(app: SupervisedApp): Promise<void> {
    if (!this.deps.notifier.enabled || this.stopped) return;
    this.app = app;
    const tickMs = this.watchdogMs ?? STATUS_EVERY_MS;
    this.probe = (this.deps.probe ?? eventLoopProbe)();
    this.health = new Health({
      probe: this.probe,
      lanes: app.lanes,
      loopDelayLimitMs: tickMs,
      journal: app.journal,
    });
    this.lastStatus = statusLine(app);
    // Every change of the link's state or reason (online, refused and why, unreachable and why).
    app.link.onStatusChange(() => void this.refreshStatus());
    this.arm(tickMs);
    this.deps.log.info(
      { watchdogMs: this.watchdogMs, status: this.lastStatus },
      this.watchdogMs ? "telling systemd: ready; watchdog on" : "telling systemd: ready",
    );
    await this.deps.notifier.send({ READY: "1", STATUS: this.lastStatus });
  }

  /** The start failed: the reason goes to `systemctl status` before the process exits. */
  async failed(reason: string): Promise<void> {
    if (!this.deps.notifier.enabled) return;
    await this.deps.notifier.send({ STATUS: `cannot start: ${reason}` });
  }

  async stopping(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.probe?.stop();
    if (!this.deps.notifier.enabled) return;
    const sent = this.deps.notifier.send({ STOPPING: "1", STATUS: "stopping" });
    await Promise.race([
      sent,
      new Promise((r) => this.deps.clock.setTimeout(() => r(false), STOPPING_WAIT_MS)),
    ]);
  }

  /** One tick: the verdict, a ping if it is ok, STATUS= if it changed. Exposed for tests. */
  tick(): Promise<boolean> {
    const app = this.app;
    const health = this.health;
    if (!app || !health || this.stopped) return Promise.resolve(false);
    const verdict = health.check();
    this.problems = verdict.problems;
    const fields: NotifyFields = {};
    if (this.watchdogMs !== null) {
      if (verdict.ok) {
        fields.WATCHDOG = "1";
        this.counters.pings++;
        if (this.withheld !== undefined) {
          this.deps.log.info({ after: this.withheld }, "health ok again: watchdog pings resumed");
          this.withheld = undefined;
        }
      } else {
        this.counters.withheld++;
        const why = verdict.problems.join(", ");
        if (why !== this.withheld) {
          this.deps.log.warn(
            { errCode: "PB_WATCHDOG_WITHHELD", problems: verdict.problems },
            `watchdog ping withheld: ${why}; systemd restarts the bridge if this lasts WatchdogSec (PB_WATCHDOG_WITHHELD)`,
          );
          this.withheld = why;
        }
      }
    }
    const status = statusLine(app, verdict.problems);
    if (status !== this.lastStatus) {
      this.lastStatus = status;
      fields.STATUS = status;
      this.counters.statusSent++;
    }
    return Object.keys(fields).length > 0 ? this.deps.notifier.send(fields) : Promise.resolve(false);
  }

  private arm(ms: number): void {
    this.timer = this.deps.clock.setTimeout(() => {
      if (this.stopped) return;
      void this.tick();
      this.arm(ms);
    }, ms);
  }

  /** Between ticks (the broker went up or down): STATUS= now, with the last verdict's problems. */
  private refreshStatus(): Promise<boolean> {
    if (!this.app || this.stopped) return Promise.resolve(false);
    const status = statusLine(this.app, this.problems);
    if (status === this.lastStatus) return Promise.resolve(false);
    this.lastStatus = status;
    this.counters.statusSent++;
    return this.deps.notifier.send({ STATUS: status });
  }
}
