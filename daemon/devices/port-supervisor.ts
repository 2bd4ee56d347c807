// Keeps one serial device open: absent → opening → ready → (lost/fault) → reopening, with capped,
// jittered back-off. An unplugged or missing device never takes the process down; the supervisor
// reports each change once and recovers by itself when the device comes back.
//
//   - Where the device is, is resolved again on every attempt (a path, a by-id link, or USB ids
//     through sysfs: device-identity.ts), so an adapter replugged as /dev/ttyUSB1 is found.
//   - A port that closes within settleMs (300 ms) of opening is a flap: reported FAULT, and its
//     retries back off further each time; after a flap the port counts as CONNECTED only once it
//     has stayed open for settleMs. (A first open is CONNECTED at once; the back-off is forgotten
//     only when a port that had stayed up for HEALTHY_MS is lost.)
//   - An ABSENT device is retried at most absentRetryMaxMs (1 s) apart, and at once on a USB
//     attach event, so a replugged device is back within 2 s; other faults (permissions, a port
//     that flaps, a display that stalls) back off up to retryMaxMs.
//   - Unplugs the library does not report: the owner reports a failed or stalled write (fail()),
//     and a periodic rescan notices a device node that vanished or now is another device.
//   - Two roles never share one device: the real path is claimed while open (device-identity.ts).
import { backoffDelay } from "../../protocols/cloud/backoff.js";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { SerialDeviceConfig } from "../config/config-types.js";
import type { BridgeErrorCode } from "../errors.js";
import type { Logger } from "../log/logger.js";
import {
  type DeviceClaims,
  type DeviceResolver,
  defaultResolver,
  describeLocation,
  processClaims,
  type Resolution,
} from "./device-identity.js";
import { classifyOpenError } from "./open-errors.js";
import type { OpenPort, SerialOpener } from "./serial-binding.js";
import type { HotplugSource } from "./usb-watch.js";

export const SETTLE_MS = 300;
export const ABSENT_RETRY_MAX_MS = 1_000;
export const RECONCILE_MS = 1_000;
/** A port that stayed up this long has its back-off forgotten when it is lost. */
export const HEALTHY_MS = 10_000;

export interface SupervisorOptions {
  /** Line settings, and where the device is (path or usb). */
  settings: SerialDeviceConfig & { rtscts?: boolean };
  opener: SerialOpener;
  clock: Clock;
  log: Logger;
  /** Who opens, for messages about a shared device, e.g. "lane1 scanner". Default the location. */
  name?: string;
  resolver?: DeviceResolver;
  claims?: DeviceClaims;
  /** Default: the opener's (real hardware only). */
  hotplug?: HotplugSource;
  random?: () => number;
  /** First retry delay; default 250 ms. */
  retryMinMs?: number;
  /** Longest retry delay of a device in FAULT; default 5000 ms. */
  retryMaxMs?: number;
  /** Longest retry delay of an ABSENT device; default 1000 ms (and never above retryMaxMs). */
  absentRetryMaxMs?: number;
  /** How long a new port must stay open to count as CONNECTED; default 300 ms. */
  settleMs?: number;
  /** Rescan of an open device's node; default every 1000 ms, 0 = off. */
  reconcileMs?: number;
  /** Called with each newly opened port; the owner attaches its reader and writes its init bytes. */
  onOpen: (port: OpenPort) => void;
  onState?: (state: DeviceState, error: string) => void;
}

/** What the device ports (terminal, scanner, display) take, passed on to their supervisor. */
export type PortDeps = Omit<SupervisorOptions, "settings" | "onOpen" | "onState"> & {
  /** Window of the port's RepeatLimiter (daemon/log/repeat-limiter.ts); default 60 s. */
  repeatWindowMs?: number;
};

export type SupervisorPhase = "stopped" | "opening" | "settling" | "ready" | "waiting";

