// What `devices` and `doctor` start from: the config (or why it did not load) and the daemon's
// answer over its control socket (or why there was none). The socket's path comes from the same
// config file as `run`, so both commands find the daemon that config runs.
import type { Config } from "../config/config-types.js";
import { loadConfig } from "../config/load-config.js";
import { askDaemon, controlSocketPath } from "../diagnostics/control-client.js";
import { type DaemonView, daemonFacts, type SnapshotView } from "../diagnostics/daemon-facts.js";
import { isBridgeError } from "../errors.js";

/** How long the commands wait for the daemon's answer before they say it is not running. */
export const DAEMON_ANSWER_MS = 2_000;

/** The socket of a daemon whose config did not load: where the unit's RuntimeDirectory puts it. */
const DEFAULT_SOCKET = "/run/posbridge/control.sock";

export function loadConfigOrProblem(
  configPath: string,
  env: NodeJS.ProcessEnv,
): { config: Config; problem: "" } | { config: undefined; problem: string } {
  try {
    return { config: loadConfig({ path: configPath, env }), problem: "" };
  } catch (err) {
    if (!isBridgeError(err)) throw err;
    return { config: undefined, problem: err.message.split("\n")[0] ?? err.message };
  }
}

export async function askDaemonView(config: Config | undefined): Promise<DaemonView> {
  const socket = config ? controlSocketPath(config) : DEFAULT_SOCKET;
  let answer: Awaited<ReturnType<typeof askDaemon<SnapshotView>>>;
  try {
    answer = await askDaemon<SnapshotView>(socket, "status", undefined, DAEMON_ANSWER_MS);
  } catch (err) {
    // It is there but did not answer (PB_CONTROL_TIMEOUT: a blocked event loop), or refused us.
    if (!isBridgeError(err)) throw err;
    return { running: false, reason: err.message };
  }
  if (!answer.running) return { running: false, reason: answer.reason };
  try {
    return { running: true, facts: daemonFacts(answer.result) };
  } catch (err) {
    return {
      running: false,
      reason: `the daemon's status answer was not understood: ${(err as Error).message}`,
    };
  }
}
