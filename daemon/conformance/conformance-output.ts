// What `posbridge conformance register` prints: for a person at the register, prompts (▶),
// questions (?), each check (✓ / ✗ with the bytes and the rule's section of
// docs/terminal-protocol.md) and a summary; with --json, one JSON object per line for a program
// (an automatic operator, a vendor's CI). Payment codes never pass here: the register line
// carries none.
import type {
  Check,
  ConformanceEffect,
  ConformanceSummary,
  StepInfo,
} from "../../protocols/conformance/conformance-types.js";
import { RULES } from "../../protocols/conformance/rules.js";

export const DOC = "docs/terminal-protocol.md";

export interface OutputOptions {
  json: boolean;
  /** Text mode: also every frame on the wire. (JSON mode always includes them.) */
  verbose: boolean;
}

/** Lines for one effect (none for writes and timers). */
export function formatEffect(effect: ConformanceEffect, o: OutputOptions): string[] {
  if (effect.type === "write" || effect.type === "armTimer") return [];
  if (o.json) return [JSON.stringify(effect)];
  switch (effect.type) {
    case "step":
      return stepLines(effect.step);
    case "prompt":
      return [`  ▶ On the register: ${effect.text}`];
    case "question":
      return [`  ? ${effect.text} [y/n]`];
    case "check":
      return checkLines(effect.check);
    case "note":
      return [`  · ${effect.text}`];
    case "wire":
      return o.verbose
        ? [`      ${effect.direction === "in" ? "register →" : "terminal →"} ${effect.hex}   ${effect.text}`]
        : [];
    case "done":
      return summaryLines(effect.summary);
  }
}

function stepLines(s: StepInfo): string[] {
  return ["", `[${s.index}/${s.of}] ${s.id}: ${s.title}`, `    ${s.about}`];
}

function checkLines(c: Check): string[] {
  if (c.ok) return [`  ✓ ${c.rule}: ${c.message}`];
  const lines = [`  ✗ DEVIATION ${c.rule} (${DOC} §${c.section}): ${c.message}`];
  if (c.bytes) lines.push(`      bytes:    ${c.bytes}`);
  if (c.expected) lines.push(`      expected: ${c.expected}`);
  lines.push(`      rule:     ${RULES[c.rule].says}`);
  return lines;
}

function summaryLines(s: ConformanceSummary): string[] {
  const verdict = s.conforms
    ? "CONFORMS: every check passed"
    : s.deviations > 0
      ? `DOES NOT CONFORM: ${s.deviations} deviation(s)`
      : "INCOMPLETE: the run stopped before every step was played";
  return [
    "",
    "Summary",
    ...s.steps.map((step) => `  ${step.id.padEnd(10)} ${step.result}`),
    `  ${s.passed} check(s) passed, ${s.deviations} deviation(s)${s.unchecked > 0 ? `, ${s.unchecked} question(s) unanswered (not checked)` : ""}`,
    verdict,
  ];
}

/** Exit status: 0 conforms, 1 deviations, 2 the run could not be completed. */
export function exitCodeOf(s: ConformanceSummary): number {
  if (s.conforms) return 0;
  return s.deviations > 0 ? 1 : 2;
}
