// stand-in until h-diag merges: the command table's contract (daemon/cli/command.ts on h-diag).
// Each command runs with an Io instead of `process`, so it is tested without a child process.
import type { ParseArgsConfig } from "node:util";
import type { Clock } from "../clock.js";

/** node:util's ParseArgsOptionsConfig (@types/node 20 does not export the name). */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: ParseArgsOptionsConfig;
  run(
    args: { values: Record<string, string | boolean | undefined>; positionals: string[] },
    io: Io,
  ): Promise<number>;
}
