// `posbridge install` and `posbridge uninstall` (the work is in install.ts, loaded only when run).
import { exitCodeFor } from "../config/load-config.js";
import { isBridgeError } from "../errors.js";
import { type Command, type CommandArgs, type Io, usageError } from "./command.js";

const PREFIX_USAGE = "      --prefix DIR    where the program goes (default /opt/posbridge)";
const ROOT_USAGE = "      --root DIR      work in a scratch tree under DIR; run no command";
const DRY_RUN_USAGE = "      --dry-run       print what would be done, change nothing";

export const installCommand: Command = {
  name: "install",
  summary:
    "as root, from a built checkout: install the program, the service user and groups, /etc/posbridge, the systemd unit, the udev rules and the posbridge command (docs/deployment.md)",
  usage: `posbridge install [--prefix DIR] [--node PATH] [--root DIR] [--dry-run]

As root, from a built checkout: installs the production tree in --prefix, the service user and
groups, /etc/posbridge (starter config and env file), the systemd unit, the udev rules and the
posbridge command (docs/deployment.md).

Options:
${PREFIX_USAGE}
      --node PATH     the Node.js (>= 20) the service runs (default: this one)
${ROOT_USAGE}
${DRY_RUN_USAGE}`,
  options: {
    prefix: { type: "string" },
    root: { type: "string" },
    "dry-run": { type: "boolean" },
    node: { type: "string" },
  },
  run: (args, io) => runInstallCommand("install", args, io),
};

export const uninstallCommand: Command = {
  name: "uninstall",
  summary:
    "as root: stop and remove the service, the unit, the rules and the program; --purge also removes /etc/posbridge, the sale journal and the user",
  usage: `posbridge uninstall [--purge [--force]] [--prefix DIR] [--root DIR] [--dry-run]

As root: stops and removes the service, the unit, the udev rules and the program.

Options:
      --purge         also configuration, state (the sale journal), user and group
      --force         with --purge: even with unsettled payments in the journal
${PREFIX_USAGE}
${ROOT_USAGE}
${DRY_RUN_USAGE}`,
  options: {
    prefix: { type: "string" },
    root: { type: "string" },
    "dry-run": { type: "boolean" },
    purge: { type: "boolean" },
    force: { type: "boolean" },
  },
  run: (args, io) => runInstallCommand("uninstall", args, io),
};

async function runInstallCommand(
  command: "install" | "uninstall",
  { values, positionals }: CommandArgs,
  io: Io,
): Promise<number> {
  if (positionals.length > 0) return usageError(io, command, `takes no argument '${positionals[0]}'`);
  const { runInstall, runUninstall } = await import("./install.js");
  const str = (k: string) => (typeof values[k] === "string" ? { [k]: values[k] as string } : {});
  const options = {
    ...str("prefix"),
    ...str("root"),
    ...str("node"),
    dryRun: values["dry-run"] === true,
    purge: values.purge === true,
    force: values.force === true,
  };
  const out = { out: (line: string) => io.out(line) };
  try {
    return command === "install" ? runInstall(options, out) : runUninstall(options, out);
  } catch (err) {
    if (!isBridgeError(err)) throw err;
    io.err(`posbridge ${command}: ${err.message}`);
    return exitCodeFor(err);
  }
}
