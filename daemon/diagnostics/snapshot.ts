// One typed view of the whole bridge (house notes, "health / diagnostics": one snapshot instead
// of five partial views), assembled from each component's describe(): the link, the RPC layer,
// the journal, every lane with its devices and sales. `posbridge status --json` prints it, the
// control method "status" returns it, the remote channel and the support bundle carry it.
//
// STABLE: docs/diagnostics.md documents every field. Fields may be added; none is renamed or
// removed without raising `schema`. Never a payment code (masked codes only: scheme + last 4),
// never a secret (the broker URL without credentials).
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { App } from "../app.js";
import type { Clock } from "../clock.js";

export const SNAPSHOT_SCHEMA = 1;

export interface BridgeSnapshot {
  /** Raised when a field changes meaning or goes away. */
  schema: typeof SNAPSHOT_SCHEMA;
  version: string;
  node: string;
  pid: number;
  store: string;
  bridge: string;
  /** Wall ms the daemon started; uptimeMs is measured on the monotonic clock. */
  startedAt: number;
  uptimeMs: number;
  /** Wall ms this snapshot was taken. */
  takenAt: number;
  link: LinkSnapshot;
  rpc: RpcSnapshot;
  lanes: LaneSnapshot[];
  journal: JournalSnapshot;
  process: ProcessSnapshot;
  diagnostics: { socket: string; remote: boolean };
}

export interface LinkSnapshot {
  state: "connecting" | "online" | "refused" | "offline";
  /** PB_MQTT_* behind a state other than online/connecting; null otherwise. */
  code: string | null;
  /** Why not online ("" when online). */
  reason: string;
  /** The broker's reason code when it refused us, e.g. "0x87"; null otherwise. */
  reasonCode: string | null;
  /** Wall ms of the last change of state. */
  since: number;
  /** How long the current connection has been up (null while not connected). */
  connectedSinceMs: number | null;
  /** The broker URL the link is on (or tries), without credentials. */
  url: string;
  /** Every node mqtt.url names (one for a single broker), without credentials. */
  nodes: string[];
  clientId: string;
  protocolVersion: 4 | 5;
  /** Expiry (wall ms) of the broker's certificate seen in the last TLS handshake, and of the files of mqtt.tls. */
  tls: {
    brokerCertExpiresAt: number | null;
    clientCertExpiresAt: number | null;
    caExpiresAt: number | null;
  } | null;
  /** Packets mqtt.js holds in memory (should stay near 0). */
  queueDepth: number;
  counters: Record<string, number>;
}

export interface RpcSnapshot {
  /** Requests published in the last 10 minutes, answered or not (kept to match late and repeated answers). */
  pending: number;
  counters: Record<string, number>;
  /**
   * The payment cloud's clock minus this PC's, from the `sent_at_ms` of its last answers (median
   * of 5; includes the broker's delivery time, milliseconds); positive: this PC is behind. null
   * before the first answer.
   */
  cloudClockSkewMs: number | null;
}

export interface DeviceSnapshot {
  kind: "terminal" | "scanner" | "display";
  /** terminal: ecr | line | "displayTap <mode>" (no-integration mode); scanner: serial | ssi | hidpos | keyboard; display: cd5220 | escpos | led8. */
  type: string;
  state: DeviceState;
  /** Why not CONNECTED ("" when connected). */
  error: string;
  /** PB_PORT_* (serial ports) behind the error; null when connected or not known. */
  code: string | null;
  identity: {
    /** As configured: the path, or "usb 0403:6001 serial A10K". */
    configured: string;
    /** The node open now (or last tried): what the configured name resolved to; null before the first try. */
    node: string | null;
  };
  /** Ports opened since start (reopen count = opens - 1); null for USB HID scanners. */
  opens: number | null;
  /** Ports that closed again right after opening; null for USB HID scanners. */
  flaps: number | null;
  /**
   * terminal: framesIn, framesOut, naksSent, naksReceived, retransmits, timeouts, faults (frames
   * given up after 3 sends), discardedBytes, badFrames, duplicatesSuppressed, strayControls;
   * scanner: reads, discardedBytes; display: writes, viewsSkipped, stalls.
   */
  counters: Record<string, number>;
  /** ms since the last good frame (terminal) or read (scanner); null when none yet (or a display). */
  lastGoodAgoMs: number | null;
  /** A lane in no-integration mode: its display tap (type "displayTap <mode>"). */
  tap?: TapSnapshot;
}

/** The register's display line as the bridge reads it (daemon/devices/display-tap-port.ts). */
export interface TapSnapshot {
  mode: string;
  /** fixed | detecting | locked | nothing, the line settings and dialect in use or found. */
  detection: {
    state: string;
    baudRate: number | null;
    parity: string | null;
    dialect: string | null;
    confidence: number | null;
    reason: string;
    tried: number;
  };
  /** The display as last decoded (no code is ever on it), or null before the first update. */
  reading: {
    lamp: string | null;
    lines: string[];
    amountFen: number | null;
    chargeable: boolean;
    kind: string;
    standingTotal: { seq: number; amountFen: number } | null;
  } | null;
  /** The real display behind a passThrough or bridgeOwned tap. */
  realDisplay: { state: string; error: string; node: string } | null;
}

export interface AttemptSnapshot {
  attemptId: string;
  orderRef: string;
  amountFen: number;
  scheme: string;
  /** Scheme + last 4 digits at most. */
  maskedCode: string;
  phase: string;
  reason: string;
  training: boolean;
}

