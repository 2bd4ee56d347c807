// `posbridge check-config`: the config as `run` would load it, plus what only this PC can tell
// (config/check-host.ts): devices not plugged in, device nodes the service user cannot open, a
// stateDir it cannot write. Those are warnings (exit 0): the daemon waits for a device, and the
// config may be checked on another PC than the store's.
import { brokerUrls } from "../config/broker-urls.js";
import { checkHost } from "../config/check-host.js";
import { redactUrl } from "../cloud/redact-url.js";
import type { LaneConfig } from "../config/config-types.js";
import { describeLocation } from "../devices/device-identity.js";
import { CONFIG_OPTION, CONFIG_USAGE, type Command, configPathOf, usageError } from "./command.js";
import { loadOrReport } from "./load.js";

export const checkConfigCommand: Command = {
  name: "check-config",
  summary: "validate the config file and print a summary; exit 78 when it is invalid",
  usage: `posbridge check-config [-c PATH]

Validates the config file (and POSBRIDGE_* overrides) as 'run' would, checks the TLS files it
names, then warns about what would stop a lane on this PC: a device path that does not exist, a
device node the service user cannot open (its group), a stateDir the service cannot write.
Exit 0 when the config is valid (warnings included), 78 when it is not.

Options:
${CONFIG_USAGE}`,
  options: { ...CONFIG_OPTION },
  async run({ values, positionals }, io) {
    if (positionals.length > 0)
      return usageError(io, "check-config", `takes no argument '${positionals[0]}'`);
    const configPath = configPathOf(values, io.env);
    const loaded = loadOrReport(configPath, io);
    if (!loaded.config) return loaded.exit;
    const c = loaded.config;
    for (const w of [...loaded.warnings, ...checkHost(c)])
      io.err(`posbridge: warning: ${w.path}: ${w.message}`);
    const lanes = c.lanes.map(
      (l) =>
        `lane ${l.id}: ${registerText(l)}, scanner ${describeLocation(l.scanner)} (${l.scanner.type})${l.display ? `, display ${describeLocation(l.display)} (${l.display.type})` : ""}`,
    );
    io.out(
      [
        `${configPath}: valid`,
        `store ${c.store}, bridge ${c.bridge}, ${brokerWords(c.mqtt.url)} (MQTT ${c.mqtt.protocolVersion === 5 ? "5" : "3.1.1"})`,
        ...lanes,
      ].join("\n"),
    );
    return 0;
  },
};

/** "broker URL", or "broker cluster URL, URL, URL" for a list of nodes; credentials removed. */
function brokerWords(url: string | readonly string[]): string {
  const urls = brokerUrls(url).map(redactUrl);
  return `${urls.length > 1 ? "broker cluster" : "broker"} ${urls.join(", ")}`;
}

/** The lane's register link, or its display tap (no-integration mode). */
function registerText(l: LaneConfig): string {
  if (l.displayTap) {
    const t = l.displayTap;
    const real = t.display ? `, real display ${describeLocation(t.display)}` : "";
    return `register display line ${describeLocation(t)} (displayTap ${t.mode}, ${t.baudRate} baud, parity ${t.parity}, dialect ${t.dialect}${real})`;
  }
  const terminal = l.terminal as NonNullable<LaneConfig["terminal"]>;
  return `register ${describeLocation(terminal)} (${terminal.profile})`;
}
