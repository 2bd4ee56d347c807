// The bridge under test: the built daemon (bin/posbridge.js run) as a child process, with a config
// generated for N lanes, each lane's register and scanner on socat ptys, and the bench playing
// every register (daemon/demo/virtual-register.ts, the `ecr` profile of docs/terminal-protocol.md)
// and every serial scanner (a code + CR). Only the CLI and the config are used, so the bench runs
// against whatever journal the daemon has.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { unitEnvironment } from "../../daemon/cli/install-layout.js";
import { decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import type { GcProbeLine } from "./gc-probe.js";
import {
  cpuMsOf,
  createPtyPair,
  sleep,
  killAndWait,
  openSerialEnd,
  type PtyPair,
  type SerialEnd,
  sharedNow,
} from "./parts.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const BIN = `${ROOT}bin/posbridge.js`;

/**
 * What the shipped unit gives the daemon (systemd/posbridge.service): the node flags of ExecStart=
 * and every Environment= (NODE_OPTIONS, malloc's thresholds…): the bench measures the daemon as it
 * runs in a store.
 */
export function unitDaemonSetup(): { args: string[]; env: Record<string, string> } {
  const unit = readFileSync(`${ROOT}systemd/posbridge.service`, "utf8");
  const flags = /^ExecStart=\S+((?: --\S+)*) \S+\/bin\/posbridge\.js /m.exec(unit)?.[1] ?? "";
  return { args: flags.split(" ").filter(Boolean), env: unitEnvironment(unit) };
}

/** One lane's ptys and the bench's ends of them; they outlive daemon restarts. */
export interface LaneEnds {
  id: string;
  register: VirtualRegister;
  registerEnd: SerialEnd;
  scanner: SerialEnd;
  ptys: PtyPair[];
}

export async function createLanes(dir: string, count: number, first = 1): Promise<LaneEnds[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `lane${first + i}`;
      const [reg, scan] = await Promise.all([
        createPtyPair(dir, `${id}-reg`),
        createPtyPair(dir, `${id}-scan`),
      ]);
      const [registerEnd, scanner] = await Promise.all([
        openSerialEnd(reg.testPath),
        openSerialEnd(scan.testPath),
      ]);
      const register = new VirtualRegister((bytes) => registerEnd.write(bytes));
      registerEnd.onData((bytes) => register.receive(bytes));
      return { id, register, registerEnd, scanner, ptys: [reg, scan] };
    }),
  );
}

export async function closeLanes(lanes: readonly LaneEnds[]): Promise<void> {
  await Promise.all(lanes.flatMap((l) => [l.registerEnd.close(), l.scanner.close()]));
  await Promise.all(lanes.flatMap((l) => l.ptys.map((p) => p.close())));
}

export interface BridgeSpec {
  dir: string;
  brokerUrl: string;
  prefix: string;
  store: string;
  bridge: string;
  stateDir: string;
  lanes: readonly LaneEnds[];
  /** NODE_OPTIONS of the daemon with node's defaults otherwise; default: the unit's setup (unitDaemonSetup). */
  nodeOptions?: string;
  /**
   * A file for bench/e2e/gc-probe.ts: the daemon then runs with `--expose-gc` and that module
   * preloaded, and RunningBridge.fullGc() can ask it for its memory after a full GC. Bench only.
   */
  gcProbe?: string;
}

export function writeConfig(spec: BridgeSpec): string {
  const path = join(spec.dir, `${spec.bridge}.yaml`);
  mkdirSync(spec.stateDir, { recursive: true });
  writeFileSync(
    path,
    `store: ${spec.store}
bridge: ${spec.bridge}
stateDir: ${spec.stateDir}
log: { level: info, format: json }
mqtt: { url: "${spec.brokerUrl}", topicPrefix: "${spec.prefix}", protocolVersion: 5 }
diagnostics: { socket: "${join(spec.dir, `${spec.bridge}.sock`)}" }
lanes:
${spec.lanes
  .map(
    (l) => `  - id: ${l.id}
    terminal: { path: ${l.ptys[0]?.daemonPath}, profile: ecr }
    scanner: { path: ${l.ptys[1]?.daemonPath}, type: serial, suffix: CR }
`,
  )
  .join("")}`,
  );
  return path;
}

export interface RunningBridge {
  proc: ChildProcess;
  pid: number;
  /** Spawn → the first retained status online=true at the watcher (ms). */
  readyMs: number;
  /** CPU time the daemon had used when READY was seen (ms). */
  readyCpuMs: number;
  /** Spawn → a status with every lane's register and scanner CONNECTED (ms). */
  devicesMs: number;
  stop(): Promise<void>;
  /** Its memory after two full GCs (only with BridgeSpec.gcProbe; throws otherwise). */
  fullGc(): Promise<GcProbeLine>;
}

const GC_PROBE = new URL("./gc-probe.js", import.meta.url).href;

function probeLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Signals the daemon's gc-probe and waits for its line (bench/e2e/gc-probe.ts). */
async function askGcProbe(pid: number, file: string | undefined): Promise<GcProbeLine> {
  if (!file) throw new Error("this bridge was started without a gcProbe file");
  const seen = probeLines(file).length;
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; waited < 20_000; waited += 50) {
    const lines = probeLines(file);
    if (lines.length > seen) return JSON.parse(lines[lines.length - 1] as string) as GcProbeLine;
    await sleep(50);
  }
  throw new Error("the daemon's gc-probe did not answer within 20 s");
}

