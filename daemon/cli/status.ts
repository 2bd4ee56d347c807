// `posbridge status [--json]`: the running daemon's BridgeSnapshot, from the control socket; with
// --remote, the same through the broker from a support laptop, with the retained status decoded.
// Not running: it says so (exit 3) and tells what it can without the daemon: the config and the
// journal file.
import { join } from "node:path";
import { askDaemon } from "../diagnostics/control-client.js";
import { formatRetained, formatStatus } from "../diagnostics/format.js";
import { askRemote, type RemoteTarget } from "../diagnostics/remote-client.js";
import type { BridgeSnapshot } from "../diagnostics/snapshot.js";
import { BridgeError, isBridgeError } from "../errors.js";
import { type Command, type CommandArgs, type Io, usageError } from "./command.js";
import { DIAG_OPTIONS, DIAG_USAGE, NOT_RUNNING, targetOf } from "./diag-client.js";

export const REMOTE_OPTIONS = {
  remote: { type: "boolean" },
  broker: { type: "string" },
  store: { type: "string" },
  bridge: { type: "string" },
  prefix: { type: "string" },
  username: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  timeout: { type: "string" },
} as const;

export const REMOTE_USAGE = `      --remote        ask through the broker instead of the control socket (remote diagnostics:
                      the bridge's config must say diagnostics.remote: true, and the broker's ACL
                      must let this account publish P/diag/req and read P/diag/res, P/status)
      --broker URL    the broker (mqtt://, mqtts://); --store S --bridge B name the bridge
      --prefix TOPIC  topic prefix (default posbridge/v1)
      --username U    broker user; the password comes from $POSBRIDGE_SUPPORT_PASSWORD
      --ca FILE --cert FILE --key FILE   TLS files (PEM) for mqtts://
      --timeout S     seconds to wait for the answer (default 10; also without --remote)`;

export const statusCommand: Command = {
  name: "status",
  summary:
    "the running bridge: broker, lanes and devices with their counters, sales in progress, journal, process",
  usage: `posbridge status [--json] [-c PATH]
       posbridge status --remote --broker URL --store S --bridge B [--json] [--prefix TOPIC] [TLS options]

Asks the running daemon (through diagnostics.socket of the config) for its state: version and
uptime; the broker link (state, since when, last error, TLS certificate expiry); each lane with
each device's state and identity and its counters (frames in/out, NAKs, resends, noise, reopens,
time since the last good frame); sales in progress and payments being resolved (ids, amounts,
masked codes only); the journal (size, last fsync); the process (memory, event-loop delay).
Exit 0; 3 when the daemon is not running (it then says why, and what it can tell without it).

Options:
      --json          print the snapshot as JSON (stable: docs/diagnostics.md, "status --json")
${REMOTE_USAGE}
${DIAG_USAGE}`,
  options: { ...DIAG_OPTIONS, json: { type: "boolean" }, ...REMOTE_OPTIONS },
  async run(args, io) {
    if (args.positionals.length > 0)
      return usageError(io, "status", `takes no argument '${args.positionals[0]}'`);
    if (args.values.remote === true) return remoteStatus(args, io);
    const target = targetOf(args.values, io);
    if ("exit" in target) return target.exit;
    const json = args.values.json === true;
    const timeoutMs = remoteTimeoutMs(args.values);
    if (typeof timeoutMs === "string") return usageError(io, "status", timeoutMs);
    const answer = await askDaemon<BridgeSnapshot>(target.socket, "status", undefined, timeoutMs);
    if (answer.running) {
      io.out(json ? JSON.stringify(answer.result, null, 2) : formatStatus(answer.result));
      return 0;
    }
    const offline = await withoutDaemon(target.config.stateDir);
    if (json) {
      io.out(JSON.stringify({ running: false, reason: answer.reason, ...offline }, null, 2));
    } else {
      io.out(
        [
          `posbridge is not running: ${answer.reason}`,
          `config ${target.configPath}: valid; store ${target.config.store}, bridge ${target.config.bridge}, ${target.config.lanes.length} lane(s)`,
          `journal ${offline.journal.path}: ${offline.journal.note}`,
          "Start it with: systemctl start posbridge   (why it stopped: journalctl -u posbridge -n 50)",
        ].join("\n"),
      );
    }
    return NOT_RUNNING;
  },
};

