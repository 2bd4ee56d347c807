import { describe, expect, it } from "vitest";
import {
  type AttemptInput,
  attemptStep,
  DEFAULT_ATTEMPT_SETTINGS as S,
  newAttempt,
} from "../../../protocols/sale/attempt-machine.js";
import { checkRecord } from "../../../daemon/journal/record-shape.js";
import type { Instant } from "../../../protocols/core/instant.js";
import type { AttemptRecord } from "../../../protocols/sale/records.js";
import { payment, T0 } from "../../support/sale-harness.js";

const fields = {
  attemptId: "A1",
  laneId: "lane1",
  orderRef: "ORD1",
  amountFen: 100,
  scheme: "WECHAT" as const,
  maskedCode: "WECHAT…6789",
};
const LIFE = 60_000;
const BOOT = "bootA";

/** A moment with both clocks at `t` (until a test steps the wall clock apart). */
function at(t: number, wallStep = 0): Instant {
  return { wall: t + wallStep, mono: t, boot: BOOT };
}

function sent(): AttemptRecord {
  return newAttempt(S, fields, LIFE, true, at(T0)).attempt;
}

function drive(a: AttemptRecord, steps: [number, AttemptInput][], online = true) {
  const sends: string[] = [];
  for (const [t, input] of steps) {
    const step = attemptStep(S, a, input, online, at(t));
    a = step.attempt;
    sends.push(...step.sends.map((s) => s.type));
  }
  return { a, sends };
}

describe("attempt machine", () => {
  it("a new attempt is sent when online (first query due 5 s later) and queued when offline", () => {
    const online = newAttempt(S, fields, LIFE, true, at(T0));
    expect(online.sends).toEqual([{ type: "pay" }]);
    expect(online.attempt).toMatchObject({ phase: "sent", sentAt: T0, nextDueMono: T0 + 5_000 });
    const offline = newAttempt(S, fields, LIFE, false, at(T0));
    expect(offline.sends).toEqual([]);
    expect(offline.attempt).toMatchObject({
      phase: "queued",
      sentAt: null,
      nextDueMono: T0 + S.sendWindowMs,
    });
  });

  it("every non-final phase moves by typed inputs only; a due input before its due time changes nothing", () => {
    const a = sent();
    expect(attemptStep(S, a, { type: "due" }, true, at(T0 + 4_999)).attempt).toBe(a);
  });

  it("final phases ignore everything; a late result is noted", () => {
    const { a } = drive(sent(), [
      [T0 + 1, { type: "result", answers: "pay", result: payment({ status: "PAID", amountFen: 100 }) }],
    ]);
    expect(a.phase).toBe("paid");
    const late = attemptStep(
      S,
      a,
      { type: "result", answers: "query", result: payment({ status: "CANCELLED" }) },
      true,
      at(T0 + 2),
    );
    expect(late.attempt).toBe(a);
    expect(late.notes).toMatchObject([{ kind: "resultIgnored" }]);
    expect(attemptStep(S, a, { type: "cashierCancel" }, true, at(T0 + 3)).sends).toEqual([]);
  });

  it("queries while offline are postponed without spending the budget", () => {
    const { a, sends } = drive(
      sent(),
      [
        [T0 + 5_000, { type: "due" }],
        [T0 + 10_000, { type: "due" }],
      ],
      false,
    );
    expect(sends).toEqual([]);
    expect(a.queries).toBe(0);
    expect(a.nextDueMono).toBe(T0 + 15_000);
  });

  it("the reversal is bounded by maxReversals, then the attempt is unresolved and reconciled", () => {
    let a = sent();
    const sends: string[] = [];
    for (let t = T0 + 5_000; t <= T0 + 200_000; t += 5_000) {
      const step = attemptStep(S, a, { type: "due" }, true, at(t));
      a = step.attempt;
      sends.push(...step.sends.map((s) => s.type));
    }
    expect(sends.filter((s) => s === "cancel")).toHaveLength(S.maxReversals);
    expect(a).toMatchObject({ phase: "unresolved", reason: "reverseExhausted" });
    expect(sends.filter((s) => s === "pay")).toHaveLength(0);
  });

  it("in reconciliation, 'no such order' is closed with a cancel (the cloud keeps a tombstone)", () => {
    const a: AttemptRecord = {
      ...sent(),
      phase: "unresolved",
      reason: "reverseExhausted",
      nextDueMono: T0 + 200_000,
    };
    const step = attemptStep(
      S,
      a,
      {
        type: "result",
        answers: "query",
        result: payment({ status: "FAILED", reasonCode: "ORDERNOTEXIST" }),
      },
      true,
      at(T0 + 200_000),
    );
    expect(step.sends).toEqual([{ type: "cancel", reason: "not found by the cloud" }]);
    const closed = attemptStep(
      S,
      step.attempt,
      { type: "result", answers: "cancel", result: payment({ status: "CANCELLED" }) },
      true,
      at(T0 + 200_001),
    );
    expect(closed.attempt).toMatchObject({ phase: "cancelled", reason: "reversed" });
  });

  it("notPublished turns a just-sent attempt back into a queued one; after its first query it cannot", () => {
    const q = attemptStep(S, sent(), { type: "notPublished" }, false, at(T0));
    expect(q.attempt).toMatchObject({ phase: "queued", sentAt: null });
    const { a } = drive(sent(), [[T0 + 5_000, { type: "due" }]]);
    expect(attemptStep(S, a, { type: "notPublished" }, false, at(T0 + 5_001)).attempt).toBe(a);
  });

  it("the cashier's cancel of a queued attempt needs no reversal: nothing left the bridge", () => {
    const queued = newAttempt(S, fields, LIFE, false, at(T0)).attempt;
    const step = attemptStep(S, queued, { type: "cashierCancel" }, true, at(T0 + 1));
    expect(step.sends).toEqual([]);
    expect(step.attempt).toMatchObject({ phase: "cancelled", reason: "cashierCancel" });
  });

  it("never publishes a pay after its send window, even when the link comes back", () => {
    const queued = newAttempt(S, fields, LIFE, false, at(T0)).attempt;
    const step = attemptStep(S, queued, { type: "linkUp" }, true, at(T0 + S.sendWindowMs));
    expect(step.sends).toEqual([]);
    expect(step.attempt).toMatchObject({ phase: "cancelled", reason: "notSent" });
  });
});

