// No-integration mode (docs/hardware.md): the register's customer-display line in place of a
// register link. Bytes from the register go, with their monotonic arrival time, through the
// dialect's reader (frames cut on inter-byte idle: protocols/display-tap/display-reader.ts) into
// the amount machine (amount-machine.ts); what the machine decides goes up to the lane
// (`onAmount`), which turns a bound scan into a sale (daemon/lanes/lane-tap.ts).
//
// Modes:
// - listen: the port is on a tap of the register→display wire (RX only). Nothing is ever written
//   to it; the display keeps working when the bridge is down.
// - passThrough: the register's display cable ends at the bridge; every byte is written to the
//   real display's port as soon as it arrives, unchanged and in order (pacing preserved: a byte
//   dripped every 15 ms goes out every 15 ms). The bridge's own views (paid, failed, unknown,
//   rescan) are written between the register's frames: while the register's last byte came less
//   than idleMs ago (a frame may be in progress), a view waits until the line has been quiet for
//   idleMs, and is written then; a newer view replaces a waiting one.
// - bridgeOwned: the register's bytes are not forwarded; the bridge re-renders the register's
//   screen (its text, or an LED's number) on the real display, and shows its views over it.
// Both ports are supervised (port-supervisor.ts): an unplug is reconnected, never a crash. While
// the real display is down, forwarded bytes are dropped and counted (a display shows what it is
// sent next); a bridgeOwned display is repainted when it is back.
//
// Auto-detection (listen only, any of baudRate, parity, dialect "auto"; display-line-detect.ts):
// the port is opened at each candidate setting in turn and listened to for detectSampleMs; the
// best setting and dialect are locked and the line is read at them from then on.
import { createHash } from "node:crypto";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { zeroLinkCounters } from "../../protocols/ecr/link-machine.js";
import type { AmountEffect } from "../../protocols/display-tap/amount-effects.js";
import {
  type AmountInput,
  type AmountState,
  amountDueMono,
  initialAmountState,
  standingTotal,
  stepAmount,
} from "../../protocols/display-tap/amount-machine.js";
import { isChargeable, readScreen } from "../../protocols/display-tap/amount-text.js";
import {
  createDisplayReader,
  type DisplayDialect,
  isDisplayDialect,
} from "../../protocols/display-tap/dialects.js";
import type { SerialSetting } from "../../protocols/display-tap/detect.js";
import type { DisplayReader } from "../../protocols/display-tap/display-reader.js";
import type { Screen, ScreenEvent } from "../../protocols/display-tap/screen-event.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { concatBytes } from "../../protocols/core/bytes.js";
import type { TimerHandle } from "../clock.js";
import type {
  DisplayConfig,
  DisplayTapConfig,
  DisplayType,
  SerialDeviceConfig,
} from "../config/config-types.js";
import { tapChannel } from "../diagnostics/channels.js";
import type { TapSnapshot } from "../diagnostics/snapshot.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { textDecoder } from "../text/text-decoder.js";
import { describeLocation } from "./device-identity.js";
import { detectLine, type TapDetectionStatus } from "./display-line-detect.js";

export type { TapDetectionStatus } from "./display-line-detect.js";
import { displayEncoder, type DisplayEncoder, displayText } from "./display-port.js";
import { type PortDeps, PortSupervisor, type SupervisorStatus } from "./port-supervisor.js";
import type { ProbeResult } from "./terminal-port.js";
import type { RegisterLink, RegisterLinkStatus } from "./register-link.js";
import type { OpenPort } from "./serial-binding.js";

export interface DisplayTapHandlers {
  onState?(state: DeviceState, error: string): void;
  /**
   * What the amount machine decided, in its order (durable ones first: amount-effects.ts). Called
   * from display updates and the stability timer, and within scan()/approveSend()/release().
   */
  onAmount(effect: AmountEffect): void;
}

export interface DisplayTapDeps extends PortDeps {
  /** The lane this tap serves, for `posbridge monitor`. */
  laneId?: string;
  /** The highest tap sequence number already journaled, so numbers keep rising across restarts. */
  lastTapSeq?: number;
}

