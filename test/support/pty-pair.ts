// A real pseudo-terminal pair made by socat: the daemon opens one end as if it were a USB serial
// adapter, the test opens the other. Killing socat is a real unplug.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface PtyPair {
  /** The end the daemon is configured with. */
  daemonPath: string;
  /** The end the test drives. */
  testPath: string;
  close(): Promise<void>;
}

export async function createPtyPair(dir: string, name: string): Promise<PtyPair> {
  const daemonPath = join(dir, `${name}-daemon`);
  const testPath = join(dir, `${name}-test`);
  const proc: ChildProcess = spawn(
    "socat",
    [`pty,raw,echo=0,link=${daemonPath}`, `pty,raw,echo=0,link=${testPath}`],
    { stdio: "ignore" },
  );
  const failed = new Promise<never>((_, reject) => {
    proc.once("error", (err) =>
      reject(new Error(`socat could not start (${err.message}); install the socat package`)),
    );
  });
  const ready = (async () => {
    const end = Date.now() + 5000;
    while (!(existsSync(daemonPath) && existsSync(testPath))) {
      if (Date.now() > end) throw new Error(`socat did not create ${daemonPath}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.race([ready, failed]);
  return {
    daemonPath,
    testPath,
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}