describe("attempt machine time: due times are monotonic, the wall clock only stamps records", () => {
  /** Sends of a sent attempt driven by `due` every second for `ms`, the wall clock stepped by `step` after `stepAfter`. */
  function schedule(step: number, stepAfter: number, ms = 60_000) {
    let a = sent();
    const sends: string[] = [];
    for (let t = T0 + 1_000; t <= T0 + ms; t += 1_000) {
      const s = attemptStep(S, a, { type: "due" }, true, at(t, t > T0 + stepAfter ? step : 0));
      a = s.attempt;
      sends.push(...s.sends.map((x) => `${x.type}@${t - T0}`));
    }
    return sends;
  }

  const HOUR = 3_600_000;
  const expected = schedule(0, 0);

  it("the undisturbed schedule: queries from 5 s every 5 s, the reversal at 45 s", () => {
    expect(expected.slice(0, 3)).toEqual(["query@5000", "query@10000", "query@15000"]);
    expect(expected).toContain("cancel@45000");
    expect(expected.filter((x) => x.startsWith("query")).at(-1)).toBe("query@40000");
  });

  for (const step of [HOUR, -HOUR]) {
    const name = step > 0 ? "+1 h" : "-1 h";
    it(`a wall step of ${name} right after the pay request neither hastens nor delays a query or the reversal`, () => {
      expect(schedule(step, 0)).toEqual(expected);
    });
    it(`a wall step of ${name} in the middle of the query schedule changes nothing either`, () => {
      expect(schedule(step, 12_000)).toEqual(expected);
    });
  }

  it("a queued attempt's send window is monotonic: a +1 h step does not cancel it, -1 h does not stretch it", () => {
    const queued = newAttempt(S, fields, LIFE, false, at(T0)).attempt;
    const early = attemptStep(S, queued, { type: "linkUp" }, true, at(T0 + 5_000, 3_600_000));
    expect(early.sends).toEqual([{ type: "pay" }]);
    const late = attemptStep(S, queued, { type: "linkUp" }, true, at(T0 + S.sendWindowMs, -3_600_000));
    expect(late.sends).toEqual([]);
    expect(late.attempt).toMatchObject({ phase: "cancelled", reason: "notSent" });
  });

  it("records carry wall-clock stamps: createdAt, sentAt, deadlineMs and updatedAt", () => {
    const a = newAttempt(S, fields, LIFE, true, at(T0, 3_600_000)).attempt;
    expect(a).toMatchObject({
      createdAt: T0 + 3_600_000,
      sentAt: T0 + 3_600_000,
      deadlineMs: T0 + 3_600_000 + LIFE,
      updatedAt: T0 + 3_600_000,
      scannedMono: T0,
      sentMono: T0,
      boot: BOOT,
    });
  });

  it("after a restart on the same boot, the time since the pay request is exact whatever the wall clock did", () => {
    const a = sent();
    // Restarted 10 s later, while NTP stepped the wall clock an hour ahead: query, do not reverse.
    const r = attemptStep(S, a, { type: "recovered" }, true, at(T0 + 10_000, 3_600_000));
    expect(r.sends).toEqual([]);
    expect(r.attempt).toMatchObject({ phase: "unknown", reason: "recovered", nextDueMono: T0 + 10_000 });
    const q = attemptStep(S, r.attempt, { type: "due" }, true, at(T0 + 10_000, 3_600_000));
    expect(q.sends).toEqual([{ type: "query" }]);
    // And the reversal comes 45 s after the pay request, on the monotonic clock.
    let b = q.attempt;
    const sends: string[] = [];
    for (let t = T0 + 11_000; t <= T0 + 46_000; t += 1_000) {
      const s = attemptStep(S, b, { type: "due" }, true, at(t, 3_600_000));
      b = s.attempt;
      sends.push(...s.sends.map((x) => `${x.type}@${t - T0}`));
    }
    expect(sends.filter((x) => x.startsWith("cancel"))).toEqual(["cancel@45000"]);
    // Restarted 50 s later while the wall clock went an hour back: past the deadline, reverse now.
    const late = attemptStep(S, a, { type: "recovered" }, true, at(T0 + 50_000, -3_600_000));
    expect(late.sends).toEqual([{ type: "cancel", reason: "bridge restarted; outcome unknown" }]);
  });

  it("after a reboot (another boot), the wall clock is all there is: the attempt moves onto the new boot", () => {
    const a = sent();
    const rebooted: Instant = { wall: T0 + 20_000, mono: 7_000, boot: "bootB" };
    const r = attemptStep(S, a, { type: "recovered" }, true, rebooted);
    expect(r.sends).toEqual([]);
    // 20 s after the pay request by the wall clock: on the new boot it was sent at mono -13 000.
    expect(r.attempt).toMatchObject({
      boot: "bootB",
      phase: "unknown",
      sentMono: -13_000,
      nextDueMono: 7_000,
    });
    // So its reversal is due at mono 32 000 on the new boot (45 s after the pay request).
    let b = r.attempt;
    const sends: string[] = [];
    for (let m = 7_000; m <= 33_000; m += 1_000) {
      const s = attemptStep(S, b, { type: "due" }, true, { wall: T0 + 13_000 + m, mono: m, boot: "bootB" });
      b = s.attempt;
      sends.push(...s.sends.map((x) => `${x.type}@${m}`));
    }
    expect(sends.filter((x) => x.startsWith("cancel"))).toEqual(["cancel@32000"]);
    const long: Instant = { wall: T0 + 120_000, mono: 7_000, boot: "bootB" };
    expect(attemptStep(S, a, { type: "recovered" }, true, long).sends).toMatchObject([{ type: "cancel" }]);
  });

  it("a record from a version-1 journal (no boot) is recovered by the wall clock", () => {
    const a: AttemptRecord = { ...sent(), boot: "", scannedMono: 0, sentMono: null, nextDueMono: null };
    const r = attemptStep(S, a, { type: "recovered" }, true, at(T0 + 10_000));
    // Sent at wall T0, recovered at wall T0 + 10 s: 10 s ago on this boot's monotonic clock.
    expect(r.attempt).toMatchObject({ phase: "unknown", boot: BOOT, sentMono: T0 });
  });
});

describe("attempt machine: reason codes from outside are kept as the journal accepts them", () => {
  it("masks a long digit run in a cloud's reason code (it could be a payment code) and bounds it", () => {
    const r = attemptStep(
      S,
      sent(),
      {
        type: "result",
        answers: "pay",
        result: payment({ status: "FAILED", reasonCode: "ERR134567890123456789" }),
      },
      true,
      at(T0 + 1),
    );
    expect(r.attempt.reasonCode).toBe("ERR…6789");
    expect(checkRecord(r.attempt)).toBeUndefined(); // the journal takes it: the attempt moves on
    const long = attemptStep(
      S,
      sent(),
      { type: "result", answers: "pay", result: payment({ status: "UNKNOWN", reasonCode: "X".repeat(200) }) },
      true,
      at(T0 + 1),
    );
    expect(long.attempt.reasonCode).toHaveLength(64);
  });
});
