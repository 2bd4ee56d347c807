// `posbridge doctor [--json] [--user NAME] [-c config]`: daemon/diagnostics/doctor.ts does the
// work; this is its command-line face. Exit 0 nothing wrong, 1 warnings only, 2 errors, 3 the
// doctor itself failed, 64 bad usage.
import { DOCTOR_EXIT, formatDoctor, runDoctor } from "../diagnostics/doctor.js";
import type { Command } from "./command.js";
import { configPathOf } from "./command.js";
import { askDaemonView, loadConfigOrProblem } from "./daemon-view.js";

export const doctorCommand: Command = {
  name: "doctor",
  summary:
    "check this PC for what stops the bridge (devices, permissions, other programs on the ports, native modules, config, broker, clock, stateDir, journal), one line per finding with its fix",
  usage: "posbridge doctor [--json] [--user NAME] [-c config]",
  options: {
    config: { type: "string", short: "c" },
    json: { type: "boolean" },
    user: { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      io.err(`posbridge doctor: unexpected argument '${positionals[0]}'\nusage: ${this.usage}\n`);
      return 64;
    }
    const configPath = configPathOf(values, io.env);
    try {
      // The daemon is found through the config's socket; a config that does not load is the
      // doctor's first finding, and the default socket is asked instead.
      const { config } = loadConfigOrProblem(configPath, io.env);
      const report = await runDoctor({
        configPath,
        ...(config ? { config } : {}),
        env: io.env,
        clock: io.clock,
        daemon: await askDaemonView(config),
        ...(typeof values.user === "string" ? { serviceUser: values.user } : {}),
      });
      io.out(values.json ? `${JSON.stringify(report)}\n` : formatDoctor(report));
      return report.exitCode;
    } catch (err) {
      io.err(`posbridge doctor: the doctor itself failed: ${(err as Error)?.stack ?? String(err)}\n`);
      return DOCTOR_EXIT.failed;
    }
  },
};
