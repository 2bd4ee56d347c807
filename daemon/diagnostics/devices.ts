// `posbridge devices`: every serial, hidraw and evdev node present, with its links, USB ids,
// serial number and driver, and for each device the config names, which node it is or why none
// is. With the daemon running, each lane device also shows the daemon's own state for it.
//
// `--json` prints one DevicesReport (stable; docs/diagnostics.md):
// {
//   "version": 1,
//   "nodes": [ { "kind": "serial"|"hidraw"|"evdev", "name": "ttyUSB0", "path": "/dev/ttyUSB0",
//                "present": true, "links": ["/dev/serial/by-id/…"], "devno": "188:0",
//                "usb": { "vendorId": "0403", "productId": "6001", "serialNumber": "A10KZ3QX",
//                         "manufacturer": "FTDI", "product": "FT232R USB UART", "port": "1-1.2" },
//                "driver": "ftdi_sio", "label": "…",
//                "access": { "owner": "root", "group": "dialout", "mode": "0660" },
//                "udev": { "mmDeviceIgnore": true, "serial": "FTDI_FT232R_USB_UART_A10KZ3QX" },
//                "usedBy": ["lane-1 terminal"] } ],          optional fields absent when unknown
//   "lanes": [ { "subject": "lane-1 scanner", "laneId": "lane-1", "role": "scanner",
//                "field": "lanes[0].scanner", "kind": "serial", "configured": "usb 0c2e:0b61 serial …",
//                "status": "found"|"absent"|"wrong",
//                "path": "/dev/ttyACM0", "realPath": "/dev/ttyACM0", "node": "ttyACM0"|null,  (found)
//                "text": "what the text output says about it",
//                "daemon": { "state": "CONNECTED"|"ABSENT"|"FAULT", "error": "", "node": "…" } } ],
//                                                             daemon: only while the daemon runs
//   "voice": [ { "subject": "lane-1 voice", "laneId": "lane-1", "field": "lanes[0].voice",
//                "player": "espeak"|"clips", "status": "ok"|"missing"|"off",
//                "code": "PB_VOICE_PLAYER"|"PB_VOICE_CLIPS",              (missing)
//                "text": "espeak-ng (voice cmn) is /usr/bin/espeak-ng",
//                "daemon": { "state": "CONNECTED"|"FAULT", "error": "" } } ],  one per lane with a voice section
//   "config": { "path": "/etc/posbridge/posbridge.yaml", "problem": "" },   problem: why no lanes
//   "daemon": { "running": true } | { "running": false, "reason": "…" }
// }
import type { Config } from "../config/config-types.js";
import { readAccounts } from "./accounts.js";
import {
  checkVoicePlayer,
  describePlayer,
  findCommand,
  playerCommand,
  SERVICE_PATH,
  type VoiceErrorCode,
} from "../devices/voice-player.js";
import { type DaemonDeviceFacts, type DaemonView, daemonDevice, daemonVoice } from "./daemon-facts.js";
import { type DeviceNode, describeIds, type NodeKind, scanDeviceNodes } from "./device-nodes.js";
import { describeMatch, type LaneRole, laneDevices, matchLaneDevice } from "./lane-devices.js";
import { type SystemRoots, systemRoots } from "./system-roots.js";
import type { TapSnapshot } from "./snapshot.js";
import { formatYuan } from "../../protocols/payment/amount.js";

export interface DevicesInput {
  /** The config, when it loaded; without it only the nodes are listed. */
  config: Config | undefined;
  /** The config file (for the report), and why it did not load ("" when it did). */
  configPath: string;
  configProblem: string;
  roots?: Partial<SystemRoots>;
  daemon: DaemonView;
}

export interface ListedNode extends DeviceNode {
  /** The lane devices that are this node. */
  usedBy: string[];
}

