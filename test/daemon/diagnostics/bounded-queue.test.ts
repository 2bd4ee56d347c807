import { describe, expect, it } from "vitest";
import { BoundedQueue } from "../../../daemon/diagnostics/bounded-queue.js";

describe("BoundedQueue (a slow monitor client)", () => {
  it("drops the oldest beyond its capacity and says how many before the next item", async () => {
    const q = new BoundedQueue<number, string>(3, (n) => `missed ${n}`);
    for (let i = 1; i <= 7; i++) q.push(i);
    expect(q.length).toBe(3);
    q.close();
    const got: (number | string)[] = [];
    for await (const x of q) got.push(x);
    expect(got).toEqual(["missed 4", 5, 6, 7]);
  });

  it("waits for items, and ends when closed", async () => {
    const q = new BoundedQueue<number, string>(10, (n) => `missed ${n}`);
    const got: (number | string)[] = [];
    const reading = (async () => {
      for await (const x of q) got.push(x);
    })();
    q.push(1);
    await new Promise((r) => setImmediate(r));
    q.push(2);
    q.close();
    q.push(3); // after close: ignored
    await reading;
    expect(got).toEqual([1, 2]);
  });
});
