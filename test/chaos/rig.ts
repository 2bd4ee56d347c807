// The fault rig: a private Mosquitto the test starts, kills and restarts, optionally a TCP proxy
// in front of it (duplicated PUBLISHes, dropped connections), the simulated cloud with its ledger
// of what it executed, and the daemon as a child process with N lanes whose register and scanner
// are socat ptys. After any fault, `verdict()` compares the daemon's journal with the ledger.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { JOURNAL_FILE, readJournal } from "../../daemon/journal/journal.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import type { AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "../../protocols/sale/records.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";
import { type MqttProxy, type MqttProxyMode, startMqttProxy } from "../support/mqtt-proxy.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

export interface RigLane {
  id: string;
  register: VirtualRegister;
  reg: SerialEnd;
  scanner: SerialEnd;
  seq: number;
  /** A fresh 2-digit seq for the next request. */
  nextSeq(): string;
}

export interface RigOptions {
  lanes?: number;
  proxy?: MqttProxyMode;
  dropEvery?: number;
  /** Extra YAML for the `sale:` mapping (timings). */
  sale?: string;
  statsIntervalMs?: number;
}

/** Fast timings so a whole query → reverse cycle takes seconds (validated ranges allow it). */
export const FAST_SALE =
  "scanTimeoutMs: 30000, codeLifetimeMs: 10000, sendWindowMs: 3000, firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000, maxReversals: 3, reconcileIntervalMs: 5000, refundRetryMs: 1000, refundAnswerWithinMs: 5000";

export class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), "pb-chaos-"));
  broker!: TestBroker;
  proxy: MqttProxy | undefined;
  sim!: CloudSim;
  daemon: DaemonProcess | undefined;
  /** Every daemon process this rig started (restarts included), for the log check. */
  readonly daemons: DaemonProcess[] = [];
  /** Every payment code a scanner of this rig sent. */
  readonly codes: string[] = [];
  lanes: RigLane[] = [];
  private ptys: PtyPair[] = [];
  private ends: SerialEnd[] = [];
  readonly configPath = join(this.dir, "posbridge.yaml");
  readonly prefix = `chaos${Math.random().toString(36).slice(2, 8)}/v1`;

  constructor(readonly opts: RigOptions = {}) {}

  async setup(): Promise<void> {
    this.broker = await createTestBroker();
    await this.broker.start();
    if (this.opts.proxy) {
      this.proxy = await startMqttProxy({
        target: { host: "127.0.0.1", port: this.broker.port },
        mode: this.opts.proxy,
        ...(this.opts.dropEvery ? { dropEvery: this.opts.dropEvery } : {}),
      });
    }
    this.sim = await startCloudSim({
      brokerUrl: this.broker.url,
      topicPrefix: this.prefix,
      confirmDelayMs: 800,
    });
    const url = this.proxy?.url ?? this.broker.url;
    const lanes = Array.from({ length: this.opts.lanes ?? 1 }, (_, i) => `lane${i + 1}`);
    writeFileSync(
      this.configPath,
      `store: CHAOS
bridge: PC1
stateDir: ${this.dir}
log: { level: debug, format: json, statsIntervalMs: ${this.opts.statsIntervalMs ?? 0} }
mqtt: { url: "${url}", topicPrefix: "${this.prefix}", protocolVersion: 5, reconnectMinMs: 100, reconnectMaxMs: 1000 }
sale: { ${this.opts.sale ?? FAST_SALE} }
lanes:
${lanes
  .map(
    (id) => `  - id: ${id}
    terminal: { path: ${join(this.dir, `${id}-reg-daemon`)}, profile: ecr, ackTimeoutMs: 300 }
    scanner: { path: ${join(this.dir, `${id}-scan-daemon`)}, type: serial, suffix: CR }
`,
  )
  .join("")}`,
    );
  }

  /** (Re)creates the ptys (socat exits when the daemon's end closes) and starts the daemon. */
  async start(env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
    await this.closeDevices();
    const ids = Array.from({ length: this.opts.lanes ?? 1 }, (_, i) => `lane${i + 1}`);
    const previous = this.lanes;
    this.lanes = [];
    for (const id of ids) {
      const [r, s] = await Promise.all([
        createPtyPair(this.dir, `${id}-reg`),
        createPtyPair(this.dir, `${id}-scan`),
      ]);
      this.ptys.push(r, s);
      const [reg, scanner] = await Promise.all([openSerialEnd(r.testPath), openSerialEnd(s.testPath)]);
      this.ends.push(reg, scanner);
      const old = previous.find((l) => l.id === id);
      const register = new VirtualRegister((b) => void reg.write(b).catch(() => {}));
      reg.onData((b) => register.receive(b));
      const lane: RigLane = {
        id,
        register,
        reg,
        scanner,
        seq: old?.seq ?? 10,
        nextSeq() {
          lane.seq = lane.seq >= 99 ? 10 : lane.seq + 1;
          return String(lane.seq);
        },
      };
      this.lanes.push(lane);
    }
    this.daemon = startDaemon(["run", "--config", this.configPath], env);
    this.daemons.push(this.daemon);
    await this.daemon.waitForLog((e) => e.msg === "posbridge started", 15_000);
    for (const id of ids) {
      await this.daemon.waitForLog(
        (e) => e.msg === "device opened" && e.device === "terminal" && e.lane === id,
        15_000,
      );
      await this.daemon.waitForLog(
        (e) => e.msg === "device opened" && e.device === "scanner" && e.lane === id,
        15_000,
      );
    }
    return this.daemon;
  }

  async waitOnline(timeoutMs = 15_000): Promise<void> {
    await this.daemon?.waitForLog((e) => e.msg === "broker connected", timeoutMs);
  }

  lane(i = 0): RigLane {
    const l = this.lanes[i];
    if (!l) throw new Error(`no lane ${i}`);
    return l;
  }

  records(): JournalRecord[] {
    return readJournal(join(this.dir, JOURNAL_FILE)).records;
  }

  /** Polls until every sale, attempt and refund in the journal is settled. */
  async settled(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const open = unsettled(this.records());
      if (open.length === 0) return;
      if (Date.now() > end) throw new Error(`still unsettled after ${timeoutMs} ms: ${JSON.stringify(open)}`);
      await sleep(200);
    }
  }

  /** What the journal says against what the cloud executed; empty when the promise held. */
  verdict(): string[] {
    const problems = compareWithLedger(this.records(), this.sim);
    const lines = this.daemons.flatMap((d) => d.lines);
    for (const code of this.codes)
      if (lines.some((l) => l.includes(code)))
        problems.push(`a payment code (…${code.slice(-4)}) reached the daemon's output`);
    return problems;
  }

  /** Scans a fresh code on a lane, remembering it for the log check. */
  async scan(lane: RigLane, code: string): Promise<void> {
    this.codes.push(code);
    await lane.scanner.write(`${code}\r`);
  }

  async closeDevices(): Promise<void> {
    await Promise.all(this.ends.splice(0).map((e) => e.close().catch(() => {})));
    await Promise.all(this.ptys.splice(0).map((p) => p.close()));
  }

  async teardown(): Promise<void> {
    await this.daemon?.stop("SIGKILL");
    await this.closeDevices();
    await this.sim?.stop();
    await this.proxy?.stop();
    await this.broker?.stop();
  }
}

