// Diagnostics of the running daemon: the method table's context (a read-only view of the app),
// the control socket, and the remote channel when diagnostics.remote is on. Started after the
// app, stopped before it; a failure here is logged, never fatal: sales go on without diagnostics.
import type { App } from "../app.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/config-types.js";
import { isBridgeError } from "../errors.js";
import type { LogLevels } from "../log/log-levels.js";
import type { Logger } from "../log/logger.js";
import type { LogTail } from "../log/log-tail.js";
import { controlSocketPath } from "./control-client.js";
import { ControlServer } from "./control-server.js";
import { DIAG_METHODS, type DiagContext, type DiagMethod } from "./methods.js";
import { RemoteDiagnostics } from "./remote.js";
import { ProcessProbe, takeSnapshot } from "./snapshot.js";

export interface DiagnosticsDeps {
  config: Config;
  configPath: string;
  app: App;
  log: Logger;
  clock: Clock;
  logLevels: LogLevels;
  logTail: LogTail;
  /** Default DIAG_METHODS. */
  methods?: readonly DiagMethod[];
}

export interface Diagnostics {
  context: DiagContext;
  stop(): Promise<void>;
}

export async function startDiagnostics(deps: DiagnosticsDeps): Promise<Diagnostics> {
  const { config, app, clock } = deps;
  const log = deps.log.child({ component: "diagnostics" });
  const probe = new ProcessProbe();
  const startedMono = clock.monoNow() - (clock.wallNow() - app.info.startedAt);
  const socket = controlSocketPath(config);
  const methods = deps.methods ?? DIAG_METHODS;
  const context: DiagContext = {
    config,
    configPath: deps.configPath,
    version: app.info.version,
    clock,
    log,
    snapshot: () =>
      takeSnapshot({
        app,
        clock,
        probe,
        startedMono,
        diagnostics: { socket, remote: config.diagnostics.remote },
      }),
    logLevels: deps.logLevels,
    logTail: deps.logTail,
    lanes: app.lanes,
    methods,
    testsRunning: new Set(),
  };
  const server = new ControlServer({ path: socket, methods, context, log, version: app.info.version });
  let serving = false;
  try {
    await server.start();
    serving = true;
  } catch (err) {
    if (!isBridgeError(err)) throw err;
    log.error({ errCode: err.code, socket }, `control socket not served: ${err.message}`);
  }
  const remote = config.diagnostics.remote
    ? new RemoteDiagnostics({ link: app.link, methods, context, log })
    : undefined;
  remote?.start();
  return {
    context,
    async stop() {
      remote?.stop();
      if (serving) await server.stop();
      probe.stop();
    },
  };
}
