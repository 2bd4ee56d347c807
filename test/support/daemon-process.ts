// Starts the built daemon (bin/posbridge.js) as a child process with a config file and keeps
// every line it prints, parsed when it is JSON, so tests assert on logs and grep them for codes.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unitEnvironment } from "../../daemon/cli/install-layout.js";

const root = new URL("../..", import.meta.url).pathname;
export const BIN = join(root, "bin/posbridge.js");
/** The unit's NODE_OPTIONS (systemd/posbridge.service): the build makes the code cache under them. */
export const UNIT_NODE_OPTIONS =
  unitEnvironment(readFileSync(join(root, "systemd/posbridge.service"), "utf8")).NODE_OPTIONS ?? "";

export interface DaemonProcess {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first JSON log line matching `pred` (already printed or future). */
  waitForLog(
    pred: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function assertBuilt(): void {
  if (!existsSync(join(root, "build/daemon/main.js"))) {
    throw new Error("build/ is missing: run `npm run build` (npm test does it) before the integration tests");
  }
}

/**
 * Each test daemon gets a control socket of its own in a temp directory, unless its config names
 * one (diagnostics.socket) or the test sets POSBRIDGE_DIAGNOSTICS__SOCKET: daemons of parallel
 * tests must not compete for /run/posbridge/control.sock (the second would log
 * PB_CONTROL_UNAVAILABLE), and tests must not leave sockets in /run.
 */
function ownSocket(args: string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.POSBRIDGE_DIAGNOSTICS__SOCKET !== undefined) return {};
  const at = args.findIndex((a) => a === "--config" || a === "-c");
  const config = at >= 0 ? args[at + 1] : undefined;
  if (!config || !existsSync(config) || /^diagnostics:/m.test(readFileSync(config, "utf8"))) return {};
  return { POSBRIDGE_DIAGNOSTICS__SOCKET: join(mkdtempSync(join(tmpdir(), "pb-sock-")), "control.sock") };
}

export function startDaemon(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: {
    /** Keep stdin open for the test to write to (`proc.stdin`). */ stdin?: boolean;
    /** Another entry point than this checkout's bin/posbridge.js (a copy of the tree). */ bin?: string;
  } = {},
): DaemonProcess {
  assertBuilt();
  env = { ...ownSocket(args, env), ...env };
  // A test runner started by systemd must not lend its notify socket to the daemons it starts:
  // only a test that passes NOTIFY_SOCKET itself gets one.
  const { NOTIFY_SOCKET: _n, WATCHDOG_USEC: _w, WATCHDOG_PID: _p, ...inherited } = process.env;
  const proc = spawn(process.execPath, [options.bin ?? BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  let waiters: {
    pred: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
    reject: (err: Error) => void;
  }[] = [];
  const onText = (buf: Buffer) => {
    for (const line of buf.toString().split("\n")) {
      if (!line) continue;
      lines.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        parsed.push(entry);
        waiters = waiters.filter((w) => {
          if (!w.pred(entry)) return true;
          w.resolve(entry);
          return false;
        });
      } catch {
        // not JSON (stderr text): kept in `lines` only
      }
    }
  };
  proc.stdout?.on("data", onText);
  proc.stderr?.on("data", onText);
  const exit = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      // Nothing more will be printed: fail whoever still waits, with what the daemon said.
      for (const w of waiters)
        w.reject(new Error(`daemon exited (${code}) first:\n${lines.slice(-20).join("\n")}`));
      waiters = [];
      resolve(code);
    }),
  );
  return {
    proc,
    lines,
    exit,
    waitForLog(pred, timeoutMs = 10_000) {
      const found = parsed.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `daemon: no matching log line within ${timeoutMs} ms\n${lines.slice(-30).join("\n")}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
          reject: (err) => {
            clearTimeout(t);
            reject(err);
          },
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return exit;
    },
  };
}
