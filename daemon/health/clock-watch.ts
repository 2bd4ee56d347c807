// Notices the wall clock jumping (docs/design.md, "Time"). Store PCs boot with a wrong clock (a
// dead CMOS battery, a BIOS in another time zone) and NTP or an operator steps it later, by
// hours. No timeout of the bridge depends on the wall clock, but records, the day report and the
// deadline told to the cloud do, so a technician must be able to see when and by how much it
// moved. Every second (on the monotonic clock) the two clocks' progress is compared: NTP slews by
// at most 0.5 ms a second, and a late timer delays both clocks alike, so a difference above
// `thresholdMs` is a step.
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "../log/logger.js";

export const CLOCK_CHECK_MS = 1_000;
export const CLOCK_JUMP_THRESHOLD_MS = 2_000;

export interface ClockJump {
  /** How far the wall clock moved beyond the monotonic clock: > 0 forward, < 0 back. */
  stepMs: number;
  /** Wall clock before and after, epoch ms. */
  fromWall: number;
  toWall: number;
}

export interface ClockWatchDeps {
  clock: Clock;
  log: Logger;
  onJump: (jump: ClockJump) => void;
  intervalMs?: number;
  thresholdMs?: number;
}

export class ClockWatch {
  private timer: TimerHandle | undefined;
  private last: { wall: number; mono: number } | undefined;
  readonly counters = { jumps: 0, largestStepMs: 0 };

  constructor(private readonly deps: ClockWatchDeps) {}

  start(): void {
    if (this.timer) return;
    this.last = this.read();
    this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Compares the clocks now (also run every intervalMs). */
  check(): ClockJump | undefined {
    const now = this.read();
    const before = this.last ?? now;
    this.last = now;
    const stepMs = now.wall - before.wall - (now.mono - before.mono);
    if (Math.abs(stepMs) <= (this.deps.thresholdMs ?? CLOCK_JUMP_THRESHOLD_MS)) return undefined;
    const jump: ClockJump = { stepMs, fromWall: before.wall + (now.mono - before.mono), toWall: now.wall };
    this.counters.jumps++;
    if (Math.abs(stepMs) > Math.abs(this.counters.largestStepMs)) this.counters.largestStepMs = stepMs;
    this.deps.log.warn(
      {
        stepMs,
        from: new Date(jump.fromWall).toISOString(),
        to: new Date(jump.toWall).toISOString(),
      },
      `wall clock stepped ${describeStep(stepMs)}; timeouts run on the monotonic clock and are not affected`,
    );
    this.deps.onJump(jump);
    return jump;
  }

  private read() {
    return { wall: this.deps.clock.wallNow(), mono: this.deps.clock.monoNow() };
  }

  private arm(): void {
    this.timer = this.deps.clock.setTimeout(() => {
      this.check();
      this.arm();
    }, this.deps.intervalMs ?? CLOCK_CHECK_MS);
  }
}

/** "+3600.0 s" / "-42.5 s". */
export function describeStep(stepMs: number): string {
  return `${stepMs >= 0 ? "+" : "-"}${(Math.abs(stepMs) / 1000).toFixed(1)} s`;
}
