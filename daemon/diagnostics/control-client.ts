// The client side of the control socket (control-server.ts), for the CLI commands. It finds the
// daemon through the same config as `run` (diagnostics.socket) and says plainly when there is none:
// `running: false` with a reason when the socket is absent, nobody listens on it, or what answers
// is not a posbridge. Errors the daemon answers with come back as a thrown BridgeError
// (PB_CONTROL_*, or the daemon's own code); so do a permission problem and a silent daemon.
import { createConnection } from "node:net";
import type { Config } from "../config/config-types.js";
import { BRIDGE_ERROR_CODES, BridgeError, type BridgeErrorCode } from "../errors.js";
import type { Greeting } from "./control-server.js";

export const DEFAULT_CONTROL_SOCKET = "/run/posbridge/control.sock";

export function controlSocketPath(config: Config): string {
  return config.diagnostics?.socket ?? DEFAULT_CONTROL_SOCKET;
}

export type DaemonAnswer<R> = { running: false; reason: string } | { running: true; result: R };

/** One request, one answer. */
export async function askDaemon<R>(
  socketPath: string,
  method: string,
  params?: unknown,
  timeoutMs = 10_000,
): Promise<DaemonAnswer<R>> {
  return streamDaemon<unknown, R>(socketPath, method, params, () => {}, { timeoutMs });
}

export interface StreamOptions {
  /** Until the greeting, and (without `stream`) until the answer. Default 10 s. */
  timeoutMs?: number;
  /** Ends the request: the connection is closed (the daemon stops the method). */
  signal?: AbortSignal;
  /** A streaming method: no time limit once the daemon greeted. */
  stream?: boolean;
  /** Called once the daemon greeted (the request goes out then). */
  onGreeting?: (greeting: Greeting) => void;
  /**
   * A streaming method: called once the daemon has started it (a monitor is subscribed), before
   * its first event. What happens from then on is streamed; what happened before is not.
   */
  onStarted?: () => void;
}

/**
 * A request whose events (monitor, test sale) go to `onEvent` as they come; resolves with the
 * final result, or `{ ended }` when `signal` stopped it.
 */
export function streamDaemon<E, R>(
  socketPath: string,
  method: string,
  params: unknown,
  onEvent: (event: E) => void,
  options: StreamOptions = {},
): Promise<DaemonAnswer<R>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let greeted = false;
    let settled = false;
    let buffered = "";
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new BridgeError(
              "PB_CONTROL_TIMEOUT",
              greeted
                ? `the daemon did not answer '${method}' within ${timeoutMs / 1000} s`
                : `the daemon accepted the connection on ${socketPath} but did not answer within ${timeoutMs / 1000} s: its event loop may be blocked`,
            ),
          ),
        ),
      timeoutMs,
    );
    const onAbort = () => finish(() => resolve({ running: true, result: { ended: true } as R }));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("utf8");
    socket.on("error", (err: NodeJS.ErrnoException) =>
      finish(() => {
        const reason = notRunningReason(err, socketPath);
        if (reason) resolve({ running: false, reason });
        else if (err.code === "EACCES" || err.code === "EPERM")
          reject(
            new BridgeError(
              "PB_CONTROL_DENIED",
              `permission denied on ${socketPath}: run as root or as a member of group posbridge (usermod -aG posbridge $USER, then log in again)`,
            ),
          );
        else reject(new BridgeError("PB_CONTROL_FAILED", `control socket ${socketPath}: ${err.message}`));
      }),
    );
    socket.on("close", () =>
      finish(() =>
        greeted
          ? reject(
              new BridgeError(
                "PB_CONTROL_FAILED",
                `the daemon closed the connection before answering '${method}' (it stopped or restarted?)`,
              ),
            )
          : resolve({
              running: false,
              reason: `${socketPath} closed the connection without a greeting: not a posbridge control socket`,
            }),
      ),
    );
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0 && !settled; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          message = {};
        }
        if (!greeted) {
          if ((message as Partial<Greeting>).posbridge !== "control") {
            finish(() =>
              resolve({
                running: false,
                reason: `${socketPath} answers, but not as a posbridge control socket`,
              }),
            );
            return;
          }
          greeted = true;
          if (options.stream) clearTimeout(timer);
          options.onGreeting?.(message as unknown as Greeting);
          socket.write(`${JSON.stringify({ id: 1, method, params })}\n`);
          continue;
        }
        if (message.id !== 1) continue;
        if (message.started === true) {
          options.onStarted?.();
          continue;
        }
        if ("event" in message) {
          onEvent(message.event as E);
          continue;
        }
        if (message.ok === true) {
          finish(() => resolve({ running: true, result: message.result as R }));
          return;
        }
        const error = (message.error ?? {}) as { code?: string; message?: string };
        const code = (BRIDGE_ERROR_CODES as readonly string[]).includes(error.code ?? "")
          ? (error.code as BridgeErrorCode)
          : "PB_CONTROL_FAILED";
        // The daemon's message already ends with its code: keep it as the message said it.
        const text = (error.message ?? "the daemon refused the request").replace(/ \(PB_[A-Z_]+\)$/, "");
        finish(() => reject(new BridgeError(code, text)));
        return;
      }
    });
  });
}

/** The plain words for "there is no daemon here", or undefined when the error means something else. */
function notRunningReason(err: NodeJS.ErrnoException, path: string): string | undefined {
  switch (err.code) {
    case "ENOENT":
      return `no control socket at ${path}: the daemon is not running (or diagnostics.socket names another path)`;
    case "ECONNREFUSED":
      return `nothing listens on ${path}: the daemon is not running (the socket file is left from an earlier run)`;
    case "ENOTSOCK":
      return `${path} is not a socket: no daemon serves it`;
    default:
      return undefined;
  }
}
