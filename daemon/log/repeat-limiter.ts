// Keeps a flood of identical warnings out of the log (issue 8, item 8: 2.4 MB of scanner junk
// once gave 10,653 warn lines). Per key (one device's or component's kind of trouble), the first
// line goes out at once; the same kind of line within the window is counted, not written; when
// the window ends, one line says how many there were ("repeated": n), so nothing is hidden and a
// fault that lasts still reaches the log at least once per window (a minute by default). A line
// after a quiet window goes out at once again. Each limiter belongs to one component (a device's
// port, the MQTT link), so keys are that component's kinds of trouble and counts are per device.
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "./logger.js";

export const REPEAT_WINDOW_MS = 60_000;

type Level = "warn" | "error" | "info";

interface Slot {
  /** Lines counted and not written since the last line that went out. */
  suppressed: number;
  /** Monotonic time the last line for this key went out. */
  lastMono: number;
  level: Level;
  fields: Record<string, unknown>;
  msg: string;
  timer: TimerHandle | undefined;
}

export interface RepeatCounters {
  written: number;
  suppressed: number;
}

export class RepeatLimiter {
  private readonly slots = new Map<string, Slot>();
  readonly counters: RepeatCounters = { written: 0, suppressed: 0 };

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly windowMs = REPEAT_WINDOW_MS,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.line("warn", key, fields, msg);
  }

  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.line("error", key, fields, msg);
  }

  info(key: string, fields: Record<string, unknown>, msg: string): void {
    this.line("info", key, fields, msg);
  }

  /**
   * The trouble behind `key` is over (the device is back, the broker connected): say how many
   * lines were held back, if any, and start afresh, so the next occurrence is logged at once.
   */
  clear(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.timer?.cancel();
    this.flush(slot);
    this.slots.delete(key);
  }

  /** Says what is still held back, and forgets every key (on stop). */
  clearAll(): void {
    for (const key of [...this.slots.keys()]) this.clear(key);
  }

  private line(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.monoNow();
    const slot = this.slots.get(key);
    if (!slot || now - slot.lastMono >= this.windowMs) {
      if (slot) {
        slot.timer?.cancel();
        this.flush(slot);
      }
      this.write(level, fields, msg);
      this.slots.set(key, { suppressed: 0, lastMono: now, level, fields, msg, timer: undefined });
      return;
    }
    slot.suppressed++;
    this.counters.suppressed++;
    slot.level = level;
    slot.fields = fields;
    slot.msg = msg;
    // The window's end says how many were held back, whether or not another one comes.
    slot.timer ??= this.clock.setTimeout(
      () => {
        slot.timer = undefined;
        if (this.slots.get(key) !== slot || slot.suppressed === 0) return;
        this.flush(slot);
        slot.lastMono = this.clock.monoNow();
      },
      slot.lastMono + this.windowMs - now,
    );
  }

  private flush(slot: Slot): void {
    if (slot.suppressed === 0) return;
    const n = slot.suppressed;
    slot.suppressed = 0;
    this.write(
      slot.level,
      { ...slot.fields, repeated: n, windowSec: Math.round(this.windowMs / 1000) },
      `${slot.msg} (${n} more like it in the last ${Math.round(this.windowMs / 1000)} s)`,
    );
  }

  private write(level: Level, fields: Record<string, unknown>, msg: string): void {
    this.counters.written++;
    this.log[level](fields, msg);
  }
}
