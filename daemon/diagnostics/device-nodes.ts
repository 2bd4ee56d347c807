// Every serial, hidraw and evdev node the kernel has, with what a technician needs to tell them
// apart: the stable links udev made (/dev/serial/by-id …), the USB ids and port, the driver, the
// owner and mode, and udev's properties — read from sysfs, /dev and udev's database
// (/run/udev/data/c<major>:<minor>) without udevadm, which a minimal image may lack.
//
// What is listed:
//   - serial: /sys/class/tty/* with a `device` link (virtual consoles and ptys have none),
//     skipping 8250 ports where no UART answered (`type` 0: the 32 phantom ttyS a PC kernel
//     registers). A pty is not a device: a lane configured with one shows the pty under its lane.
//   - hidraw: /sys/class/hidraw/*.
//   - evdev: /sys/class/input/event* (keyboards, scanners in keyboard mode, power buttons …).
// USB ids come from the USB device above each node (device-identity.ts#usbAncestor, the same
// walk the daemon uses to resolve `usb:` devices).
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type UsbAncestor, usbAncestor } from "../devices/device-identity.js";
import type { Accounts } from "./accounts.js";
import type { SystemRoots } from "./system-roots.js";

export type NodeKind = "serial" | "hidraw" | "evdev";

export const NODE_KINDS: readonly NodeKind[] = ["serial", "hidraw", "evdev"];

export interface UsbFacts {
  vendorId: string;
  productId: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  /** USB port path, e.g. "1-1.2" (udev KERNELS). */
  port: string;
}

export interface DeviceNode {
  kind: NodeKind;
  /** Kernel name: ttyUSB0, hidraw1, event5. */
  name: string;
  /** The node: /dev/ttyUSB0, /dev/hidraw1, /dev/input/event5. */
  path: string;
  /** The node exists in /dev (sysfs may list a device whose node udev has not made yet). */
  present: boolean;
  /** Links to the node: /dev/serial/by-id/…, /dev/serial/by-path/…, /dev/posbridge/…, sorted. */
  links: string[];
  /** "major:minor". */
  devno?: string;
  usb?: UsbFacts;
  /** The kernel driver nearest the node: ftdi_sio, cp210x, cdc_acm, hid-generic, serial8250 … */
  driver?: string;
  /** evdev: the input device's name; hidraw: the HID device's name. */
  label?: string;
  /** Owner, group and mode of the node ("0660"). */
  access?: { owner: string; group: string; mode: string };
  /**
   * udev's properties of the node (E: lines of its database entry) that the checks read;
   * undefined when udev has no entry (no udev, or /run/udev not readable).
   */
  udev?: { mmDeviceIgnore: boolean; serial?: string };
}

/** Where udev makes the links that name a device for good. */
const LINK_DIRS = ["serial/by-id", "serial/by-path", "input/by-id", "input/by-path", "posbridge"];

export function scanDeviceNodes(roots: SystemRoots, accounts: Accounts): DeviceNode[] {
  const links = linksByTarget(roots.dev);
  const nodes: DeviceNode[] = [];
  for (const kind of NODE_KINDS) {
    for (const name of classMembers(roots.sys, kind)) {
      const node = describeNode(roots, accounts, kind, name, links);
      if (node) nodes.push(node);
    }
  }
  return nodes;
}

const CLASS_DIR: Record<NodeKind, string> = { serial: "tty", hidraw: "hidraw", evdev: "input" };

function classMembers(sysRoot: string, kind: NodeKind): string[] {
  try {
    const names = readdirSync(join(sysRoot, "class", CLASS_DIR[kind]));
    return (kind === "evdev" ? names.filter((n) => /^event\d+$/.test(n)) : names).sort(byKernelName);
  } catch {
    return [];
  }
}

/** ttyUSB2 before ttyUSB10. */
function byKernelName(a: string, b: string): number {
  const [, pa = a, na = "0"] = /^(.*?)(\d*)$/.exec(a) ?? [];
  const [, pb = b, nb = "0"] = /^(.*?)(\d*)$/.exec(b) ?? [];
  return pa === pb ? Number(na) - Number(nb) : pa < pb ? -1 : 1;
}

