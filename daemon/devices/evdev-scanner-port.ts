// A keyboard-wedge scanner read from its Linux evdev node — /dev/input/eventN, or better the stable
// /dev/input/by-id/usb-…-event-kbd link — as a byte stream: parseInputEvents → EvdevKeyDecoder.
// Supervised like the other scanner ports (scanner-device.ts): a missing node is ABSENT, no
// permission is FAULT naming the udev rule, a directory is FAULT, back-off in between.
//
// NO EXCLUSIVE GRAB. Stopping the scanner's keys from also reaching the rest of the system needs
// the EVIOCGRAB ioctl (kernel input_grab_device: all events go only to the grabbing handle). Node
// has no ioctl, and no installed module offers one: @serialport/bindings-cpp issues only its own
// tty ioctls, node-hid and usb none; npm's `ioctl` package is a node-gyp addon compiled at install
// (python-evdev, golang-evdev and Odoo's IoT box grab through such bindings; sdumetz/node-evdev#7).
// Without the grab the kernel hands every key to its other handlers as well: the VT console
// (drivers/tty/vt/keyboard.c kbd_match takes any EV_KEY device, whatever udev says) and, via udev,
// the X server and Wayland compositors. The alternatives, compared:
//
// 1. udev rule that takes the scanner's event node away from the desktop [RECOMMENDED, no code]:
//      SUBSYSTEM=="input", KERNEL=="event[0-9]*", ACTION!="remove", ATTRS{idVendor}=="1eab",
//      ATTRS{serial}=="NLS0000001", ENV{ID_INPUT}="", ENV{ID_INPUT_KEY}="",
//      ENV{ID_INPUT_KEYBOARD}="", ENV{LIBINPUT_IGNORE_DEVICE}="1",
//      SYMLINK+="posbridge/scanner-lane6", GROUP="posbridge", MODE="0660"
//    in systemd/99-posbridge.rules (after 60-persistent-input.rules, so the by-id link is kept).
//    libinput skips a device "not tagged as input device" (no ID_INPUT; src/evdev.c) or with
//    LIBINPUT_IGNORE_DEVICE (libinput docs, "Ignoring specific devices"); the X server's udev
//    backend skips devices without ID_INPUT (xserver config/udev.c). So GNOME/KDE/Weston/sway and
//    X (xf86-input-libinput or -evdev) never see the keys; this daemon still reads the node. Holds
//    while the daemon is down or restarting; no native code, no extra process. Not covered: the
//    kernel VT console — a POS application on a text console still receives the keys.
// 2. LIBINPUT_IGNORE_DEVICE alone: libinput only ("other parts of the stack … continue treating
//    this device normally"): an X server using xf86-input-evdev still types the keys.
// 3. hidraw (HidScannerPort kind "keyboard"): the kernel still creates and feeds the keyboard
//    input device (HID_CONNECT_DEFAULT = HIDINPUT | HIDRAW), so keys are typed exactly as without
//    it; needs node-hid, whose Linux prebuild needs libusb. Only worth it where no evdev node is
//    readable; it needs rule 1 all the same.
// 4. A grabbing helper process: `intercept -g <node>` (Debian package interception-tools) takes the
//    EVIOCGRAB through libevdev and writes the raw `struct input_event` records to stdout — the
//    bytes this port parses — see interceptStreamOpener() for `deps.openStream`. A real grab: the
//    console and everything else stop seeing the keys, and the kernel releases it when the helper
//    dies. Costs: one more package and process; its libevdev re-syncs after SYN_DROPPED instead of
//    passing it on, so a read that lost keys is not flagged; the grab fails if X's evdev driver
//    already holds one.
// 5. Our own native addon (or npm `ioctl`): a compiler or prebuilds for every platform; this
//    project ships none.
// Recommended: configure the scanner into HID POS or USB serial mode where it can be; otherwise
// rule 1 for a graphical till, plus option 4 where the POS runs on a text console.
//
// fs streams read in libuv's thread pool: an open evdev node keeps one of its 4 threads blocked
// in read() until the next key; closing the port does not wake it (that thread returns at the next
// key or unplug). One scanner per lane is fine; raise UV_THREADPOOL_SIZE for many.
import { type ChildProcess, spawn } from "node:child_process";
import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import {
  EvdevKeyDecoder,
  type InputEventRecordSize,
  parseInputEvents,
} from "../../protocols/scanner/keyboard-wedge.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "../log/logger.js";
import {
  type OpenedScanner,
  type ScannerChunk,
  type ScannerDevice,
  type ScannerHandlers,
  ScannerLoop,
  type ScannerSession,
  type ScannerStatus,
  ScannerUnavailable,
} from "./scanner-device.js";