/** The codes a serial port's trouble is logged with (docs/errors.md). */
export type PortErrorCode = Extract<BridgeErrorCode, "PB_PORT_OPEN" | "PB_PORT_LOCKED" | "PB_PORT_CLOSED">;

export interface SupervisorStatus {
  state: DeviceState;
  error: string;
  /** The code of `error` (logged as errCode); undefined while CONNECTED. */
  code: PortErrorCode | undefined;
  /** The node open now (or last tried), e.g. /dev/ttyUSB1 for a device named by USB ids. */
  device: string;
  /** Ports opened since start. */
  opens: number;
  /** Ports that closed again before they settled. */
  flaps: number;
}

interface Held {
  port: OpenPort;
  openedAt: number;
  resolution: Extract<Resolution, { ok: true }>;
}

export class PortSupervisor {
  private held: Held | undefined;
  private phase: SupervisorPhase = "stopped";
  private retryTimer: TimerHandle | undefined;
  private settleTimer: TimerHandle | undefined;
  private reconcileTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private failures = 0;
  private state: DeviceState = "ABSENT";
  private lastError = "";
  private lastCode: PortErrorCode | undefined;
  private device = "";
  private opens = 0;
  private flaps = 0;
  /** Bumped by stop(): an open still in flight from before belongs to no one. */
  private generation = 0;
  /** Flaps since the last port that stayed open for settleMs. */
  private recentFlaps = 0;
  private readonly name: string;
  private readonly resolver: DeviceResolver;
  private readonly claims: DeviceClaims;

  constructor(private readonly opts: SupervisorOptions) {
    this.name = opts.name ?? describeLocation(opts.settings);
    this.resolver = opts.resolver ?? defaultResolver;
    this.claims = opts.claims ?? processClaims;
  }

  /** The open port, from the moment it opened (before it settled). */
  get current(): OpenPort | undefined {
    return this.held?.port;
  }

  get status(): SupervisorStatus {
    return {
      state: this.state,
      error: this.lastError,
      code: this.lastCode,
      device: this.device,
      opens: this.opens,
      flaps: this.flaps,
    };
  }

  get currentPhase(): SupervisorPhase {
    return this.phase;
  }

  start(): void {
    if (this.phase !== "stopped") return;
    this.phase = "waiting";
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.phase = "stopped";
    this.generation++;
    this.listenForDevices(false);
    this.cancelTimers();
    const held = this.release();
    await held?.port.close().catch(() => {});
  }

  /**
   * Something changed (a USB device came or went): retry a waiting device now, and rescan an
   * open one.
   */
  poke(): void {
    if (this.phase === "waiting") {
      this.retryTimer?.cancel();
      this.retryTimer = undefined;
      void this.attempt();
    } else if (this.phase === "ready" || this.phase === "settling") {
      this.reconcile();
    }
  }

  /**
   * The owner found the port unusable (a write failed, a write never completed): close it,
   * report `state`/`error` and reopen with back-off. Ignored for a port that is no longer current.
   */
  fail(port: OpenPort, state: Exclude<DeviceState, "CONNECTED">, error: string): void {
    if (this.held?.port !== port || this.phase === "stopped") return;
    const held = this.release();
    this.cancelTimers();
    if (held && this.opts.clock.monoNow() - held.openedAt >= HEALTHY_MS) this.failures = 0;
    this.setState(state, error, "PB_PORT_CLOSED");
    this.scheduleRetry(state);
    void port.close().catch(() => {});
  }