function describeNode(
  roots: SystemRoots,
  accounts: Accounts,
  kind: NodeKind,
  name: string,
  links: Map<string, string[]>,
): DeviceNode | undefined {
  const classEntry = join(roots.sys, "class", CLASS_DIR[kind], name);
  let deviceDir: string;
  try {
    deviceDir = realpathSync(join(classEntry, "device"));
  } catch {
    return undefined; // a virtual console, a pty master, the console: not a device
  }
  if (kind === "serial" && readAttr(classEntry, "type") === "0") return undefined; // no UART there
  const path = kind === "evdev" ? join(roots.dev, "input", name) : join(roots.dev, name);
  const devno = readAttr(classEntry, "dev");
  const node: DeviceNode = {
    kind,
    name,
    path,
    present: existsSync(path),
    links: [],
  };
  const udev = udevEntry(roots, devno);
  const udevLinks = (udev?.links ?? []).map((l) => join(roots.dev, l)).filter((l) => existsSync(l));
  node.links = [...new Set([...(links.get(safeRealpath(path)) ?? []), ...udevLinks])].sort();
  if (devno) node.devno = devno;
  const usb = usbAncestor(deviceDir, roots.sys);
  if (usb) node.usb = usbFacts(usb);
  const driver = nearestDriver(deviceDir, roots.sys);
  if (driver) node.driver = driver;
  const label = kind === "evdev" ? readAttr(deviceDir, "name") : hidName(deviceDir);
  if (label) node.label = label;
  try {
    const st = statSync(path);
    node.access = {
      owner: accounts.userName(st.uid),
      group: accounts.groupName(st.gid),
      mode: (st.mode & 0o7777).toString(8).padStart(4, "0"),
    };
  } catch {
    // not present
  }
  if (udev) {
    node.udev = { mmDeviceIgnore: isTrue(udev.properties.get("ID_MM_DEVICE_IGNORE")) };
    const serial = udev.properties.get("ID_SERIAL");
    if (serial) node.udev.serial = serial;
  }
  return node;
}

function usbFacts(u: UsbAncestor): UsbFacts {
  return {
    vendorId: u.vendorId,
    productId: u.productId,
    ...(u.serialNumber !== undefined ? { serialNumber: u.serialNumber } : {}),
    ...(u.manufacturer !== undefined ? { manufacturer: u.manufacturer } : {}),
    ...(u.product !== undefined ? { product: u.product } : {}),
    port: u.port,
  };
}

/** udev's database entry of a character device: its E: properties and S: links (relative to /dev). */
export interface UdevEntry {
  properties: Map<string, string>;
  links: string[];
}

/** undefined when udev has no entry for the node (no udev, or /run/udev not readable). */
export function udevEntry(roots: SystemRoots, devno: string | undefined): UdevEntry | undefined {
  if (!devno) return undefined;
  let text: string;
  try {
    text = readFileSync(join(roots.run, "udev", "data", `c${devno}`), "utf8");
  } catch {
    return undefined;
  }
  const entry: UdevEntry = { properties: new Map(), links: [] };
  for (const line of text.split("\n")) {
    const m = /^E:([^=]+)=(.*)$/.exec(line);
    if (m) entry.properties.set(m[1] as string, m[2] as string);
    else if (line.startsWith("S:")) entry.links.push(line.slice(2).trim());
  }
  return entry;
}

/** Whether udev's database can be read at all here (/run/udev/data). */
export function udevDatabasePresent(roots: SystemRoots): boolean {
  return existsSync(join(roots.run, "udev", "data"));
}

function isTrue(v: string | undefined): boolean {
  return v === "1" || v === "true" || v === "yes";
}

/** link target (realpath) → the links in LINK_DIRS that point at it. */
function linksByTarget(devRoot: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const dir of LINK_DIRS) {
    const full = join(devRoot, dir);
    let names: string[];
    try {
      names = readdirSync(full);
    } catch {
      continue;
    }
    for (const n of names) {
      const link = join(full, n);
      let target: string;
      try {
        target = realpathSync(link);
      } catch {
        continue; // dangling
      }
      out.set(target, [...(out.get(target) ?? []), link]);
    }
  }
  return out;
}

/** The driver bound nearest the node, walking up from its device (an input device has none; its HID parent does). */
function nearestDriver(deviceDir: string, sysRoot: string): string | undefined {
  const root = safeRealpath(sysRoot);
  let dir = deviceDir;
  for (let i = 0; i < 6 && dir.startsWith(root) && dir !== root; i++, dir = dirname(dir)) {
    try {
      return basename(realpathSync(join(dir, "driver")));
    } catch {
      // no driver bound here
    }
  }
  return undefined;
}

function hidName(deviceDir: string): string | undefined {
  try {
    return /^HID_NAME=(.*)$/m.exec(readFileSync(join(deviceDir, "uevent"), "utf8"))?.[1]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    const v = readFileSync(join(dir, name), "utf8").trim();
    return v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}

export function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** "0c2e:0b61 serial 21100B4F71" (the ids as the config and lsusb write them). */
export function describeIds(u: {
  vendorId: string;
  productId: string;
  serialNumber?: string | undefined;
}): string {
  const ids = `${u.vendorId.toLowerCase()}:${u.productId.toLowerCase()}`;
  return u.serialNumber === undefined ? ids : `${ids} serial ${u.serialNumber}`;
}
