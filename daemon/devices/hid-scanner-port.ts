// A USB HID barcode scanner read through hidraw (node-hid): HID POS mode (usage page 0x8C,
// HidPosDecoder) or keyboard mode (boot keyboard reports, KeyboardWedgeDecoder).
//
// - Supervised like PortSupervisor (scanner-device.ts ScannerLoop): ABSENT while nothing matches,
//   FAULT with the reason when a match cannot be opened, capped jittered back-off in between.
// - Every attempt enumerates again, so a scanner replugged under another /dev/hidrawN is found.
// - node-hid often says nothing on unplug, or only an 'error' from the next read
//   (node-hid/node-hid#520): while open, the device list is checked every RECONCILE_MS.
// - A matching device that is not a scanner of the configured kind (a vendor-specific or mouse
//   interface, a scanner left in the other mode) is a FAULT saying so, retried every ~30 s.
// - node-hid missing or not loading (no libusb, no prebuild) leaves this port FAULT with the
//   PB_DEVICE_UNAVAILABLE reason; the rest of the daemon is not affected.
// - The real backend uses node-hid's async API: the sync `new HID.HID(path)` reader holds one of
//   libuv's 4 pool threads for as long as the device is open (node-hid README "Async vs sync API";
//   src/HID.cc ReadWorker loops in the pool), which the journal's fs writes share, and closing it
//   mid-read has crashed before (node-hid#559). Both backend calls may therefore return promises.
//
// Keyboard mode through hidraw does NOT stop the scanner typing into the focused window or
// console: the kernel feeds the same reports to its keyboard driver as well (see the header of
// evdev-scanner-port.ts for the udev rule that hides it from X/Wayland).
import { realpath } from "node:fs/promises";
import { HID_POS_REPORT_ID, HID_POS_USAGE_PAGE, HidPosDecoder } from "../../protocols/scanner/hid-pos.js";
import { KeyboardWedgeDecoder } from "../../protocols/scanner/keyboard-wedge.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { type LoadOptions, loadNodeHid } from "./native-modules.js";
import {
  type OpenedScanner,
  type ScannerDevice,
  type ScannerHandlers,
  ScannerLoop,
  type ScannerSession,
  type ScannerStatus,
  ScannerUnavailable,
} from "./scanner-device.js";

/** While a scanner is open, how often the device list is checked for it (ms). */
export const RECONCILE_MS = 2_000;
/** HID Generic Desktop page and its Keyboard usage: what a keyboard-mode scanner reports. */
export const HID_GENERIC_DESKTOP_PAGE = 0x01;
export const HID_KEYBOARD_USAGE = 0x06;

const DEFAULT_STALE_MS = { hidpos: 500, keyboard: 300 } as const;
const PERMISSION_FIX = "see systemd/99-posbridge.rules (group posbridge)";

/** Which HID device is the scanner; every given field must be equal. */
export interface HidMatch {
  path?: string;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  usagePage?: number;
}

export interface HidScannerOptions {
  kind: "hidpos" | "keyboard";
  match: HidMatch;
  maxLength: number;
  /** An unfinished read idle this long is dropped; default 500 (hidpos) / 300 (keyboard). */
  staleMs?: number;
  /** keyboard: "TAB" makes Tab end a read too (Enter always does); default "ENTER". */
  terminator?: "ENTER" | "TAB";
  retryMinMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /** A configured prefix and AIM id removed from each read (ScannerLoopOptions.strip). */
  strip?: (read: string) => string | undefined;
  /** Window of the port's RepeatLimiter; default 60 s. */
  repeatWindowMs?: number;
  /** Input report id: hidpos default 0x02 (Honeywell); keyboard default none (boot reports). */
  reportId?: number;
}

/** One entry of the HID device list. */
export interface HidDeviceInfo {
  path?: string;
  vendorId: number;
  productId: number;
  serialNumber?: string;
  usagePage?: number;
  usage?: number;
  product?: string;
}

