// Where a configured device is right now. A device is named by a path (a /dev node or a
// /dev/serial/by-id|by-path link) or by its USB ids; either is resolved again on every open
// attempt, so an adapter that comes back under a new /dev/ttyUSBn is found again. USB ids are
// matched through sysfs: /sys/class/tty/<name>/device, walked up to the USB device directory that
// holds idVendor, idProduct and serial (the same attributes udev's ATTRS{…} match).
//
// Two roles must never share one device (a scanner configured twice under two spellings would
// have its bytes split between two readers): every opener claims the device's real path
// (realpath of the resolved node) for as long as it holds it open.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { DeviceLocation, UsbDeviceId } from "../config/config-types.js";

/** What a device node turned out to be. "missing": no such node on disk (the opener decides). */
export type NodeKind = "char" | "directory" | "file" | "other" | "missing";

export type Resolution =
  | {
      ok: true;
      /** The path to open (the configured path, or /dev/<tty> found for the USB ids). */
      path: string;
      /** realpath of `path` (equal to `path` when it does not exist). */
      realPath: string;
      node: NodeKind;
    }
  | {
      ok: false;
      /** true: the device is not plugged in (ABSENT); false: a setup problem (FAULT). */
      absent: boolean;
      error: string;
    };

/** One serial port in sysfs that belongs to a USB device. */
export interface UsbTty {
  /** Kernel name, e.g. ttyUSB0, ttyACM1. */
  name: string;
  vendorId: string;
  productId: string;
  serialNumber: string | undefined;
}

export interface DeviceResolverOptions {
  /** Default "/sys"; tests point it at a fake tree. */
  sysfsRoot?: string;
  /** Where the tty nodes are; default "/dev". */
  devRoot?: string;
  /** A sysfs scan is reused this long (many devices resolving at once); default 200 ms. */
  cacheMs?: number;
  now?: () => number;
}

/** Human form of a location for logs and messages: the path, or "usb 0403:6001 serial A10K". */
export function describeLocation(location: DeviceLocation): string {
  if (location.path !== undefined) return location.path;
  if (location.usb !== undefined) return describeUsb(location.usb);
  return "(no device configured)";
}

export function describeUsb(usb: UsbDeviceId): string {
  const ids = `usb ${usb.vendorId.toLowerCase()}:${usb.productId.toLowerCase()}`;
  return usb.serialNumber === undefined ? ids : `${ids} serial ${usb.serialNumber}`;
}

export class DeviceResolver {
  readonly sysfsRoot: string;
  readonly devRoot: string;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private cache: { at: number; ttys: UsbTty[] } | undefined;

  constructor(options: DeviceResolverOptions = {}) {
    this.sysfsRoot = options.sysfsRoot ?? "/sys";
    this.devRoot = options.devRoot ?? "/dev";
    this.cacheMs = options.cacheMs ?? 200;
    this.now = options.now ?? (() => performance.now()); // monotonic: a cache age, not a date
  }

  resolve(location: DeviceLocation): Resolution {
    if (location.path !== undefined) return inspect(location.path);
    if (location.usb !== undefined) return this.resolveUsb(location.usb);
    return { ok: false, absent: false, error: "neither path nor usb is configured" };
  }

  /** Every tty in sysfs that sits on a USB device, with that device's ids. */
  usbTtys(): UsbTty[] {
    const now = this.now();
    if (this.cache && now - this.cache.at < this.cacheMs) return this.cache.ttys;
    const ttys = scanUsbTtys(this.sysfsRoot);
    this.cache = { at: now, ttys };
    return ttys;
  }

  private resolveUsb(usb: UsbDeviceId): Resolution {
    const matches = this.usbTtys().filter((t) => matchesUsb(t, usb));
    if (matches.length === 0) {
      return { ok: false, absent: true, error: `no serial port of ${describeUsb(usb)} is plugged in` };
    }
    if (matches.length > 1) {
      const names = matches.map((m) => m.name).join(", ");
      return {
        ok: false,
        absent: false,
        error: `${matches.length} serial ports match ${describeUsb(usb)} (${names}): add serialNumber, or name the port by its /dev/serial/by-id or by-path link`,
      };
    }
    return inspect(join(this.devRoot, (matches[0] as UsbTty).name));
  }
}

export function matchesUsb(tty: UsbTty, usb: UsbDeviceId): boolean {
  return (
    tty.vendorId === usb.vendorId.toLowerCase() &&
    tty.productId === usb.productId.toLowerCase() &&
    (usb.serialNumber === undefined || tty.serialNumber === usb.serialNumber)
  );
}

/** realpath and node type of `path`; a path that does not exist is "missing", not an error. */
export function inspect(path: string): Resolution {
  let realPath: string;
  try {
    realPath = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: true, path, realPath: path, node: "missing" };
    return { ok: false, absent: false, error: `cannot resolve ${path}: ${code ?? (err as Error).message}` };
  }
  try {
    const st = statSync(realPath);
    const node: NodeKind = st.isCharacterDevice()
      ? "char"
      : st.isDirectory()
        ? "directory"
        : st.isFile()
          ? "file"
          : "other";
    return { ok: true, path, realPath, node };
  } catch {
    return { ok: true, path, realPath, node: "missing" };
  }
}

