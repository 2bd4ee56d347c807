// Starts the built daemon (bin/posbridge.js) as a child process with a config file and keeps
// every line it prints, parsed when it is JSON, so tests assert on logs and grep them for codes.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
export const BIN = join(root, "bin/posbridge.js");

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

export function startDaemon(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { /** Keep stdin open for the test to write to (`proc.stdin`). */ stdin?: boolean } = {},
): DaemonProcess {
  assertBuilt();
  // A test runner started by systemd must not lend its notify socket to the daemons it starts:
  // only a test that passes NOTIFY_SOCKET itself gets one.
  const { NOTIFY_SOCKET: _n, WATCHDOG_USEC: _w, WATCHDOG_PID: _p, ...inherited } = process.env;
  const proc = spawn(process.execPath, [BIN, ...args], {
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