  private async attempt(): Promise<void> {
    if (this.phase !== "waiting") return;
    this.phase = "opening";
    const generation = this.generation;
    const stale = () => this.phase !== "opening" || this.generation !== generation;
    const { settings, opener, log } = this.opts;
    const r = this.resolver.resolve(settings);
    if (!r.ok) return this.failed(r.absent ? "ABSENT" : "FAULT", r.error, "PB_PORT_OPEN");
    this.device = r.path;
    if (r.node === "directory")
      return this.failed("FAULT", `${r.path} is a directory, not a serial device`, "PB_PORT_OPEN");
    if (r.node === "file")
      return this.failed("FAULT", `${r.path} is a regular file, not a serial device`, "PB_PORT_OPEN");
    const claimed = r.node !== "missing";
    if (claimed) {
      const other = this.claims.claim(r.realPath, this.name);
      if (other !== undefined) {
        return this.failed(
          "FAULT",
          `${describeLocation(settings)} is the same device as ${other} (${r.realPath}); each device serves one role`,
          "PB_PORT_LOCKED",
        );
      }
    }
    let port: OpenPort;
    try {
      port = await opener.open({
        path: r.path,
        baudRate: settings.baudRate,
        dataBits: settings.dataBits,
        parity: settings.parity,
        stopBits: settings.stopBits,
        ...(settings.rtscts ? { rtscts: true } : {}),
      });
    } catch (err) {
      if (stale()) {
        if (claimed && this.currentPhase === "stopped") this.claims.release(r.realPath, this.name);
        return; // stopped meanwhile
      }
      if (claimed) this.claims.release(r.realPath, this.name);
      const [state, message, code] = classifyOpenError(err as Error, r.path);
      return this.failed(state, message, code);
    }
    if (stale()) {
      // A newer attempt (after stop() and start()) holds the same claim under the same name.
      if (claimed && this.currentPhase === "stopped") this.claims.release(r.realPath, this.name);
      await port.close().catch(() => {});
      return;
    }
    this.held = { port, openedAt: this.opts.clock.monoNow(), resolution: r };
    this.opens++;
    port.onClose((err) => this.lost(port, err ?? new Error("port closed")));
    try {
      this.opts.onOpen(port);
    } catch (err) {
      // The owner could not use the port (a decoder refusing its options…): close it, report
      // the fault and try again later rather than keep a half-attached handle.
      this.release();
      await port.close().catch(() => {});
      if (stale()) return;
      return this.failed("FAULT", (err as Error).message, "PB_PORT_OPEN");
    }
    if (this.held?.port !== port) return; // closed during onOpen: lost() handled it
    this.phase = "settling";
    const settleMs = this.opts.settleMs ?? SETTLE_MS;
    this.settleTimer = this.opts.clock.setTimeout(() => this.settled(port), settleMs);
    if (this.recentFlaps === 0) this.connected(r.path);
    else log.debug({ node: r.path }, "port reopened after a flap; waiting to see it stay open");
  }

  private settled(port: OpenPort): void {
    if (this.held?.port !== port || this.phase !== "settling") return;
    this.settleTimer = undefined;
    this.phase = "ready";
    this.recentFlaps = 0;
    this.listenForDevices(false);
    this.connected(this.held.resolution.path);
    this.armReconcile();
  }

  private connected(node: string): void {
    const wasConnected = this.state === "CONNECTED";
    this.setState("CONNECTED", "");
    // The logger's bindings carry the device kind and its configured path; `node` is what opened.
    if (!wasConnected) this.opts.log.info({ node }, "device opened");
  }

  private lost(port: OpenPort, err: Error): void {
    if (this.held?.port !== port || this.phase === "stopped") return;
    const flapped = this.phase === "settling";
    const held = this.release();
    this.cancelTimers();
    if (flapped) {
      this.flaps++;
      this.recentFlaps++;
      this.setState("FAULT", `port closed right after opening (flapping): ${err.message}`, "PB_PORT_CLOSED");
      this.scheduleRetry("FAULT");
      return;
    }
    if (held && this.opts.clock.monoNow() - held.openedAt >= HEALTHY_MS) this.failures = 0;
    this.setState("ABSENT", err.message, "PB_PORT_CLOSED");
    this.scheduleRetry("ABSENT");
  }

