// What others read of a lane, made from its parts: the retained status's line (laneStatus), its
// unsettled work (lanePending), the diagnostics snapshot (describeLane), the health check's and
// tests' details (laneDetails), the counters event's line (laneCountersText), and what the
// monitor is told a scan did (scanOutcome). Read-only; ids, amounts, phases, counts and masked
// codes only: a payment code never reaches a view.
import type { LaneStatusView } from "../../protocols/cloud/cloud-messages.js";
import type { AttemptRecord } from "../../protocols/sale/records.js";
import { laneState } from "../../protocols/sale/sale-machine.js";
import type { LaneSaleState } from "../../protocols/sale/sale-types.js";
import type { Clock } from "../clock.js";
import type { LaneConfig } from "../config/config-types.js";
import { describeLocation } from "../devices/device-identity.js";
import type { DisplayPort } from "../devices/display-port.js";
import type { ScannerDevice, ScannerStatus } from "../devices/scanner-device.js";
import type { DisplayTap } from "../devices/display-tap-port.js";
import type { RegisterLink } from "../devices/register-link.js";
import type { VoicePort } from "../devices/voice-port.js";
import type {
  AttemptSnapshot,
  DeviceSnapshot,
  LaneSnapshot,
  VoiceSnapshot,
} from "../diagnostics/snapshot.js";

/** The lane's own counters (its devices count for themselves), in status, snapshot and the counters event. */
export interface LaneCounters {
  scans: number;
  scansIgnored: number;
  scansRejected: number;
  resultsIgnored: number;
  alarms: number;
  journalWrites: number;
  journalFailures: number;
  recovered: number;
  paysResent: number;
}

export function newLaneCounters(): LaneCounters {
  return {
    scans: 0,
    scansIgnored: 0,
    scansRejected: 0,
    resultsIgnored: 0,
    alarms: 0,
    journalWrites: 0,
    journalFailures: 0,
    recovered: 0,
    paysResent: 0,
  };
}

/** What the views read of a lane (daemon/lanes/lane.ts builds it once). */
export interface LaneParts {
  readonly id: string;
  readonly config: LaneConfig;
  readonly clock: Clock;
  readonly terminal: RegisterLink;
  /** The same link when the lane is in no-integration mode (its display tap). */
  readonly tap?: DisplayTap | undefined;
  readonly scanner: ScannerDevice;
  readonly display: DisplayPort | undefined;
  readonly voice: VoicePort | undefined;
  readonly counters: LaneCounters;
  /** The sale machine's state now (sale-runner.ts). */
  state(): LaneSaleState;
  /** Inputs waiting for the journal to come back. */
  heldInputs(): number;
  /** Payment codes held now: a number, never a code (code-custody.ts). */
  heldCodes(): number;
  /** Monotonic time of the scanner's last read, if any. */
  lastScanMono(): number | undefined;
}

/** The lane's line in the retained status (BridgeStatus). */
export function laneStatus(lane: LaneParts): LaneStatusView {
  const state = lane.state();
  const t = lane.terminal.status;
  const s = lane.scanner.status;
  const d = lane.display?.status;
  const fault = state.journalFault;
  const lastError = fault
    ? `journal ${fault}: sales stopped until it is restored`
    : ([t, s, d].map((x) => x?.error).find((e) => e) ?? "");
  return {
    laneId: lane.id,
    terminal: t.state,
    scanner: s.state,
    display: d ? d.state : "ABSENT",
    lastError,
    pendingAttempts: state.background.length,
    pendingRefunds: state.refunds.length,
  };
}

/** Unsettled work, for status and diagnostics (ids, amounts, phases and masked codes only). */
export function lanePending(state: LaneSaleState): LaneSnapshot["pending"] {
  return {
    attempts: state.background.map((b) => attemptSnapshot(b.attempt)),
    refunds: state.refunds.map((r) => ({
      refundId: r.refundId,
      orderRef: r.orderRef,
      amountFen: r.amountFen,
      phase: r.phase,
    })),
  };
}

