// Tells systemd how the bridge is (sd_notify(3)): READY=1, STATUS=…, STOPPING=1, WATCHDOG=1.
// A no-op unless the service manager set NOTIFY_SOCKET (a run by hand, the tests, the demo).
//
// Node has no AF_UNIX datagram socket, so the datagram goes out through systemd's own
// `systemd-notify`, run without --no-block: it then waits (sd_notify_barrier) until the manager has
// read the message, so the message is still attributed to the unit although it comes from a child
// (the unit says NotifyAccess=all). Why this and not a native addon: docs/design.md, "systemd".
// The program is looked up on first use, like the native modules (devices/native-modules.ts);
// when it is missing the bridge logs PB_NOTIFY_UNAVAILABLE once and runs on, unsupervised.
// Messages go out one at a time, in the order they were asked for (READY before STOPPING).
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Clock } from "../clock.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";

/** The sd_notify fields the bridge sends. */
export interface NotifyFields {
  READY?: "1";
  STOPPING?: "1";
  WATCHDOG?: "1";
  STATUS?: string;
}

export interface Notifier {
  /** False without NOTIFY_SOCKET, or once systemd-notify turned out to be missing. */
  readonly enabled: boolean;
  /** Sends the fields as one message. Never throws: resolves false when nothing was sent. */
  send(fields: NotifyFields): Promise<boolean>;
}

/** Runs the sender program; rejects with its stderr when it fails. */
export type RunProgram = (file: string, args: string[], env: NodeJS.ProcessEnv) => Promise<void>;

export interface NotifierDeps {
  env: NodeJS.ProcessEnv;
  log: Logger;
  clock: Clock;
  /** Test seam: default execFile with a timeout. */
  run?: RunProgram;
  /** Test seam: where systemd-notify is; default searched in PATH, /usr/bin and /bin. */
  findProgram?: (env: NodeJS.ProcessEnv) => string | null;
}

/** systemd-notify waits at most 5 s for the manager (its barrier timeout); then it is stuck. */
const SEND_TIMEOUT_MS = 10_000;
/** STATUS= is shown by `systemctl status` on one line. */
export const MAX_STATUS_CHARS = 400;

export function createNotifier(deps: NotifierDeps): Notifier {
  if (!deps.env.NOTIFY_SOCKET) return { enabled: false, send: async () => false };
  return new ProgramNotifier(deps);
}

/**
 * sd_watchdog_enabled(3): the ping interval, half of WATCHDOG_USEC, or null when the manager asks
 * for no watchdog (unset, not a positive number, or WATCHDOG_PID names another process).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid)
    return null;
  return Math.max(1, Math.floor(usec / 2_000));
}

/** One KEY=VALUE per field; STATUS made one printable line, capped. */
export function notifyArgs(fields: NotifyFields): string[] {
  const args: string[] = [];
  if (fields.READY) args.push("READY=1");
  if (fields.STOPPING) args.push("STOPPING=1");
  if (fields.STATUS !== undefined) args.push(`STATUS=${oneLine(fields.STATUS)}`);
  if (fields.WATCHDOG) args.push("WATCHDOG=1");
  return args;
}

function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > MAX_STATUS_CHARS ? `${flat.slice(0, MAX_STATUS_CHARS - 1)}…` : flat;
}

export function findSystemdNotify(env: NodeJS.ProcessEnv): string | null {
  const dirs = [...(env.PATH ?? "").split(delimiter).filter((d) => d.startsWith("/")), "/usr/bin", "/bin"];
  for (const dir of dirs) {
    const path = join(dir, "systemd-notify");
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

const runProgram: RunProgram = (file, args, env) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: SEND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = String(stderr).trim().split("\n", 1)[0] || err.message;
      reject(new Error(why));
    });
  });

class ProgramNotifier implements Notifier {
  private program: string | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly limiter: RepeatLimiter;

  constructor(private readonly deps: NotifierDeps) {
    this.limiter = new RepeatLimiter(deps.log, deps.clock);
  }

  get enabled(): boolean {
    return this.program !== null;
  }

  send(fields: NotifyFields): Promise<boolean> {
    const sent = this.queue.then(() => this.deliver(notifyArgs(fields)));
    this.queue = sent;
    return sent;
  }

  private async deliver(args: string[]): Promise<boolean> {
    const program = this.resolveProgram();
    if (!program || args.length === 0) return false;
    try {
      // "--": a STATUS text is never read as an option.
      await (this.deps.run ?? runProgram)(program, ["--", ...args], this.deps.env);
      this.limiter.clear("send");
      return true;
    } catch (err) {
      const e = new BridgeError(
        "PB_NOTIFY_FAILED",
        `could not tell systemd ${args.map((a) => a.split("=", 1)[0]).join("+")}: ${(err as Error).message}`,
      );
      this.limiter.warn("send", { errCode: e.code }, e.message);
      return false;
    }
  }

  private resolveProgram(): string | null {
    if (this.program !== undefined) return this.program;
    this.program = (this.deps.findProgram ?? findSystemdNotify)(this.deps.env);
    if (this.program === null) {
      const e = new BridgeError(
        "PB_NOTIFY_UNAVAILABLE",
        "NOTIFY_SOCKET is set but systemd-notify is not installed (PATH, /usr/bin, /bin): systemd will not " +
          "see the bridge start (Type=notify) and stops it after TimeoutStartSec; install the systemd package",
      );
      this.deps.log.error({ errCode: e.code }, e.message);
    }
    return this.program;
  }
}
