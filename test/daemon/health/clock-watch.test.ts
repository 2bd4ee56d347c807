// The wall clock jumping (NTP, `date -s`) is noticed within a second, logged once and reported.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { type ClockJump, ClockWatch, describeStep } from "../../../daemon/health/clock-watch.js";

function setup() {
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const jumps: ClockJump[] = [];
  const watch = new ClockWatch({
    clock,
    log: pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) }),
    onJump: (j) => jumps.push(j),
  });
  return { clock, lines, jumps, watch };
}

describe("ClockWatch", () => {
  it("reports a +1 h step and a -1 h step once each, with how far and to when", () => {
    const { clock, lines, jumps, watch } = setup();
    watch.start();
    clock.advance(5_000);
    expect(jumps).toEqual([]);
    const before = clock.wallNow();
    clock.stepWall(3_600_000);
    clock.advance(1_000);
    expect(jumps).toEqual([{ stepMs: 3_600_000, fromWall: before + 1_000, toWall: before + 3_601_000 }]);
    clock.advance(10_000);
    clock.stepWall(-3_600_000);
    clock.advance(1_000);
    expect(jumps.map((j) => j.stepMs)).toEqual([3_600_000, -3_600_000]);
    expect(watch.counters).toEqual({ jumps: 2, largestStepMs: 3_600_000 });
    const warned = lines.filter((l) => String(l.msg).startsWith("wall clock stepped"));
    expect(warned.map((l) => l.msg)).toEqual([
      "wall clock stepped +3600.0 s; timeouts run on the monotonic clock and are not affected",
      "wall clock stepped -3600.0 s; timeouts run on the monotonic clock and are not affected",
    ]);
    watch.stop();
  });

  it("ignores what NTP slews and what a busy event loop delays: both clocks move alike", () => {
    const { clock, jumps, watch } = setup();
    watch.start();
    for (let i = 0; i < 100; i++) {
      clock.stepWall(5); // 5 ms a second: ten times the most NTP slews
      clock.advance(1_000);
    }
    clock.advance(30_000); // a timer fired 30 s late
    expect(jumps).toEqual([]);
  });

  it("a step just over the threshold counts, one at it does not", () => {
    const { clock, jumps, watch } = setup();
    watch.start();
    clock.stepWall(2_000);
    clock.advance(1_000);
    clock.stepWall(2_001);
    clock.advance(1_000);
    expect(jumps.map((j) => j.stepMs)).toEqual([2_001]);
  });

  it("describes steps in seconds with a sign", () => {
    expect(describeStep(3_600_000)).toBe("+3600.0 s");
    expect(describeStep(-42_500)).toBe("-42.5 s");
  });
});
