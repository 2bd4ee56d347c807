import { describe, expect, it } from "vitest";
import {
  type AttemptInput,
  attemptStep,
  DEFAULT_ATTEMPT_SETTINGS as S,
  newAttempt,
} from "../../../protocols/sale/attempt-machine.js";
import type { AttemptRecord } from "../../../protocols/sale/records.js";
import { payment, T0 } from "../../support/sale-harness.js";

const fields = {
  attemptId: "A1",
  laneId: "lane1",
  orderRef: "ORD1",
  amountFen: 100,
  scheme: "WECHAT" as const,
  maskedCode: "WECHAT…6789",
  deadlineMs: T0 + 60_000,
};

function sent(): AttemptRecord {
  return newAttempt(S, fields, true, T0).attempt;
}

function drive(a: AttemptRecord, steps: [number, AttemptInput][], online = true) {
  const sends: string[] = [];
  for (const [at, input] of steps) {
    const step = attemptStep(S, a, input, online, at);
    a = step.attempt;
    sends.push(...step.sends.map((s) => s.type));
  }
  return { a, sends };
}

describe("attempt machine", () => {
  it("a new attempt is sent when online (first query due 5 s later) and queued when offline", () => {
    const online = newAttempt(S, fields, true, T0);
    expect(online.sends).toEqual([{ type: "pay" }]);
    expect(online.attempt).toMatchObject({ phase: "sent", sentAt: T0, nextAt: T0 + 5_000 });
    const offline = newAttempt(S, fields, false, T0);
    expect(offline.sends).toEqual([]);
    expect(offline.attempt).toMatchObject({ phase: "queued", sentAt: null, nextAt: T0 + S.sendWindowMs });
  });

  it("every non-final phase moves by typed inputs only; a due input before nextAt changes nothing", () => {
    const a = sent();
    expect(attemptStep(S, a, { type: "due" }, true, T0 + 4_999).attempt).toBe(a);
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
      T0 + 2,
    );
    expect(late.attempt).toBe(a);
    expect(late.notes).toMatchObject([{ kind: "resultIgnored" }]);
    expect(attemptStep(S, a, { type: "cashierCancel" }, true, T0 + 3).sends).toEqual([]);
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
    expect(a.nextAt).toBe(T0 + 15_000);
  });

  it("the reversal is bounded by maxReversals, then the attempt is unresolved and reconciled", () => {
    let a = sent();
    const sends: string[] = [];
    for (let t = T0 + 5_000; t <= T0 + 200_000; t += 5_000) {
      const step = attemptStep(S, a, { type: "due" }, true, t);
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
      nextAt: T0 + 200_000,
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
      T0 + 200_000,
    );
    expect(step.sends).toEqual([{ type: "cancel", reason: "not found by the cloud" }]);
    const closed = attemptStep(
      S,
      step.attempt,
      { type: "result", answers: "cancel", result: payment({ status: "CANCELLED" }) },
      true,
      T0 + 200_001,
    );
    expect(closed.attempt).toMatchObject({ phase: "cancelled", reason: "reversed" });
  });

  it("notPublished turns a just-sent attempt back into a queued one; after its first query it cannot", () => {
    const q = attemptStep(S, sent(), { type: "notPublished" }, false, T0);
    expect(q.attempt).toMatchObject({ phase: "queued", sentAt: null });
    const { a } = drive(sent(), [[T0 + 5_000, { type: "due" }]]);
    expect(attemptStep(S, a, { type: "notPublished" }, false, T0 + 5_001).attempt).toBe(a);
  });

  it("the cashier's cancel of a queued attempt needs no reversal: nothing left the bridge", () => {
    const queued = newAttempt(S, fields, false, T0).attempt;
    const step = attemptStep(S, queued, { type: "cashierCancel" }, true, T0 + 1);
    expect(step.sends).toEqual([]);
    expect(step.attempt).toMatchObject({ phase: "cancelled", reason: "cashierCancel" });
  });

  it("never publishes a pay after its send window, even when the link comes back", () => {
    const queued = newAttempt(S, fields, false, T0).attempt;
    const step = attemptStep(S, queued, { type: "linkUp" }, true, T0 + S.sendWindowMs);
    expect(step.sends).toEqual([]);
    expect(step.attempt).toMatchObject({ phase: "cancelled", reason: "notSent" });
  });
});
