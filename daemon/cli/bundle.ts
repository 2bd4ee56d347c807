// `posbridge bundle [-o FILE]`: a support archive (.tar.gz) of what a support engineer asks for
// first: the config without its secrets, status, devices and doctor (when this posbridge has
// them), versions, counters, the daemon's last log lines and journald's. Every file is scrubbed of
// the config's secrets and of anything that looks like a payment code before it is packed
// (bundle-files.ts). Made without the daemon too, with what can be known then.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { checkHost } from "../config/check-host.js";
import type { Config } from "../config/config-types.js";
import { BUNDLE_README, type BundleFile, configFile, json, scrub } from "../diagnostics/bundle-files.js";
import { askDaemon } from "../diagnostics/control-client.js";
import { localTime } from "../diagnostics/format.js";
import { askRemote } from "../diagnostics/remote-client.js";
import { tarGz } from "../diagnostics/tar.js";
import { versions } from "../diagnostics/versions.js";
import { BridgeError } from "../errors.js";
import { version } from "../version.js";
import { type Command, type CommandArgs, type Io, usageError } from "./command.js";
import { DIAG_OPTIONS, DIAG_USAGE, targetOf } from "./diag-client.js";
import { REMOTE_OPTIONS, REMOTE_USAGE, remoteTarget, remoteTimeoutMs } from "./status.js";

const DEFAULT_LINES = 1_000;

export const bundleCommand: Command = {
  name: "bundle",
  summary:
    "a support archive (.tar.gz): config without secrets, status, devices, doctor, versions, counters, recent logs",
  usage: `posbridge bundle [-o FILE] [--lines N] [--log-file PATH] [-c PATH]
       posbridge bundle --remote --broker URL --store S --bridge B [-o FILE] [TLS options]

Writes a support archive (mode 0600): the config as the daemon runs it with its secrets removed,
status, devices and doctor, versions of posbridge, Node.js and the native modules, counters, the
daemon's last log lines, and the last N lines of journald (journalctl -u posbridge) or of
--log-file. No secret and no payment code is in it: every file is scrubbed before it is packed.
Without a running daemon it holds what can be known without it. List it with tar tzvf FILE.

Options:
  -o, --output FILE   where to write it (default posbridge-bundle-<store>-<bridge>-<time>.tar.gz)
      --lines N       log lines to include (default ${DEFAULT_LINES})
      --log-file PATH take the log lines from this file instead of journald
${REMOTE_USAGE}
${DIAG_USAGE}`,
  options: {
    ...DIAG_OPTIONS,
    ...REMOTE_OPTIONS,
    output: { type: "string", short: "o" },
    lines: { type: "string" },
    "log-file": { type: "string" },
  },
  async run(args, io) {
    if (args.positionals.length > 0)
      return usageError(io, "bundle", `takes no argument '${args.positionals[0]}'`);
    const { values } = args;
    const lines = values.lines === undefined ? DEFAULT_LINES : Number(values.lines);
    if (!Number.isInteger(lines) || lines < 0 || lines > 100_000)
      return usageError(io, "bundle", "--lines must be a whole number, 0 to 100000");
    if (values.remote === true) return remoteBundle(args, io);
    const target = targetOf(values, io);
    if ("exit" in target) return target.exit;
    const { config } = target;
    const now = io.clock.wallNow();
    const answer = await askDaemon<{ files: BundleFile[] }>(
      target.socket,
      "bundle",
      { logLines: Math.min(lines, 10_000) },
      30_000,
    );
    const files: BundleFile[] = answer.running
      ? [...answer.result.files]
      : await withoutDaemon(config, answer.reason);
    files.push(logLines(values, lines));
    files.push(
      json("host.json", {
        hostname: hostname(),
        user: safeUser(),
        createdAt: now,
        createdAtLocal: localTime(now),
        madeBy: `posbridge ${version()} (bundle command)`,
        daemonRunning: answer.running,
        checkConfigWarnings: checkHost(config),
      }),
    );
    const file =
      typeof values.output === "string" ? values.output : defaultName(config.store, config.bridge, now);
    writeFileSync(file, tarGz(scrub(files, config), now), { mode: 0o600 });
    io.out(
      `${file}: ${files.length} files (${files.map((f) => f.name).join(", ")})${answer.running ? "" : `\nthe daemon is not running (${answer.reason}): the bundle holds what can be known without it`}`,
    );
    return 0;
  },
};

async function withoutDaemon(config: Config, reason: string): Promise<BundleFile[]> {
  return [
    { name: "README.txt", content: BUNDLE_README },
    configFile(config),
    json("status.json", { running: false, reason }),
    json("versions.json", await versions()),
  ];
}

/** journald's lines of the service (or a log file's), as text; why not, when they cannot be had. */
function logLines(values: CommandArgs["values"], lines: number): BundleFile {
  const file = values["log-file"];
  if (typeof file === "string") {
    try {
      const text = readFileSync(file, "utf8").split("\n");
      return { name: "journald.txt", content: `${text.slice(-lines - 1).join("\n")}` };
    } catch (err) {
      return {
        name: "journald.txt",
        content: `(cannot read ${file}: ${(err as NodeJS.ErrnoException).code})\n`,
      };
    }
  }
  try {
    const text = execFileSync(
      "journalctl",
      ["-u", "posbridge", "-n", String(lines), "-o", "cat", "--no-pager"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 20_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { name: "journald.txt", content: text };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? "journalctl is not installed" : (e.stderr ?? e.message).trim();
    return {
      name: "journald.txt",
      content: `(no journald lines: ${why}; run as root or a member of systemd-journal, or give --log-file)\n`,
    };
  }
}

async function remoteBundle({ values }: CommandArgs, io: Io): Promise<number> {
  const target = remoteTarget(values, io);
  if (typeof target === "string") return usageError(io, "bundle", target);
  const timeoutMs = remoteTimeoutMs(values);
  if (typeof timeoutMs === "string") return usageError(io, "bundle", timeoutMs);
  const { answer } = await askRemote(target, "bundle", {}, timeoutMs);
  if (!answer)
    throw new BridgeError(
      "PB_CONTROL_TIMEOUT",
      `no answer on diag/res within ${timeoutMs / 1000} s: the bridge is offline, its remote diagnostics are off, or the broker's ACL does not allow them`,
    );
  if (!answer.ok)
    throw new BridgeError("PB_CONTROL_REFUSED", answer.errorMessage.replace(/ \(PB_[A-Z_]+\)$/, ""));
  const now = io.clock.wallNow();
  const file =
    typeof values.output === "string" ? values.output : defaultName(target.store, target.bridge, now);
  writeFileSync(file, answer.bundle, { mode: 0o600 });
  io.out(
    `${file}: the bundle of ${target.store}/${target.bridge} (posbridge ${answer.version})${answer.truncated ? ", fewer log lines to fit the broker" : ""}`,
  );
  return 0;
}

function defaultName(store: string, bridge: string, now: number): string {
  const t = localTime(now).replace(/[-:]/g, "").replace(" ", "-");
  return `posbridge-bundle-${store}-${bridge}-${t}.tar.gz`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}