/** What status can tell without the daemon: the journal file as it lies. */
async function withoutDaemon(stateDir: string) {
  const { JOURNAL_FILE, readJournal } = await import("../journal/journal.js");
  const path = join(stateDir, JOURNAL_FILE);
  try {
    const read = readJournal(path);
    const unsettled = read.records.filter(
      (r) =>
        (r.kind === "sale" && (r.status === "OPEN" || r.status === "PENDING" || r.status === "UNKNOWN")) ||
        (r.kind === "attempt" && !["paid", "failed", "cancelled"].includes(r.phase)),
    ).length;
    return {
      journal: {
        path,
        readable: true,
        missing: read.report.missing,
        records: read.report.records,
        unsettled,
        note: read.report.missing
          ? "no journal file (the bridge never ran with this stateDir, or it was removed)"
          : `${read.report.records} records, ${unsettled} unsettled (they resume when the daemon starts)`,
      },
    };
  } catch (err) {
    const note = isBridgeError(err) ? err.message : String(err);
    return { journal: { path, readable: false, missing: false, records: null, unsettled: null, note } };
  }
}

function remoteTarget(values: CommandArgs["values"], io: Io): RemoteTarget | string {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const broker = str("broker");
  const store = str("store");
  const bridge = str("bridge");
  if (!broker || !store || !bridge) return "--remote needs --broker URL, --store S and --bridge B";
  const password = io.env.POSBRIDGE_SUPPORT_PASSWORD;
  return {
    broker,
    store,
    bridge,
    ...(str("prefix") ? { prefix: str("prefix") } : {}),
    ...(str("username") ? { username: str("username") } : {}),
    ...(password ? { password } : {}),
    ...(str("ca") ? { ca: str("ca") } : {}),
    ...(str("cert") ? { cert: str("cert") } : {}),
    ...(str("key") ? { key: str("key") } : {}),
  };
}

export function remoteTimeoutMs(values: CommandArgs["values"]): number | string {
  if (values.timeout === undefined) return 10_000;
  const s = Number(values.timeout);
  return Number.isFinite(s) && s > 0 && s <= 600 ? s * 1000 : "--timeout must be seconds, 1 to 600";
}

export { remoteTarget };

async function remoteStatus({ values }: CommandArgs, io: Io): Promise<number> {
  const target = remoteTarget(values, io);
  if (typeof target === "string") return usageError(io, "status", target);
  const timeoutMs = remoteTimeoutMs(values);
  if (typeof timeoutMs === "string") return usageError(io, "status", timeoutMs);
  const { retained, answer } = await askRemote(target, "status", {}, timeoutMs);
  const json = values.json === true;
  if (answer && !answer.ok)
    throw new BridgeError("PB_CONTROL_REFUSED", `${answer.errorMessage.replace(/ \(PB_[A-Z_]+\)$/, "")}`);
  const snapshot = answer ? (JSON.parse(answer.resultJson) as BridgeSnapshot) : undefined;
  if (json) {
    io.out(JSON.stringify({ retained: retained ?? null, status: snapshot ?? null }, null, 2));
  } else {
    io.out(retained ? formatRetained(retained) : "no retained status on the broker for this bridge");
    if (snapshot) io.out(formatStatus(snapshot));
  }
  if (snapshot) return 0;
  io.err(
    `posbridge status: no answer on ${target.prefix ?? "posbridge/v1"}/${target.store}/${target.bridge}/diag/res within ${timeoutMs / 1000} s: the bridge is offline, its remote diagnostics are off (diagnostics.remote), or the broker's ACL does not allow them`,
  );
  return NOT_RUNNING;
}
