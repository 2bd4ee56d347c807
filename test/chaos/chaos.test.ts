// The promise under fault (issue 3, item 8), against a real Mosquitto the test starts, kills and
// restarts, a simulated cloud with a ledger, and the daemon as a child process on socat ptys.
// `npm test` runs this slice; `npm run chaos` (PB_CHAOS=long) runs every crash point and longer
// streams, and prints the counts.
import { describe, expect, it } from "vitest";
import { CRASH_CASES, runCrashCase, runOutage, runStream, runTruncation } from "./scenarios.js";

const LONG = process.env.PB_CHAOS === "long";
const SLICE = [
  "publish:pay",
  "journal:attempt:unknown",
  "publish:cancel",
  "result:WAITING_CUSTOMER",
  "publish:refund",
];
const cases = LONG
  ? CRASH_CASES
  : CRASH_CASES.filter(
      (c) => SLICE.includes(c.point) && (c.point !== "publish:cancel" || c.path === "unknown"),
    );
const counts: Record<string, number | string> = {};

function report(name: string, value: number | string): void {
  counts[name] = value;
  if (LONG) process.stdout.write(`chaos ${name}: ${value}\n`);
}

describe("SIGKILL at every step of an attempt, then restart", () => {
  let n = 0;
  for (const c of cases) {
    it.concurrent(`${c.path} sale killed at ${c.point}: one final state, consistent with the ledger`, async () => {
      const out = await runCrashCase(c, `K${++n}${Date.now() % 100000}`);
      report(`crash ${c.point} (${c.path})`, out.finalStatus);
      expect(out.problems).toEqual([]);
      expect(out.crashed).toBe(true);
    }, 120_000);
  }
});

describe("broker and network faults during a stream of sales", () => {
  for (const fault of ["brokerRestart", "duplicatePublish", "dropAfterPublish"] as const) {
    it.concurrent(`${fault}: every sale ends once, in one true state; nothing executed twice`, async () => {
      const out = await runStream({ sales: LONG ? 60 : 8, lanes: 2, fault });
      report(
        `stream ${fault}`,
        `${out.sales} sales, ${out.paid} paid, ${out.cancelled} cancelled, ${out.duplicatesSeen} duplicates absorbed, ${out.drops} drops`,
      );
      expect(out.problems).toEqual([]);
      expect(out.paid).toBeGreaterThan(0);
      if (fault === "duplicatePublish") expect(out.duplicatesSeen).toBeGreaterThan(0);
      if (fault === "dropAfterPublish") expect(out.drops).toBeGreaterThan(0);
    }, 180_000);
  }
});

describe("a broker outage longer than a code's life", () => {
  it("publishes nothing stale, cancels the queued attempt at once, keeps memory and mqtt.js's queue flat", async () => {
    const out = await runOutage({ scans: LONG ? 40 : 8 });
    report(
      "outage",
      `${out.statsSamples} samples, max mqtt queue ${out.maxMqttQueue}, RSS growth ${out.rssGrowthBytes} bytes`,
    );
    expect(out.problems).toEqual([]);
    expect(out.maxMqttQueue).toBe(0);
  }, 120_000);
});

describe("power loss: the journal cut at random byte offsets", () => {
  it("starts, reports what it lost and never invents a PAID", async () => {
    const out = await runTruncation({ offsets: LONG ? 50 : 4, seed: 20261125 });
    report(
      "truncation",
      `${out.offsets} cuts, ${out.reportedLoss} reported a loss, ${out.paidBefore} PAID sales before`,
    );
    expect(out.problems).toEqual([]);
    expect(out.paidBefore).toBeGreaterThan(0);
  }, 180_000);
});
