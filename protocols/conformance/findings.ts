// The conformance run's book of checks: each pass and deviation as an effect for the report, a
// deviation that repeats within a step told once (with a count at the step's end), each step's
// result, and the summary.
import { toHex } from "../core/bytes.js";
import type { ConformanceEffect, ConformanceSummary, StepResult } from "./conformance-types.js";
import { RULES, type RuleId } from "./rules.js";

export interface FailOptions {
  bytes?: Uint8Array;
  expected?: Uint8Array;
  /** Deviations with the same key are reported once per step, then counted. */
  key?: string;
}

export class Findings {
  private passed = 0;
  private deviations = 0;
  private unchecked = 0;
  private readonly results: { id: string; result: StepResult }[] = [];
  private stepDeviations = 0;
  private readonly stepKeys = new Set<string>();
  private readonly repeats = new Map<string, { message: string; count: number }>();
  private acks = { count: 0, slowest: 0 };

  constructor(private readonly emit: (effect: ConformanceEffect) => void) {}

  beginStep(): void {
    this.stepDeviations = 0;
    this.stepKeys.clear();
    this.repeats.clear();
    this.acks = { count: 0, slowest: 0 };
  }

  /** The register ACKed one of the terminal's frames `ms` after it was sent. */
  acked(ms: number): void {
    this.acks.count++;
    this.acks.slowest = Math.max(this.acks.slowest, ms);
  }

  questionUnanswered(): void {
    this.unchecked++;
  }

  pass(step: string, rule: RuleId, message: string, bytes?: Uint8Array): void {
    this.passed++;
    this.emit({
      type: "check",
      check: {
        ok: true,
        rule,
        section: RULES[rule].section,
        step,
        message,
        ...(bytes ? { bytes: toHex(bytes) } : {}),
      },
    });
  }

  fail(step: string, rule: RuleId, message: string, opts: FailOptions = {}): void {
    const key = opts.key === undefined ? undefined : `${rule}:${opts.key}`;
    if (key !== undefined && this.stepKeys.has(key)) {
      const seen = this.repeats.get(key);
      this.repeats.set(key, { message, count: (seen?.count ?? 0) + 1 });
      return;
    }
    if (key !== undefined) this.stepKeys.add(key);
    this.stepKeys.add(rule);
    this.deviations++;
    this.stepDeviations++;
    this.emit({
      type: "check",
      check: {
        ok: false,
        rule,
        section: RULES[rule].section,
        step,
        message,
        ...(opts.bytes ? { bytes: toHex(opts.bytes) } : {}),
        ...(opts.expected ? { expected: toHex(opts.expected) } : {}),
      },
    });
  }

  /**
   * Closes a step: the ACK timing it saw (`ackTimeoutMs` for `ecr`), its repeated deviations as
   * notes, its result.
   */
  endStep(step: string, stopped: boolean, ackTimeoutMs: number | null): void {
    if (ackTimeoutMs !== null && this.acks.count > 0 && !this.stepKeys.has("link-ack"))
      this.pass(
        step,
        "link-ack",
        `ACKed each of the terminal's frames in this step (${this.acks.count}), the slowest after ${this.acks.slowest} ms (limit ${ackTimeoutMs} ms)`,
      );
    for (const [key, r] of this.repeats)
      this.emit({
        type: "note",
        step,
        text: `${key.split(":")[0]} happened ${r.count} more time(s) in this step, the last: ${r.message}`,
      });
    this.results.push({
      id: step,
      result: stopped ? "incomplete" : this.stepDeviations > 0 ? "deviations" : "passed",
    });
  }

  skipped(steps: readonly string[]): void {
    for (const id of steps) this.results.push({ id, result: "skipped" });
  }

  summary(incomplete: boolean): ConformanceSummary {
    return {
      conforms: !incomplete && this.deviations === 0,
      incomplete,
      passed: this.passed,
      deviations: this.deviations,
      unchecked: this.unchecked,
      steps: [...this.results],
    };
  }
}