/** What we need of node-hid; a fake replays recorded reports through the same code path. */
export interface HidBackend {
  /** May return a promise (the node-hid backend uses devicesAsync). */
  devices(): HidDeviceInfo[] | Promise<HidDeviceInfo[]>;
  /** May return a promise (the node-hid backend uses HIDAsync.open). */
  open(path: string): HidHandle | Promise<HidHandle>;
}

export interface HidHandle {
  on(event: "data", fn: (data: Buffer) => void): void;
  on(event: "error", fn: (err: Error) => void): void;
  close(): void | Promise<void>;
}

/** HidBackend over node-hid (devicesAsync, HIDAsync.open); PB_DEVICE_UNAVAILABLE if it can't load. */
export async function nodeHidBackend(options: LoadOptions = {}): Promise<HidBackend> {
  const hid = await loadNodeHid(options);
  return {
    devices: () => hid.devicesAsync(),
    async open(path) {
      const device = await hid.HIDAsync.open(path);
      const handle: HidHandle = {
        on(event: "data" | "error", fn: ((data: Buffer) => void) | ((err: Error) => void)) {
          if (event === "data") device.on("data", fn as (data: Buffer) => void);
          else device.on("error", fn as (err: Error) => void);
        },
        close: () => device.close(),
      };
      return handle;
    },
  };
}

export interface HidScannerDeps {
  clock: Clock;
  log: Logger;
  /** The backend, or a loader for it; default nodeHidBackend. */
  hid?: HidBackend | (() => Promise<HidBackend>);
}

export class HidScannerPort implements ScannerDevice {
  private readonly loop: ScannerLoop;
  private backend: HidBackend | undefined;
  private warnedKeyboard = false;

  constructor(
    private readonly options: HidScannerOptions,
    private readonly deps: HidScannerDeps,
    handlers: ScannerHandlers,
  ) {
    if (options.kind !== "hidpos" && options.kind !== "keyboard") {
      throw new TypeError(`kind must be "hidpos" or "keyboard", got ${String(options.kind)}`);
    }
    const { path, vendorId, serialNumber } = options.match;
    if (
      options.kind === "keyboard" &&
      path === undefined &&
      vendorId === undefined &&
      serialNumber === undefined
    ) {
      // An empty match would pick the first keyboard: the cashier's own.
      throw new TypeError("a keyboard-mode scanner needs match.path, match.vendorId or match.serialNumber");
    }
    this.newDecoder(); // option errors surface here, not on the first plug-in
    this.loop = new ScannerLoop({
      clock: deps.clock,
      log: deps.log,
      handlers,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
      random: options.random,
      strip: options.strip,
      repeatWindowMs: options.repeatWindowMs,
      open: (session) => this.open(session),
    });
  }

