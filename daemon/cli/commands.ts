// Every `posbridge <command>`, in the order `posbridge --help` lists them. main.ts looks a
// command up here by name; nothing else dispatches on command names. Each command's module is
// loaded only when that command runs (or for the help, which lists them all): `posbridge run`
// does not load the code of install, display, doctor… (docs/performance.md, "Start and memory").
import type { Command } from "./command.js";

export interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

export const COMMAND_TABLE: readonly CommandEntry[] = [
  { name: "run", load: async () => (await import("./run.js")).runCommand },
  { name: "status", load: async () => (await import("./status.js")).statusCommand },
  { name: "devices", load: async () => (await import("./devices.js")).devicesCommand },
  { name: "doctor", load: async () => (await import("./doctor.js")).doctorCommand },
  { name: "monitor", load: async () => (await import("./monitor.js")).monitorCommand },
  { name: "test", load: async () => (await import("./test.js")).testCommand },
  { name: "log-level", load: async () => (await import("./log-level.js")).logLevelCommand },
  { name: "bundle", load: async () => (await import("./bundle.js")).bundleCommand },
  { name: "check-config", load: async () => (await import("./check-config.js")).checkConfigCommand },
  { name: "report", load: async () => (await import("./report.js")).reportCommand },
  { name: "display", load: async () => (await import("./display.js")).displayCommand },
  { name: "demo", load: async () => (await import("./demo.js")).demoCommand },
  { name: "cloud-sim", load: async () => (await import("./cloud-sim.js")).cloudSimCommand },
  { name: "install", load: async () => (await import("./install-commands.js")).installCommand },
  { name: "uninstall", load: async () => (await import("./install-commands.js")).uninstallCommand },
  { name: "conformance", load: async () => (await import("./conformance.js")).conformanceCommand },
];

/** The command named `name`, loaded; undefined when there is none. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return COMMAND_TABLE.find((c) => c.name === name)?.load();
}

/** Every command, loaded, in the table's order (for the help). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_TABLE.map((c) => c.load()));
}