function scanUsbTtys(sysfsRoot: string): UsbTty[] {
  const classDir = join(sysfsRoot, "class", "tty");
  let names: string[];
  try {
    names = readdirSync(classDir);
  } catch {
    return [];
  }
  const out: UsbTty[] = [];
  for (const name of names.sort()) {
    let dir: string;
    try {
      dir = realpathSync(join(classDir, name, "device"));
    } catch {
      continue; // virtual terminals and ptys have no device
    }
    const usb = usbAncestor(dir, sysfsRoot);
    if (!usb) continue;
    out.push({ name, vendorId: usb.vendorId, productId: usb.productId, serialNumber: usb.serialNumber });
  }
  return out;
}

/** The USB device a sysfs device sits on (a tty, a hidraw or an input device): its ids and port. */
export interface UsbAncestor {
  /** The USB device's sysfs directory. */
  dir: string;
  /** Lower-case hex, as udev's ATTRS{idVendor} and the config's usb.vendorId. */
  vendorId: string;
  productId: string;
  serialNumber: string | undefined;
  manufacturer: string | undefined;
  product: string | undefined;
  /** The USB port path, e.g. "1-1.2" (udev's KERNELS), the directory's name. */
  port: string;
}

/** The nearest USB device above `deviceDir` (a realpath inside `sysfsRoot`); undefined when not on USB. */
export function usbAncestor(deviceDir: string, sysfsRoot: string): UsbAncestor | undefined {
  const usbDir = usbDeviceDir(deviceDir, sysfsRoot);
  if (!usbDir) return undefined;
  const vendorId = readAttr(usbDir, "idVendor")?.toLowerCase();
  const productId = readAttr(usbDir, "idProduct")?.toLowerCase();
  if (!vendorId || !productId) return undefined;
  return {
    dir: usbDir,
    vendorId,
    productId,
    serialNumber: readAttr(usbDir, "serial"),
    manufacturer: readAttr(usbDir, "manufacturer"),
    product: readAttr(usbDir, "product"),
    port: basename(usbDir),
  };
}

/** The nearest ancestor (or self) holding idVendor and idProduct: the USB device, not its interface. */
function usbDeviceDir(start: string, sysfsRoot: string): string | undefined {
  const root = safeRealpath(sysfsRoot);
  for (let dir = start; dir.startsWith(root) && dir !== root; dir = dirname(dir)) {
    if (existsSync(join(dir, "idVendor")) && existsSync(join(dir, "idProduct"))) return dir;
    if (dirname(dir) === dir) break;
  }
  return undefined;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    const value = readFileSync(join(dir, name), "utf8").trim();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/**
 * Which opener holds which device (by real path). One per process: two lanes of one daemon must
 * not share a device, whatever path spelling each was configured with.
 */
export class DeviceClaims {
  private readonly held = new Map<string, string>();

  /** Claims `realPath` for `owner`; returns the other owner when someone else holds it. */
  claim(realPath: string, owner: string): string | undefined {
    const other = this.held.get(realPath);
    if (other !== undefined && other !== owner) return other;
    this.held.set(realPath, owner);
    return undefined;
  }

  release(realPath: string, owner: string): void {
    if (this.held.get(realPath) === owner) this.held.delete(realPath);
  }

  holder(realPath: string): string | undefined {
    return this.held.get(realPath);
  }
}

export const processClaims = new DeviceClaims();

export const defaultResolver = new DeviceResolver();

/** A device of the config, for the start-time check. */
export interface NamedLocation {
  /** Config field of the device, e.g. "lanes[1].scanner". */
  field: string;
  location: DeviceLocation;
}

/**
 * Devices that resolve to one real device node under different spellings (a by-id link and
 * /dev/ttyUSB0, or a path and USB ids): each later one is reported against the first. Devices
 * that are not plugged in cannot be compared here; the claim at open time catches those.
 */
export function findSharedDevices(
  devices: readonly NamedLocation[],
  resolver: DeviceResolver = defaultResolver,
): { field: string; message: string }[] {
  const first = new Map<string, NamedLocation>();
  const problems: { field: string; message: string }[] = [];
  for (const d of devices) {
    const r = resolver.resolve(d.location);
    if (!r.ok || r.node === "missing") continue;
    const earlier = first.get(r.realPath);
    if (!earlier) {
      first.set(r.realPath, d);
      continue;
    }
    const key = d.location.path !== undefined ? "path" : "usb";
    problems.push({
      field: `${d.field}.${key}`,
      message: `${describeLocation(d.location)} is the same device as ${earlier.field} (${describeLocation(earlier.location)}, both ${r.realPath}); each device serves one role`,
    });
  }
  return problems;
}
