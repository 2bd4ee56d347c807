// A private Mosquitto on a free loopback port, for tests that restart or kill the broker.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
    sock.connect(port, "127.0.0.1");
  });
}

export interface TestBroker {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createTestBroker(): Promise<TestBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-mosq-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n`,
  );
  let proc: ChildProcess | undefined;
  const bin = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
  const broker: TestBroker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      proc = spawn(bin, ["-c", conf], { stdio: "ignore" });
      const end = Date.now() + 5000;
      while (!(await canConnect(port))) {
        if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill("SIGKILL");
      });
    },
  };
  return broker;
}
