// The conformance machine and a test register in one process on a ManualClock: what one end
// writes reaches the other 1 ms later, the automatic operator acts 5 ms after a prompt. Minutes of
// protocol time run in milliseconds, and every effect is kept for assertions.
import { ManualClock, type TimerHandle } from "../../daemon/clock.js";
import type {
  Check,
  ConformanceEffect,
  ConformanceSummary,
} from "../../protocols/conformance/conformance-types.js";
import { type ConformanceOptions, RegisterConformance } from "../../protocols/conformance/machine.js";
import { AutoOperator } from "./auto-operator.js";
import { makeLineRegister, makeRegister, type RegisterFault, type TestRegister } from "./faulty-registers.js";

export interface HarnessRun {
  effects: ConformanceEffect[];
  checks: Check[];
  failures: Check[];
  summary: ConformanceSummary;
  test: TestRegister;
  operator: AutoOperator;
}

export function runInProcess(
  options: ConformanceOptions & { fault?: RegisterFault; operator?: "auto" | "absent" | "silent" } = {},
): HarnessRun {
  const clock = new ManualClock();
  const ackTimeoutMs = options.ackTimeoutMs ?? 1000;
  const machine = new RegisterConformance({ operatorTimeoutMs: 60_000, ...options, ackTimeoutMs });
  const effects: ConformanceEffect[] = [];
  let summary: ConformanceSummary | undefined;
  let timer: TimerHandle | undefined;
  const apply = (batch: ConformanceEffect[]) => {
    for (const e of batch) {
      effects.push(e);
      if (e.type === "write") clock.setTimeout(() => test.receive(e.bytes), 1);
      if (e.type === "armTimer") {
        timer?.cancel();
        timer = clock.setTimeout(
          () => apply(machine.feed({ type: "tick" }, clock.monoNow())),
          e.at - clock.monoNow(),
        );
      }
      if (e.type === "done") summary = e.summary;
      if (options.operator === "absent") continue;
      if (e.type === "prompt") clock.setTimeout(() => operator.act(e.action), 5);
      if (e.type === "question")
        // The operator looks at the register after what the terminal just sent has reached it.
        clock.setTimeout(() => {
          const yes = options.operator === "silent" ? null : operator.answer(e.check);
          apply(machine.feed({ type: "reply", id: e.id, yes }, clock.monoNow()));
        }, 5);
    }
  };
  const toTool = (bytes: Uint8Array) =>
    clock.setTimeout(() => apply(machine.feed({ type: "bytes", bytes }, clock.monoNow())), 1);
  const test =
    options.profile === "line"
      ? makeLineRegister(options.fault ?? "none", toTool)
      : makeRegister(options.fault ?? "none", toTool, { ackTimeoutMs, clock });
  const operator = new AutoOperator(test.register);
  apply(machine.start(clock.monoNow()));
  for (let i = 0; i < 100_000 && !summary; i++) clock.advance(10);
  test.register.close();
  if (!summary) throw new Error("the conformance run did not finish");
  const checks = effects.flatMap((e) => (e.type === "check" ? [e.check] : []));
  return { effects, checks, failures: checks.filter((c) => !c.ok), summary, test, operator };
}
