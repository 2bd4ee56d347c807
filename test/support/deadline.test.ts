// withinMs: a fixture's wait given a time limit.
import { describe, expect, it } from "vitest";
import { withinMs } from "./deadline.js";

describe("withinMs", () => {
  it("passes on what comes in time, value or error", async () => {
    expect(await withinMs(Promise.resolve(7), 1_000, "seven")).toBe(7);
    await expect(withinMs(Promise.reject(new Error("refused")), 1_000, "x")).rejects.toThrow("refused");
  });

  it("rejects in time, naming what did not come as it is then", async () => {
    const hanging = new Promise<never>(() => {});
    let step = "the cluster";
    const waiting = withinMs(hanging, 50, () => `starting ${step}`);
    step = "the cloud";
    await expect(waiting).rejects.toThrow("starting the cloud: nothing within 0.05 s");
  });
});