export interface DisplayTapCounters {
  /** Bytes read from the register's display line. */
  bytesIn: number;
  /** Bytes written to the real display as the register sent them (passThrough). */
  bytesForwarded: number;
  /** Bytes that could not be forwarded (the real display was down). */
  forwardDropped: number;
  /** Display updates decoded. */
  updates: number;
  /** Bytes the reader could not read (a wrong dialect or setting shows here). */
  discardedBytes: number;
  /** Totals accepted (each got a sequence number). */
  totalsAccepted: number;
  /** The bridge's views written to the real display. */
  viewsShown: number;
  /** Views that waited for a register frame to end. */
  viewsDeferred: number;
}

/** The decoded display as it stands, for `posbridge devices` and `monitor`. */
export interface TapReading {
  lamp: Screen["lamp"];
  lines: string[];
  amountFen: number | null;
  chargeable: boolean;
  kind: string;
  standingTotal: { seq: number; amountFen: number } | null;
}

/** The real display's command set for the bridge's own views: configured, or the dialect's family. */
export function tapDisplayType(config: DisplayTapConfig, dialect: DisplayDialect | null): DisplayType {
  if (config.display?.type) return config.display.type;
  if (dialect?.startsWith("led8")) return "led8";
  if (dialect?.startsWith("cd5220")) return "cd5220";
  return "escpos";
}

/** SHA-256 of the bytes a total was read from, first 16 hex digits (the journal's tapEvidence). */
export function evidenceHash(evidence: Uint8Array): string {
  return createHash("sha256").update(evidence).digest("hex").slice(0, 16);
}

export class DisplayTap implements RegisterLink {
  readonly kind = "displayTap" as const;
  private supervisor: PortSupervisor | undefined;
  private readonly displaySupervisor: PortSupervisor | undefined;
  private reader: DisplayReader | null = null;
  private dialect: DisplayDialect | null;
  private line: SerialSetting | null;
  private amount: AmountState;
  private idleTimer: TimerHandle | undefined;
  private amountTimer: TimerHandle | undefined;
  private detectTimer: TimerHandle | undefined;
  private deferTimer: TimerHandle | undefined;
  /** When the register's last byte came (monotonic). */
  private lastByteMono: number | undefined;
  /** A view waiting for the register's frame to end (passThrough). */
  private deferred: Uint8Array | undefined;
  /** The bridge's view on the real display; idle: the register's own screen. */
  private view: DisplayView = { type: "idle" };
  private screen: Screen | null = null;
  private encoder: DisplayEncoder | undefined;
  private readonly decodeText: (bytes: Uint8Array) => string;
  private lastGoodMono: number | undefined;
  /** Bumped on stop: a detection cycle in flight belongs to no one. */
  private generation = 0;
  private readonly repeats: RepeatLimiter;
  readonly counters: DisplayTapCounters = {
    bytesIn: 0,
    bytesForwarded: 0,
    forwardDropped: 0,
    updates: 0,
    discardedBytes: 0,
    totalsAccepted: 0,
    viewsShown: 0,
    viewsDeferred: 0,
  };
  private detectionStatus: TapDetectionStatus;

  constructor(
    readonly config: DisplayTapConfig,
    private readonly deps: DisplayTapDeps,
    private readonly handlers: DisplayTapHandlers,
  ) {
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
    this.decodeText = textDecoder(config.encoding);
    this.amount = initialAmountState({
      stableMs: config.stableMs,
      rules: {
        ...(config.totalLabels ? { total: config.totalLabels } : {}),
        ...(config.tenderLabels ? { tender: config.tenderLabels } : {}),
        wholeNumbers: config.wholeNumbers,
      },
      lastSeq: deps.lastTapSeq ?? 0,
    });
    this.dialect = isDisplayDialect(config.dialect) ? config.dialect : null;
    this.line =
      config.baudRate !== "auto" && config.parity !== "auto"
        ? { baudRate: config.baudRate, parity: config.parity }
        : null;
    const auto = this.dialect === null || this.line === null;
    this.detectionStatus = {
      state: auto ? "detecting" : "fixed",
      baudRate: this.line?.baudRate ?? null,
      parity: this.line?.parity ?? null,
      dialect: this.dialect,
      confidence: null,
      reason: auto ? "not started" : "set in the config",
      tried: 0,
    };
    if (config.mode !== "listen" && config.display) {
      const display = config.display;
      this.displaySupervisor = new PortSupervisor({
        ...deps,
        name: `${deps.name ?? "display tap"} real display`,
        settings: { ...this.lineSettings(this.line as SerialSetting), path: display.path, usb: display.usb },
        onOpen: (port) => this.onDisplayOpen(port),
        onState: () => this.reportState(),
      });
    }
  }

