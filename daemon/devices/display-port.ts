// The customer display: remembers the current view and repaints it whenever the port (re)opens,
// so a display that was unplugged comes back showing the sale's real state.
//
// Writes never block the lane: at most one write is in flight, and views shown meanwhile are
// coalesced into the latest one (a slow display skips views, never shows an old one last). A write
// still pending after stallMs (2 s) means the display does not accept data (wedged, flow control
// stuck, a silently dead adapter): the port is reported FAULT "display does not accept data",
// closed and reopened with back-off, and the display stays FAULT until a write completes again.
// A display that keeps failing fails on every reopen: its warnings are one line per window with a
// count (RepeatLimiter), reported at once when a write completes again.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { CD5220_INIT, cd5220Lines, encodeCd5220 } from "../../protocols/display/cd5220.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import { ESCPOS_INIT, encodeEscPosView, escPosChineseLines } from "../../protocols/display/escpos-display.js";
import { encodeLed8View, LED8_INIT, led8Reading } from "../../protocols/display/led8.js";
import { formatYuan } from "../../protocols/payment/amount.js";
import type { TimerHandle } from "../clock.js";
import type { DisplayConfig } from "../config/config-types.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { textEncoder } from "../text/text-encoder.js";
import { type PortDeps, PortSupervisor, type SupervisorStatus } from "./port-supervisor.js";
import type { OpenPort } from "./serial-binding.js";

/** A write pending longer than this means the display does not take data. */
export const DISPLAY_STALL_MS = 2_000;
export const DISPLAY_STALLED = "display does not accept data";

export interface DisplayEncoder {
  init: Uint8Array;
  encode(view: DisplayView): Uint8Array;
}

/** What a display shows for a view, line by line (an LED display: its lamp and number), for diagnostics. */
export function displayText(config: Pick<DisplayConfig, "type" | "charset">, view: DisplayView): string[] {
  switch (config.type) {
    case "cd5220":
      return cd5220Lines(view).map((l) => l.trimEnd());
    case "escpos":
      return (config.charset === "gb18030" ? escPosChineseLines(view) : cd5220Lines(view)).map((l) =>
        l.trimEnd(),
      );
    case "led8": {
      const r = led8Reading(view);
      return [`${formatYuan(r.amountFen)} (lamp ${r.lamp})`];
    }
  }
}

/** The command set of a display type. */
export function displayEncoder(config: Pick<DisplayConfig, "type" | "charset">): DisplayEncoder {
  switch (config.type) {
    case "cd5220":
      return { init: CD5220_INIT, encode: encodeCd5220 };
    case "escpos": {
      const options =
        config.charset === "gb18030"
          ? { charset: "gb18030" as const, encodeText: textEncoder("gb18030") }
          : { charset: "ascii" as const };
      return { init: ESCPOS_INIT, encode: (view) => encodeEscPosView(view, options) };
    }
    case "led8":
      return { init: LED8_INIT, encode: encodeLed8View };
  }
}

export interface DisplayPortDeps extends PortDeps {
  /** A write pending longer than this is a stalled display; default 2000 ms. */
  stallMs?: number;
}

export class DisplayPort {
  private readonly supervisor: PortSupervisor;
  private readonly encoder: DisplayEncoder;
  private view: DisplayView = { type: "idle" };
  /** The port a write is in flight on, and its watchdog. */
  private inflight: { port: OpenPort; watchdog: TimerHandle } | undefined;
  /** The view changed while a write was in flight: write the latest when it completes. */
  private dirty = false;
  /** Set while the display does not take data; cleared by the next write that completes. */
  private stalled: string | undefined;
  private reported: { state: DeviceState; error: string } = { state: "ABSENT", error: "" };
  private writesDone = 0;
  private viewsSkipped = 0;
  private stalls = 0;
  private readonly repeats: RepeatLimiter;