  get status(): ScannerStatus {
    return this.loop.status;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private newDecoder(): HidPosDecoder | KeyboardWedgeDecoder {
    const { kind, maxLength, staleMs, terminator, reportId } = this.options;
    return kind === "hidpos"
      ? new HidPosDecoder({ maxLength, staleMs, reportId: reportId ?? HID_POS_REPORT_ID })
      : new KeyboardWedgeDecoder({ maxLength, staleMs, tabTerminates: terminator === "TAB", reportId });
  }

  private async getBackend(): Promise<HidBackend> {
    if (this.backend) return this.backend;
    const source = this.deps.hid ?? nodeHidBackend;
    if (typeof source !== "function") {
      this.backend = source;
      return source;
    }
    try {
      this.backend = await source();
      return this.backend;
    } catch (err) {
      // PB_DEVICE_UNAVAILABLE: only installing something fixes it; not cached, so that is picked up.
      throw new ScannerUnavailable("FAULT", (err as Error)?.message || String(err), "slow");
    }
  }

  private async list(backend: HidBackend): Promise<HidDeviceInfo[]> {
    try {
      return await backend.devices();
    } catch (err) {
      throw new ScannerUnavailable("FAULT", `cannot list HID devices: ${(err as Error).message}`);
    }
  }

  private async open(session: ScannerSession): Promise<OpenedScanner> {
    const { clock, log } = this.deps;
    const backend = await this.getBackend();
    const match = await resolveMatch(this.options.match);
    const device = this.pick(await this.list(backend), match);
    const path = device.path as string;
    let handle: HidHandle;
    try {
      handle = await backend.open(path);
    } catch (err) {
      throw openProblem(path, err);
    }
    const decoder = this.newDecoder();
    const staleMs = this.options.staleMs ?? DEFAULT_STALE_MS[this.options.kind];
    let idle: TimerHandle | undefined;
    handle.on("data", (data) => {
      if (!session.live) return;
      session.deliver(decoder.push(data, clock.monoNow()));
      // A read is one burst of reports: one left unfinished after a pause is broken and must not
      // be glued onto the next one.
      idle?.cancel();
      idle = session.setTimeout(() => session.deliver(decoder.reset()), staleMs);
    });
    handle.on("error", (err) => void this.readFailed(session, backend, path, match, err));
    const reconcile = () => {
      session.setTimeout(() => void this.reconcile(session, backend, path, match, reconcile), RECONCILE_MS);
    };
    reconcile();
    if (this.options.kind === "keyboard" && !this.warnedKeyboard) {
      this.warnedKeyboard = true;
      log.warn(
        { hidPath: path },
        "keyboard-mode scanner read through hidraw: the kernel still types its keys into the focused " +
          "window unless a udev rule hides it; HID POS or serial mode is better",
      );
    }
    return {
      close: () => {
        decoder.reset(); // zeroes a partial read
        return handle.close();
      },
      info: {
        hidPath: path,
        vendorId: hex(device.vendorId, 4),
        productId: hex(device.productId, 4),
        usagePage: device.usagePage === undefined ? undefined : hex(device.usagePage, 2),
      },
    };
  }

  /** The device to open among those listed, or why there is none. */
  private pick(list: readonly HidDeviceInfo[], match: ResolvedMatch): HidDeviceInfo {
    const { kind } = this.options;
    const candidates = list.filter((d) => matches(d, match));
    const openable = candidates.filter((d) => d.path);
    const fitting = openable.find((d) => fitsKind(d, kind) === true);
    if (fitting) return fitting;
    const emptyMatch = Object.values(this.options.match).every((v) => v === undefined);
    if (emptyMatch) {
      // No criteria: only a device that says it is a HID POS scanner will do.
      throw new ScannerUnavailable(
        "ABSENT",
        `no HID POS scanner (usage page ${hex(HID_POS_USAGE_PAGE, 2)}) found`,
      );
    }
    const unknown = openable.find((d) => fitsKind(d, kind) === undefined);
    if (unknown) return unknown; // the platform does not report usage pages: trust the match
    if (candidates.length === 0)
      throw new ScannerUnavailable("ABSENT", `no HID device matches ${describe(match)}`);
    const other = openable[0];
    if (!other) {
      throw new ScannerUnavailable(
        "FAULT",
        `the HID device matching ${describe(match)} has no device path`,
        "slow",
      );
    }
    const usage = other.usage === undefined ? "" : `, usage ${hex(other.usage, 2)}`;
    const expected =
      kind === "hidpos"
        ? `a HID POS scanner has usage page ${hex(HID_POS_USAGE_PAGE, 2)}: set the scanner to HID POS mode`
        : `a keyboard-mode scanner has usage page ${hex(HID_GENERIC_DESKTOP_PAGE, 2)}, usage ${hex(HID_KEYBOARD_USAGE, 2)}`;
    throw new ScannerUnavailable(
      "FAULT",
      `${other.path}: not a barcode scanner (usage page ${hex(other.usagePage ?? 0, 2)}${usage}); ` +
        `${expected}, or correct the match`,
      "slow",
    );
  }

  /** While open: is the device still listed? node-hid may never report the unplug itself. */
  private async reconcile(
    session: ScannerSession,
    backend: HidBackend,
    path: string,
    match: ResolvedMatch,
    again: () => void,
  ): Promise<void> {
    let present: boolean;
    try {
      present = (await backend.devices()).some((d) => d.path === path && matches(d, match));
    } catch (err) {
      this.deps.log.debug({ error: (err as Error).message }, "HID device list failed; checking again later");
      if (session.live) again();
      return;
    }
    if (!session.live) return;
    if (present) again();
    else session.lost(new ScannerUnavailable("ABSENT", `${path} was unplugged (no longer listed)`));
  }

  /** A read failed: unplugged if the device is no longer listed, otherwise a fault. */
  private async readFailed(
    session: ScannerSession,
    backend: HidBackend,
    path: string,
    match: ResolvedMatch,
    err: Error,
  ): Promise<void> {
    if (!session.live) return;
    let present = false;
    try {
      present = (await backend.devices()).some((d) => d.path === path && matches(d, match));
    } catch {
      // Cannot tell: treat as gone; the next attempt enumerates again.
    }
    const reason = err?.message || "read failed";
    session.lost(
      present
        ? new ScannerUnavailable("FAULT", `${path}: ${reason}`)
        : new ScannerUnavailable("ABSENT", `${path} was unplugged (${reason})`),
    );
  }
}

/** A match whose path may be a udev link (/dev/posbridge/scanner-lane3): also its target now. */
interface ResolvedMatch extends HidMatch {
  realPath?: string;
}

/** Resolved on every attempt: after a replug the same link points at another hidraw node. */
async function resolveMatch(match: HidMatch): Promise<ResolvedMatch> {
  // A hidraw node itself, or a non-file path (macOS "IOService:…", Windows "\\?\hid#…"): as is.
  if (match.path === undefined || !match.path.startsWith("/") || /^\/dev\/hidraw\d+$/.test(match.path)) {
    return match;
  }
  const realPath = await realpath(match.path).catch(() => match.path);
  return { ...match, realPath };
}

function matches(d: HidDeviceInfo, m: ResolvedMatch): boolean {
  return (
    (m.path === undefined || d.path === m.path || d.path === m.realPath) &&
    (m.vendorId === undefined || d.vendorId === m.vendorId) &&
    (m.productId === undefined || d.productId === m.productId) &&
    (m.serialNumber === undefined || d.serialNumber === m.serialNumber) &&
    (m.usagePage === undefined || d.usagePage === m.usagePage)
  );
}

/** true: the right kind of scanner; false: something else; undefined: the platform did not say. */
function fitsKind(d: HidDeviceInfo, kind: HidScannerOptions["kind"]): boolean | undefined {
  if (d.usagePage === undefined) return undefined;
  if (kind === "hidpos") return d.usagePage === HID_POS_USAGE_PAGE;
  if (d.usagePage !== HID_GENERIC_DESKTOP_PAGE) return false;
  return d.usage === undefined ? undefined : d.usage === HID_KEYBOARD_USAGE;
}

function describe(m: HidMatch): string {
  const parts: string[] = [];
  if (m.path !== undefined) parts.push(`path ${m.path}`);
  if (m.vendorId !== undefined) parts.push(`vendorId ${hex(m.vendorId, 4)}`);
  if (m.productId !== undefined) parts.push(`productId ${hex(m.productId, 4)}`);
  if (m.serialNumber !== undefined) parts.push(`serialNumber "${m.serialNumber}"`);
  if (m.usagePage !== undefined) parts.push(`usagePage ${hex(m.usagePage, 2)}`);
  return parts.join(", ");
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, "0")}`;
}

function openProblem(path: string, err: unknown): ScannerUnavailable {
  const message = (err as Error)?.message || String(err);
  if (/EACCES|EPERM|permission denied|operation not permitted/i.test(message)) {
    return new ScannerUnavailable("FAULT", `${path}: permission denied: ${PERMISSION_FIX}`);
  }
  if (/ENOENT|ENODEV|no such (file|device)/i.test(message)) {
    return new ScannerUnavailable("ABSENT", `${path} disappeared before it could be opened`);
  }
  if (/EBUSY|resource busy|exclusive/i.test(message)) {
    return new ScannerUnavailable("FAULT", `${path}: in use by another program (${message})`);
  }
  return new ScannerUnavailable("FAULT", `${path}: ${message}`);
}
