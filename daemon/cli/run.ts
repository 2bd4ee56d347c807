// `posbridge run`: the daemon. It ends only on SIGTERM/SIGINT (exit 0), a configuration error
// (78) or a fatal fault (non-zero, logged as JSON with its PB_ code): never by itself, however
// long the broker and the devices stay away (docs/errors.md, "Exit codes").
import { createApp } from "../app.js";
import { exitCodeFor } from "../config/load-config.js";
import { startDiagnostics } from "../diagnostics/start.js";
import { isBridgeError } from "../errors.js";
import { createNotifier } from "../health/sd-notify.js";
import { SystemdSupervisor } from "../health/systemd-supervisor.js";
import { installTestStall } from "../health/test-stall.js";
import { LogLevels } from "../log/log-levels.js";
import { LogTail } from "../log/log-tail.js";
import { createLogger } from "../log/logger.js";
import { version } from "../version.js";
import { CONFIG_OPTION, CONFIG_USAGE, type Command, configPathOf, type Io, usageError } from "./command.js";
import { loadOrReport } from "./load.js";

/** After a stop, how long the process may take to let go of its last handles. */
const STOP_GRACE_MS = 3_000;

export const runCommand: Command = {
  name: "run",
  summary: "run the bridge daemon (the default command)",
  usage: `posbridge run [-c PATH]

Runs the bridge: opens the sale journal, supervises every lane's register link, scanner and
display, connects to the broker and serves the control socket (diagnostics.socket) that status,
monitor, test, log-level and bundle talk to. Never exits by itself: with the broker unreachable or
no device present it keeps retrying. Stop it with SIGTERM or SIGINT (exit 0).

Options:
${CONFIG_USAGE}`,
  options: { ...CONFIG_OPTION },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) return usageError(io, "run", `takes no argument '${positionals[0]}'`);
    return runDaemon(configPathOf(values, io.env), io);
  },
};

async function runDaemon(configPath: string, io: Io): Promise<number> {
  const loaded = loadOrReport(configPath, io);
  if (!loaded.config) return loaded.exit;
  const config = loaded.config;
  const { clock, env } = io;
  // Levels changed at runtime (posbridge log-level) and the last lines (posbridge bundle).
  const logLevels = new LogLevels();
  const logTail = new LogTail();
  const log = createLogger({
    level: config.log.level,
    format: config.log.format,
    onChild: logLevels.track,
    tail: logTail,
  });
  logLevels.setRoot(log);
  for (const w of loaded.warnings) log.warn({ field: w.path }, `${w.path}: ${w.message}`);
  const systemdLog = log.child({ component: "systemd" });
  const supervisor = new SystemdSupervisor({
    notifier: createNotifier({ env, log: systemdLog, clock }),
    env,
    clock,
    log: systemdLog,
  });
  installTestStall(env, log);
  // Every component's timer is unref'd (daemon/clock.ts), and a bridge with no device present and
  // the broker unreachable holds no other handle: without this one Node would find nothing left
  // to do and exit 0, which systemd's Restart=on-failure does not restart. Held until a signal.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  process.on("unhandledRejection", (reason) =>
    log.error(
      { errCode: "PB_INTERNAL", err: reason instanceof Error ? reason : String(reason) },
      "unhandled promise rejection",
    ),
  );
  process.on("uncaughtException", (err) => {
    // A bug: the state may be inconsistent, so stop at once; the journal is durable and the
    // broker's Last Will says offline. systemd restarts the service (exit 1).
    log.fatal({ errCode: "PB_INTERNAL", err }, `internal error, exiting: ${err.message} (PB_INTERNAL)`);
    process.exit(1);
  });
  let app: ReturnType<typeof createApp>;
  try {
    app = createApp({ config, log, version: version(), clock });
    await app.start();
  } catch (err) {
    clearInterval(keepAlive);
    const code = isBridgeError(err) ? err.code : "PB_INTERNAL";
    const message = isBridgeError(err) ? err.message : `cannot start: ${String(err)} (PB_INTERNAL)`;
    log.fatal({ errCode: code, err }, message);
    await supervisor.failed(message);
    return exitCodeFor(err);
  }
  // Diagnostics never stop the bridge: a socket that cannot be served is logged, and sales go on.
  const diagnostics = await startDiagnostics({ config, configPath, app, log, clock, logLevels, logTail });
  // The journal is open and every lane's devices are supervised: ready, broker or not.
  void supervisor.ready(app);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping");
      const done = (code: number) => {
        clearInterval(keepAlive);
        // A handle a component failed to close must not keep a stopped daemon around.
        setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
        resolve(code);
      };
      // STOPPING=1 first: systemd must not take the shutdown for a hang (no more pings).
      supervisor
        .stopping()
        .then(() => diagnostics.stop())
        .then(() => app.stop())
        .then(
          () => done(0),
          (err: Error) => {
            log.error({ errCode: "PB_INTERNAL", err: err.message }, "stop failed");
            done(1);
          },
        );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
