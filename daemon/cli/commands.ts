// Every `posbridge <command>`, in the order `posbridge --help` lists them. main.ts looks a
// command up here by name; nothing else dispatches on command names.
import { checkConfigCommand } from "./check-config.js";
import { cloudSimCommand } from "./cloud-sim.js";
import type { Command } from "./command.js";
import { demoCommand } from "./demo.js";
import { installCommand, uninstallCommand } from "./install-commands.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";

export const COMMANDS: readonly Command[] = [
  runCommand,
  checkConfigCommand,
  reportCommand,
  demoCommand,
  cloudSimCommand,
  installCommand,
  uninstallCommand,
];