export interface LaneDeviceReport {
  subject: string;
  laneId: string;
  role: LaneRole;
  field: string;
  kind: NodeKind;
  configured: string;
  status: "found" | "absent" | "wrong";
  path?: string;
  realPath?: string;
  /** The node's kernel name when sysfs lists it (null: present but not a listed device, e.g. a pty). */
  node?: string | null;
  text: string;
  daemon?: DaemonDeviceFacts;
}

/** A lane's voice player on this PC (daemon/devices/voice-player.ts), and the daemon's word on it. */
export interface VoiceDeviceReport {
  subject: string;
  laneId: string;
  field: string;
  player: "espeak" | "clips";
  status: "ok" | "missing" | "off";
  code?: VoiceErrorCode;
  text: string;
  daemon?: DaemonDeviceFacts;
}

export interface DevicesReport {
  version: 1;
  nodes: ListedNode[];
  lanes: LaneDeviceReport[];
  voice: VoiceDeviceReport[];
  config: { path: string; problem: string };
  daemon: { running: true } | { running: false; reason: string };
}

export async function runDevices(input: DevicesInput): Promise<DevicesReport> {
  const roots = systemRoots(input.roots);
  const nodes: ListedNode[] = scanDeviceNodes(roots, readAccounts(roots.etc)).map((n) => ({
    ...n,
    usedBy: [],
  }));
  const lanes: LaneDeviceReport[] = [];
  for (const d of input.config ? laneDevices(input.config) : []) {
    const m = matchLaneDevice(d, nodes, roots);
    const daemon = daemonDevice(input.daemon, d.laneId, d.role);
    const row: LaneDeviceReport = {
      subject: d.subject,
      laneId: d.laneId,
      role: d.role,
      field: d.field,
      kind: d.kind,
      configured: d.configured,
      status: m.status,
      text: describeMatch(m, d.configured),
      ...(daemon ? { daemon } : {}),
    };
    if (m.status === "found") {
      row.path = m.path;
      row.realPath = m.realPath;
      row.node = m.node?.name ?? null;
      const listed = nodes.find((n) => n.name === m.node?.name && n.kind === m.node?.kind);
      listed?.usedBy.push(d.subject);
    }
    lanes.push(row);
  }
  return {
    version: 1,
    nodes,
    lanes,
    voice: input.config ? voiceReports(input.config, input.daemon) : [],
    config: { path: input.configPath, problem: input.configProblem },
    daemon: input.daemon.running ? { running: true } : { running: false, reason: input.daemon.reason },
  };
}

function voiceReports(config: Config, view: DaemonView): VoiceDeviceReport[] {
  return config.lanes.flatMap((lane, i): VoiceDeviceReport[] => {
    const v = lane.voice;
    if (!v) return [];
    const base = {
      subject: `${lane.id} voice`,
      laneId: lane.id,
      field: `lanes[${i}].voice`,
      player: v.player,
    };
    if (!v.enabled) return [{ ...base, status: "off", text: "off (voice.enabled: false)" }];
    const daemon = daemonVoice(view, lane.id);
    const problem = checkVoicePlayer(v, SERVICE_PATH);
    const found = findCommand(playerCommand(v), SERVICE_PATH);
    return [
      {
        ...base,
        ...(problem
          ? { status: "missing" as const, code: problem.code, text: problem.error }
          : {
              status: "ok" as const,
              text: `${describePlayer(v)}${found && found !== playerCommand(v) ? `; ${playerCommand(v)} is ${found}` : ""}`,
            }),
        ...(daemon ? { daemon } : {}),
      },
    ];
  });
}

const HEADINGS: Record<NodeKind, string> = {
  serial: "Serial ports",
  hidraw: "HID (hidraw) nodes",
  evdev: "Input (evdev) nodes",
};

