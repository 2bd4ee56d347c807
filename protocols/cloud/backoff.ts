// Capped exponential back-off with full jitter. mqtt.js reconnects on a fixed interval, which
// makes a fleet of store PCs reconnect in lockstep after a broker restart
// (reliability-messaging.md §2.2); the random part is injected so tests are deterministic.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** Returns a number in [0, 1). */
  random: () => number;
}

/** Delay before retry number `attempt` (0 = first retry): uniform in [minMs, min(maxMs, minMs·2^attempt)]. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  if (!(opts.minMs > 0) || opts.maxMs < opts.minMs) throw new RangeError("backoff needs 0 < minMs <= maxMs");
  const ceiling = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(opts.minMs + (ceiling - opts.minMs) * opts.random());
}
