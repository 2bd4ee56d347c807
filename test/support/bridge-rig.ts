// One store lane on real parts, for integration tests: the built daemon as a child process, socat
// ptys for the register and the scanner (and a display if asked), the virtual register on its
// pty, and a watcher of the bridge's P/event topic. The cloud is the test's own (the simulated
// cloud or a scripted one on the same prefix). `sell` and `ask` play the register's side.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { decodeEvent } from "../../daemon/cloud/proto-codec.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import type { BridgeEventView } from "../../protocols/cloud/cloud-messages.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { BIN, type DaemonProcess, startDaemon } from "./daemon-process.js";
import { createPtyPair, type PtyPair } from "./pty-pair.js";
import { openSerialEnd, type SerialEnd } from "./serial-end.js";

export const TEST_BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";

export interface BridgeRigOptions {
  /** Names the temp directory (posbridge-<name>-…). */
  name: string;
  broker?: string;
  /** Top-level YAML added to the config, e.g. `sale: { firstQueryMs: 1000 }`. */
  extraConfig?: string;
  /** A CD5220 display on a third pty. */
  display?: boolean;
  /** Where the journal lives; default <dir>/state. */
  stateDir?: string;
  logLevel?: "debug" | "info";
  /** Environment of the daemon process (e.g. LD_PRELOAD for libfaketime). */
  env?: NodeJS.ProcessEnv;
  /** The store id (default a random one) and the topic prefix (default a random one): an ACL may need them fixed. */
  store?: string;
  prefix?: string;
  /** YAML added to the `diagnostics` mapping (its socket is always <dir>/control.sock), e.g. "remote: true". */
  diagnostics?: string;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

type RegisterResult = Extract<PosAnswer, { type: "result" }>;
type Ask =
  | { type: "sale"; orderRef: string; amountFen: number }
  | { type: "query"; orderRef: string }
  | { type: "cancel"; orderRef: string };

export interface BridgeRig {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly prefix: string;
  readonly store: string;
  /** The bridge's topic root `<prefix>/<store>/PC1`. */
  readonly topicRoot: string;
  /** The control socket (diagnostics.socket), in the rig's directory. */
  readonly socket: string;
  /**
   * Runs `posbridge <args> -c <config>` (the built CLI) without blocking this process (which plays
   * the register); resolves when it exits.
   */
  cli(
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; spawn?: { uid?: number; gid?: number } },
  ): Promise<CliResult>;
  daemon: DaemonProcess;
  register: VirtualRegister;
  scanner: SerialEnd;
  display: SerialEnd | undefined;
  /** Every BridgeEvent the bridge published since start. */
  readonly events: BridgeEventView[];
  /** A WeChat payment code never used before in this rig. */
  nextCode(): string;
  nextSeq(): string;
  /** SA, then the scan of `code` once WAIT_SCAN is shown; resolves with the sale's RS. */
  sell(orderRef: string, amountFen: number, code?: string, timeoutMs?: number): Promise<RegisterResult>;
  /** One request and its RS. */
  ask(request: Ask, timeoutMs?: number): Promise<RegisterResult>;
  /** Stops the daemon (SIGTERM) and starts it again on the same config and ptys. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBridgeRig(options: BridgeRigOptions): Promise<BridgeRig> {
  const broker = options.broker ?? TEST_BROKER;
  const run = Math.random().toString(36).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), `posbridge-${options.name}-`));
  const stateDir = options.stateDir ?? join(dir, "state");
  const prefix = options.prefix ?? `pbtest-${run}/v1`;
  const store = options.store ?? `S${run}`;
  const topicRoot = `${prefix}/${store}/PC1`;
  const ptys: PtyPair[] = await Promise.all([
    createPtyPair(dir, "register"),
    createPtyPair(dir, "scanner"),
    ...(options.display ? [createPtyPair(dir, "display")] : []),
  ]);
  const [r, s, d] = ptys as [PtyPair, PtyPair, PtyPair | undefined];
  const configPath = join(dir, "posbridge.yaml");
  const socket = join(dir, "control.sock");
  writeFileSync(
    configPath,
    `store: ${store}
bridge: PC1
stateDir: ${stateDir}
log: { level: ${options.logLevel ?? "debug"}, format: json }
mqtt: { url: "${broker}", topicPrefix: "${prefix}", protocolVersion: 5, reconnectMinMs: 200 }
diagnostics: { socket: "${socket}"${options.diagnostics ? `, ${options.diagnostics}` : ""} }
${options.extraConfig ?? ""}
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
${d ? `    display: { path: ${d.daemonPath}, type: cd5220 }\n` : ""}`,
  );
  const events: BridgeEventView[] = [];
  const watcher = await mqtt.connectAsync(broker, { protocolVersion: 5 });
  watcher.on("message", (_topic, payload) => {
    const e = decodeEvent(new Uint8Array(payload));
    if (e.ok) events.push(e.value);
  });
  await watcher.subscribeAsync(`${topicRoot}/event`, { qos: 1 });

  const launch = async (): Promise<DaemonProcess> => {
    const daemon = startDaemon(["run", "--config", configPath], options.env ?? {});
    await daemon.waitForLog((e) => e.msg === "broker connected");
    for (const device of ["terminal", "scanner", ...(d ? ["display"] : [])])
      await daemon.waitForLog((e) => e.msg === "device opened" && e.device === device);
    return daemon;
  };
  const daemon = await launch();
  const [reg, scanner, display] = await Promise.all([
    openSerialEnd(r.testPath),
    openSerialEnd(s.testPath),
    ...(d ? [openSerialEnd(d.testPath)] : []),
  ]);
  const register = new VirtualRegister((bytes) => void reg.write(bytes));
  reg.onData((bytes) => register.receive(bytes));

  let seq = 10;
  let code = 1000;
  const rig: BridgeRig = {
    dir,
    stateDir,
    configPath,
    prefix,
    store,
    topicRoot,
    socket,
    cli: (args, cliOptions = {}) => runCli([...args, "-c", configPath], cliOptions),
    daemon,
    register,
    scanner,
    display,
    events,
    nextCode: () => `13456789012345${code++}`,
    nextSeq: () => String(seq++ % 100).padStart(2, "0"),
    async sell(orderRef, amountFen, scanned = rig.nextCode(), timeoutMs = 10_000) {
      const s = rig.nextSeq();
      const mark = register.answers.length;
      register.request({ type: "sale", seq: s, orderRef, amountFen });
      await register.waitFor(
        (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
        5_000,
        mark,
      );
      await scanner.write(`${scanned}\r`);
      return register.result(s, timeoutMs, mark);
    },
    async ask(request, timeoutMs = 10_000) {
      const s = rig.nextSeq();
      const mark = register.answers.length;
      register.request({ ...request, seq: s });
      return register.result(s, timeoutMs, mark);
    },
    async restart() {
      await rig.daemon.stop();
      rig.daemon = await launch();
    },
    async stop() {
      await rig.daemon.stop();
      await Promise.all([reg.close(), scanner.close(), display?.close()]);
      await Promise.all([...ptys.map((p) => p.close()), watcher.endAsync()]);
    },
  };
  return rig;
}

/** The built CLI as a child process, without blocking the event loop; killed after `timeoutMs`. */
export function runCli(
  args: string[],
  {
    env = {},
    timeoutMs = 20_000,
    spawn: as = {},
  }: { env?: NodeJS.ProcessEnv; timeoutMs?: number; spawn?: { uid?: number; gid?: number } } = {},
): Promise<CliResult> {
  const { NOTIFY_SOCKET: _n, ...inherited } = process.env;
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...as,
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  proc.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    proc.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
