// What goes into and comes out of the register conformance machine (machine.ts). The runner in
// daemon/conformance/ turns effects into writes, one timer, lines for the operator and an exit code.
import type { ResultStatus } from "../pos/pos-messages.js";
import type { RuleId } from "./rules.js";

export type ConformanceProfile = "ecr" | "line";
export type ConformanceScriptName = "quick" | "full";

export type ConformanceInput =
  /** Bytes read from the register's line, as they came. */
  | { type: "bytes"; bytes: Uint8Array }
  /** The armed timer fired (or any time: the machine only acts on what is due). */
  | { type: "tick" }
  /** The operator's answer to question `id`; null when no answer can come (input closed). */
  | { type: "reply"; id: string; yes: boolean | null };

/** What the operator is asked to do on the register. */
export type OperatorAction =
  | { kind: "sale"; amountFen: number }
  | { kind: "cancel"; orderRef: string }
  | { kind: "query"; orderRef: string }
  | { kind: "refund"; orderRef: string; amountFen: number };

/**
 * What a yes/no question checks, for an automatic operator: the register shows `orderRef` with
 * this outcome; with `once`, it acted on it exactly once (one receipt, one completion).
 */
export interface QuestionCheck {
  orderRef: string;
  shows: ResultStatus;
  once?: boolean;
}

export interface Check {
  ok: boolean;
  rule: RuleId;
  /** docs/terminal-protocol.md section stating the rule. */
  section: string;
  step: string;
  message: string;
  /** The bytes in question, hex; for a deviation what the register sent (or was sent). */
  bytes?: string;
  /** What was expected instead, hex, when there is one right answer. */
  expected?: string;
}

export interface StepInfo {
  id: string;
  index: number;
  of: number;
  title: string;
  /** What the terminal will do in this step and what the register should do. */
  about: string;
}

/** `incomplete`: the register went silent in the step; `skipped`: not run after that. */
export type StepResult = "passed" | "deviations" | "incomplete" | "skipped";

export interface ConformanceSummary {
  /** True when every step ran and no check failed. */
  conforms: boolean;
  /** True when the run stopped early (the register stayed silent after a prompt). */
  incomplete: boolean;
  passed: number;
  deviations: number;
  /** Questions nobody answered (the operator's input closed). */
  unchecked: number;
  steps: { id: string; result: StepResult }[];
}

export type ConformanceEffect =
  | { type: "write"; bytes: Uint8Array }
  /** Call `tick` at monotonic time `at` (replaces any timer armed before). */
  | { type: "armTimer"; at: number }
  | { type: "step"; step: StepInfo }
  /** An instruction for the operator at the register. */
  | { type: "prompt"; step: string; text: string; action: OperatorAction }
  /** A yes/no question to the operator; answer with a `reply` input of the same id. */
  | { type: "question"; step: string; id: string; text: string; check: QuestionCheck }
  | { type: "check"; check: Check }
  /** Something the operator should know that is no deviation (an unexpected request answered). */
  | { type: "note"; step: string; text: string }
  /** Every frame or line on the wire, for a trace (`in` from the register). */
  | { type: "wire"; direction: "in" | "out"; hex: string; text: string }
  | { type: "done"; summary: ConformanceSummary };
