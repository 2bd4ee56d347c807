// The real parts the end-to-end bench runs on: a private Mosquitto with `set_tcp_nodelay true` on
// a free port, socat pty pairs, the test's end of a pty, the daemon's RSS, and the statistics
// every figure is reported with. The same parts as test/support (mosquitto.ts, pty-pair.ts,
// serial-end.ts), kept here because bench/ is built into build/ and test/ is not.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { autoDetect } from "@serialport/bindings-cpp";
import { SerialPortStream } from "@serialport/stream";

/** A wall clock with sub-millisecond resolution that two processes on one machine share. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

export interface Broker {
  url: string;
  stop(): Promise<void>;
}

/** Mosquitto on a free loopback port, Nagle off (docs/cloud-contract.md: what a cloud's broker should set). */
export async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-mosq-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "set_tcp_nodelay true",
      "persistence false",
      "max_queued_messages 100000",
      "log_dest none",
      "",
    ].join("\n"),
  );
  const bin = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
  const proc = spawn(bin, ["-c", conf], { stdio: "ignore" });
  const end = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > end)
      throw new Error(`mosquitto (${bin}) did not listen on ${port}`);
    await sleep(20);
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => killAndWait(proc, "SIGKILL") };
}

export function killAndWait(proc: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill(signal);
  });
}

export interface PtyPair {
  daemonPath: string;
  testPath: string;
  close(): Promise<void>;
}

/** Two linked ptys made by socat: the daemon opens one as its serial port, the bench the other. */
export async function createPtyPair(dir: string, name: string): Promise<PtyPair> {
  const daemonPath = join(dir, `${name}-daemon`);
  const testPath = join(dir, `${name}-test`);
  const proc = spawn("socat", [`pty,raw,echo=0,link=${daemonPath}`, `pty,raw,echo=0,link=${testPath}`], {
    stdio: "ignore",
  });
  const end = Date.now() + 5000;
  while (!(existsSync(daemonPath) && existsSync(testPath))) {
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`socat did not create ${daemonPath}`);
    await sleep(10);
  }
  return { daemonPath, testPath, close: () => killAndWait(proc) };
}

export interface SerialEnd {
  write(bytes: Uint8Array | string): void;
  onData(fn: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

/** The bench's end of a pty, through the same serialport stack the daemon uses. */
export async function openSerialEnd(path: string): Promise<SerialEnd> {
  const stream = new SerialPortStream({ binding: autoDetect(), path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => stream.open((err) => (err ? reject(err) : resolve())));
  return {
    write: (bytes) => void stream.write(typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes)),
    onData: (fn) => stream.on("data", (b: Buffer) => fn(new Uint8Array(b))),
    close: () => new Promise((resolve) => (stream.isOpen ? stream.close(() => resolve()) : resolve())),
  };
}

/** Resident set of a process (VmRSS), in bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** Nagle off on an mqtt.js client's socket, as the daemon does (daemon/cloud/mqtt-link.ts). */
export function noDelay(client: { stream: unknown }): void {
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
}

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name's ") ".
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * One-way times (ms) of a byte written on one end of a socat pty pair and read on the other, one
 * at a time: the floor of every hop between the bench and the daemon on ptys.
 */
export async function ptyHopSamples(pair: PtyPair, count: number): Promise<number[]> {
  const [a, b] = await Promise.all([openSerialEnd(pair.testPath), openSerialEnd(pair.daemonPath)]);
  const out: number[] = [];
  try {
    let arrived: (() => void) | undefined;
    b.onData(() => arrived?.());
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        arrived = resolve;
        a.write("\r");
      });
      out.push(performance.now() - t);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return out;
}
