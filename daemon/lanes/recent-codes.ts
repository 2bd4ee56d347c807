// Codes this lane submitted in the last minute, to refuse a scanner double-read or a stale code
// shown again (payment-domain.md §7 rules 7–8: never send the same code twice, under any attempt
// id). Only a keyed hash is kept, in memory, with a key made fresh by each process: nothing here
// can be turned back into a code, and nothing is ever written anywhere. Times are monotonic ms:
// a wall-clock step forward must not forget a code early and let a double read through.
import { createHmac, randomBytes } from "node:crypto";

export class RecentCodes {
  private readonly key = randomBytes(32);
  /** Digest → when submitted; in the order submitted (remember moves a digest to the end). */
  private readonly submitted = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  remember(code: string, now: number): void {
    this.prune(now);
    const digest = this.digest(code);
    this.submitted.delete(digest); // to the end: the map stays in submission order
    this.submitted.set(digest, now);
  }

  /** The code never reached the cloud after all (the broker refused it): it may be sent again. */
  forget(code: string): void {
    this.submitted.delete(this.digest(code));
  }

  /** True when this code was submitted less than `windowMs` ago. */
  seen(code: string, now: number): boolean {
    this.prune(now);
    return this.submitted.has(this.digest(code));
  }

  get size(): number {
    return this.submitted.size;
  }

  private digest(code: string): string {
    return createHmac("sha256", this.key).update(code.trim()).digest("base64");
  }

  /**
   * Drops the codes older than the window. The map is in submission order on the monotonic clock,
   * so the old ones are at its start: the scan stops at the first code still in the window (not a
   * walk over every code of the last minute on each scan: docs/performance.md).
   */
  private prune(now: number): void {
    for (const [digest, at] of this.submitted) {
      if (now - at < this.windowMs) return;
      this.submitted.delete(digest);
    }
  }
}