export function unsettled(records: JournalRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (r.kind === "sale" && r.status !== "PAID" && r.status !== "CANCELLED")
      out.push(`sale ${r.orderRef} ${r.status}`);
    if (r.kind === "attempt" && r.phase !== "paid" && r.phase !== "failed" && r.phase !== "cancelled")
      out.push(`attempt ${r.attemptId} ${r.phase}`);
    if (r.kind === "refund" && (r.phase === "requested" || r.phase === "unknown"))
      out.push(`refund ${r.refundRef} ${r.phase}`);
  }
  return out;
}

/**
 * The promise, checked: every settled sale agrees with the cloud's ledger; no sale was charged
 * twice; nothing was charged that the journal does not know as PAID; no pay request was published
 * after its deadline; refunds the journal calls REFUNDED were refunded once.
 */
export function compareWithLedger(records: JournalRecord[], sim: CloudSim): string[] {
  const problems: string[] = [];
  const sales = records.filter((r): r is SaleRecord => r.kind === "sale");
  const attempts = records.filter((r): r is AttemptRecord => r.kind === "attempt");
  const refunds = records.filter((r): r is RefundRecord => r.kind === "refund");
  const charged = sim.ledger.all().filter((e) => e.charged && e.status === "PAID");
  for (const sale of sales) {
    const own = attempts.filter((a) => a.laneId === sale.laneId && a.orderRef === sale.orderRef);
    const paidInLedger = charged.filter((e) => own.some((a) => a.attemptId === e.attemptId));
    if (paidInLedger.length > 1) problems.push(`order ${sale.orderRef} charged ${paidInLedger.length} times`);
    if (sale.status === "PAID") {
      const e = sim.ledger.get(sale.attemptId ?? "");
      if (!e?.charged || e.status !== "PAID")
        problems.push(`order ${sale.orderRef} PAID in the journal, not in the ledger`);
      else if (e.amountFen !== sale.amountFen)
        problems.push(`order ${sale.orderRef} amount differs from the ledger`);
    }
    if (sale.status === "CANCELLED" && paidInLedger.length > 0)
      problems.push(`order ${sale.orderRef} CANCELLED in the journal but charged in the ledger`);
  }
  for (const e of charged) {
    const a = attempts.find((x) => x.attemptId === e.attemptId);
    if (!a) problems.push(`ledger charged attempt ${e.attemptId} the journal never made`);
  }
  for (const r of refunds) {
    const e = sim.ledger.get(r.attemptId);
    const done = e?.refunds.get(r.refundId);
    if (r.phase === "refunded" && done?.status !== "REFUNDED")
      problems.push(`refund ${r.refundRef} not in the ledger`);
    if (r.phase === "failed" && done?.status === "REFUNDED")
      problems.push(`refund ${r.refundRef} failed here, refunded there`);
  }
  const stats = sim.stats();
  if (stats.publishedLate > 0)
    problems.push(`${stats.publishedLate} pay requests published after their deadline`);
  return problems;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type RegisterResult = Extract<PosAnswer, { type: "result" }>;
