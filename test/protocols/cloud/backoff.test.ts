import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../protocols/cloud/backoff.js";

describe("backoffDelay", () => {
  const opts = (r: number) => ({ minMs: 1000, maxMs: 60_000, random: () => r });

  it("starts at the minimum and doubles its ceiling per failure", () => {
    expect(backoffDelay(0, opts(0.999))).toBe(1000);
    expect(backoffDelay(1, opts(1 - 1e-9))).toBe(2000);
    expect(backoffDelay(3, opts(1 - 1e-9))).toBe(8000);
  });

  it("never exceeds the cap, however many failures", () => {
    expect(backoffDelay(50, opts(1 - 1e-9))).toBe(60_000);
    expect(backoffDelay(1e6, opts(0.5))).toBeLessThanOrEqual(60_000);
  });

  it("spreads a fleet: different random draws give different delays within the window", () => {
    const delays = [0, 0.25, 0.5, 0.75].map((r) => backoffDelay(5, opts(r)));
    expect(new Set(delays).size).toBe(4);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(32_000);
    }
  });

  it("rejects a window that makes no sense", () => {
    expect(() => backoffDelay(0, { minMs: 0, maxMs: 10, random: Math.random })).toThrow(RangeError);
    expect(() => backoffDelay(0, { minMs: 100, maxMs: 10, random: Math.random })).toThrow(RangeError);
  });
});
