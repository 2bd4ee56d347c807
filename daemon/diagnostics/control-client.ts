// stand-in until h-diag merges: the client of the daemon's control socket (h-diag's
// daemon/diagnostics/control-client.ts). This stand-in never reaches a daemon: it answers
// "not running", so `devices` and `doctor` run their own checks.
import type { Config } from "../config/config-types.js";

const DEFAULT_CONTROL_SOCKET = "/run/posbridge/control.sock";

export type DaemonAnswer<R> = { running: false; reason: string } | { running: true; result: R };

export function controlSocketPath(config: Config): string {
  const socket = (config as { diagnostics?: { socket?: unknown } }).diagnostics?.socket;
  return typeof socket === "string" ? socket : DEFAULT_CONTROL_SOCKET;
}

export async function askDaemon<R>(
  socketPath: string,
  _method: string,
  _params?: unknown,
  _timeoutMs?: number,
): Promise<DaemonAnswer<R>> {
  return { running: false, reason: `no control socket at ${socketPath} (stand-in client)` };
}