/** The lane for diagnostics (daemon/diagnostics/snapshot.ts). */
export function describeLane(lane: LaneParts): LaneSnapshot {
  const { clock, config } = lane;
  const state = lane.state();
  const cur = state.current;
  const t = lane.terminal.status;
  const sc = lane.scanner.status as ScannerStatus & Partial<PortFields>;
  const d = lane.display?.status;
  const lastScanMono = lane.lastScanMono();
  const { state: ts, error: te, code: tc, device: tn, opens: to, flaps: tf, counters: tcounters } = t;
  return {
    id: lane.id,
    state: laneState(state),
    devices: {
      terminal: {
        kind: "terminal",
        type: lane.terminal.describe().type,
        state: ts,
        error: te,
        code: tc ?? null,
        identity: { configured: lane.terminal.describe().location, node: tn || null },
        opens: to,
        flaps: tf,
        // A display tap counts bytes, updates and totals; a register link its frames.
        counters: lane.tap ? { ...lane.tap.counters } : { ...tcounters },
        lastGoodAgoMs: lane.terminal.lastGoodAgoMs ?? null,
        ...(lane.tap ? { tap: lane.tap.snapshot() } : {}),
      },
      scanner: {
        kind: "scanner",
        type: config.scanner.type,
        state: sc.state,
        error: sc.error,
        code: sc.code ?? null,
        identity: { configured: describeLocation(config.scanner), node: sc.device || null },
        opens: sc.opens ?? null,
        flaps: sc.flaps ?? null,
        counters: { reads: sc.reads, discardedBytes: sc.discardedBytes },
        lastGoodAgoMs: lastScanMono === undefined ? null : clock.monoNow() - lastScanMono,
      },
      display:
        d && config.display
          ? ({
              kind: "display",
              type: config.display.type,
              state: d.state,
              error: d.error,
              code: d.code ?? null,
              identity: { configured: describeLocation(config.display), node: d.device || null },
              opens: d.opens,
              flaps: d.flaps,
              counters: { writes: d.writes, viewsSkipped: d.viewsSkipped, stalls: d.stalls },
              lastGoodAgoMs: null,
            } satisfies DeviceSnapshot)
          : null,
    },
    sale: cur
      ? {
          orderRef: cur.record.orderRef,
          amountFen: cur.record.amountFen,
          status: cur.record.status,
          openedAt: cur.record.openedAt,
          training: cur.record.training,
          attempt: cur.attempt ? attemptSnapshot(cur.attempt) : null,
        }
      : null,
    pending: lanePending(state),
    journalOk: state.journalFault === null,
    journalFault: state.journalFault,
    heldInputs: lane.heldInputs(),
    counters: { ...lane.counters },
    voice: lane.voice ? voiceSnapshot(lane.voice) : null,
  };
}

function voiceSnapshot(voice: VoicePort): VoiceSnapshot {
  const v = voice.status;
  return {
    player: v.player,
    describe: v.describe,
    state: v.state,
    error: v.error,
    code: v.code ?? null,
    playing: v.playing,
    counters: { ...v.counters },
  };
}

/** The lane's state, work and devices in one object (the health check, tests). */
export function laneDetails(lane: LaneParts) {
  const state = lane.state();
  return {
    id: lane.id,
    state: laneState(state),
    orderRef: state.current?.record.orderRef ?? null,
    attempt: state.current?.attempt
      ? { attemptId: state.current.attempt.attemptId, phase: state.current.attempt.phase }
      : null,
    pending: lanePending(state),
    journalOk: state.journalFault === null,
    journalFault: state.journalFault,
    heldInputs: lane.heldInputs(),
    heldCodes: lane.heldCodes(),
    terminal: lane.terminal.status,
    scanner: lane.scanner.status,
    display: lane.display?.status ?? null,
    voice: lane.voice?.status ?? null,
    counters: { ...lane.counters },
  };
}

/** One line of counters for P/event (kind "counters"): numbers only, never a code. */
export function laneCountersText(lane: LaneParts): string {
  const state = lane.state();
  const link = lane.terminal.status.counters;
  const scanner = lane.scanner.status;
  const parts: Record<string, number> = {
    ...lane.counters,
    pendingAttempts: state.background.length,
    pendingRefunds: state.refunds.length,
    framesIn: link.framesIn,
    framesOut: link.framesOut,
    naksSent: link.naksSent,
    naksReceived: link.naksReceived,
    retransmits: link.retransmits,
    linkFaults: link.faults,
    lineNoiseBytes: link.discardedBytes,
    scannerReads: scanner.reads,
    scannerDiscardedBytes: scanner.discardedBytes,
  };
  return Object.entries(parts)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/**
 * What the monitor is told became of a scanner read, given how it was classified (`payment`: a
 * payment code of a known scheme) and whether it is a code sent within the last minute.
 */
export function scanOutcome(state: LaneSaleState, payment: boolean, repeated: boolean): string {
  const cur = state.current;
  return repeated
    ? "refused: the same code within a minute"
    : !cur
      ? "dropped: no sale open (the display asks the customer to wait for the cashier)"
      : cur.attempt
        ? `ignored: attempt ${cur.attempt.attemptId} in flight`
        : payment
          ? `submitted for order ${cur.record.orderRef}`
          : `rescan asked for order ${cur.record.orderRef}`;
}

/** What a serial scanner's status adds to ScannerStatus (USB HID scanners have none of it). */
interface PortFields {
  code: string | undefined;
  device: string;
  opens: number;
  flaps: number;
}

function attemptSnapshot(a: AttemptRecord): AttemptSnapshot {
  return {
    attemptId: a.attemptId,
    orderRef: a.orderRef,
    amountFen: a.amountFen,
    scheme: a.scheme,
    maskedCode: a.maskedCode,
    phase: a.phase,
    reason: a.reason,
    training: a.training,
  };
}
