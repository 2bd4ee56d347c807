// Keeps one serial device open: absent → opening → ready → (closed/fault) → reopening, with
// capped, jittered back-off. An unplugged or missing device never takes the process down; the
// supervisor reports each change once and recovers by itself when the device comes back.
import { backoffDelay } from "../../protocols/cloud/backoff.js";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { SerialSettings } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import type { OpenPort, SerialOpener } from "./serial-binding.js";

export interface SupervisorOptions {
  settings: SerialSettings;
  opener: SerialOpener;
  clock: Clock;
  log: Logger;
  random?: () => number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Called with each newly opened port; the owner attaches its reader and writes its init bytes. */
  onOpen: (port: OpenPort) => void;
  onState?: (state: DeviceState, error: string) => void;
}

export class PortSupervisor {
  private port: OpenPort | undefined;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private stopped = true;
  private state: DeviceState = "ABSENT";
  private lastError = "";

  constructor(private readonly opts: SupervisorOptions) {}

  get current(): OpenPort | undefined {
    return this.port;
  }

  get status(): { state: DeviceState; error: string } {
    return { state: this.state, error: this.lastError };
  }

  start(): void {
    this.stopped = false;
    void this.tryOpen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    const port = this.port;
    this.port = undefined;
    await port?.close();
  }

  private async tryOpen(): Promise<void> {
    if (this.stopped) return;
    const { settings, log } = this.opts;
    try {
      const port = await this.opts.opener.open(settings);
      if (this.stopped) {
        await port.close();
        return;
      }
      this.port = port;
      port.onClose((err) => this.onClosed(port, err));
      try {
        this.opts.onOpen(port);
      } catch (err) {
        // The owner could not use the port (a decoder refusing its options…): close it, report
        // the fault and try again later rather than keep a half-attached handle.
        this.port = undefined;
        await port.close().catch(() => {});
        throw err;
      }
      this.failures = 0;
      this.setState("CONNECTED", "");
      log.info("device opened");
    } catch (err) {
      const message = (err as Error).message;
      const absent = /ENOENT|No such file|not found|does not exist/i.test(message);
      this.setState(absent ? "ABSENT" : "FAULT", message);
      this.scheduleRetry();
    }
  }

  private onClosed(port: OpenPort, err?: Error): void {
    if (this.port !== port) return;
    this.port = undefined;
    if (this.stopped) return;
    this.setState("ABSENT", err?.message ?? "port closed");
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures++, {
      minMs: this.opts.retryMinMs ?? 250,
      maxMs: this.opts.retryMaxMs ?? 5_000,
      random: this.opts.random ?? Math.random,
    });
    this.retryTimer?.cancel();
    this.retryTimer = this.opts.clock.setTimeout(() => void this.tryOpen(), delay);
  }

  private setState(state: DeviceState, error: string): void {
    const changed = state !== this.state || error !== this.lastError;
    this.state = state;
    this.lastError = error;
    if (!changed) return;
    const { log } = this.opts;
    // "device opened" says CONNECTED; the logger's bindings already carry the device and its path.
    if (state !== "CONNECTED") log.warn({ state, error }, "device unavailable; retrying in the background");
    this.opts.onState?.(state, error);
  }
}