  // ── RegisterLink ────────────────────────────────────────────────────────────────────────────

  get status(): RegisterLinkStatus & { tap: DisplayTapCounters; detection: TapDetectionStatus } {
    const s: SupervisorStatus = this.supervisor?.status ?? {
      state: "ABSENT",
      error: this.detectionStatus.state === "detecting" ? "detecting the display line's settings" : "",
      code: undefined,
      device: "",
      opens: 0,
      flaps: 0,
    };
    const d = this.displaySupervisor?.status;
    // The lane's register link is up when both of its ports are: a dead real display is a fault.
    const state = d && s.state === "CONNECTED" && d.state !== "CONNECTED" ? d.state : s.state;
    const error = s.error || (d && d.state !== "CONNECTED" ? `real display: ${d.error || d.state}` : "");
    const counters = zeroLinkCounters();
    counters.framesIn = this.counters.updates;
    counters.discardedBytes = this.counters.discardedBytes;
    counters.framesOut = this.counters.viewsShown;
    return {
      ...s,
      state,
      error,
      counters,
      tap: { ...this.counters },
      detection: { ...this.detectionStatus },
    };
  }

  get lastGoodAgoMs(): number | undefined {
    return this.lastGoodMono === undefined ? undefined : this.deps.clock.monoNow() - this.lastGoodMono;
  }

  get detection(): TapDetectionStatus {
    return { ...this.detectionStatus };
  }

  describe(): { type: string; location: string } {
    return { type: `displayTap ${this.config.mode}`, location: describeLocation(this.config) };
  }

  start(): void {
    this.displaySupervisor?.start();
    if (this.detectionStatus.state === "fixed")
      this.openLine(this.line as SerialSetting, this.dialect as DisplayDialect);
    else void this.detect(this.generation);
  }

  async stop(): Promise<void> {
    this.generation++;
    for (const t of [this.idleTimer, this.amountTimer, this.detectTimer, this.deferTimer]) t?.cancel();
    await Promise.allSettled([this.supervisor?.stop(), this.displaySupervisor?.stop()]);
    this.repeats.clearAll();
  }

  /** No register to answer in this mode: the answer is dropped (the display shows the views). */
  send(_answer: PosAnswer): void {}

  async probe(_answer: PosAnswer): Promise<ProbeResult> {
    return { outcome: "down", ms: 0 };
  }

  // ── the lane's side ─────────────────────────────────────────────────────────────────────────

  /** A payment code was scanned: binds to the standing total, or says why not (onAmount). */
  scan(): void {
    this.step({ type: "scan" });
  }

  /** The lane is about to publish the pay request bound under `seq`: true when it may. */
  approveSend(seq: number): boolean {
    return this.step({ type: "send", seq }).some((e) => e.type === "sendApproved" && e.seq === seq);
  }

  /** `seq`'s payment ended without money moving (or will not be sent): the total may be charged again. */
  release(seq: number): void {
    this.step({ type: "release", seq });
  }

  /** The accepted total on the display now (what a scan would be charged), or null. */
  get standing(): { seq: number; amountFen: number } | null {
    return standingTotal(this.amount);
  }

