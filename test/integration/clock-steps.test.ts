// Store PCs boot with a wrong clock and NTP steps it later (issue 8, item 2). The daemon runs
// under libfaketime, whose wall clock the test steps by an hour through a timestamp file while
// the monotonic clock runs on; a scripted cloud never answers the pay request, so the bridge
// must query 1 s after it and every second, and reverse 5 s after it, whatever the wall clock
// did: before the sale, between the scan and the answer, or during the queries. Before the fix a
// +1 h step reversed at the first due time and a -1 h step sent no query or reversal at all.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { paymentResult, type ScriptedCloud, startScriptedCloud } from "../support/scripted-cloud.js";

const HOUR = 3_600_000;
const LIBFAKETIME = [
  ...readdirSync("/usr/lib").map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`),
  "/usr/lib/faketime/libfaketime.so.1",
].find((p) => existsSync(p));

describe("NTP steps of an hour move no query and no reversal (the daemon under libfaketime)", () => {
  const offsetFile = join(mkdtempSync(join(tmpdir(), "posbridge-faketime-")), "offset");
  let rig: BridgeRig;
  let cloud: ScriptedCloud;
  let offsetMs = 0;
  let code = 10;

  /** Steps the daemon's wall clock to `ms` from real time (libfaketime reads the file on every call). */
  function setOffset(ms: number): void {
    offsetMs = ms;
    writeFileSync(offsetFile, `${ms >= 0 ? "+" : ""}${ms / 1000}\n`);
  }

  beforeAll(async () => {
    if (!LIBFAKETIME)
      throw new Error("libfaketime is missing: install the Debian package faketime (npm test does)");
    setOffset(0);
    rig = await startBridgeRig({
      name: "clock",
      logLevel: "info",
      extraConfig:
        "sale: { firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000 }",
      env: {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_NO_CACHE: "1",
        // Only the wall clock is faked: CLOCK_MONOTONIC (Node's timers, process.hrtime) runs on.
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      },
    });
    cloud = await startScriptedCloud(TEST_BROKER, rig.prefix);
    // The pay request and the queries go unanswered (a lost answer); a reversal is confirmed.
    cloud.setPolicy((r) =>
      r.request.command.type === "cancel" ? paymentResult({ status: "CANCELLED" }) : undefined,
    );
  });

  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  type When = "beforeSale" | "afterPay" | "afterSecondQuery";

  /**
   * One sale whose answer is lost, the wall clock stepped by `step` at `when`. Returns when each
   * request of its attempt arrived, in ms after the pay request, and the register's answer.
   */
  async function lostAnswer(step: number, when: When) {
    if (when === "beforeSale") {
      const before = stepLines();
      setOffset(offsetMs + step);
      // The daemon has seen the step (its clock watch checks every second) before the sale starts.
      await expect.poll(stepLines, { timeout: 5_000 }).toBe(before + 1);
    }
    const sa = rig.nextSeq();
    const mark = rig.register.answers.length;
    rig.register.request({ type: "sale", seq: sa, orderRef: `CLK${sa}`, amountFen: 100 });
    await rig.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
    const seenBefore = cloud.seen.length;
    await rig.scanner.write(`13456789012345${String(code++).padStart(4, "0")}\r`);
    await expect
      .poll(() => cloud.seen.slice(seenBefore).some((s) => s.request.command.type === "pay"))
      .toBe(true);
    const pay = cloud.seen.slice(seenBefore).find((s) => s.request.command.type === "pay");
    if (pay?.request.command.type !== "pay") throw new Error("no pay request");
    const attemptId = pay.request.command.attemptId;
    if (when === "afterPay") setOffset(offsetMs + step);
    if (when === "afterSecondQuery") {
      await expect
        .poll(() => cloud.of(attemptId).filter((s) => s.request.command.type === "query").length, {
          timeout: 5_000,
        })
        .toBe(2);
      setOffset(offsetMs + step);
    }
    const rs = await rig.register.result(sa, 15_000, mark);
    const timeline = cloud.of(attemptId).map((s) => ({ kind: s.request.command.type, ms: s.at - pay.at }));
    return { rs, timeline, pay };
  }
  const stepLines = () => rig.daemon.lines.filter((l) => l.includes('"wall clock stepped')).length;

  /** Queries 1, 2, 3 and 4 s after the pay request, the reversal at 5 s (±0.45 s of scheduling). */
  function expectSchedule(timeline: { kind: string; ms: number }[]) {
    const queries = timeline.filter((t) => t.kind === "query").map((t) => t.ms);
    const cancels = timeline.filter((t) => t.kind === "cancel").map((t) => t.ms);
    expect(timeline[0]?.kind).toBe("pay");
    expect(queries.length, JSON.stringify(timeline)).toBe(4);
    queries.forEach((ms, i) => {
      expect(ms, JSON.stringify(timeline)).toBeGreaterThan((i + 1) * 1000 - 150);
      expect(ms, JSON.stringify(timeline)).toBeLessThan((i + 1) * 1000 + 450);
    });
    expect(cancels[0], JSON.stringify(timeline)).toBeGreaterThan(4_850);
    expect(cancels[0], JSON.stringify(timeline)).toBeLessThan(5_450);
  }

  it("+1 h before the sale: the schedule holds, and the cloud's deadline is the stepped clock + 60 s", async () => {
    const { rs, timeline, pay } = await lostAnswer(HOUR, "beforeSale");
    expect(rs.status).toBe("CANCELLED");
    expectSchedule(timeline);
    if (pay.request.command.type !== "pay") throw new Error("not a pay request");
    // Wall-clock stamps come from the (stepped) wall clock; the expiry is what is left of 60 s.
    const expectedDeadline = Date.now() + HOUR + 60_000;
    expect(Math.abs(pay.request.command.deadlineMs - expectedDeadline)).toBeLessThan(10_000);
    expect(pay.expirySec).toBeGreaterThanOrEqual(58);
    expect(pay.expirySec).toBeLessThanOrEqual(60);
  }, 30_000);

  it("-1 h between the pay request and its answer: still queried after 1 s and reversed at 5 s", async () => {
    const { rs, timeline } = await lostAnswer(-HOUR, "afterPay");
    expect(rs.status).toBe("CANCELLED");
    expectSchedule(timeline);
  }, 30_000);

  it("+1 h between the pay request and its answer: no early reversal", async () => {
    const { rs, timeline } = await lostAnswer(HOUR, "afterPay");
    expect(rs.status).toBe("CANCELLED");
    expectSchedule(timeline);
  }, 30_000);

  it("-1 h during the queries: the queries go on and the reversal comes on time", async () => {
    const { rs, timeline } = await lostAnswer(-HOUR, "afterSecondQuery");
    expect(rs.status).toBe("CANCELLED");
    expectSchedule(timeline);
  }, 30_000);

  it("+1 h during the queries: no early reversal", async () => {
    const { rs, timeline } = await lostAnswer(HOUR, "afterSecondQuery");
    expect(rs.status).toBe("CANCELLED");
    expectSchedule(timeline);
  }, 30_000);

  it("each step was logged and raised as a clock_jump event; the daemon is still up", async () => {
    expect(stepLines()).toBe(5);
    await expect.poll(() => rig.events.filter((e) => e.kind === "clock_jump").length).toBe(5);
    expect(rig.events.find((e) => e.kind === "clock_jump")?.detail).toMatch(
      /^wall clock stepped \+3600\.0 s to /,
    );
    expect(rig.daemon.proc.exitCode).toBeNull();
    expect(rig.daemon.lines.join("\n")).not.toMatch(/1345678901234\d{5}/);
  });
});
