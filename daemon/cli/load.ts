// The config as a command reads it: loaded, validated and its files checked, or the reason it
// cannot be, said on stderr with the exit code (78 for a configuration error).
import type { Config } from "../config/config-types.js";
import { type ConfigWarning, checkConfigFiles } from "../config/check-files.js";
import { exitCodeFor, loadConfig } from "../config/load-config.js";
import { isBridgeError } from "../errors.js";
import type { Io } from "./command.js";

export type Loaded = { config: Config; warnings: ConfigWarning[] } | { config?: undefined; exit: number };

/**
 * `checkFiles: false` skips reading the files the config names (TLS keys): a client of the running
 * daemon (status, monitor…) only needs the socket path, and a technician may not read the key.
 */
export function loadOrReport(
  configPath: string,
  io: Pick<Io, "err" | "env">,
  { checkFiles = true }: { checkFiles?: boolean } = {},
): Loaded {
  try {
    const config = loadConfig({ path: configPath, env: io.env });
    if (!checkFiles) return { config, warnings: [] };
    const { warnings } = checkConfigFiles(config, configPath);
    return { config, warnings };
  } catch (err) {
    if (isBridgeError(err)) {
      io.err(`posbridge: ${err.message}`);
      return { exit: exitCodeFor(err) };
    }
    throw err;
  }
}