  /** The display as last decoded, for diagnostics. */
  reading(): TapReading | null {
    const shown = this.amount.shown;
    if (!shown) return null;
    return {
      lamp: shown.screen.lamp,
      lines: [...shown.screen.lines],
      amountFen: shown.reading.amountFen,
      chargeable: shown.chargeable,
      kind: shown.reading.kind,
      standingTotal: this.standing,
    };
  }

  /** For `posbridge devices` / `doctor` (daemon/diagnostics/snapshot.ts TapSnapshot). */
  snapshot(): TapSnapshot {
    const d = this.displaySupervisor?.status;
    return {
      mode: this.config.mode,
      detection: this.detection,
      reading: this.reading(),
      realDisplay: d ? { state: d.state, error: d.error, node: d.device } : null,
    };
  }

  /** The lines the real display shows for `view` (for `posbridge test display` and monitor). */
  displayLines(view: DisplayView): string[] {
    return displayText(this.displayConfig(), view);
  }

  /** What the real display's command set is (passThrough/bridgeOwned), or undefined in listen mode. */
  displayConfig(): Pick<DisplayConfig, "type" | "charset"> {
    return {
      type: tapDisplayType(this.config, this.dialect),
      charset: this.config.display?.charset ?? "gb18030",
    };
  }

  /**
   * A view of the sale (amount due, paid, failed, unknown, rescan) on the real display. Listen
   * mode: never written (the bridge does not transmit on a tap). passThrough: written now if no
   * register frame is open, else as soon as it ends. bridgeOwned: over the register's screen;
   * `idle` gives the display back to the register's text.
   */
  show(view: DisplayView): void {
    this.view = view;
    if (this.config.mode === "listen") return;
    const port = this.displaySupervisor?.current;
    if (!port) return; // bridgeOwned repaints on reopen; passThrough shows what comes next
    if (this.config.mode === "bridgeOwned") {
      this.writeDisplay(port, this.render());
      this.counters.viewsShown++;
      return;
    }
    if (view.type === "idle") return; // the register's own frames are the idle screen
    const bytes = this.encode(view);
    if (this.lineBusy()) {
      // The register is mid-frame (its last byte came less than idleMs ago): writing now would
      // split its frame on the display. The view goes once the line has been quiet for idleMs.
      if (this.deferred === undefined) this.counters.viewsDeferred++;
      this.deferred = bytes;
      this.armDeferred();
      return;
    }
    this.deferred = undefined;
    this.writeDisplay(port, bytes);
    this.counters.viewsShown++;
  }

  /** The register sent a byte less than idleMs ago: a frame may be in progress. */
  private lineBusy(): boolean {
    const last = this.lastByteMono;
    return last !== undefined && this.deps.clock.monoNow() - last < this.config.idleMs;
  }

  private armDeferred(): void {
    this.deferTimer?.cancel();
    this.deferTimer = undefined;
    if (this.deferred === undefined || this.lastByteMono === undefined) return;
    const { clock } = this.deps;
    this.deferTimer = clock.setTimeout(
      () => {
        this.deferTimer = undefined;
        if (this.lineBusy()) this.armDeferred();
        else this.writeDeferred();
      },
      Math.max(0, this.lastByteMono + this.config.idleMs - clock.monoNow()),
    );
  }

  // ── the line ────────────────────────────────────────────────────────────────────────────────

  private lineSettings(line: SerialSetting): Omit<SerialDeviceConfig, "path" | "usb"> & { rtscts?: boolean } {
    return {
      baudRate: line.baudRate,
      dataBits: this.config.dataBits,
      parity: line.parity,
      stopBits: this.config.stopBits,
      ...(this.config.rtscts ? { rtscts: true } : {}),
    };
  }

