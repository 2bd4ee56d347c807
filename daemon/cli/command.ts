// One `posbridge <command>`: its name, what it does, its usage text and its options, and a `run`
// that gets the parsed arguments and an Io instead of `process` (so a test runs it with a fake
// stdout and clock). daemon/cli/commands.ts lists them all; daemon/main.ts looks the command up,
// parses its options strictly (an option of another command is a usage error, exit 64) and prints
// `posbridge <command> --help` from `usage`. The same shape as z2m's bridge requestLookup table.
import type { ParseArgsConfig } from "node:util";
import type { Clock } from "../clock.js";

/**
 * node:util's ParseArgsOptionsConfig: @types/node 20 declares it without exporting it, so it is
 * named here from the exported ParseArgsConfig.
 */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export interface Io {
  /** Standard output. A newline is added unless `text` ends with one. */
  out(text: string): void;
  /** Standard error, the same way. */
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  /** Words after the command name. */
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the command list of `posbridge --help`. */
  summary: string;
  /**
   * What `posbridge <name> --help` prints after "Usage: ": the synopsis on the first line, then
   * what each option and argument means.
   */
  usage: string;
  /** node:util parseArgs options; `--help` is added by main.ts to every command. */
  options: ParseArgsOptionsConfig;
  /**
   * The command parses its own arguments (a tool with a long option list of its own, e.g.
   * `conformance`): main.ts hands it every word after its name as `positionals`, unparsed.
   */
  ownArgs?: true;
  /** Returns the exit code: 0 ok, 1 failure, 64 bad usage, 78 configuration error. */
  run(args: CommandArgs, io: Io): Promise<number>;
}

export const DEFAULT_CONFIG_PATH = "/etc/posbridge/posbridge.yaml";

/** `-c, --config PATH`: every command that reads the config takes it the same way. */
export const CONFIG_OPTION = { config: { type: "string", short: "c" } } as const;

/** The usage line of CONFIG_OPTION, for the commands' usage texts. */
export const CONFIG_USAGE = `  -c, --config PATH   config file (default ${DEFAULT_CONFIG_PATH}, or $POSBRIDGE_CONFIG)`;

/** The config file a command uses: --config, else $POSBRIDGE_CONFIG, else the default. */
export function configPathOf(values: CommandArgs["values"], env: NodeJS.ProcessEnv): string {
  const given = values.config;
  return typeof given === "string" ? given : (env.POSBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH);
}

/** A usage error (exit 64), said the same way by every command. */
export function usageError(io: Io, command: string, message: string): number {
  io.err(`posbridge ${command}: ${message}\nTry 'posbridge ${command} --help'.`);
  return 64;
}

/** An Io on the real process (daemon/main.ts). */
export function processIo(clock: Clock): Io {
  const line = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);
  return {
    out: (text) => void process.stdout.write(line(text)),
    err: (text) => void process.stderr.write(line(text)),
    env: process.env,
    clock,
  };
}
