// Time as a dependency (style-examples.md §2 item 14): real in production, manual in tests.
// Two clocks, never mixed (docs/design.md, "Time"): the wall clock for timestamps and the cloud's
// deadline, the monotonic clock for every duration. A store PC boots with a wrong clock and NTP
// steps it by hours; a timeout measured on the wall clock then fires an hour early or never.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Instant } from "../protocols/core/instant.js";

export type { Instant } from "../protocols/core/instant.js";

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch ms. Records, the contract's sent_at_ms/deadline_ms, the day report, ulids. NTP may step it. */
  wallNow(): number;
  /** Monotonic ms since boot (CLOCK_MONOTONIC). Timeouts, back-off, windows, "stayed up for". Never steps. */
  monoNow(): number;
  /** The kernel's boot id: monotonic readings of one boot are comparable across processes. */
  readonly bootId: string;
  /** Runs `fn` after `ms` of monotonic time (Node's timers are monotonic). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** Both clocks at once, as the pure machines take them. */
export function instantOf(clock: Clock): Instant {
  return { wall: clock.wallNow(), mono: clock.monoNow(), boot: clock.bootId };
}

/**
 * `/proc/sys/kernel/random/boot_id`, shortened (a tag, not a secret). Where it cannot be read, a
 * tag of this process only: a restarted bridge then measures its downtime on the wall clock.
 */
export function readBootId(path = "/proc/sys/kernel/random/boot_id"): string {
  try {
    const id = readFileSync(path, "utf8").trim().replace(/-/g, "");
    if (/^[0-9a-f]{16,}$/i.test(id)) return id.slice(0, 16).toLowerCase();
  } catch {
    // not Linux, or /proc not mounted
  }
  return `p${randomBytes(8).toString("hex")}`;
}

let bootId: string | undefined;

export const systemClock: Clock = {
  wallNow: () => Date.now(),
  // process.hrtime is libuv's uv_hrtime: CLOCK_MONOTONIC on Linux, the clock Node's timers run on.
  monoNow: () => Math.floor(Number(process.hrtime.bigint() / 1000n) / 1000),
  get bootId() {
    bootId ??= readBootId();
    return bootId;
  },
  setTimeout(fn, ms) {
    // Unref'd: a component's timer never keeps a process alive by itself. The daemon stays up
    // because `posbridge run` holds the event loop until SIGTERM (daemon/main.ts, keepAlive).
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A clock that only moves when told to. `advance` moves both clocks and fires due timers in
 * order; `stepWall` moves the wall clock alone, as NTP or an operator's `date -s` does.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono: number;
  bootId: string;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;

  constructor(startWall = 1_700_000_000_000, startMono = 5_000_000, bootId = "manualboot0000001") {
    this.wall = startWall;
    this.mono = startMono;
    this.bootId = bootId;
  }

  wallNow(): number {
    return this.wall;
  }

  monoNow(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ at: this.mono + Math.max(0, ms), fn, id });
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== id)) };
  }

  /** Timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.wall += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** The wall clock jumps by `ms` (negative: back); the monotonic clock and the timers do not move. */
  stepWall(ms: number): void {
    this.wall += ms;
  }

  /** A new boot: the monotonic clock starts again near 0 and readings of the old boot mean nothing. */
  reboot(bootId: string, mono = 10_000): void {
    this.bootId = bootId;
    this.mono = mono;
    this.timers = [];
  }
}