/**
 * Starts the daemon on `spec` and resolves once every lane's devices are connected. `watcher` is
 * the bench's MQTT client on the same broker; the status topic is read through it.
 */
export async function startBridge(
  spec: BridgeSpec,
  watcher: MqttClient,
  timeoutMs = 30_000,
): Promise<RunningBridge> {
  const configPath = writeConfig(spec);
  const statusTopic = `${spec.prefix}/${spec.store}/${spec.bridge}/status`;
  let readyAt = 0;
  let devicesAt = 0;
  let readyCpuMs = 0;
  let t0 = 0;
  let pid = 0;
  let onDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    onDone = r;
  });
  const listener = (topic: string, payload: Buffer) => {
    if (topic !== statusTopic || t0 === 0) return;
    const s = decodeStatus(new Uint8Array(payload));
    if (!s.ok || !s.value.online || s.value.sinceMs < Date.now() - 60_000) return;
    const now = sharedNow();
    if (readyAt === 0) {
      readyAt = now;
      readyCpuMs = pid ? cpuMsOf(pid) : Number.NaN;
    }
    const up = s.value.lanes.every((l) => l.terminal === "CONNECTED" && l.scanner === "CONNECTED");
    if (up && s.value.lanes.length === spec.lanes.length && devicesAt === 0) {
      devicesAt = now;
      onDone();
    }
  };
  watcher.on("message", listener);
  await watcher.subscribeAsync(statusTopic, { qos: 1 });
  // A retained status of an earlier start of this bridge arrives now, before the spawn is timed.
  await new Promise((r) => setTimeout(r, 50));
  const { NOTIFY_SOCKET: _n, WATCHDOG_USEC: _w, WATCHDOG_PID: _p, ...inherited } = process.env;
  // spec.nodeOptions: node's own defaults but these NODE_OPTIONS (the RSS rows' baseline).
  const unit =
    spec.nodeOptions === undefined
      ? unitDaemonSetup()
      : { args: [], env: { NODE_OPTIONS: spec.nodeOptions } };
  const env: Record<string, string | undefined> = { ...inherited, ...unit.env };
  const probeArgs = spec.gcProbe ? ["--expose-gc", "--import", GC_PROBE] : [];
  if (spec.gcProbe) env.PB_BENCH_GC_PROBE = spec.gcProbe;
  t0 = sharedNow();
  // PB_BENCH_DAEMON_ARGS: node flags for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // (docs/performance.md, "Profiling").
  const nodeArgs = (process.env.PB_BENCH_DAEMON_ARGS ?? "").split(" ").filter(Boolean);
  const proc = spawn(
    process.execPath,
    [...unit.args, ...nodeArgs, ...probeArgs, BIN, "run", "--config", configPath],
    {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  pid = proc.pid ?? 0;
  let stderr = "";
  proc.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    proc.once("exit", (code) =>
      reject(new Error(`daemon exited (${code}) before its lanes were up: ${stderr}`)),
    );
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    await Promise.race([done, failed]);
  } finally {
    clearTimeout(timer);
    watcher.removeListener("message", listener);
    await watcher.unsubscribeAsync(statusTopic);
  }
  failed.catch(() => {});
  return {
    proc,
    pid: proc.pid as number,
    readyMs: readyAt - t0,
    readyCpuMs,
    devicesMs: devicesAt - t0,
    stop: () => killAndWait(proc, "SIGTERM"),
    fullGc: () => askGcProbe(proc.pid as number, spec.gcProbe),
  };
}

type Result = Extract<PosAnswer, { type: "result" }>;

/** A sale's moments on the bench's clock (sharedNow). */
export interface SaleTimes {
  orderRef: string;
  /** SA written to the register pty. */
  saAt: number;
  /** The scanner's code written to the scanner pty. */
  scanAt: number;
  /** The RS read on the register pty. */
  rsAt: number;
  status: string;
}

let codeSeq = 0;
/** A WeChat-shaped payment code never used before in this bench run (docs/terminal-protocol.md). */
function nextCode(): string {
  codeSeq++;
  return `13${String(Date.now() % 1e8).padStart(8, "0")}${String(codeSeq).padStart(8, "0")}`;
}

/** One whole sale on a lane, as a register and a customer play it: SA, WAIT_SCAN, a scan, RS. */
export async function sell(
  lane: LaneEnds,
  orderRef: string,
  amountFen: number,
  seq: string,
): Promise<SaleTimes> {
  const reg = lane.register;
  const mark = reg.answers.length;
  const saAt = sharedNow();
  reg.request({ type: "sale", seq, orderRef, amountFen });
  await reg.waitFor(
    (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
    10_000,
    mark,
  );
  const rsSeen = reg.result(seq, 20_000, mark).then((r: Result) => ({ r, at: sharedNow() }));
  const scanAt = sharedNow();
  lane.scanner.write(`${nextCode()}\r`);
  const { r, at } = await rsSeen;
  // Answers are kept by the register for assertions; a bench lane would grow them without end.
  reg.answers.splice(0, reg.answers.length);
  return { orderRef, saAt, scanAt, rsAt: at, status: r.status };
}
