// What a sale event (the machine's `event` effect) does beyond the machine: the lane counter it
// counts in, the fleet event it becomes (P/event), and its log line: always written for what
// matters for money, one line per kind per window (RepeatLimiter) for what junk repeats without
// end. Tables, not branches: a new event kind is a row.
import type { SaleEffect, SaleEventKind, SaleInput } from "../../protocols/sale/sale-types.js";
import type { BridgeErrorCode } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { RepeatLimiter } from "../log/repeat-limiter.js";
import type { LaneCounters } from "./lane-describe.js";

export type SaleEvent = Extract<SaleEffect, { type: "event" }>;

/** The lane counter each kind counts in; kinds not here count nowhere. */
export const EVENT_COUNTERS: Partial<Record<SaleEventKind, keyof LaneCounters>> = {
  scanIgnored: "scansIgnored",
  scanRejected: "scansRejected",
  resultIgnored: "resultsIgnored",
  amountMismatch: "alarms",
  latePaid: "alarms",
  orderAlreadyPaid: "alarms",
};

/** The fleet event (P/event kind) each kind becomes; kinds not here stay in the log. */
export const FLEET_EVENTS: Partial<Record<SaleEventKind, string>> = {
  amountMismatch: "alarm",
  latePaid: "alarm",
  orderAlreadyPaid: "alarm",
  attemptResolved: "attemptResolved",
  recovered: "recovered",
};

/** The error code a kind's log line carries, for a technician to grep. */
const EVENT_ERROR_CODES: Partial<Record<SaleEventKind, BridgeErrorCode>> = {
  // The cloud contradicting its own final answer.
  latePaid: "PB_CLOUD_CONTRADICTION",
};

/**
 * The lane's RepeatLimiter key of a sale event that junk can repeat without end (a scanner
 * reading junk, a register sending frames that mean nothing, a cloud repeating answers), or
 * undefined for an event that is always logged: sales started and ended, attempts submitted and
 * resolved, alarms, amount mismatches, journal faults, and a real request refused are rare and
 * matter for money.
 */
export function repeatKey(kind: SaleEventKind, input: SaleInput["type"] | undefined): string | undefined {
  switch (kind) {
    case "scanIgnored":
    case "scanRejected":
    case "resultIgnored":
      return kind;
    case "saleRejected":
      return input === "badRequest" ? "badRequest" : undefined;
    default:
      return undefined;
  }
}

export interface SaleEventSinks {
  log: Logger;
  /** The lane's limiter: repeated kinds are held back here (repeatKey). */
  repeats: RepeatLimiter;
  counters: LaneCounters;
  /** Short, code-free events for P/event. */
  onEvent: (kind: string, detail: string) => void;
}

/** Counts, tells the fleet and logs one sale event, given the input whose step gave it. */
export function reportSaleEvent(
  event: SaleEvent,
  input: SaleInput["type"] | undefined,
  to: SaleEventSinks,
): void {
  const counter = EVENT_COUNTERS[event.kind];
  if (counter) to.counters[counter]++;
  const fleet = FLEET_EVENTS[event.kind];
  if (fleet) to.onEvent(fleet, event.detail);
  if (event.kind === "attemptSubmitted") {
    // A payment code was read: the junk before it is over; say how much there was.
    to.repeats.clear("scanIgnored");
    to.repeats.clear("scanRejected");
  }
  const errCode = EVENT_ERROR_CODES[event.kind];
  const fields = { event: event.kind, ...(errCode ? { errCode } : {}) };
  const key = repeatKey(event.kind, input);
  if (key) to.repeats[event.level](key, fields, event.detail);
  else to.log[event.level](fields, event.detail);
}
