// The support bundle's files, and the scrub every file goes through before it is packed: no
// secret the schema marks (config/redact.ts) and no payment code (a run of 12 or more digits
// keeps its last 4, as the log filter does) can leave in one, whatever slipped into a log line.
import { redactConfig, secretValues } from "../config/redact.js";
import type { Config } from "../config/config-types.js";
import type { TarFile } from "./tar.js";

export interface BundleFile {
  name: string;
  content: string;
}

const LONG_DIGITS = /[0-9０-９]{12,}/g;

export function json(name: string, value: unknown): BundleFile {
  return { name, content: `${JSON.stringify(value, null, 2)}\n` };
}

export function configFile(config: Config): BundleFile {
  return json("config.json", redactConfig(config));
}

/** Every secret value of `config` and every long digit run taken out of every file. */
export function scrub(files: readonly BundleFile[], config: Config | undefined): TarFile[] {
  const secrets = config ? secretValues(config).sort((a, b) => b.length - a.length) : [];
  return files.map((f) => {
    let text = f.content.replace(LONG_DIGITS, (run) => `…${run.slice(-4)}`);
    for (const s of secrets) text = text.split(s).join("[REDACTED]");
    return { name: f.name, content: text };
  });
}

export const BUNDLE_README = `posbridge support bundle

config.json      the configuration as the daemon runs it, secrets removed (fields the schema marks secret)
status.json      posbridge status --json: link, lanes and devices, sales in progress, journal, process
counters.json    the link, RPC, lane and device counters
devices.json     posbridge devices --json (when this posbridge has it)
doctor.json      posbridge doctor --json (when this posbridge has it)
versions.json    posbridge, Node.js, native modules (and whether they load), libraries
log-levels.json  the log level of each component now
daemon-log.ndjson  the daemon's last log lines, as it logged them
journald.txt     journalctl -u posbridge (or --log-file), when the bundle was made on the PC
host.json        where and when the bundle was made

Payment codes never appear (at most scheme + last 4 digits); any run of 12 or more digits is cut
to its last 4, secrets to [REDACTED].
`;
