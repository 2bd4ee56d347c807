// Files the config names must be readable before the daemon starts anything: a TLS file that
// cannot be read is a configuration error (exit 78, the field named), found by `check-config`
// too, not a failure discovered after the lanes have opened their ports.
import { accessSync, constants, statSync } from "node:fs";
import { BridgeError } from "../errors.js";
import type { Config } from "./config-types.js";

export function checkConfigFiles(config: Config, source: string): void {
  const problems: { path: string; message: string }[] = [];
  const tls = config.mqtt.tls ?? {};
  for (const field of ["ca", "cert", "key"] as const) {
    const file = tls[field];
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile())
        problems.push({ path: `mqtt.tls.${field}`, message: `${file} is not a file` });
    } catch (err) {
      problems.push({
        path: `mqtt.tls.${field}`,
        message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      });
    }
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    problems.push({
      path: "mqtt.tls",
      message: "cert and key go together: set both for mutual TLS, or neither",
    });
  }
  if (problems.length === 0) return;
  const lines = problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n");
  throw new BridgeError(
    "PB_CONFIG_INVALID",
    `invalid configuration in ${source} (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${lines}\n`,
    {
      context: { problems },
    },
  );
}