  /** While open: the node must still be there and still be the same device. */
  private reconcile(): void {
    const held = this.held;
    if (!held) return;
    const before = held.resolution;
    // A node that did not exist on disk (mock ports) cannot be rescanned.
    if (before.node === "missing") return;
    const now = this.resolver.resolve(this.opts.settings);
    let why: string | undefined;
    if (!now.ok) why = now.error;
    else if (now.node === "missing") why = `${now.path} is gone (unplugged)`;
    else if (now.realPath !== before.realPath)
      why = `${describeLocation(this.opts.settings)} is now ${now.realPath}`;
    if (why !== undefined) {
      this.opts.log.warn({ node: before.path }, `device changed under an open port: ${why}`);
      this.fail(held.port, "ABSENT", why);
    }
  }

  private armReconcile(): void {
    const every = this.opts.reconcileMs ?? RECONCILE_MS;
    if (every <= 0 || this.held?.resolution.node === "missing") return;
    this.reconcileTimer = this.opts.clock.setTimeout(() => {
      this.reconcileTimer = undefined;
      if (this.phase !== "ready") return;
      this.reconcile();
      if (this.phase === "ready") this.armReconcile();
    }, every);
  }

  private failed(state: Exclude<DeviceState, "CONNECTED">, error: string, code: PortErrorCode): void {
    if (this.phase === "stopped") return;
    this.setState(state, error, code);
    this.scheduleRetry(state);
  }

  /**
   * Hot-plug events (the `usb` module, daemon/devices/usb-watch.ts) are listened to only while the
   * device is not open: a replug is then retried at once. An open port tells its own unplug (it
   * closes) and is rescanned on a timer, so a bridge whose devices are all present never loads
   * the native module (docs/performance.md, "Start and memory").
   */
  private listenForDevices(on: boolean): void {
    if (!on) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      return;
    }
    if (this.unsubscribe) return;
    const hotplug = this.opts.hotplug ?? this.opts.opener.hotplug;
    this.unsubscribe = hotplug?.subscribe(() => this.poke(), this.opts.log);
  }

  private scheduleRetry(state: Exclude<DeviceState, "CONNECTED">): void {
    if (this.phase === "stopped") return;
    this.phase = "waiting";
    this.listenForDevices(true);
    const minMs = this.opts.retryMinMs ?? 250;
    const maxMs = Math.max(minMs, this.opts.retryMaxMs ?? 5_000);
    const cap =
      state === "ABSENT"
        ? Math.max(minMs, Math.min(maxMs, this.opts.absentRetryMaxMs ?? ABSENT_RETRY_MAX_MS))
        : maxMs;
    const delay = backoffDelay(this.failures++, {
      minMs,
      maxMs: cap,
      random: this.opts.random ?? Math.random,
    });
    this.retryTimer?.cancel();
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, delay);
  }

  /** Forgets the held port and its claim; returns what was held. */
  private release(): Held | undefined {
    const held = this.held;
    this.held = undefined;
    if (held && held.resolution.node !== "missing") this.claims.release(held.resolution.realPath, this.name);
    return held;
  }

  private cancelTimers(): void {
    for (const t of [this.retryTimer, this.settleTimer, this.reconcileTimer]) t?.cancel();
    this.retryTimer = undefined;
    this.settleTimer = undefined;
    this.reconcileTimer = undefined;
  }

  private setState(state: DeviceState, error: string, code?: PortErrorCode): void {
    const changed = state !== this.state || error !== this.lastError;
    this.state = state;
    this.lastError = error;
    this.lastCode = state === "CONNECTED" ? undefined : code;
    if (!changed) return;
    const { log } = this.opts;
    // "device opened" says CONNECTED; the logger's bindings already carry the device and its path.
    // The code makes `journalctl -u posbridge | grep PB_PORT_LOCKED` find what docs/errors.md names.
    if (state !== "CONNECTED")
      log.warn({ state, error, errCode: code }, "device unavailable; retrying in the background");
    this.opts.onState?.(state, error);
  }
}
