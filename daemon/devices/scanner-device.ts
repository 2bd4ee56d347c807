// What every scanner port offers the lane (serial, HID POS, keyboard wedge over hidraw or evdev),
// and the reconnect loop the USB ports share. The loop works like PortSupervisor does for serial
// ports: absent → opening → ready → (lost) → reopening with capped, jittered back-off; each state
// change is reported once; nothing a device does takes the process down.
//
// A read is a payment code more often than not: reads are logged by length only, discards by
// length and reason only (payment-domain.md §7 rule 18). Junk comes in floods, so each kind of
// trouble (a discard reason, a throwing handler) is one line per window with a count.
import { backoffDelay } from "../../protocols/cloud/backoff.js";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { RetryPace } from "../../protocols/core/retry.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";

export type { DeviceState, RetryPace };

export interface ScannerHandlers {
  onScan(text: string): void;
  onState?(state: DeviceState, error: string): void;
}

export interface ScannerStatus {
  state: DeviceState;
  error: string;
  reads: number;
  discardedBytes: number;
}

export interface ScannerDevice {
  start(): void;
  stop(): Promise<void>;
  readonly status: ScannerStatus;
}

/** What the decoders (HidPosDecoder, KeyboardWedgeDecoder, EvdevKeyDecoder) hand back. */
export type ScannerChunk =
  | { type: "scan"; text: string; aim?: string }
  | { type: "discarded"; length: number; reason: string };

/** Why a scanner could not be opened, or why an open one was lost. The message names no read. */
export class ScannerUnavailable extends Error {
  override readonly name = "ScannerUnavailable";
  constructor(
    readonly state: Exclude<DeviceState, "CONNECTED">,
    message: string,
    readonly retry: RetryPace = "backoff",
  ) {
    super(message);
  }
}

/** One open device as the loop sees it. */
export interface OpenedScanner {
  /** Releases the device; must not wait for a read in flight to finish. */
  close(): void | Promise<void>;
  /** Logged once with "scanner connected" (paths and ids only). */
  info?: Record<string, unknown>;
}

/** One attempt's view of the loop; everything it does is ignored once the attempt is over. */
export interface ScannerSession {
  /** True until the device is lost or the port is stopped. */
  readonly live: boolean;
  /** Passes decoded chunks on: reads to onScan, discards counted and logged by length and reason. */
  deliver(chunks: readonly ScannerChunk[]): void;
  /** The device failed or went away: closes it, reports the state and schedules a retry. */
  lost(problem: ScannerUnavailable): void;
  /** A timer cancelled automatically when the session ends. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export interface ScannerLoopOptions {
  clock: Clock;
  log: Logger;
  handlers: ScannerHandlers;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Returns a number in [0, 1); jitter for the back-off. */
  random?: () => number;
  /** Pause before retrying a problem only a person can fix; default 30 s (±20 % jitter). */
  slowRetryMs?: number;
  /**
   * Removes a configured prefix and AIM id from a read (scanner-port.ts scanStripper); undefined
   * means the read lacks the prefix: it is discarded ("prefixMismatch"), as the serial decoder does.
   */
  strip?: (read: string) => string | undefined;
  /** Window of the port's RepeatLimiter; default 60 s. */
  repeatWindowMs?: number;
  /**
   * One attempt to open the device. Throw ScannerUnavailable to say what state that leaves the
   * port in (any other error is a FAULT with its message, retried with back-off).
   */
  open(session: ScannerSession): Promise<OpenedScanner>;
}

export const SLOW_RETRY_MS = 30_000;

class Session implements ScannerSession {
  live = true;
  handle: OpenedScanner | undefined;
  readonly timers = new Set<TimerHandle>();

  constructor(private readonly loop: ScannerLoop) {}

  deliver(chunks: readonly ScannerChunk[]): void {
    if (this.live) this.loop.deliver(chunks);
  }

  lost(problem: ScannerUnavailable): void {
    this.loop.lost(this, problem);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = this.loop.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (this.live) fn();
    }, ms);
    this.timers.add(timer);
    return {
      cancel: () => {
        timer.cancel();
        this.timers.delete(timer);
      },
    };
  }

  end(): OpenedScanner | undefined {
    this.live = false;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    const handle = this.handle;
    this.handle = undefined;
    return handle;
  }
}

