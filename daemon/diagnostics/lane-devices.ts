// The devices the config names, lane by lane, and which node present now each one is, or why
// none is ("lane-1 scanner: 0c2e:0b61 serial 21100B4F71 not present; 0c2e:0b61 serial 21100B4F72
// is (/dev/ttyACM1)"). Serial devices are resolved with the daemon's own DeviceResolver, so the
// doctor and the daemon never disagree about where a device is (or that two ports match).
import type { Config, DeviceLocation, LaneConfig } from "../config/config-types.js";
import { DeviceResolver, describeLocation, inspect } from "../devices/device-identity.js";
import { type DeviceNode, describeIds, type NodeKind, safeRealpath } from "./device-nodes.js";
import type { SystemRoots } from "./system-roots.js";

export type LaneRole = "terminal" | "scanner" | "display";

export interface LaneDevice {
  laneId: string;
  role: LaneRole;
  /** The config field, e.g. "lanes[0].scanner". */
  field: string;
  /** How findings and the devices list name it: "lane-1 scanner". */
  subject: string;
  /** The kind of node this device is opened as. */
  kind: NodeKind;
  location: DeviceLocation;
  /** The config's words for it: a path, or "usb 0c2e:0b61 serial …". */
  configured: string;
  /** What opening it needs: a scanner read through evdev only reads. */
  need: "r" | "rw";
}

export type LaneMatch =
  /** Present. `node` is the sysfs device; undefined for a node sysfs does not list (a pty). */
  | { status: "found"; path: string; realPath: string; node: DeviceNode | undefined; note: string }
  /** Not present now: why, and what similar is present instead. */
  | { status: "absent"; why: string; instead: string[] }
  /** Present but not usable as configured (a directory, a regular file, two matches). */
  | { status: "wrong"; why: string };

/**
 * The device config names for a role, and its field. A lane in no-integration mode has its display
 * tap in the terminal's role (the register-side line) and the real display behind the tap in the
 * display's (docs/hardware.md).
 */
export function roleDevice(
  lane: LaneConfig,
  i: number,
  role: LaneRole,
): { field: string; location: DeviceLocation } | undefined {
  if (role === "terminal" && lane.displayTap)
    return { field: `lanes[${i}].displayTap`, location: lane.displayTap };
  if (role === "display" && !lane.display && lane.displayTap?.display)
    return { field: `lanes[${i}].displayTap.display`, location: lane.displayTap.display };
  const d = lane[role];
  return d ? { field: `lanes[${i}].${role}`, location: d } : undefined;
}

export function laneDevices(config: Config): LaneDevice[] {
  return config.lanes.flatMap((lane, i) =>
    (["terminal", "scanner", "display"] as const).flatMap((role): LaneDevice[] => {
      const found = roleDevice(lane, i, role);
      if (!found) return [];
      const d = found.location;
      const location: DeviceLocation = {
        ...(d.path !== undefined ? { path: d.path } : {}),
        ...(d.usb !== undefined ? { usb: d.usb } : {}),
      };
      const kind = kindOf(lane, role);
      return [
        {
          laneId: lane.id,
          role,
          field: found.field,
          subject: `${lane.id} ${role === "terminal" && lane.displayTap ? "display tap" : role}`,
          kind,
          location,
          configured: describeLocation(location),
          // A tap in listen mode only reads (the bridge never writes to the tapped line).
          need: kind === "evdev" || (role === "terminal" && lane.displayTap?.mode === "listen") ? "r" : "rw",
        },
      ];
    }),
  );
}

function kindOf(lane: LaneConfig, role: LaneRole): NodeKind {
  if (role !== "scanner") return "serial";
  const s = lane.scanner;
  if (s.type === "hidpos") return "hidraw";
  if (s.type === "keyboard") return (s.source ?? "evdev") === "evdev" ? "evdev" : "hidraw";
  return "serial";
}

const KIND_WORDS: Record<NodeKind, string> = {
  serial: "a serial port",
  hidraw: "a hidraw node",
  evdev: "an input (evdev) node",
};

export function matchLaneDevice(d: LaneDevice, nodes: readonly DeviceNode[], roots: SystemRoots): LaneMatch {
  if (d.location.usb !== undefined) return matchUsb(d, nodes, roots);
  if (d.location.path !== undefined) return matchPath(d, d.location.path, nodes);
  return { status: "wrong", why: "neither path nor usb is configured" };
}

