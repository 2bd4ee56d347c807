// What `devices` and `doctor` read of a running daemon, and nothing more: the link's state, each
// lane device's state, the journal's fault and the event loop's delay. It comes from the
// daemon's `status` answer (a BridgeSnapshot, daemon/diagnostics/snapshot.ts) through
// `daemonFacts`, so the checks stay plain functions of facts that tests write by hand, and a
// change to the snapshot touches this adapter only.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { LaneRole } from "./lane-devices.js";
import type { BridgeSnapshot, TapSnapshot } from "./snapshot.js";

export type LinkState = "connecting" | "online" | "refused" | "offline";
export type JournalFaultName = "full" | "readOnly" | "gone" | "failed";

export interface DaemonDeviceFacts {
  state: DeviceState;
  /** The daemon's reason ("" when CONNECTED). */
  error: string;
  /** The node it has open or last tried, e.g. /dev/ttyUSB1. */
  node?: string;
  /** A display tap (no-integration mode): what detection found and the display as last decoded. */
  tap?: TapSnapshot;
}

export interface DaemonFacts {
  /** The daemon's process id, when the snapshot says it: the daemon holding its own port is no fault. */
  pid?: number;
  link: { state: LinkState; code?: string; reason: string };
  lanes: {
    id: string;
    devices: Partial<Record<LaneRole, DaemonDeviceFacts>>;
    /** The lane's voice player (daemon/devices/voice-port.ts), when the lane has one. */
    voice?: DaemonDeviceFacts;
  }[];
  journal: { fault: JournalFaultName | null };
  /** The worst event-loop stall of the last minute, as the daemon measures it (ms). */
  eventLoopDelayMs: number;
  /** The payment cloud's clock minus this PC's, from its answers; null before any answer. */
  cloudClockSkewMs: number | null;
}

/** Whether the daemon answered, and what it said or why it did not. */
export type DaemonView = { running: true; facts: DaemonFacts } | { running: false; reason: string };

/** The parts of a BridgeSnapshot read here (daemon/diagnostics/snapshot.ts). */
export interface SnapshotView {
  pid?: number | undefined;
  link: { state: LinkState; code: string | null; reason: string };
  lanes: readonly {
    id: string;
    devices: Partial<
      Record<
        LaneRole,
        { state: DeviceState; error: string; identity: { node: string | null }; tap?: TapSnapshot } | null
      >
    >;
    voice?: { state: DeviceState; error: string } | null;
  }[];
  journal: { fault: { fault: string } | null };
  process: { eventLoopDelayMs: { maxLastMinute: number } };
  rpc: { cloudClockSkewMs: number | null };
}

// The real snapshot must stay readable as the view: this fails to compile when it drifts.
export const snapshotIsAView = (s: BridgeSnapshot): SnapshotView => s;

const JOURNAL_FAULTS: readonly string[] = ["full", "readOnly", "gone", "failed"] satisfies JournalFaultName[];

export function daemonFacts(s: SnapshotView): DaemonFacts {
  const fault = s.journal.fault?.fault;
  return {
    ...(typeof s.pid === "number" ? { pid: s.pid } : {}),
    link: {
      state: s.link.state,
      reason: s.link.reason,
      ...(s.link.code !== null ? { code: s.link.code } : {}),
    },
    lanes: s.lanes.map((lane) => ({
      id: lane.id,
      devices: Object.fromEntries(
        Object.entries(lane.devices).flatMap(([role, d]) =>
          d
            ? [
                [
                  role,
                  {
                    state: d.state,
                    error: d.error,
                    ...(d.identity.node !== null ? { node: d.identity.node } : {}),
                    ...(d.tap ? { tap: d.tap } : {}),
                  },
                ],
              ]
            : [],
        ),
      ),
      ...(lane.voice ? { voice: { state: lane.voice.state, error: lane.voice.error } } : {}),
    })),
    journal: {
      fault:
        fault === undefined ? null : JOURNAL_FAULTS.includes(fault) ? (fault as JournalFaultName) : "failed",
    },
    eventLoopDelayMs: s.process.eventLoopDelayMs.maxLastMinute,
    cloudClockSkewMs: s.rpc.cloudClockSkewMs,
  };
}

/** The daemon's view of one lane device, if it runs and has the lane. */
export function daemonDevice(
  view: DaemonView,
  laneId: string,
  role: LaneRole,
): DaemonDeviceFacts | undefined {
  if (!view.running) return undefined;
  return view.facts.lanes.find((l) => l.id === laneId)?.devices[role];
}

/** The daemon's view of a lane's voice player, if it runs and the lane has one. */
export function daemonVoice(view: DaemonView, laneId: string): DaemonDeviceFacts | undefined {
  if (!view.running) return undefined;
  return view.facts.lanes.find((l) => l.id === laneId)?.voice;
}