/** The reconnect loop of a USB scanner port: state, back-off, and read accounting. */
export class ScannerLoop {
  readonly clock: Clock;
  private session: Session | undefined;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private stopped = true;
  private state: DeviceState = "ABSENT";
  private lastError = "";
  private reads = 0;
  private discarded = 0;
  private readonly repeats: RepeatLimiter;

  constructor(private readonly opts: ScannerLoopOptions) {
    this.clock = opts.clock;
    this.repeats = new RepeatLimiter(opts.log, opts.clock, opts.repeatWindowMs);
  }

  get status(): ScannerStatus {
    return { state: this.state, error: this.lastError, reads: this.reads, discardedBytes: this.discarded };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    const session = this.session;
    this.session = undefined;
    await closeQuietly(session?.end());
    this.repeats.clearAll(); // says what is still held back
  }

  /** @internal Session → loop. */
  deliver(chunks: readonly ScannerChunk[]): void {
    const { log, handlers, strip } = this.opts;
    for (const chunk of chunks) {
      if (chunk.type !== "scan") {
        this.discard(chunk.length, chunk.reason);
        continue;
      }
      const text = strip ? strip(chunk.text) : chunk.text;
      if (text === undefined) {
        this.discard(chunk.text.length, "prefixMismatch");
        continue;
      }
      this.reads++;
      log.debug({ length: text.length, aim: chunk.aim }, "scanner read");
      try {
        handlers.onScan(text);
      } catch (err) {
        // A handler bug must not stop the reader; its error may quote the read, so name only.
        this.repeats.error("handlerThrew", { errName: (err as Error)?.name }, "scan handler threw");
      }
    }
  }

  private discard(length: number, reason: string): void {
    this.discarded += length;
    // One line per reason per window. A read does not end the trouble: junk that happens to end
    // in Enter decodes as a read (the lane refuses it), so junk alternates reads and discards.
    this.repeats.warn(`discarded:${reason}`, { length, reason }, "scanner input discarded");
  }

  /** @internal Session → loop. */
  lost(session: Session, problem: ScannerUnavailable): void {
    if (!session.live) return;
    const handle = session.end();
    if (this.session === session) this.session = undefined;
    void closeQuietly(handle);
    if (this.stopped) return;
    this.setState(problem.state, problem.message, problem.retry);
    this.scheduleRetry(problem.retry);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const session = new Session(this);
    this.session = session;
    let handle: OpenedScanner;
    try {
      handle = await this.opts.open(session);
    } catch (err) {
      if (!session.live) return; // stopped, or lost while opening: already handled
      session.end();
      if (this.session === session) this.session = undefined;
      const problem =
        err instanceof ScannerUnavailable
          ? err
          : new ScannerUnavailable("FAULT", (err as Error)?.message || String(err));
      this.setState(problem.state, problem.message, problem.retry);
      this.scheduleRetry(problem.retry);
      return;
    }
    if (!session.live) {
      // Stopped (or lost) while the open was in flight.
      await closeQuietly(handle);
      return;
    }
    session.handle = handle;
    this.failures = 0;
    const changed = this.state !== "CONNECTED";
    this.setState("CONNECTED", "");
    if (changed) this.opts.log.info(handle.info ?? {}, "scanner connected");
  }

  private scheduleRetry(pace: RetryPace): void {
    if (this.stopped || pace === "never") return;
    const random = this.opts.random ?? Math.random;
    const delay =
      pace === "slow"
        ? Math.round((this.opts.slowRetryMs ?? SLOW_RETRY_MS) * (0.8 + 0.4 * random()))
        : backoffDelay(this.failures++, {
            minMs: this.opts.retryMinMs ?? 250,
            maxMs: this.opts.retryMaxMs ?? 5_000,
            random,
          });
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, delay);
  }

  private setState(state: DeviceState, error: string, pace: RetryPace = "backoff"): void {
    const changed = state !== this.state || error !== this.lastError;
    this.state = state;
    this.lastError = error;
    if (!changed) return;
    if (state !== "CONNECTED") {
      this.opts.log.warn(
        { state, error },
        pace === "never"
          ? "scanner unavailable; not retried until the port restarts"
          : "scanner unavailable; retrying in the background",
      );
    }
    this.opts.handlers.onState?.(state, error);
  }
}

async function closeQuietly(handle: OpenedScanner | undefined): Promise<void> {
  try {
    await handle?.close();
  } catch {
    // Closing a device that is already gone fails; there is nothing left to release.
  }
}
