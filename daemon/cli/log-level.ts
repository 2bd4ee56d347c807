// `posbridge log-level [component] <level>`: changes what a component of the running daemon logs,
// until it restarts. Without a level: the levels now.
import { askDaemon } from "../diagnostics/control-client.js";
import { LOG_LEVELS } from "../log/log-levels.js";
import { type Command, usageError } from "./command.js";
import { DIAG_OPTIONS, DIAG_USAGE, notRunning, targetOf } from "./diag-client.js";

export const logLevelCommand: Command = {
  name: "log-level",
  summary:
    "change what a component of the running daemon logs, until it restarts; without a level: the levels now",
  usage: `posbridge log-level [component] <level> [-c PATH]
       posbridge log-level

Sets the log level of the running daemon, or of one component of it: mqtt, rpc, journal, clock,
systemd, diagnostics, training; terminal, scanner or display (that device of every lane); lane-<id>
(a lane and its devices). Levels: ${LOG_LEVELS.join(", ")}. The change lasts until the daemon
restarts: log.level in the config is where it starts again. Without arguments: each component's
level now.

Options:
      --json          print the answer as JSON
${DIAG_USAGE}`,
  options: { ...DIAG_OPTIONS, json: { type: "boolean" } },
  async run({ values, positionals }, io) {
    if (positionals.length > 2) return usageError(io, "log-level", "give at most a component and a level");
    const [first, second] = positionals;
    const [component, level] = second === undefined ? ["all", first] : [first, second];
    if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level))
      return usageError(io, "log-level", `level must be one of ${LOG_LEVELS.join(", ")}`);
    const target = targetOf(values, io);
    if ("exit" in target) return target.exit;
    const a = await askDaemon<{ levels: Record<string, string>; loggers?: number }>(
      target.socket,
      "log-level",
      {
        component,
        ...(level ? { level } : {}),
      },
    );
    if (!a.running) return notRunning(io, "log-level", a.reason);
    if (values.json === true) {
      io.out(JSON.stringify(a.result, null, 2));
      return 0;
    }
    const rows = Object.entries(a.result.levels).map(([name, l]) => `  ${name.padEnd(24)}${l}`);
    io.out(
      `${level ? `${component}: ${level} (${a.result.loggers} logger${a.result.loggers === 1 ? "" : "s"}; until the daemon restarts)\n` : ""}levels now:\n${rows.join("\n")}`,
    );
    return 0;
  },
};
