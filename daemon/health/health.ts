// The verdict behind each systemd watchdog ping: a ping says "this bridge can take a payment",
// not merely "a timer fired" (what a plain interval proves). Healthy means:
//   - the event loop was never held up longer than `loopDelayLimitMs` since the last check
//     (a sampling timer, eventLoopProbe). A loop stopped outright stops the pings by itself; this
//     also catches a loop that keeps turning but stalls in between, e.g. an fsync on a dying disk
//     that takes seconds each time (a wedged journal). The default limit is the ping interval:
//     a stall that long, wherever it falls between two pings, costs the bridge a restart.
//   - every lane's journal is writable: a lane whose journal write failed refuses sales until a
//     write succeeds (protocols/sale/sale-register.ts), which without a restart may be never.
//   - no journal batch has been in flight longer than the same limit: the lanes' records are
//     group-committed on libuv's threadpool (daemon/journal/group-commit.ts), so an fsync stuck
//     on a dying disk leaves the event loop turning while every lane waits for its commit.
// Each lane's sale runner steps on the event loop (daemon/lanes/sale-runner.ts#feed) and waits for
// its commit: "the lane's loop turns" is the event loop turning and its commits completing.

export interface LoopDelayProbe {
  /** The longest the event loop was held up since the previous call, in ms; starts a new window. */
  takeMaxMs(): number;
  stop(): void;
}

/** What the health check reads of a lane (daemon/lanes/lane.ts). */
export interface LaneHealthSource {
  readonly id: string;
  details(): { journalOk: boolean };
}

/** What the health check reads of the journal (daemon/journal/journal.ts). */
export interface JournalHealthSource {
  /** How long the batch being written has been at it; 0 when none. */
  commitInFlightMs(): number;
}

export interface HealthDeps {
  probe: LoopDelayProbe;
  lanes: readonly LaneHealthSource[];
  /** Also the limit of a journal batch in flight. */
  loopDelayLimitMs: number;
  journal?: JournalHealthSource | undefined;
}

export interface HealthVerdict {
  ok: boolean;
  /** One short phrase per problem, for the log and STATUS=; empty when ok. */
  problems: string[];
}

export class Health {
  constructor(private readonly deps: HealthDeps) {}

  /** Judges the window since the previous check. */
  check(): HealthVerdict {
    const problems: string[] = [];
    const loopMs = Math.round(this.deps.probe.takeMaxMs());
    if (loopMs > this.deps.loopDelayLimitMs) {
      problems.push(`event loop held up ${loopMs} ms (limit ${this.deps.loopDelayLimitMs} ms)`);
    }
    const commitMs = Math.round(this.deps.journal?.commitInFlightMs() ?? 0);
    if (commitMs > this.deps.loopDelayLimitMs) {
      problems.push(`journal write in flight for ${commitMs} ms (limit ${this.deps.loopDelayLimitMs} ms)`);
    }
    for (const lane of this.deps.lanes) {
      if (!lane.details().journalOk) problems.push(`${laneName(lane.id)} journal unwritable`);
    }
    return { ok: problems.length === 0, problems };
  }
}

/** "lane-1" stays "lane-1"; an id such as "2" reads "lane 2". */
export function laneName(id: string): string {
  return /^lane/i.test(id) ? id : `lane ${id}`;
}

/**
 * Measures how late a timer that should fire every `intervalMs` fires. perf_hooks'
 * monitorEventLoopDelay would do the sampling natively, but its reset() drops the first interval
 * after it, so a stall that begins right after a check went unseen (checked on Node 20).
 * takeMaxMs also counts the gap still open (a check that runs right after a stall, before the
 * sampler) and restarts it, so one stall is reported by one window only.
 */
export function eventLoopProbe(intervalMs = 50): LoopDelayProbe {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - intervalMs);
    last = now;
  }, intervalMs);
  timer.unref();
  return {
    takeMaxMs() {
      const now = performance.now();
      const worst = Math.max(max, now - last - intervalMs, 0);
      max = 0;
      last = now;
      return worst;
    },
    stop: () => clearInterval(timer),
  };
}