export interface LaneSnapshot {
  id: string;
  /** The lane's state as EC answers it: IDLE, WAIT_SCAN, SUBMITTED, WAIT_CUSTOMER, QUERYING, REVERSING, REFUNDING. */
  state: string;
  devices: { terminal: DeviceSnapshot; scanner: DeviceSnapshot; display: DeviceSnapshot | null };
  /** The sale in progress, if any. */
  sale: {
    orderRef: string;
    amountFen: number;
    status: string;
    openedAt: number;
    training: boolean;
    attempt: AttemptSnapshot | null;
  } | null;
  pending: {
    attempts: AttemptSnapshot[];
    refunds: { refundId: string; orderRef: string; amountFen: number; phase: string }[];
  };
  journalOk: boolean;
  /** full | readOnly | gone | failed while the journal cannot be written; null otherwise. */
  journalFault: string | null;
  /** Inputs waiting for the journal to come back. */
  heldInputs: number;
  counters: Record<string, number>;
  /** The lane's voice prompts; null without a `voice` section or with `voice.enabled: false`. */
  voice: VoiceSnapshot | null;
}

export interface VoiceSnapshot {
  player: "espeak" | "clips";
  /** The player in words: "espeak-ng (voice cmn)", "aplay -q, clips in /opt/posbridge/voice". */
  describe: string;
  /** CONNECTED: it can speak; FAULT: it cannot (error, code say why); sales go on either way. */
  state: DeviceState;
  error: string;
  /** PB_VOICE_PLAYER or PB_VOICE_CLIPS behind a FAULT; null otherwise. */
  code: string | null;
  /** A prompt is being said now. */
  playing: boolean;
  /** spoken, superseded (a waiting prompt replaced by a newer one), dropped (while FAULT), failed, killed (hung). */
  counters: Record<string, number>;
}

export interface JournalSnapshot {
  path: string;
  fileBytes: number;
  liveRecords: number;
  appends: number;
  fsyncs: number;
  failedWrites: number;
  compactions: number;
  restores: number;
  /** Wall ms of the last fsync; null before the first. */
  lastFsyncAt: number | null;
  /** The lanes' group commit (docs/journal.md): batches written, commits they carried, the largest. */
  groupCommit: { flushes: number; commits: number; largestBatch: number };
  /** While it cannot be written: why, its PB_ code and message, since when (wall ms); null otherwise. */
  fault: { fault: string; code: string; message: string; since: number } | null;
  /** What was found at open: discarded lines, torn tail, no file at all. */
  loaded: { records: number; discardedLines: number; tornTail: boolean; missing: boolean };
}

export interface ProcessSnapshot {
  rssBytes: number;
  heapUsedBytes: number;
  /**
   * How late the event loop ran timers: since start (perf_hooks.monitorEventLoopDelay, 20 ms
   * resolution), and the worst stall in the last minute (a sampling timer; a blocked loop shows
   * there for a minute, whoever looked in between).
   */
  eventLoopDelayMs: { mean: number; p99: number; max: number; maxLastMinute: number };
  /** Node's active handles (sockets, ports, timers): grows without bound on a leak. */
  activeHandles: number;
}

const SAMPLE_MS = 50;
const BUCKET_MS = 5_000;
const BUCKETS = 12; // × 5 s: the last minute

/**
 * Measures the event loop for the process snapshots; one per daemon. The last minute's worst
 * stall is kept in 5-second buckets that age out by themselves: a snapshot never resets them, so
 * one client looking (or a request left behind by a client that gave up waiting) cannot hide a
 * stall from the next.
 */
export class ProcessProbe {
  private readonly total = monitorEventLoopDelay({ resolution: 20 });
  private readonly buckets: { start: number; max: number }[] = [];
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.total.enable();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  describe(): ProcessSnapshot {
    this.sample(); // counts a stall still open (a snapshot taken right after it)
    const mem = process.memoryUsage();
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      eventLoopDelayMs: {
        mean: Number.isFinite(this.total.mean) ? ms(this.total.mean) : 0,
        p99: ms(this.total.percentile(99)),
        max: ms(this.total.max),
        maxLastMinute: Math.round(Math.max(0, ...this.buckets.map((b) => b.max)) * 10) / 10,
      },
      activeHandles: activeHandles(),
    };
  }

  stop(): void {
    this.total.disable();
    clearInterval(this.timer);
  }

  /** How late this sample is, into the current 5-second bucket; buckets older than a minute go. */
  private sample(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.last - SAMPLE_MS);
    this.last = now;
    const current = this.buckets.at(-1);
    if (!current || now - current.start >= BUCKET_MS) this.buckets.push({ start: now, max: late });
    else current.max = Math.max(current.max, late);
    while (
      this.buckets.length > BUCKETS ||
      (this.buckets[0] && now - this.buckets[0].start > BUCKET_MS * BUCKETS)
    )
      this.buckets.shift();
  }
}

function activeHandles(): number {
  const info = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  return info ? info().length : 0;
}

export interface SnapshotSource {
  app: App;
  clock: Clock;
  probe: ProcessProbe;
  /** Monotonic ms the daemon started. */
  startedMono: number;
  diagnostics: { socket: string; remote: boolean };
}

export function takeSnapshot(src: SnapshotSource): BridgeSnapshot {
  const { app, clock } = src;
  return {
    schema: SNAPSHOT_SCHEMA,
    version: app.info.version,
    node: process.version,
    pid: process.pid,
    store: app.info.store,
    bridge: app.info.bridge,
    startedAt: app.info.startedAt,
    uptimeMs: clock.monoNow() - src.startedMono,
    takenAt: clock.wallNow(),
    link: app.link.describe(),
    rpc: app.rpc.describe(),
    lanes: app.lanes.map((l) => l.describe()),
    journal: app.journal.describe(),
    process: src.probe.describe(),
    diagnostics: src.diagnostics,
  };
}
