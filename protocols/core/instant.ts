// One moment as the machines see it: two clocks that must never be mixed (docs/design.md, "Time").
// A store PC boots with a wrong wall clock and NTP steps it later, by hours; a monotonic clock
// never steps. So every duration and due time (ACK timeout, scan timeout, query/reverse schedule,
// send window, "stayed up for") is measured on `mono`, and `wall` is only ever written down
// (record timestamps, the day report) or sent to the cloud (sent_at_ms, deadline_ms).

export interface Instant {
  /** Epoch ms from the wall clock. For timestamps and the cloud's deadline only: it may step. */
  readonly wall: number;
  /** Monotonic ms (the kernel's CLOCK_MONOTONIC: ms since boot). For every duration. Never steps. */
  readonly mono: number;
  /**
   * Which boot `mono` counts from. Monotonic readings of the same boot are comparable across
   * processes (a restarted bridge knows exactly how long it was down); of another boot they are not.
   */
  readonly boot: string;
}

/**
 * How long ago a moment recorded as (`wall`, `mono`, `boot`) was, seen from `now`: exact on the
 * monotonic clock when both are of the same boot; otherwise (the PC rebooted, or the record comes
 * from a journal that kept no monotonic time) by the wall clock, never less than 0.
 */
export function elapsedSince(
  then: { wall: number; mono: number | null; boot: string },
  now: Instant,
): number {
  if (then.boot !== "" && then.boot === now.boot && then.mono !== null)
    return Math.max(0, now.mono - then.mono);
  return Math.max(0, now.wall - then.wall);
}

/**
 * The monotonic reading, on `now`'s boot, of a moment that was `elapsed` ms ago. Negative when
 * that moment was before this boot: still the right distance from every reading of this boot.
 */
export function monoAgo(now: Instant, elapsed: number): number {
  return now.mono - elapsed;
}
