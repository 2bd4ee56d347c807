// Runs the register conformance machine (protocols/conformance/machine.ts) against a real port:
// opens it itself (no daemon: a port the bridge holds is refused, saying so), feeds the
// register's bytes and one timer, writes what the machine says, prints for the operator and reads
// the operator's y/n answers. The machine decides everything; this file only moves bytes and time.
import type { ConformanceEffect, ConformanceSummary } from "../../protocols/conformance/conformance-types.js";
import { type ConformanceOptions, RegisterConformance } from "../../protocols/conformance/machine.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import type { SerialSettings } from "../config/config-types.js";
import { classifyOpenError } from "../devices/open-errors.js";
import { nativeSerialOpener, type OpenPort, type SerialOpener } from "../devices/serial-binding.js";
import { BridgeError } from "../errors.js";
import { type TextEncoding, textEncoder } from "../text/text-encoder.js";
import { exitCodeOf, formatEffect, type OutputOptions } from "./conformance-output.js";

export interface ConformanceRunOptions
  extends Omit<ConformanceOptions, "encodeText">,
    SerialSettings,
    OutputOptions {
  encoding: TextEncoding;
}

export interface ConformanceIo {
  out(line: string): void;
  err(line: string): void;
  /** The operator's lines (stdin); null when there is no input at all. */
  input: AsyncIterable<string> | null;
}

export interface ConformanceDeps {
  opener?: SerialOpener;
  clock?: Clock;
  /** Ctrl-C: stop, say what was found so far. */
  signal?: AbortSignal;
}

/** Could not run or finish: port unusable, register silent, stopped by the operator. */
export const EXIT_INCOMPLETE = 2;

/** An open failure, said so that the reader knows what to do; a port the bridge holds above all. */
export function openFailure(err: Error, path: string): BridgeError {
  const [, message] = classifyOpenError(err, path);
  if (/Cannot lock port|EBUSY|Resource temporarily unavailable/i.test(err.message))
    return new BridgeError(
      "PB_PORT_LOCKED",
      `${path} is in use by another program: the conformance check opens the port itself and needs it alone. If the posbridge service runs on this port, stop it first (sudo systemctl stop posbridge); otherwise find the program with fuser ${path}`,
    );
  return new BridgeError("PB_PORT_OPEN", `cannot open ${path}: ${message}`);
}

export async function runRegisterConformance(
  opts: ConformanceRunOptions,
  io: ConformanceIo,
  deps: ConformanceDeps = {},
): Promise<number> {
  const clock = deps.clock ?? systemClock;
  const { path, baudRate, dataBits, parity, stopBits, json, verbose, encoding, ...machineOpts } = opts;
  const machine = new RegisterConformance({ ...machineOpts, encodeText: textEncoder(encoding) });
  const print = (effect: ConformanceEffect) => {
    for (const line of formatEffect(effect, { json, verbose })) io.out(line);
  };
  let port: OpenPort;
  try {
    port = await (deps.opener ?? nativeSerialOpener()).open({ path, baudRate, dataBits, parity, stopBits });
  } catch (err) {
    const e = openFailure(err as Error, path);
    if (json) io.out(JSON.stringify({ type: "error", code: e.code, message: e.message }));
    io.err(`posbridge conformance: ${e.message}`);
    return EXIT_INCOMPLETE;
  }
  const line = `${baudRate} ${dataBits}${parity[0]?.toUpperCase()}${stopBits}`;
  if (json)
    io.out(
      JSON.stringify({
        type: "start",
        port: path,
        line,
        profile: machine.profile,
        script: machine.full ? "full" : "quick",
        steps: machine.stepIds,
      }),
    );
  else {
    io.out(
      `posbridge conformance register: ${path} (${line}), profile ${machine.profile}, script ${machine.full ? "full" : "quick"}: ${machine.stepIds.join(", ")}`,
    );
    io.out(
      "This tool plays the payment terminal. Do what each ▶ says at the register; answer each ? with y or n.",
    );
  }

  return new Promise<number>((resolve) => {
    let timer: TimerHandle | undefined;
    let finished = false;
    /** Questions waiting for the operator, oldest first. */
    const asked: string[] = [];
    let inputClosed = io.input === null;

    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      timer?.cancel();
      void port.close().then(() => resolve(code));
    };
    /** The run cannot go on: say why, then the summary of what was found so far. */
    const stopEarly = (why: string) => {
      if (finished) return;
      if (json) io.out(JSON.stringify({ type: "error", message: why }));
      io.err(`posbridge conformance: ${why}`);
      apply(machine.stop(clock.monoNow(), why));
    };
    const apply = (effects: ConformanceEffect[]) => {
      for (const effect of effects) {
        if (finished) return;
        print(effect);
        switch (effect.type) {
          case "write":
            port
              .write(effect.bytes)
              .catch((err: Error) => stopEarly(`write to ${path} failed: ${err.message}`));
            break;
          case "armTimer":
            timer?.cancel();
            timer = clock.setTimeout(
              () => apply(machine.feed({ type: "tick" }, clock.monoNow())),
              effect.at - clock.monoNow(),
            );
            break;
          case "question":
            if (inputClosed) queueMicrotask(() => reply(effect.id, null));
            else asked.push(effect.id);
            break;
          case "done":
            finish(exitCodeOf(effect.summary as ConformanceSummary));
            break;
          default:
            break;
        }
      }
    };
    const reply = (id: string, yes: boolean | null) => {
      if (!finished) apply(machine.feed({ type: "reply", id, yes }, clock.monoNow()));
    };

    port.onData((bytes) => {
      if (!finished) apply(machine.feed({ type: "bytes", bytes }, clock.monoNow()));
    });
    port.onClose((err) => {
      if (err) stopEarly(`${path} closed: ${err.message}`);
    });
    deps.signal?.addEventListener("abort", () => stopEarly("stopped by the operator"), { once: true });

    if (io.input) {
      const input = io.input;
      void (async () => {
        for await (const text of input) {
          const answer = text.trim().toLowerCase();
          if (asked.length === 0) continue; // not a reply: the operator pressed Enter at a prompt
          if (!/^(y|yes|n|no)$/.test(answer)) {
            io.out("  (answer y or n)");
            continue;
          }
          reply(asked.shift() as string, answer.startsWith("y"));
        }
        inputClosed = true;
        for (const id of asked.splice(0)) reply(id, null);
      })();
    }
    apply(machine.start(clock.monoNow()));
  });
}