  private openLine(line: SerialSetting, dialect: DisplayDialect): void {
    this.line = line;
    this.dialect = dialect;
    this.encoder = undefined;
    this.reader = createDisplayReader(dialect, { idleMs: this.config.idleMs, decodeText: this.decodeText });
    this.supervisor = new PortSupervisor({
      ...this.deps,
      settings: { ...this.lineSettings(line), path: this.config.path, usb: this.config.usb },
      onOpen: (port) => {
        // Bytes half-read before an unplug are garbage now: a fresh reader, the same machine
        // (a cut line is a change on the display: the machine hears it as the next update).
        this.reader = createDisplayReader(dialect, {
          idleMs: this.config.idleMs,
          decodeText: this.decodeText,
        });
        port.onData((bytes) => this.receive(bytes));
      },
      onState: () => this.reportState(),
    });
    this.supervisor.start();
  }

  /** Bytes from the register, as the port reads them (forwarded first, then decoded). */
  receive(bytes: Uint8Array): void {
    const now = this.deps.clock.monoNow();
    this.lastByteMono = now;
    this.counters.bytesIn += bytes.length;
    if (this.config.mode === "passThrough") this.forward(bytes);
    const reader = this.reader;
    if (!reader) return;
    this.events(reader.push(bytes, now), now);
    this.armIdle();
    if (this.deferred !== undefined) this.armDeferred();
  }

  /** passThrough: the register's bytes to the real display, as they came, before anything else. */
  private forward(bytes: Uint8Array): void {
    const port = this.displaySupervisor?.current;
    if (!port) {
      this.counters.forwardDropped += bytes.length;
      this.repeats.warn(
        "forwardDropped",
        { length: bytes.length },
        "real display down; register bytes dropped",
      );
      return;
    }
    this.counters.bytesForwarded += bytes.length;
    // Copy: the read buffer may be reused before the write is done.
    this.writeDisplay(port, bytes.slice());
  }

  private events(events: ScreenEvent[], now: number): void {
    for (const event of events) {
      if (event.type === "discarded") {
        this.counters.discardedBytes += event.length;
        this.repeats.warn(
          "discarded",
          { length: event.length, reason: event.reason },
          "display line bytes not read (wrong dialect or line settings?)",
        );
        continue;
      }
      this.counters.updates++;
      this.lastGoodMono = now;
      this.screen = event.screen;
      this.step(event, now);
      if (tapChannel.hasSubscribers) this.publish(event.screen);
      if (this.config.mode === "bridgeOwned" && this.view.type === "idle") {
        const port = this.displaySupervisor?.current;
        if (port) this.writeDisplay(port, this.render());
      }
    }
  }

  private armIdle(): void {
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    const due = this.reader?.idleDueMono;
    if (due == null) return;
    const { clock } = this.deps;
    this.idleTimer = clock.setTimeout(
      () => {
        this.idleTimer = undefined;
        const reader = this.reader;
        if (!reader) return;
        const at = clock.monoNow();
        this.events(reader.flush(at), at);
        this.armIdle();
      },
      Math.max(0, due - clock.monoNow()),
    );
  }

  /** The register's frame ended: the view that waited for it goes now. */
  private writeDeferred(): void {
    const bytes = this.deferred;
    if (bytes === undefined) return;
    this.deferred = undefined;
    const port = this.displaySupervisor?.current;
    if (!port) return;
    this.writeDisplay(port, bytes);
    this.counters.viewsShown++;
  }

  // ── the amount machine ──────────────────────────────────────────────────────────────────────

  private step(input: AmountInput, now = this.deps.clock.monoNow()): AmountEffect[] {
    const { state, effects } = stepAmount(this.amount, input, now);
    this.amount = state;
    this.armAmount();
    for (const effect of effects) {
      if (effect.type === "totalAccepted") this.counters.totalsAccepted++;
      try {
        this.handlers.onAmount(effect);
      } catch (err) {
        this.deps.log.error(
          { effect: effect.type, err: (err as Error).message },
          "display tap effect failed",
        );
      }
    }
    return effects;
  }

  private armAmount(): void {
    this.amountTimer?.cancel();
    this.amountTimer = undefined;
    const due = amountDueMono(this.amount);
    if (due === null) return;
    const { clock } = this.deps;
    this.amountTimer = clock.setTimeout(
      () => {
        this.amountTimer = undefined;
        this.step({ type: "tick" });
      },
      Math.max(0, due - clock.monoNow()),
    );
  }

