// What the thin clients of the control socket share: the socket comes from the same config as
// `run` (diagnostics.socket); "the daemon is not running" is said the same way by every command.
import type { Config } from "../config/config-types.js";
import { controlSocketPath } from "../diagnostics/control-client.js";
import { CONFIG_OPTION, CONFIG_USAGE, configPathOf, type CommandArgs, type Io } from "./command.js";
import { loadOrReport } from "./load.js";

/** Exit code of a command that needs the daemon when it is not running (LSB: "program is not running"). */
export const NOT_RUNNING = 3;

export const DIAG_OPTIONS = { ...CONFIG_OPTION } as const;
export const DIAG_USAGE = CONFIG_USAGE;

export type Target = { config: Config; configPath: string; socket: string } | { exit: number };

/** The config (its files not read: a technician may not read the TLS key) and the socket it names. */
export function targetOf(values: CommandArgs["values"], io: Io): Target {
  const configPath = configPathOf(values, io.env);
  const loaded = loadOrReport(configPath, io, { checkFiles: false });
  if (!loaded.config) return { exit: loaded.exit };
  return { config: loaded.config, configPath, socket: controlSocketPath(loaded.config) };
}

export function notRunning(io: Io, command: string, reason: string): number {
  io.err(`posbridge ${command}: posbridge is not running: ${reason}`);
  return NOT_RUNNING;
}