function matchPath(d: LaneDevice, path: string, nodes: readonly DeviceNode[]): LaneMatch {
  const r = inspect(path);
  if (!r.ok) return { status: "wrong", why: r.error };
  if (r.node === "missing") {
    const instead = nodes
      .filter((n) => n.kind === d.kind && n.present)
      .map((n) => `${n.links.find(isStableLink) ?? n.path}${n.usb ? ` (${describeIds(n.usb)})` : ""}`);
    return {
      status: "absent",
      why: `${path} not present`,
      instead: instead.length > 0 ? [`present ${kindPlural(d.kind)}: ${instead.slice(0, 6).join(", ")}`] : [],
    };
  }
  if (r.node === "directory")
    return { status: "wrong", why: `${path} is a directory, not ${KIND_WORDS[d.kind]}` };
  if (r.node === "file")
    return { status: "wrong", why: `${path} is a regular file, not ${KIND_WORDS[d.kind]}` };
  const node = nodes.find((n) => safeRealpath(n.path) === r.realPath);
  if (node && node.kind !== d.kind)
    return {
      status: "wrong",
      why: `${path} is ${node.path}, ${KIND_WORDS[node.kind]}, not ${KIND_WORDS[d.kind]}`,
    };
  const note = node
    ? ""
    : /\/pts\/\d+$/.test(r.realPath)
      ? `${r.realPath} is a pty (a virtual serial line, not a device sysfs lists)`
      : `${r.realPath} is not a ${d.kind} device sysfs lists`;
  return { status: "found", path: r.path, realPath: r.realPath, node, note };
}

function matchUsb(d: LaneDevice, nodes: readonly DeviceNode[], roots: SystemRoots): LaneMatch {
  const usb = d.location.usb as NonNullable<DeviceLocation["usb"]>;
  const wanted = {
    vendorId: usb.vendorId.toLowerCase(),
    productId: usb.productId.toLowerCase(),
    serialNumber: usb.serialNumber,
  };
  if (d.kind === "serial") {
    // The daemon's resolver: the same answer (and the same words) as the daemon's.
    const r = new DeviceResolver({ sysfsRoot: roots.sys, devRoot: roots.dev, cacheMs: 0 }).resolve(
      d.location,
    );
    if (r.ok) {
      const node = nodes.find((n) => n.kind === "serial" && n.path === r.path);
      return { status: "found", path: r.path, realPath: r.realPath, node, note: "" };
    }
    if (!r.absent) return { status: "wrong", why: r.error };
  } else {
    const matches = nodes.filter(
      (n) => n.kind === d.kind && n.usb !== undefined && sameDevice(n.usb, wanted),
    );
    const [first] = matches;
    if (first) {
      // A scanner has several HID interfaces: the daemon picks the one whose usage page fits.
      const note =
        matches.length > 1
          ? `${matches.length} ${kindPlural(d.kind)} of this device (${matches.map((m) => m.name).join(", ")}): the daemon opens the one whose HID usage fits the scanner type`
          : "";
      return { status: "found", path: first.path, realPath: safeRealpath(first.path), node: first, note };
    }
  }
  return {
    status: "absent",
    why: `${describeIds(wanted)} not present`,
    instead: lookalikes(d.kind, wanted, nodes),
  };
}

function sameDevice(
  u: { vendorId: string; productId: string; serialNumber?: string | undefined },
  w: { vendorId: string; productId: string; serialNumber?: string | undefined },
): boolean {
  return (
    u.vendorId === w.vendorId &&
    u.productId === w.productId &&
    (w.serialNumber === undefined || u.serialNumber === w.serialNumber)
  );
}

/**
 * What is present that looks like the configured device: the same ids with another serial
 * number (another unit of the same model), the same vendor and serial with another product id
 * (a scanner switched to another interface mode changes its product id), or the device itself
 * as another kind of node (a scanner in HID mode where a serial port was configured).
 */
function lookalikes(
  kind: NodeKind,
  w: { vendorId: string; productId: string; serialNumber?: string | undefined },
  nodes: readonly DeviceNode[],
): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    const u = n.usb;
    if (!u || u.vendorId !== w.vendorId) continue;
    const ids = describeIds(u);
    if (sameDevice(u, w) && n.kind !== kind) {
      out.push(
        `${ids} is present as ${n.path}, ${KIND_WORDS[n.kind]} (the device is in another interface mode)`,
      );
    } else if (u.productId === w.productId && n.kind === kind) {
      out.push(`${ids} is (${n.path})`);
    } else if (w.serialNumber !== undefined && u.serialNumber === w.serialNumber) {
      out.push(
        `${ids} is present as ${n.path} (same serial number, another product id: another interface mode?)`,
      );
    }
  }
  return [...new Set(out)];
}

function isStableLink(l: string): boolean {
  return /\/(by-id|posbridge)\//.test(l);
}

function kindPlural(kind: NodeKind): string {
  return kind === "serial" ? "serial ports" : kind === "hidraw" ? "hidraw nodes" : "input nodes";
}

/**
 * One phrase for a lane device: "/dev/serial/by-id/… is /dev/ttyUSB0 (0403:6001 serial A10K)",
 * "usb 0c2e:0b61 serial … is /dev/ttyACM0", or why it is not ("0c2e:0b61 serial 21100B4F71 not
 * present; 0c2e:0b61 serial 21100B4F72 is (/dev/ttyACM1)").
 */
export function describeMatch(m: LaneMatch, configured: string): string {
  switch (m.status) {
    case "found": {
      const ids = m.node?.usb ? ` (${describeIds(m.node.usb)})` : "";
      const where = configured === m.realPath ? `${m.realPath} is present` : `${configured} is ${m.realPath}`;
      return `${where}${ids}${m.note ? `; ${m.note}` : ""}`;
    }
    case "absent":
      return [m.why, ...m.instead].join("; ");
    case "wrong":
      return m.why;
  }
}