  constructor(
    config: DisplayConfig,
    private readonly deps: DisplayPortDeps,
    private readonly handlers: { onState?(state: DeviceState, error: string): void } = {},
  ) {
    this.encoder = displayEncoder(config);
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
    this.supervisor = new PortSupervisor({
      ...deps,
      settings: config,
      onState: () => this.report(),
      onOpen: (port) => {
        port.onData(() => {}); // keep a reader attached so an unplug is noticed at once
        // A fresh port: whatever was in flight belonged to the old one.
        this.clearInflight();
        this.dirty = false;
        this.write(port, concat(this.encoder.init, this.encoder.encode(this.view)));
      },
    });
  }

  get status(): SupervisorStatus & { writes: number; viewsSkipped: number; stalls: number } {
    const s = this.supervisor.status;
    const effective = this.effective();
    return {
      ...s,
      state: effective.state,
      error: effective.error,
      writes: this.writesDone,
      viewsSkipped: this.viewsSkipped,
      stalls: this.stalls,
    };
  }

  get currentView(): DisplayView {
    return this.view;
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    this.clearInflight();
    await this.supervisor.stop();
    this.repeats.clearAll(); // says what is still held back
  }

  show(view: DisplayView): void {
    this.view = view;
    const port = this.supervisor.current;
    if (!port) return; // painted when the port (re)opens
    if (this.inflight) {
      if (this.dirty) this.viewsSkipped++;
      this.dirty = true;
      return;
    }
    this.write(port, this.encoder.encode(view));
  }

  private write(port: OpenPort, bytes: Uint8Array): void {
    const stallMs = this.deps.stallMs ?? DISPLAY_STALL_MS;
    const watchdog = this.deps.clock.setTimeout(() => this.onStall(port), stallMs);
    this.inflight = { port, watchdog };
    port.write(bytes).then(
      () => this.onWritten(port),
      (err: Error) => this.onWriteFailed(port, err),
    );
  }

  private onWritten(port: OpenPort): void {
    if (this.inflight?.port !== port) return; // a stalled write of an old port finally ended
    this.clearInflight();
    this.writesDone++;
    this.repeats.clear("writeFailed");
    this.repeats.clear("stalled");
    if (this.stalled !== undefined) {
      this.stalled = undefined;
      this.deps.log.info("display accepts data again");
      this.report();
    }
    if (this.dirty && this.supervisor.current === port) {
      this.dirty = false;
      this.write(port, this.encoder.encode(this.view));
    }
  }

  private onWriteFailed(port: OpenPort, err: Error): void {
    if (this.inflight?.port !== port) return;
    this.clearInflight();
    this.repeats.warn("writeFailed", { err: err.message }, "write to display failed");
    // Through SerialPortStream a failed write closes the port anyway; this covers ports that don't.
    this.supervisor.fail(port, "ABSENT", `write failed: ${err.message}`);
  }

  private onStall(port: OpenPort): void {
    if (this.inflight?.port !== port) return;
    this.clearInflight();
    if (this.supervisor.current !== port) return; // that port is already gone
    this.stalls++;
    const stallMs = this.deps.stallMs ?? DISPLAY_STALL_MS;
    this.stalled = `${DISPLAY_STALLED} (a write pending for more than ${stallMs} ms)`;
    this.repeats.warn("stalled", { stallMs }, "display does not accept data; reopening it");
    this.supervisor.fail(port, "FAULT", this.stalled);
    this.report();
  }

  private clearInflight(): void {
    this.inflight?.watchdog.cancel();
    this.inflight = undefined;
  }

  /** The supervisor's state, except that a stalled display stays FAULT until it takes data. */
  private effective(): { state: DeviceState; error: string } {
    const s = this.supervisor.status;
    if (this.stalled !== undefined && s.state === "CONNECTED") return { state: "FAULT", error: this.stalled };
    return { state: s.state, error: s.error };
  }

  private report(): void {
    const now = this.effective();
    if (now.state === this.reported.state && now.error === this.reported.error) return;
    this.reported = now;
    this.handlers.onState?.(now.state, now.error);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
