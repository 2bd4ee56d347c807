// `posbridge conformance register --port PATH …`: a POS vendor checks their register's side of
// docs/terminal-protocol.md. A self-contained command (own options, own usage) so it moves into
// a command table as it is; main.ts only hands it its arguments.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { Parity } from "../config/config-types.js";
import type { ConformanceRunOptions } from "../conformance/register-conformance.js";
import type { Command } from "./command.js";

export const CONFORMANCE_USAGE = `Usage: posbridge conformance register --port PATH [options]

Checks a cash register against the terminal protocol (docs/terminal-protocol.md): the tool opens
the port itself and plays the payment terminal, tells you which sale to ring up, answers each one
with another outcome (paid, waiting then paid, rescan, unknown then QY, cancelled, rejected),
probes the register's link layer (a NAK, an ACK kept back, an answer sent twice) and reports every
deviation with its bytes and the section of the protocol it breaks. Stop the posbridge service on
that port first.

Options:
  --port PATH              the register's serial port (required), e.g. /dev/ttyUSB0
  --baud N                 baud rate (default 9600)
  --data-bits 7|8          (default 8)
  --parity none|even|odd   (default none)
  --stop-bits 1|2          (default 1)
  --profile ecr|line       register protocol (default ecr)
  --encoding utf8|gb18030  text fields of the answers (default utf8)
  --script quick|full      quick: the six outcomes and the link probes (default); full: also a
                           frame with a wrong LRC, a QY answered 30 again, and a refund
  --steps LIST             only these steps, comma-separated: paid, waiting, rescan, unknown,
                           cancelled, rejected, refund
  --ack-timeout-ms N       the ACK timeout the register is held to (default 1000, 100..10000)
  --operator-timeout-s N   how long each action at the register may take (default 120)
  --json                   one JSON object per line (prompts, questions, checks, summary)
  --verbose                also print every frame on the wire
  -h, --help               show this text

Answer each question with y or n (on stdin); with no input, questions stay unchecked.
Exit status: 0 the register conforms, 1 deviations found, 2 the check could not run or finish
(port in use or missing, the register stayed silent, Ctrl-C), 64 bad usage.`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

function intOption(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new TypeError(`--${name} must be a whole number ${min}..${max}, got '${text}'`);
  return value;
}

function choice<T extends string>(
  name: string,
  text: string | undefined,
  values: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if (!(values as readonly string[]).includes(text))
    throw new TypeError(`--${name} must be one of ${values.join(", ")}, got '${text}'`);
  return text as T;
}

/** argv after `conformance` → options; TypeError names the bad option. */
export function parseConformanceArgs(argv: string[]): ConformanceRunOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      baud: { type: "string" },
      "data-bits": { type: "string" },
      parity: { type: "string" },
      "stop-bits": { type: "string" },
      profile: { type: "string" },
      encoding: { type: "string" },
      script: { type: "string" },
      steps: { type: "string" },
      "ack-timeout-ms": { type: "string" },
      "operator-timeout-s": { type: "string" },
      json: { type: "boolean" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals[0] !== "register" || positionals.length > 1)
    throw new TypeError(
      positionals.length === 0
        ? "what to check? only 'register' so far"
        : `unknown check '${positionals.join(" ")}'`,
    );
  if (!values.port) throw new TypeError("--port PATH is required (the register's serial port)");
  const steps = values.steps
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    path: values.port,
    baudRate: intOption("baud", values.baud, 9600, 50, 4_000_000),
    dataBits: choice("data-bits", values["data-bits"], ["7", "8"] as const, "8") === "7" ? 7 : 8,
    parity: choice<Parity>("parity", values.parity, ["none", "even", "odd", "mark", "space"], "none"),
    stopBits: choice("stop-bits", values["stop-bits"], ["1", "2"] as const, "1") === "2" ? 2 : 1,
    profile: choice("profile", values.profile, ["ecr", "line"] as const, "ecr"),
    encoding: choice("encoding", values.encoding, ["utf8", "gb18030"] as const, "utf8"),
    script: choice("script", values.script, ["quick", "full"] as const, "quick"),
    ...(steps && steps.length > 0 ? { steps } : {}),
    ackTimeoutMs: intOption("ack-timeout-ms", values["ack-timeout-ms"], 1000, 100, 10_000),
    operatorTimeoutMs: intOption("operator-timeout-s", values["operator-timeout-s"], 120, 1, 86_400) * 1000,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
  };
}

/** The command: parses, runs, returns the exit status (64 on bad usage). */
export async function runConformanceCommand(argv: string[], io: CliIo): Promise<number> {
  let opts: ConformanceRunOptions | "help";
  try {
    opts = parseConformanceArgs(argv);
    if (opts !== "help") {
      // Step names are checked by the machine; check them before the port is opened.
      const { scriptSteps } = await import("../../protocols/conformance/steps.js");
      scriptSteps(opts.script === "full", opts.steps);
    }
  } catch (err) {
    io.err(
      `posbridge conformance: ${(err as Error).message}\n${CONFORMANCE_USAGE.split("\n")[0]}\nTry 'posbridge conformance --help'.`,
    );
    return 64;
  }
  if (opts === "help") {
    io.out(CONFORMANCE_USAGE);
    return 0;
  }
  const { runRegisterConformance } = await import("../conformance/register-conformance.js");
  const stdin = process.stdin;
  const input = createInterface({ input: stdin, terminal: false });
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  try {
    return await runRegisterConformance(opts, { ...io, input }, { signal: abort.signal });
  } finally {
    process.off("SIGINT", onSigint);
    input.close();
    stdin.destroy();
  }
}

/** The command-table entry: conformance parses its own options (ownArgs). */
export const conformanceCommand: Command = {
  name: "conformance",
  summary:
    "conformance register --port PATH: for POS vendors, play the payment terminal toward a register and check its side of docs/terminal-protocol.md, every deviation with its bytes",
  usage: CONFORMANCE_USAGE.replace(/^Usage: /, ""),
  options: {},
  ownArgs: true,
  run: ({ positionals }, io) => runConformanceCommand(positionals, io),
};