  // ── the real display ────────────────────────────────────────────────────────────────────────

  private onDisplayOpen(port: OpenPort): void {
    port.onData(() => {}); // keep a reader attached so an unplug is noticed at once
    this.deferred = undefined;
    if (this.config.mode === "bridgeOwned")
      this.writeDisplay(port, concatBytes(this.enc().init, this.render()));
  }

  private enc(): DisplayEncoder {
    this.encoder ??= displayEncoder(this.displayConfig());
    return this.encoder;
  }

  private encode(view: DisplayView): Uint8Array {
    return this.enc().encode(view);
  }

  /** bridgeOwned: the bridge's view, or (idle) the register's screen in the display's command set. */
  private render(): Uint8Array {
    if (this.view.type !== "idle") return this.encode(this.view);
    const screen = this.screen;
    if (!screen) return this.encode({ type: "idle" });
    if (tapDisplayType(this.config, this.dialect) === "led8") {
      const reading = readScreen(screen, this.amount.settings.rules);
      return reading.amountFen === null
        ? this.encode({ type: "idle" })
        : this.encode({ type: "amountDue", amountFen: reading.amountFen });
    }
    return this.encode({ type: "text", lines: [screen.lines[0] ?? "", screen.lines[1] ?? ""] });
  }

  private writeDisplay(port: OpenPort, bytes: Uint8Array): void {
    port.write(bytes).then(
      () => this.repeats.clear("displayWrite"),
      (err: Error) => {
        this.repeats.warn("displayWrite", { err: err.message }, "write to the real display failed");
        this.displaySupervisor?.fail(port, "ABSENT", `write failed: ${err.message}`);
      },
    );
  }

  private reportState(): void {
    const s = this.status;
    this.handlers.onState?.(s.state, s.error);
  }

  private publish(screen: Screen): void {
    const reading = readScreen(screen, this.amount.settings.rules);
    tapChannel.publish({
      type: "tap",
      at: this.deps.clock.wallNow(),
      lane: this.deps.laneId ?? "",
      lamp: screen.lamp,
      lines: [...screen.lines],
      amountFen: reading.amountFen,
      chargeable: isChargeable(reading, this.amount.settings.maxAmountFen),
      kind: reading.kind,
      standingTotalFen: this.standing?.amountFen ?? null,
    });
  }

  // ── auto-detection (listen only) ────────────────────────────────────────────────────────────

  private async detect(generation: number): Promise<void> {
    const found = await detectLine({
      baudRate: this.config.baudRate,
      parity: this.config.parity,
      dialect: this.dialect,
      idleMs: this.config.idleMs,
      rules: this.amount.settings.rules,
      sample: (setting) => this.sample(setting),
      alive: () => generation === this.generation,
      onStatus: (status) => {
        this.detectionStatus = status;
      },
      onNothing: (d) =>
        this.repeats.warn(
          "detect",
          { verdict: d.verdict, reason: d.reason },
          "display line not detected yet; listening again",
        ),
    });
    if (!found || generation !== this.generation) return;
    const { setting, dialect, status } = found;
    this.deps.log.info(
      { baudRate: setting.baudRate, parity: setting.parity, dialect, confidence: status.confidence },
      "display line detected",
    );
    this.openLine(setting, dialect);
  }

  /** Opens the line at `setting` for detectSampleMs and returns what it read (nothing if it would not open). */
  private sample(setting: SerialSetting): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    const supervisor = new PortSupervisor({
      ...this.deps,
      settings: { ...this.lineSettings(setting), path: this.config.path, usb: this.config.usb },
      onOpen: (port) => port.onData((bytes) => chunks.push(bytes.slice())),
      onState: () => this.reportState(),
    });
    this.supervisor = supervisor;
    supervisor.start();
    return new Promise((resolve) => {
      this.detectTimer = this.deps.clock.setTimeout(() => {
        this.detectTimer = undefined;
        void supervisor.stop().then(() => resolve(concatBytes(...chunks)));
      }, this.config.detectSampleMs);
    });
  }
}
