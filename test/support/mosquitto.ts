// A private Mosquitto on a free loopback port, for tests that restart or kill the broker, or need
// an ACL, a TLS listener or the dynamic security plugin (which, unlike acl_file in Mosquitto
// 2.0, refuses a subscription with a SUBACK failure code), or a listener configured the way a
// document says a cloud team should (`listener`). Its log lines are kept.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
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

export function canConnect(port: number): Promise<boolean> {
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
  /** What Mosquitto logged (connections, disconnections, denials), line by line. */
  log: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestBrokerOptions {
  /** Contents of an acl_file (Mosquitto's topic/pattern lines). */
  acl?: string;
  /** The dynamic security plugin's JSON config (defaultACLAccess, roles, anonymousGroup…). */
  dynsec?: Record<string, unknown>;
  /** Users and passwords (a password_file): anonymous clients are then refused (CONNACK 0x86/0x87). */
  passwords?: Record<string, string>;
  /** A TLS listener (mqtts://) with these PEM files. */
  tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean };
  /**
   * The listener's whole configuration instead of the lines above (the `listener` line included:
   * its port and address are this broker's), e.g. the mosquitto.conf of docs/cloud-contract.md
   * with its paths replaced. `tls: true` makes `url` mqtts://.
   */
  listener?: { lines: (port: number, dir: string) => string[]; tls: boolean };
}

const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

export async function createTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-mosq-"));
  // Started as root, Mosquitto drops to the "mosquitto" user before it reads plugin files.
  chmodSync(dir, 0o755);
  const conf = join(dir, "mosquitto.conf");
  const lines = options.listener
    ? [...options.listener.lines(port, dir), "persistence false", "log_dest stderr", "log_type all"]
    : [
        `listener ${port} 127.0.0.1`,
        `allow_anonymous ${options.passwords === undefined}`,
        "set_tcp_nodelay true",
        "persistence false",
        "log_dest stderr",
        "log_type all",
      ];
  if (options.acl !== undefined) {
    writeFileSync(join(dir, "acl"), options.acl);
    lines.push(`acl_file ${join(dir, "acl")}`);
  }
  if (options.passwords !== undefined) {
    const file = join(dir, "passwords");
    writeFileSync(file, "");
    for (const [user, password] of Object.entries(options.passwords))
      execFileSync("mosquitto_passwd", ["-b", file, user, password], { stdio: "ignore" });
    // Read by the "mosquitto" user Mosquitto drops to.
    chmodSync(file, 0o644);
    lines.push(`password_file ${file}`);
  }
  if (options.dynsec !== undefined) {
    writeFileSync(join(dir, "dynsec.json"), JSON.stringify(options.dynsec));
    lines.push(`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${join(dir, "dynsec.json")}`);
  }
  const tls = options.tls;
  if (tls) {
    lines.push(`cafile ${tls.cafile}`, `certfile ${tls.certfile}`, `keyfile ${tls.keyfile}`);
    if (tls.requireCertificate) lines.push("require_certificate true");
  }
  writeFileSync(conf, `${lines.join("\n")}\n`);
  let proc: ChildProcess | undefined;
  const bin = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
  const log: string[] = [];
  const broker: TestBroker = {
    port,
    url: `${tls || options.listener?.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    log,
    async start() {
      proc = spawn(bin, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
      const keep = (b: Buffer) => log.push(...b.toString().split("\n").filter(Boolean));
      proc.stdout?.on("data", keep);
      proc.stderr?.on("data", keep);
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
