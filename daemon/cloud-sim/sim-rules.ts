// How the simulated payment cloud decides a PayRequest. Pure and documented, so a demo script,
// a test or a technician can pick an outcome by choosing the amount or the code:
//
//   when                                   outcome
//   (the order already has a payment       FAILED ORDERPAID, no rescan: decided by the ledger
//    paid or in flight: ledger.ts)          before these rules, it needs the order's history)
//   now > deadline_ms                      FAILED AUTHCODEEXPIRE, rescan allowed (never charge late)
//   code ends in 0000                      FAILED AUTHCODEEXPIRE, rescan allowed (expired code)
//   code ends in 9999                      FAILED NOTENOUGH, rescan allowed (balance too low)
//   amount (fen) ends in 97                FAILED MCHCONFIGERR, no rescan (merchant config error)
//   amount ends in 98                      UNKNOWN SYSTEMERROR (the channel could not tell)
//   amount ends in 99                      charged, but the answer is lost (no response at all)
//   amount ends in 77                      WAITING_CUSTOMER USERPAYING, then PAID after confirmDelayMs
//   anything else                          PAID, channel trade no "4200" + 24 digits from the attempt id
//
// First match wins, so the deadline beats every other rule and a code rule beats an amount rule.
// SIM_RULES below is this table as data (docs/cloud-sim.md prints it); the last row always matches.
import type { PayCommand } from "../../protocols/cloud/cloud-messages.js";

export type SimOutcome =
  | { kind: "paid" }
  | { kind: "waiting" }
  | { kind: "failed"; reasonCode: string; message: string; rescanAllowed: boolean }
  | { kind: "unknown"; reasonCode: string }
  | { kind: "silent" };

export interface SimRule {
  when: string;
  outcome: string;
  test: (pay: PayCommand, now: number) => boolean;
  decide: SimOutcome;
}

export const SIM_RULES: readonly SimRule[] = [
  {
    when: "now > deadline_ms",
    outcome: "FAILED AUTHCODEEXPIRE (rescan allowed)",
    test: (p, now) => now > p.deadlineMs,
    decide: { kind: "failed", reasonCode: "AUTHCODEEXPIRE", message: "付款码已过期", rescanAllowed: true },
  },
  {
    when: "payment code ends in 0000",
    outcome: "FAILED AUTHCODEEXPIRE (rescan allowed)",
    test: (p) => p.authCode.endsWith("0000"),
    decide: { kind: "failed", reasonCode: "AUTHCODEEXPIRE", message: "付款码已过期", rescanAllowed: true },
  },
  {
    when: "payment code ends in 9999",
    outcome: "FAILED NOTENOUGH (rescan allowed)",
    test: (p) => p.authCode.endsWith("9999"),
    decide: { kind: "failed", reasonCode: "NOTENOUGH", message: "余额不足", rescanAllowed: true },
  },
  {
    when: "amount in fen ends in 97",
    outcome: "FAILED MCHCONFIGERR (no rescan)",
    test: (p) => p.amountFen % 100 === 97,
    decide: {
      kind: "failed",
      reasonCode: "MCHCONFIGERR",
      message: "收款配置错误，请联系管理员",
      rescanAllowed: false,
    },
  },
  {
    when: "amount in fen ends in 98",
    outcome: "UNKNOWN SYSTEMERROR",
    test: (p) => p.amountFen % 100 === 98,
    decide: { kind: "unknown", reasonCode: "SYSTEMERROR" },
  },
  {
    when: "amount in fen ends in 99",
    outcome: "charged, answer lost (silence)",
    test: (p) => p.amountFen % 100 === 99,
    decide: { kind: "silent" },
  },
  {
    when: "amount in fen ends in 77",
    outcome: "WAITING_CUSTOMER USERPAYING, then PAID after confirmDelayMs",
    test: (p) => p.amountFen % 100 === 77,
    decide: { kind: "waiting" },
  },
  {
    when: "anything else",
    outcome: "PAID, channel trade no derived from the attempt id",
    test: () => true,
    decide: { kind: "paid" },
  },
];

export function decideOutcome(pay: PayCommand, now: number): SimOutcome {
  for (const rule of SIM_RULES) if (rule.test(pay, now)) return rule.decide;
  return { kind: "paid" }; // unreachable: the last rule always matches
}

/** A channel trade number derived from the attempt id: stable across duplicates and queries. */
export function channelTradeNo(attemptId: string): string {
  let h = 2166136261;
  let digits = "";
  for (let round = 0; digits.length < 24; round++) {
    for (const ch of `${attemptId}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    digits += String(h % 100_000_000).padStart(8, "0");
  }
  return `4200${digits.slice(0, 24)}`;
}