/** The text form: one line per node (its links and lanes indented below), then one per lane device. */
export function formatDevices(r: DevicesReport): string {
  const out: string[] = [];
  for (const kind of ["serial", "hidraw", "evdev"] as const) {
    const nodes = r.nodes.filter((n) => n.kind === kind);
    out.push(`${HEADINGS[kind]} (${nodes.length})`);
    if (nodes.length === 0) out.push("  none");
    const width = Math.max(0, ...nodes.map((n) => n.path.length));
    for (const n of nodes) {
      out.push(`  ${nodeLine(n, width)}`);
      for (const l of n.links) out.push(`      ${l}`);
      for (const u of n.usedBy) out.push(`      → ${u}`);
    }
  }
  out.push(
    "Ptys (/dev/pts/*) are virtual lines, not devices: they are not listed; a lane configured with one shows it below.",
  );
  if (r.config.problem) {
    out.push(`Lanes: none shown: ${r.config.problem}`);
  } else {
    out.push(`Lanes (${r.config.path})`);
    const width = Math.max(0, ...r.lanes.map((l) => l.subject.length));
    for (const l of r.lanes) {
      const daemon = l.daemon
        ? ` [daemon: ${l.daemon.state}${l.daemon.error ? `: ${l.daemon.error}` : ""}]`
        : "";
      out.push(`  ${l.subject.padEnd(width)}  ${l.text}${daemon}`);
      if (l.daemon?.tap) out.push(...tapLines(l.daemon.tap, width + 4));
    }
    for (const v of r.voice) {
      const daemon = v.daemon
        ? ` [daemon: ${v.daemon.state}${v.daemon.error ? `: ${v.daemon.error}` : ""}]`
        : "";
      out.push(`  ${v.subject.padEnd(width)}  ${v.text}${v.code ? ` (${v.code})` : ""}${daemon}`);
    }
  }
  out.push(
    r.daemon.running
      ? "Daemon: running; [daemon: …] is its own state for each lane device."
      : `Daemon: not running (${r.daemon.reason}); the lanes above are what this PC shows.`,
  );
  return `${out.join("\n")}\n`;
}

function nodeLine(n: DeviceNode, width: number): string {
  const parts = [n.path.padEnd(width) + (n.present ? "" : " (no node in /dev)")];
  parts.push(n.usb ? `usb ${describeIds(n.usb)} port ${n.usb.port}` : "not on USB");
  if (n.driver) parts.push(`driver ${n.driver}`);
  if (n.access) parts.push(`${n.access.owner}:${n.access.group} ${n.access.mode}`);
  const name = n.label ?? [n.usb?.manufacturer, n.usb?.product].filter(Boolean).join(" ");
  if (name) parts.push(`"${name}"`);
  return parts.join("  ");
}

/** A display tap's detection and its display as last decoded (no-integration mode). */
export function tapLines(t: TapSnapshot, indent: number): string[] {
  const pad = " ".repeat(indent);
  const d = t.detection;
  const line = d.baudRate === null ? "line not found yet" : `${d.baudRate} baud, parity ${d.parity}`;
  const how =
    d.state === "fixed"
      ? "as configured"
      : d.state === "locked"
        ? `detected (confidence ${d.confidence ?? "?"}: ${d.reason})`
        : d.state === "detecting"
          ? `detecting: ${d.tried} setting(s) listened to`
          : `not detected: ${d.reason}`;
  const out = [`${pad}display tap ${t.mode}: ${line}, dialect ${d.dialect ?? "unknown"}, ${how}`];
  const r = t.reading;
  if (r) {
    const lamp = r.lamp === null ? "" : `[${r.lamp}] `;
    const amount = r.amountFen === null ? "no amount" : `${r.kind} ${formatYuan(r.amountFen)}`;
    const standing = r.standingTotal
      ? `; a scan now charges ${formatYuan(r.standingTotal.amountFen)} (total #${r.standingTotal.seq})`
      : "";
    out.push(
      `${pad}shows ${lamp}${r.lines.map((l) => `"${l}"`).join(" / ")} → ${amount}${r.chargeable ? " (chargeable)" : ""}${standing}`,
    );
  }
  if (t.realDisplay)
    out.push(
      `${pad}real display: ${t.realDisplay.state}${t.realDisplay.error ? `: ${t.realDisplay.error}` : ""}`,
    );
  return out;
}
