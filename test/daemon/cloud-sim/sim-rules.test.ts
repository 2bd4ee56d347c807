import { describe, expect, it } from "vitest";
import { NOW, payCommand as pay } from "../../support/commands.js";
import { channelTradeNo, decideOutcome, SIM_RULES } from "../../../daemon/cloud-sim/sim-rules.js";

describe("simulated cloud rules", () => {
  it("pays an ordinary request", () => {
    expect(decideOutcome(pay(), NOW)).toEqual({ kind: "paid" });
  });

  it("picks the outcome by the amount's last two digits", () => {
    expect(decideOutcome(pay({ amountFen: 2577 }), NOW)).toEqual({ kind: "waiting" });
    expect(decideOutcome(pay({ amountFen: 77 }), NOW)).toEqual({ kind: "waiting" });
    expect(decideOutcome(pay({ amountFen: 4598 }), NOW)).toEqual({
      kind: "unknown",
      reasonCode: "SYSTEMERROR",
    });
    expect(decideOutcome(pay({ amountFen: 1299 }), NOW)).toEqual({ kind: "silent" });
    expect(decideOutcome(pay({ amountFen: 197 }), NOW)).toMatchObject({
      kind: "failed",
      reasonCode: "MCHCONFIGERR",
      rescanAllowed: false,
    });
    expect(decideOutcome(pay({ amountFen: 9 }), NOW)).toEqual({ kind: "paid" });
    expect(decideOutcome(pay({ amountFen: 7700 }), NOW)).toEqual({ kind: "paid" });
  });

  it("picks a failure by the code's last four digits, before any amount rule", () => {
    expect(decideOutcome(pay({ authCode: "134567890123450000" }), NOW)).toMatchObject({
      kind: "failed",
      reasonCode: "AUTHCODEEXPIRE",
      rescanAllowed: true,
    });
    expect(decideOutcome(pay({ authCode: "134567890123459999", amountFen: 2577 }), NOW)).toMatchObject({
      kind: "failed",
      reasonCode: "NOTENOUGH",
      rescanAllowed: true,
    });
    // a leading-zero e-CNY code keeps its digits: the rule reads the string, not a number
    expect(decideOutcome(pay({ authCode: "0100000000000000000", scheme: "ECNY" }), NOW)).toMatchObject({
      reasonCode: "AUTHCODEEXPIRE",
    });
  });

  it("never charges after the code's deadline, whatever the amount or code", () => {
    expect(decideOutcome(pay(), NOW + 60_000)).toEqual({ kind: "paid" }); // at the deadline: still in time
    for (const amountFen of [1234, 2577, 4598, 1299]) {
      expect(decideOutcome(pay({ amountFen }), NOW + 60_001)).toMatchObject({
        kind: "failed",
        reasonCode: "AUTHCODEEXPIRE",
        rescanAllowed: true,
      });
    }
  });

  it("is a table with one row per rule, the catch-all last, for the docs", () => {
    expect(SIM_RULES.map((r) => r.when)).toEqual([
      "now > deadline_ms",
      "payment code ends in 0000",
      "payment code ends in 9999",
      "amount in fen ends in 97",
      "amount in fen ends in 98",
      "amount in fen ends in 99",
      "amount in fen ends in 77",
      "anything else",
    ]);
    for (const r of SIM_RULES) expect(r.outcome.length).toBeGreaterThan(3);
    expect(SIM_RULES.at(-1)?.test(pay(), NOW)).toBe(true);
  });

  it("derives a stable 28-digit channel trade number from the attempt id", () => {
    expect(channelTradeNo("ATTEMPT_1")).toBe(channelTradeNo("ATTEMPT_1"));
    expect(channelTradeNo("ATTEMPT_1")).not.toBe(channelTradeNo("ATTEMPT_2"));
    expect(channelTradeNo("ATTEMPT_1")).toMatch(/^4200\d{24}$/);
  });
});
