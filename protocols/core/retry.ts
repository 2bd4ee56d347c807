// How a component retries something that failed: a retry *policy*, not a delay. Devices (a
// scanner that is unplugged, or of the wrong kind) and the broker link (a network outage, or a
// broker that refuses our credentials) share the words, so a technician reads the same thing in
// both places: "backoff" comes back by itself soon, "slow" waits for a person.
import { backoffDelay } from "../cloud/backoff.js";

export type RetryPace =
  /** Capped exponential back-off: the other side may come back any moment (unplugged, restarting). */
  | "backoff"
  /** Every ~30 s: only a person can fix it (wrong device, missing library, permissions, credentials). */
  | "slow"
  /** Not at all until the component is restarted (e.g. a regular file read to its end). */
  | "never";

/** The "slow" pace: about every 30 s (±20 % jitter, so a fleet does not retry in lockstep). */
export const SLOW_RETRY_MS = 30_000;

export interface RetryDelayOptions {
  /** Retries so far at the back-off pace (0 = first retry). */
  attempt: number;
  minMs: number;
  maxMs: number;
  /** The slow pace's mean; default SLOW_RETRY_MS. */
  slowMs?: number;
  /** Returns a number in [0, 1). */
  random: () => number;
}

/** Delay before the next try at `pace`; undefined for "never". */
export function retryDelay(pace: RetryPace, o: RetryDelayOptions): number | undefined {
  if (pace === "never") return undefined;
  if (pace === "slow") return Math.round((o.slowMs ?? SLOW_RETRY_MS) * (0.8 + 0.4 * o.random()));
  return backoffDelay(o.attempt, { minMs: o.minMs, maxMs: o.maxMs, random: o.random });
}
