// One store lane on real parts, for integration tests: the built daemon as a child process, socat
// ptys for the register and the scanner (and a display if asked), the virtual register on its
// pty, and a watcher of the bridge's P/event topic. The cloud is the test's own (the simulated
// cloud or a scripted one on the same prefix). `sell` and `ask` play the register's side.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { decodeEvent } from "../../daemon/cloud/proto-codec.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import type { BridgeEventView } from "../../protocols/cloud/cloud-messages.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { BIN, type DaemonProcess, startDaemon } from "./daemon-process.js";
import { withinMs } from "./deadline.js";
import { createPtyPair, type PtyPair } from "./pty-pair.js";
import { openSerialEnd, type SerialEnd } from "./serial-end.js";

export const TEST_BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";

export interface BridgeRigOptions {
  /** Names the temp directory (posbridge-<name>-…). */
  name: string;
  /** mqtt.url: one broker, or the nodes of a broker cluster; default TEST_BROKER. */
  broker?: string | string[];
  /** mqtt.protocolVersion; default 5 (4 for a broker that speaks MQTT 3.1.1 only, as NATS). */
  protocolVersion?: 4 | 5;
  /** Where the event watcher connects; default the (first) broker. */
  watchBroker?: string;
  /** Top-level YAML added to the config, e.g. `sale: { firstQueryMs: 1000 }`. */
  extraConfig?: string;
  /** A CD5220 display on a third pty. */
  display?: boolean;
  /** YAML lines added to lane1's mapping (indented by the rig), e.g. `voice: { player: espeak }`. */
  lane1Yaml?: string;
  /** Where the journal lives; default <dir>/state. */
  stateDir?: string;
  logLevel?: "trace" | "debug" | "info";
  /** Environment of the daemon process (e.g. LD_PRELOAD for libfaketime). */
  env?: NodeJS.ProcessEnv;
  /** The bridge's identity; default a random store `S<run>`, bridge `PC1`, prefix `pbtest-<run>/v1`. */
  store?: string;
  bridge?: string;
  prefix?: string;
  /** Lanes, each with its own register and scanner ptys (the display, if any, is lane1's); default 1. */
  lanes?: number;
  /** More fields inside the config's `mqtt: { … }`, e.g. `keepaliveSec: 5` or `tls: { ca: …, cert: …, key: … }`. */
  mqtt?: string;
  /** How the P/event watcher connects (its TLS identity on a broker that requires one). */
  watcher?: IClientOptions;
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
  | { type: "cancel"; orderRef: string }
  | { type: "refund"; orderRef: string; refundRef: string; amountFen: number };

/** One lane's register and scanner, as the test plays them. */
export interface LaneRig {
  /** lane1, lane2, … */
  readonly id: string;
  readonly register: VirtualRegister;
  readonly scanner: SerialEnd;
  nextSeq(): string;
  /** SA, then the scan of `code` once WAIT_SCAN is shown; resolves with the sale's RS. */
  sell(orderRef: string, amountFen: number, code: string, timeoutMs?: number): Promise<RegisterResult>;
  /** One request and its RS. */
  ask(request: Ask, timeoutMs?: number): Promise<RegisterResult>;
}

export interface BridgeRig {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly prefix: string;
  readonly store: string;
  /** The bridge's topic root `<prefix>/<store>/<bridge>`. */
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
  /** Every lane (options.lanes, default 1); the fields below are the first lane's. */
  readonly lanes: readonly LaneRig[];
  register: VirtualRegister;
  scanner: SerialEnd;
  display: SerialEnd | undefined;
  /** Every BridgeEvent the bridge published since start. */
  readonly events: BridgeEventView[];
  /** The client that watches P/event (a test may publish with its identity). */
  readonly watcher: MqttClient;
  /** A WeChat payment code never used before in this rig. */
  nextCode(): string;
  nextSeq(): string;
  /** The first lane's sell: SA, then the scan of `code` (default a new one) once WAIT_SCAN is shown. */
  sell(orderRef: string, amountFen: number, code?: string, timeoutMs?: number): Promise<RegisterResult>;
  /** One request on the first lane and its RS. */
  ask(request: Ask, timeoutMs?: number): Promise<RegisterResult>;
  /** Stops the daemon (SIGTERM) and starts it again on the same config and ptys. */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  stop(): Promise<void>;
}

export async function startBridgeRig(options: BridgeRigOptions): Promise<BridgeRig> {
  const brokers = typeof options.broker === "string" ? [options.broker] : (options.broker ?? [TEST_BROKER]);
  const protocolVersion = options.protocolVersion ?? 5;
  const url = brokers.length === 1 ? `"${brokers[0]}"` : `[${brokers.map((b) => `"${b}"`).join(", ")}]`;
  const run = Math.random().toString(36).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), `posbridge-${options.name}-`));
  const stateDir = options.stateDir ?? join(dir, "state");
  const prefix = options.prefix ?? `pbtest-${run}/v1`;
  const store = options.store ?? `S${run}`;
  const bridge = options.bridge ?? "PC1";
  const topicRoot = `${prefix}/${store}/${bridge}`;
  const laneIds = Array.from({ length: options.lanes ?? 1 }, (_, i) => `lane${i + 1}`);
  const lanePtys = await Promise.all(
    laneIds.map(async (id, i) => {
      const suffix = i === 0 ? "" : `-${id}`;
      const [register, scanner] = await Promise.all([
        createPtyPair(dir, `register${suffix}`),
        createPtyPair(dir, `scanner${suffix}`),
      ]);
      return { id, register, scanner };
    }),
  );
  const d = options.display ? await createPtyPair(dir, "display") : undefined;
  const ptys: PtyPair[] = [...lanePtys.flatMap((l) => [l.register, l.scanner]), ...(d ? [d] : [])];
  const configPath = join(dir, "posbridge.yaml");
  const socket = join(dir, "control.sock");
  writeFileSync(
    configPath,
    `store: ${store}
bridge: ${bridge}
stateDir: ${stateDir}
log: { level: ${options.logLevel ?? "debug"}, format: json }
mqtt: { url: ${url}, topicPrefix: "${prefix}", protocolVersion: ${protocolVersion}, reconnectMinMs: 200${options.mqtt ? `, ${options.mqtt}` : ""} }
diagnostics: { socket: "${socket}"${options.diagnostics ? `, ${options.diagnostics}` : ""} }
${options.extraConfig ?? ""}
lanes:
${lanePtys
  .map(
    (l, i) => `  - id: ${l.id}
    terminal: { path: ${l.register.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
    scanner: { path: ${l.scanner.daemonPath}, type: serial, suffix: CR }
${i === 0 && d ? `    display: { path: ${d.daemonPath}, type: cd5220 }\n` : ""}${
  i === 0 && options.lane1Yaml ? `${options.lane1Yaml.replace(/^/gm, "    ")}\n` : ""
}`,
  )
  .join("")}`,
  );
  const events: BridgeEventView[] = [];
  const watchUrl = options.watchBroker ?? (brokers[0] as string);
  const watcher = mqtt.connect(watchUrl, { protocolVersion, ...options.watcher });
  watcher.on("message", (_topic, payload) => {
    const e = decodeEvent(new Uint8Array(payload));
    if (e.ok) events.push(e.value);
  });

  const launch = async (env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> => {
    const daemon = startDaemon(["run", "--config", configPath], { ...options.env, ...env });
    try {
      await daemon.waitForLog((e) => e.msg === "broker connected");
      for (const id of laneIds)
        for (const device of ["terminal", "scanner", ...(id === "lane1" && d ? ["display"] : [])])
          await daemon.waitForLog((e) => e.msg === "device opened" && e.device === device && e.lane === id);
    } catch (err) {
      await daemon.stop("SIGKILL");
      throw err;
    }
    return daemon;
  };
  let daemon: DaemonProcess;
  try {
    // Bounded: a broker still electing its leaders (a NATS cluster) may never answer.
    await withinMs(
      (async () => {
        if (!watcher.connected)
          await new Promise<void>((resolve, reject) => {
            watcher.once("connect", () => resolve());
            watcher.once("error", reject);
          });
        await watcher.subscribeAsync(`${topicRoot}/event`, { qos: 1 });
      })(),
      20_000,
      `the rig's watcher subscribing on ${watchUrl}`,
    );
    daemon = await launch();
  } catch (err) {
    // A rig that did not start leaves nothing behind: no client retrying, no socat.
    watcher.end(true);
    await Promise.all(ptys.map((p) => p.close()));
    throw err;
  }
  const ends = await Promise.all(
    lanePtys.map(async (l) => {
      const [reg, scanner] = await Promise.all([
        openSerialEnd(l.register.testPath),
        openSerialEnd(l.scanner.testPath),
      ]);
      return { id: l.id, reg, scanner };
    }),
  );
  const display = d ? await openSerialEnd(d.testPath) : undefined;
  const lanes: LaneRig[] = ends.map(({ id, reg, scanner }) => {
    const register = new VirtualRegister((bytes) => void reg.write(bytes));
    reg.onData((bytes) => register.receive(bytes));
    let seq = 10;
    const lane: LaneRig = {
      id,
      register,
      scanner,
      nextSeq: () => String(seq++ % 100).padStart(2, "0"),
      async sell(orderRef, amountFen, scanned, timeoutMs = 10_000) {
        const s = lane.nextSeq();
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
        const s = lane.nextSeq();
        const mark = register.answers.length;
        register.request({ ...request, seq: s });
        return register.result(s, timeoutMs, mark);
      },
    };
    return lane;
  });
  const first = lanes[0] as LaneRig;

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
    lanes,
    register: first.register,
    scanner: first.scanner,
    display,
    events,
    watcher,
    nextCode: () => `13456789012345${code++}`,
    nextSeq: () => first.nextSeq(),
    sell: (orderRef, amountFen, scanned = rig.nextCode(), timeoutMs) =>
      first.sell(orderRef, amountFen, scanned, timeoutMs),
    ask: (request, timeoutMs) => first.ask(request, timeoutMs),
    async restart(env) {
      await rig.daemon.stop();
      rig.daemon = await launch(env);
    },
    async stop() {
      await rig.daemon.stop();
      await Promise.all([...ends.flatMap((e) => [e.reg.close(), e.scanner.close()]), display?.close()]);
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