const DEFAULT_STALE_MS = 300;
const PERMISSION_FIX = 'see systemd/99-posbridge.rules (SUBSYSTEM=="input" rule, group posbridge)';

export interface EvdevScannerOptions {
  /** /dev/input/eventN or a /dev/input/by-id/…-event-kbd link. */
  path: string;
  maxLength: number;
  /** An unfinished read idle this long is dropped; default 300. */
  staleMs?: number;
  /** "TAB" makes Tab end a read too (Enter always does); default "ENTER". */
  terminator?: "ENTER" | "TAB";
  retryMinMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /** A configured prefix and AIM id removed from each read (ScannerLoopOptions.strip). */
  strip?: (read: string) => string | undefined;
  /** Window of the port's RepeatLimiter; default 60 s. */
  repeatWindowMs?: number;
  /** Size of `struct input_event` as this process sees it; default from process.arch (24 on 64-bit). */
  recordSize?: InputEventRecordSize;
}

export interface EvdevScannerDeps {
  clock: Clock;
  log: Logger;
  /**
   * Opens the event stream; default: stat the path, then fs.createReadStream (no grab). A stream
   * with `pending === true` (fs streams) counts as open at its 'ready' event, any other at once.
   */
  openStream?: (path: string) => Readable;
}

/** 64 records of 24 bytes per read. */
export const EVDEV_READ_BYTES = 24 * 64;

const WIDE_ARCHES: ReadonlySet<string> = new Set([
  "x64",
  "arm64",
  "ppc64",
  "s390x",
  "riscv64",
  "loong64",
  "mips64el",
]);

/** `struct input_event` is two longs of timeval + 8 bytes: 24 bytes for 64-bit processes, else 16. */
export function defaultRecordSize(arch: string = process.arch): InputEventRecordSize {
  return WIDE_ARCHES.has(arch) ? 24 : 16;
}

/** The plain reader: fs.createReadStream, one threadpool read at a time, no grab. */
export function fileEventStream(path: string): Readable {
  return createReadStream(path, { highWaterMark: EVDEV_READ_BYTES });
}

export class EvdevScannerPort implements ScannerDevice {
  private readonly loop: ScannerLoop;
  private readonly recordSize: InputEventRecordSize;

