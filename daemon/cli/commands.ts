// Every `posbridge <command>`, in the order `posbridge --help` lists them. main.ts looks a
// command up here by name; nothing else dispatches on command names.
import { bundleCommand } from "./bundle.js";
import { checkConfigCommand } from "./check-config.js";
import { cloudSimCommand } from "./cloud-sim.js";
import { conformanceCommand } from "./conformance.js";
import type { Command } from "./command.js";
import { demoCommand } from "./demo.js";
import { devicesCommand } from "./devices.js";
import { displayCommand } from "./display.js";
import { doctorCommand } from "./doctor.js";
import { installCommand, uninstallCommand } from "./install-commands.js";
import { logLevelCommand } from "./log-level.js";
import { monitorCommand } from "./monitor.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { statusCommand } from "./status.js";
import { testCommand } from "./test.js";

export const COMMANDS: readonly Command[] = [
  runCommand,
  statusCommand,
  devicesCommand,
  doctorCommand,
  monitorCommand,
  testCommand,
  logLevelCommand,
  bundleCommand,
  checkConfigCommand,
  reportCommand,
  displayCommand,
  demoCommand,
  cloudSimCommand,
  installCommand,
  uninstallCommand,
  conformanceCommand,
];
