// A flood of identical warnings becomes one line a minute with a count; nothing is hidden.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { RepeatLimiter } from "../../../daemon/log/repeat-limiter.js";

function setup(windowMs?: number) {
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  return { clock, lines, limiter: new RepeatLimiter(log, clock, windowMs) };
}

describe("RepeatLimiter", () => {
  it("writes the first line at once, holds back repeats, and says how many at the window's end", () => {
    const { clock, lines, limiter } = setup();
    for (let i = 0; i < 10_000; i++)
      limiter.warn("junk", { length: i }, "scanner sent bytes that are no read");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, length: 0, msg: "scanner sent bytes that are no read" });
    clock.advance(60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: 40,
      length: 9_999,
      repeated: 9_999,
      windowSec: 60,
      msg: "scanner sent bytes that are no read (9999 more like it in the last 60 s)",
    });
    expect(limiter.counters).toEqual({ written: 2, suppressed: 9_999 });
  });

  it("a fault that lasts reaches the log at least once a minute", () => {
    const { clock, lines, limiter } = setup();
    for (let s = 0; s < 300; s++) {
      limiter.error("refused", {}, "broker refused the connection");
      clock.advance(1_000);
    }
    // 5 minutes: the first line, then one summary at the end of each minute.
    expect(lines.map((l) => l.repeated ?? 0)).toEqual([0, 59, 60, 60, 60, 60]);
    expect(lines.every((l) => l.level === 50)).toBe(true);
  });

  it("keys are independent, and a line after a quiet window goes out at once", () => {
    const { clock, lines, limiter } = setup(10_000);
    limiter.warn("a", {}, "A");
    limiter.warn("b", {}, "B");
    limiter.warn("a", {}, "A");
    expect(lines.map((l) => l.msg)).toEqual(["A", "B"]);
    clock.advance(10_000); // a's one repeat is reported
    clock.advance(30_000);
    limiter.warn("a", {}, "A");
    expect(lines.map((l) => l.msg)).toEqual(["A", "B", "A (1 more like it in the last 10 s)", "A"]);
  });

  it("clear() says what was held back at once and starts afresh", () => {
    const { lines, limiter } = setup();
    limiter.warn("down", {}, "broker unreachable");
    limiter.warn("down", {}, "broker unreachable");
    limiter.warn("down", {}, "broker unreachable");
    limiter.clear("down");
    limiter.warn("down", {}, "broker unreachable");
    expect(lines.map((l) => l.msg)).toEqual([
      "broker unreachable",
      "broker unreachable (2 more like it in the last 60 s)",
      "broker unreachable",
    ]);
  });
});