  constructor(
    private readonly options: EvdevScannerOptions,
    private readonly deps: EvdevScannerDeps,
    handlers: ScannerHandlers,
  ) {
    if (typeof options.path !== "string" || options.path === "") {
      throw new TypeError("path must name an evdev node, e.g. /dev/input/by-id/…-event-kbd");
    }
    this.recordSize = options.recordSize ?? defaultRecordSize();
    parseInputEvents(new Uint8Array(0), this.recordSize); // validates recordSize
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

  private newDecoder(): EvdevKeyDecoder {
    const { maxLength, staleMs, terminator } = this.options;
    return new EvdevKeyDecoder({ maxLength, staleMs, tabTerminates: terminator === "TAB" });
  }

  private async open(session: ScannerSession): Promise<OpenedScanner> {
    const { path } = this.options;
    const { clock } = this.deps;
    const custom = this.deps.openStream;
    let regularFile = false;
    if (!custom) {
      let info: Stats;
      try {
        info = await stat(path);
      } catch (err) {
        throw streamProblem(path, err);
      }
      if (info.isDirectory())
        throw streamProblem(path, Object.assign(new Error("EISDIR"), { code: "EISDIR" }));
      regularFile = info.isFile();
    }
    let stream: Readable;
    try {
      stream = (custom ?? fileEventStream)(path);
    } catch (err) {
      throw streamProblem(path, err);
    }

    let opened = false;
    const openWait = whenOpen(stream);
    stream.on("error", (err: Error) => {
      if (opened) session.lost(streamProblem(path, err));
    });
    try {
      await openWait;
    } catch (err) {
      stream.destroy();
      throw streamProblem(path, err);
    }
    opened = true;

    const decoder = this.newDecoder();
    const staleMs = this.options.staleMs ?? DEFAULT_STALE_MS;
    let rest: Uint8Array = new Uint8Array(0);
    let idle: TimerHandle | undefined;
    stream.on("data", (chunk: Buffer) => {
      if (!session.live) return;
      const bytes = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      const parsed = parseInputEvents(bytes, this.recordSize);
      rest = parsed.rest;
      const now = clock.monoNow();
      const out: ScannerChunk[] = [];
      for (const event of parsed.events) out.push(...decoder.push(event, now));
      session.deliver(out);
      // A read is one burst of keys: one left without its Enter after a pause is broken and must
      // not be glued onto the next one.
      idle?.cancel();
      idle = session.setTimeout(() => session.deliver(decoder.reset()), staleMs);
    });
    stream.on("end", () => {
      session.deliver(decoder.reset());
      // A regular file is read once: reopening it would replay its reads as new scans.
      session.lost(
        regularFile
          ? new ScannerUnavailable(
              "FAULT",
              `${path}: end of file: a regular file, not an input device (read once, not reopened)`,
              "never",
            )
          : new ScannerUnavailable("ABSENT", `${path}: input stream ended`),
      );
    });
    stream.on("close", () => session.lost(new ScannerUnavailable("ABSENT", `${path}: input stream closed`)));

    return {
      close: () => {
        decoder.reset(); // zeroes a partial read
        rest = new Uint8Array(0);
        // Do not wait for 'close': fs waits for the read in flight, i.e. for the next key.
        stream.destroy();
      },
      info: { path, recordSize: this.recordSize, grab: false },
    };
  }
}

/** Resolves when the stream is open: at 'ready' for a pending (fs) stream, at once otherwise. */
function whenOpen(stream: Readable): Promise<void> {
  if ((stream as { pending?: boolean }).pending !== true) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off("ready", onReady);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onReady = () => {
      done();
      resolve();
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(new Error("closed before it opened"));
    };
    stream.on("ready", onReady);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

function streamProblem(path: string, err: unknown): ScannerUnavailable {
  if (err instanceof ScannerUnavailable) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = (err as Error)?.message || String(err);
  switch (code) {
    case "ENOENT":
      return new ScannerUnavailable("ABSENT", `${path} not found (scanner unplugged?)`);
    case "ENODEV":
    case "ENXIO":
      return new ScannerUnavailable("ABSENT", `${path}: device unplugged`);
    case "EACCES":
    case "EPERM":
      return new ScannerUnavailable("FAULT", `${path}: permission denied: ${PERMISSION_FIX}`);
    case "EISDIR":
      return new ScannerUnavailable("FAULT", `${path} is a directory, not an input device`, "slow");
    case "ENOTDIR":
      return new ScannerUnavailable("FAULT", `${path}: a part of the path is not a directory`, "slow");
    default:
      return new ScannerUnavailable("FAULT", `${path}: ${message}`);
  }
}

// --- grabbing helper (option 4 above) ------------------------------------------------------------

export interface HelperOpenerOptions {
  /** Default "intercept" (Debian/Ubuntu package interception-tools). */
  command?: string;
  /** Default `["-g", path]`: grab the device, raw input_event records to stdout. */
  args?: (path: string) => string[];
  /** The helper counts as open once it has run this long without failing; default 300 ms. */
  settleMs?: number;
}

/**
 * An `openStream` for EvdevScannerPort that reads through a helper holding the EVIOCGRAB, e.g.
 * `new EvdevScannerPort(opts, { clock, log, openStream: interceptStreamOpener() }, handlers)`.
 * The helper's failure becomes the stream's error: "Permission denied" → EACCES, a missing node →
 * ENOENT; its normal exit (device gone) ends the stream. Closing the stream kills the helper,
 * which releases the grab.
 */
export function interceptStreamOpener(options: HelperOpenerOptions = {}): (path: string) => Readable {
  const command = options.command ?? "intercept";
  const args = options.args ?? ((path: string) => ["-g", path]);
  const settleMs = options.settleMs ?? 300;
  return (path) => new HelperStream(command, args(path), settleMs);
}

class HelperStream extends PassThrough {
  pending = true;
  private readonly child: ChildProcess;
  private stderr = "";

  constructor(
    private readonly command: string,
    args: string[],
    settleMs: number,
  ) {
    super();
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const settle = setTimeout(() => this.markReady(), settleMs);
    settle.unref?.();
    this.child.stdout?.on("data", (chunk: Buffer) => {
      this.markReady();
      if (!this.destroyed) this.write(chunk);
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-500);
    });
    this.child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(settle);
      const missing = err.code === "ENOENT";
      this.destroy(
        new Error(
          missing
            ? `${command} not found: install the interception-tools package (apt-get install interception-tools)`
            : `${command} could not start: ${err.message}`,
        ),
      );
    });
    this.child.on("close", (code, signal) => {
      clearTimeout(settle);
      if (this.destroyed) return;
      if (code === 0) {
        this.markReady();
        this.end();
      } else {
        this.destroy(this.failure(code, signal));
      }
    });
  }

  private markReady(): void {
    if (!this.pending || this.destroyed) return;
    this.pending = false;
    this.emit("ready");
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): Error {
    const said = this.stderr.trim().split("\n").pop() ?? "";
    const errno = /Permission denied/i.test(said)
      ? "EACCES"
      : /No such file/i.test(said)
        ? "ENOENT"
        : /No such device/i.test(said)
          ? "ENODEV"
          : undefined;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = said || "grab refused? another program may hold the device";
    return Object.assign(new Error(`${this.command} ${how}: ${why}`), errno ? { code: errno } : {});
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    callback(err);
  }
}
