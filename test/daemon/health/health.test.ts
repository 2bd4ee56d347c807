// The watchdog's verdict: the loop held up too long, or a lane's journal unwritable, withholds
// the ping; and the loop probe sees a stall wherever it falls, once.
import { describe, expect, it } from "vitest";
import { eventLoopProbe, Health, laneName, type LoopDelayProbe } from "../../../daemon/health/health.js";

const probe = (ms: number[]): LoopDelayProbe => ({ takeMaxMs: () => ms.shift() ?? 0, stop: () => {} });
const lane = (id: string, journalOk = true) => ({ id, details: () => ({ journalOk }) });
const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // holding the loop
  }
};

describe("Health", () => {
  it("is ok while the loop keeps up and every journal is writable", () => {
    const h = new Health({ probe: probe([12]), lanes: [lane("lane-1"), lane("2")], loopDelayLimitMs: 1_000 });
    expect(h.check()).toEqual({ ok: true, problems: [] });
  });

  it("names a loop held up longer than the limit", () => {
    const h = new Health({ probe: probe([1_500, 900]), lanes: [lane("lane-1")], loopDelayLimitMs: 1_000 });
    expect(h.check()).toEqual({ ok: false, problems: ["event loop held up 1500 ms (limit 1000 ms)"] });
    expect(h.check().ok).toBe(true);
  });

  it("names a journal batch in flight longer than the limit (an fsync stuck off the event loop)", () => {
    let inFlight = 1_800;
    const h = new Health({
      probe: probe([0, 0]),
      lanes: [lane("lane-1")],
      loopDelayLimitMs: 1_000,
      journal: { commitInFlightMs: () => inFlight },
    });
    expect(h.check()).toEqual({
      ok: false,
      problems: ["journal write in flight for 1800 ms (limit 1000 ms)"],
    });
    inFlight = 0;
    expect(h.check().ok).toBe(true);
  });

  it("names each lane whose journal is unwritable", () => {
    const h = new Health({
      probe: probe([0]),
      lanes: [lane("lane-1"), lane("2", false)],
      loopDelayLimitMs: 1_000,
    });
    expect(h.check()).toEqual({ ok: false, problems: ["lane 2 journal unwritable"] });
  });

  it("reads lane ids as a technician would", () => {
    expect(laneName("lane-2")).toBe("lane-2");
    expect(laneName("2")).toBe("lane 2");
  });
});

describe("eventLoopProbe", () => {
  it("sees a stall that begins right after a check, and reports it in one window only", async () => {
    const p = eventLoopProbe(20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      p.takeMaxMs();
      busy(300); // at once after the check: perf_hooks' monitorEventLoopDelay misses this one
      await new Promise((r) => setTimeout(r, 60));
      expect(p.takeMaxMs()).toBeGreaterThan(250);
      await new Promise((r) => setTimeout(r, 100));
      expect(p.takeMaxMs()).toBeLessThan(150);
    } finally {
      p.stop();
    }
  });

  it("counts a stall still open when the check runs before the sampler", () => {
    const p = eventLoopProbe(20);
    try {
      p.takeMaxMs();
      busy(200);
      expect(p.takeMaxMs()).toBeGreaterThan(150);
    } finally {
      p.stop();
    }
  });
});
