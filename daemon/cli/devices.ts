// `posbridge devices [--json] [-c config]`: daemon/diagnostics/devices.ts does the work; this is
// its command-line face. Exit 0 when the list was made (whatever it shows), 64 on bad usage.
import { runDevices, formatDevices } from "../diagnostics/devices.js";
import type { Command } from "./command.js";
import { configPathOf } from "./command.js";
import { askDaemonView, loadConfigOrProblem } from "./daemon-view.js";

export const devicesCommand: Command = {
  name: "devices",
  summary:
    "list every serial, hidraw and input node with its by-id link, USB ids, serial number and driver, and which lane device each is (or why a configured one is not present)",
  usage: "posbridge devices [--json] [-c config]",
  options: {
    config: { type: "string", short: "c" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) {
      io.err(`posbridge devices: unexpected argument '${positionals[0]}'\nusage: ${this.usage}\n`);
      return 64;
    }
    const configPath = configPathOf(values, io.env);
    const { config, problem } = loadConfigOrProblem(configPath, io.env);
    const report = await runDevices({
      config,
      configPath,
      configProblem: problem,
      daemon: await askDaemonView(config),
    });
    io.out(values.json ? `${JSON.stringify(report)}\n` : formatDevices(report));
    return 0;
  },
};
