// One checkout lane: its register, scanner and display wired around the runner of the pure sale
// machine. This file builds the devices and the lane's parts, starts and stops them, routes what
// the devices and the cloud say into the runner as sale inputs (with the journal's view of the
// sale each one concerns), and carries out what a durable step does outside the journal: answers
// to the register, views on the display, requests to the cloud, sale events (the runner's
// SaleEffectsPort, called only once the step's records are on disk). Its parts, one job each:
//   sale-runner.ts     steps the machine: journal first, all or nothing, held inputs, timers
//   code-custody.ts    the only place a payment code lives: the pay request, its resend, unspend
//   lane-journal.ts    what the lane reads of the journal, and the views it hands the machine
//   lane-training.ts   test actions and training sales; the display's one way in
//   lane-describe.ts   status, snapshot, details and counters views
//   sale-events.ts     a sale event's counter, fleet event and log line
import type {
  CloudCommand,
  CloudResponse,
  DeviceState,
  LaneStatusView,
} from "../../protocols/cloud/cloud-messages.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import type { Scheme } from "../../protocols/payment/scheme.js";
import type { PosRequest } from "../../protocols/pos/pos-messages.js";
import type { SaleView } from "../../protocols/sale/refund-machine.js";
import { laneState } from "../../protocols/sale/sale-machine.js";
import type { JournalFault, LaneSaleState, SaleSettings } from "../../protocols/sale/sale-types.js";
import { isTrainingAttempt } from "../../protocols/sale/training.js";
import type { AuditCause, JournaledWrite } from "../audit/audit-derive.js";
import type { Clock } from "../clock.js";
import type { CloudRpc } from "../cloud/rpc.js";
import type { LaneConfig } from "../config/config-types.js";
import { describeLocation } from "../devices/device-identity.js";
import { DisplayPort } from "../devices/display-port.js";
import type { ScannerDevice } from "../devices/scanner-device.js";
import { createScannerDevice } from "../devices/scanner-factory.js";
import type { SerialOpener } from "../devices/serial-binding.js";
import { DisplayTap } from "../devices/display-tap-port.js";
import { createRegisterLink, type RegisterLink, registerLinkLocation } from "../devices/register-link.js";
import type { ProbeResult } from "../devices/terminal-port.js";
import { VoicePort } from "../devices/voice-port.js";
import { scanChannel, stateChannel } from "../diagnostics/channels.js";
import type { LaneSnapshot } from "../diagnostics/snapshot.js";
import { deviceLogger, type Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { CodeCustody } from "./code-custody.js";
import type { CrashPoint } from "./crash-points.js";
import {
  describeLane,
  type LaneCounters,
  type LaneParts,
  laneCountersText,
  laneDetails,
  lanePending,
  laneStatus,
  newLaneCounters,
  scanOutcome,
} from "./lane-describe.js";
import { type LaneJournal, lastTapSale, saleView, unsettledViews } from "./lane-journal.js";
import { LaneTap } from "./lane-tap.js";
import { LaneTraining, type ScanJudgement, type TrainingEvent } from "./lane-training.js";
import { reportSaleEvent } from "./sale-events.js";
import { type CommandEffect, type SaleEffectsPort, SaleRunner } from "./sale-runner.js";

/** Where a lane's requests go: the real cloud (CloudRpc), or the simulated one of training sales. */
export type CloudPort = Pick<CloudRpc, "send">;

export interface LaneDeps {
  settings: SaleSettings;
  opener: SerialOpener;
  clock: Clock;
  log: Logger;
  rpc: CloudRpc;
  /**
   * The simulated cloud inside the bridge that answers training attempts (ids `trn_…`): every
   * request of one goes here, never to `rpc` (daemon/lanes/training-cloud.ts). Without it a
   * training attempt is never sent at all.
   */
  trainingCloud?: CloudPort;
  journal: LaneJournal;
  newId: () => string;
  cloudOnline: () => boolean;
  /** Something changed that belongs in the retained status (device up/down). */
  onStatusChange: () => void;
  /** Short, code-free events for P/event. */
  onEvent: (kind: string, detail: string) => void;
  /** Test-only crash points (daemon/lanes/crash-points.ts); a no-op in production. */
  crashPoint?: CrashPoint;
  /** Window of the lane's and its devices' RepeatLimiters (config log.repeatWindowMs); default 60 s. */
  repeatWindowMs?: number;
  /**
   * A step's journal records are durable, and nothing else of the step has happened yet: what it
   * wrote, what each record replaced, and why it ran (without a scan's code). The audit trail
   * observes the lane here (daemon/audit/).
   */
  onJournaled?: (cause: AuditCause, writes: JournaledWrite[]) => void;
}

/** Queries, cancels and refunds are useless to the cloud after this long (their v5 expiry). */
const COMMAND_EXPIRY_MS = 60_000;

export class Lane {
  /** Steps the sale machine and writes the journal (sale-runner.ts). */
  private readonly runner: SaleRunner;
  /** The scanned codes (code-custody.ts): the only place one lives. */
  private readonly custody: CodeCustody;
  /** Test actions and training sales (lane-training.ts); the display is reached through it. */
  private readonly training: LaneTraining;
  /** The lane's repeated sale events (repeatKey) and journal failures; each device has its own limiter. */
  private readonly repeats: RepeatLimiter;
  /** The register link, or the register's display line (no-integration mode): register-link.ts. */
  private readonly terminal: RegisterLink;
  /** No-integration mode: the sales made up from the register's display (lane-tap.ts). */
  private readonly tapSales: LaneTap | undefined;
  private readonly scanner: ScannerDevice;
  private readonly display: DisplayPort | undefined;
  /** Voice prompts (voice-port.ts): the display's views, spoken; undefined without `voice` or when disabled. */
  private readonly voice: VoicePort | undefined;
  /** The scheme of the result answered in this step: the paid view that follows it says it (reset after each step). */
  private resultScheme: Scheme | null = null;
  private readonly crash: CrashPoint;
  /** Monotonic time of the scanner's last read (for diagnostics). */
  private lastScanMono: number | undefined;
  readonly counters: LaneCounters = newLaneCounters();
  /** What the views read (lane-describe.ts). */
  private readonly parts: LaneParts;

  constructor(
    readonly config: LaneConfig,
    private readonly deps: LaneDeps,
  ) {
    this.crash = deps.crashPoint ?? (() => {});
    const { opener, clock, log, repeatWindowMs } = deps;
    this.repeats = new RepeatLimiter(log, clock, repeatWindowMs);
    this.runner = new SaleRunner({
      laneId: config.id,
      settings: deps.settings,
      clock,
      log,
      journal: deps.journal,
      repeats: this.repeats,
      counters: this.counters,
      crash: this.crash,
      cloudOnline: deps.cloudOnline(),
      onJournaled: deps.onJournaled,
      port: this.effectsPort(),
    });
    this.custody = new CodeCustody({
      laneId: config.id,
      clock,
      log,
      codeLifetimeMs: deps.settings.codeLifetimeMs,
      cloudFor: (attemptId) => this.cloudFor(attemptId),
      onPayRefused: (attemptId, reasonCode) =>
        this.runner.feed({ type: "payRefused", attemptId, reasonCode }),
      counters: this.counters,
      crash: this.crash,
    });
    const deviceState =
      (device: "terminal" | "scanner" | "display") => (state: DeviceState, error: string) => {
        if (stateChannel.hasSubscribers)
          stateChannel.publish({
            type: "state",
            at: clock.wallNow(),
            lane: config.id,
            subject: device,
            to: state,
            detail: error,
          });
        deps.onEvent(
          state === "CONNECTED" ? "device_up" : "device_down",
          `${device}: ${state}${error ? ` (${error})` : ""}`,
        );
        deps.onStatusChange();
      };
    const tapStart = config.displayTap ? lastTapSale(deps.journal, config.id) : undefined;
    this.terminal = createRegisterLink(
      config,
      {
        opener,
        clock,
        log: deviceLogger(log, "terminal", registerLinkLocation(config)),
        name: `lane ${config.id} ${config.displayTap ? "display tap" : "terminal"}`,
        repeatWindowMs,
        maxAmountFen: deps.settings.maxAmountFen,
        laneId: config.id,
        lastTapSeq: tapStart?.lastSeq ?? 0,
      },
      {
        onRequest: (request: PosRequest) => this.onPosRequest(request),
        onBadRequest: (seq, orderRef, message) =>
          this.runner.feed({ type: "badRequest", seq, orderRef, message }),
        onState: deviceState("terminal"),
        onLinkFault: (detail) => deps.onEvent("link_fault", `terminal: ${detail}`),
        onAmount: (effect) => this.tapSales?.onAmount(effect),
      },
    );
    this.scanner = createScannerDevice(
      config.scanner,
      {
        opener,
        clock,
        log: deviceLogger(log, "scanner", describeLocation(config.scanner)),
        name: `lane ${config.id} scanner`,
        repeatWindowMs,
      },
      { onScan: (code) => this.onScan(code), onState: deviceState("scanner") },
    );
    this.display = config.display
      ? new DisplayPort(
          config.display,
          {
            opener,
            clock,
            log: deviceLogger(log, "display", describeLocation(config.display)),
            name: `lane ${config.id} display`,
            repeatWindowMs,
          },
          { onState: deviceState("display") },
        )
      : undefined;
    this.voice = config.voice?.enabled
      ? new VoicePort(
          config.voice,
          { clock, log: log.child({ device: "voice" }), repeatWindowMs },
          {
            onState: (state, error) => {
              deps.onEvent(
                state === "CONNECTED" ? "device_up" : "device_down",
                `voice: ${state}${error ? ` (${error})` : ""}`,
              );
            },
          },
        )
      : undefined;
    const tap = this.terminal instanceof DisplayTap ? this.terminal : undefined;
    this.tapSales = tap
      ? new LaneTap({
          tap,
          runner: this.runner,
          custody: this.custody,
          newId: deps.newId,
          newAttemptId: () => this.training.newAttemptId(),
          log,
          show: (view, spoken) => {
            const shown = this.training.display(view, false);
            if (spoken) this.voice?.say(spoken);
            else this.voice?.show(shown, null);
          },
          onEvent: deps.onEvent,
          guardFen: tapStart?.guardFen ?? null,
        })
      : undefined;
    // The tap's real display shows the sale's views (passThrough, bridgeOwned); in listen mode the
    // bridge never writes to the display line, and the lane's own display (if any) shows them.
    const shownOn =
      tap && tap.config.mode !== "listen"
        ? { port: tap, config: tap.displayConfig() }
        : this.display && config.display
          ? { port: this.display, config: config.display }
          : undefined;
    this.training = new LaneTraining({
      laneId: config.id,
      clock,
      newId: deps.newId,
      schemes: deps.settings.schemes,
      journal: deps.journal,
      terminal: this.terminal,
      display: shownOn,
      runner: this.runner,
      custody: this.custody,
    });
    this.parts = {
      id: config.id,
      config,
      clock,
      terminal: this.terminal,
      scanner: this.scanner,
      display: this.display,
      voice: this.voice,
      tap,
      counters: this.counters,
      state: () => this.runner.state,
      heldInputs: () => this.runner.heldInputs,
      heldCodes: () => this.custody.size,
      lastScanMono: () => this.lastScanMono,
    };
  }

  get id(): string {
    return this.config.id;
  }

  start(): void {
    this.terminal.start();
    this.scanner.start();
    this.display?.start();
    this.voice?.start();
  }

  /**
   * Resumes what the journal holds unsettled for this lane (after a restart): open attempts are
   * queried or reversed, sales settled from their attempts, refunds resent.
   */
  recover(): void {
    const { journal } = this.deps;
    const views = unsettledViews(journal, this.id);
    const refunds = journal.openRefunds(this.id);
    this.counters.recovered += views.length + refunds.length;
    if (views.length || refunds.length) {
      this.deps.log.warn(
        { sales: views.length, refunds: refunds.length },
        "resuming unsettled sales and refunds from the journal",
      );
      this.runner.feed({ type: "recover", sales: views, refunds });
    }
  }

  async stop(): Promise<void> {
    this.runner.stop();
    this.custody.clear();
    await Promise.allSettled([
      this.terminal.stop(),
      this.scanner.stop(),
      this.display?.stop(),
      this.voice?.stop(),
    ]);
    this.repeats.clearAll(); // says what is still held back
  }

  /**
   * The journal went down (`fault`) or is back (null; daemon/app.ts, from the journal's health).
   * Back: the inputs held while it was down are stepped again, in the order they came, so the
   * open sale gets its answer now that its outcome can be recorded.
   */
  setJournalHealth(fault: JournalFault | null, detail: string): void {
    this.runner.setJournalHealth(fault, detail);
  }

  /** `refusal`: the broker's reason code ("0x87") while it refuses us; "" when merely offline. */
  setCloudOnline(online: boolean, refusal = ""): void {
    // A pay request the broker never acknowledged goes out again first, then queries catch up.
    if (online) {
      for (const kind of ["query", "cancel", "refund"]) this.repeats.clear(`notSent:${kind}`);
      this.custody.resendInDoubt(this.runner.state.current?.attempt);
    }
    this.runner.feed({ type: "cloudLink", online, refusal });
  }

  /**
   * A result from the cloud. `answers` is the request it answers, or "unsolicited" when its
   * request id is unknown (sent by an earlier process, forgotten by rpc.ts, or never sent):
   * that is the cloud's word on the attempt's state, taken as a query's answer would be.
   */
  onCloudResponse(response: CloudResponse, answers: CloudCommand["type"] | "unsolicited"): void {
    const r = response.result;
    this.crash(`result:${r.status}`);
    if (r.type === "refund") {
      this.runner.feed({ type: "refundResult", refundId: r.refundId, result: r });
      return;
    }
    this.custody.answered(response.attemptId);
    // The journal's record of the attempt's order: a result for an attempt that has already ended
    // is judged against it (the cloud may contradict what the register was told).
    const attempt = this.deps.journal.attempt(response.attemptId);
    const view = attempt?.laneId === this.id ? this.viewOf(attempt.orderRef) : undefined;
    this.runner.feed({
      type: "cloudResult",
      attemptId: response.attemptId,
      result: r,
      answers: answers === "unsolicited" ? "query" : answers,
      view,
    });
  }

  // ── views (lane-describe.ts) ───────────────────────────────────────────────────────────────

  status(): LaneStatusView {
    return laneStatus(this.parts);
  }

  /** Unsettled work, for status and diagnostics (ids, amounts, phases and masked codes only). */
  pending(): LaneSnapshot["pending"] {
    return lanePending(this.runner.state);
  }

  /** The lane for diagnostics (daemon/diagnostics/snapshot.ts). */
  describe(): LaneSnapshot {
    return describeLane(this.parts);
  }

  details() {
    return laneDetails(this.parts);
  }

  /** One line of counters for P/event (kind "counters"): numbers only, never a code. */
  countersText(): string {
    return laneCountersText(this.parts);
  }

  // ── diagnostics: test actions (lane-training.ts; daemon/diagnostics/methods/test.ts) ───────

  /** Why the lane cannot be lent to a test action now, or undefined when it can. */
  busyReason(): string | undefined {
    return this.training.busyReason();
  }

  /** `posbridge test display`: `view` for `forMs`; the lines shown, or undefined without a display. */
  testDisplay(view: DisplayView, forMs: number): string[] | undefined {
    return this.training.testDisplay(view, forMs);
  }

  /** `posbridge test scan`: the next read goes to `fn` instead of the sale machine; returns the cancel. */
  tapNextScan(fn: (code: string) => void): () => void {
    return this.training.tapNextScan(fn);
  }

  /** What a sale would do with `code` now (for `posbridge test scan`): never the code itself. */
  judgeScan(code: string): ScanJudgement {
    return this.training.judgeScan(code);
  }

  /** `posbridge test register`: an ES frame to the register and its ACK (ecr), with the link counters. */
  probeRegister(): Promise<ProbeResult> {
    return this.training.probeRegister();
  }

  /** The register link's state and counters (for the probe's report). */
  terminalStatus() {
    return this.terminal.status;
  }

  /** `posbridge test sale`: a training sale; `listener` hears it; returns its order and a cancel. */
  startTraining(
    amountFen: number,
    listener: (event: TrainingEvent) => void,
  ): { orderRef: string; cancel(): void } {
    return this.training.startTraining(amountFen, listener);
  }

  // ── inputs: what the devices say, into the runner ──────────────────────────────────────────

  private onPosRequest(request: PosRequest): void {
    this.repeats.clear("badRequest"); // the register makes sense again
    if (request.type === "echo") {
      this.runner.feed({ type: "pos", request });
      return;
    }
    const view = this.viewOf(request.orderRef);
    this.runner.feed({ type: "pos", request, view, newId: this.deps.newId() });
  }

  private onScan(code: string): void {
    this.counters.scans++;
    const now = this.deps.clock.monoNow();
    this.lastScanMono = now;
    if (this.training.tookScan(code)) return;
    const repeated = this.custody.seen(code, now);
    if (scanChannel.hasSubscribers) this.publishScan(code, repeated);
    if (repeated) {
      this.runner.feed({ type: "scanRepeated" });
      return;
    }
    if (this.tapSales) {
      this.tapSales.onScan(code, now);
      return;
    }
    // The attempt id is chosen when the scan's turn comes, from the sale open then (a training
    // sale's go to the simulated cloud only): the step before may still be committing now.
    this.runner.feed(() => {
      const attemptId = this.training.newAttemptId();
      this.custody.hold(attemptId, code, now);
      return { type: "scan", code, attemptId };
    });
  }

  /** What `posbridge monitor` sees of a read: its length, masked form, kind and fate; never the code. */
  private publishScan(code: string, repeated: boolean): void {
    const judged = this.training.judgeScan(code);
    const outcome = scanOutcome(this.runner.state, judged.classification.startsWith("payment"), repeated);
    scanChannel.publish({
      type: "scan",
      at: this.deps.clock.wallNow(),
      lane: this.id,
      length: judged.length,
      masked: judged.masked,
      classification: judged.classification,
      outcome,
    });
  }

  private viewOf(orderRef: string): SaleView | undefined {
    return saleView(this.deps.journal, this.id, orderRef);
  }

  // ── effects: what a durable step does outside the journal ──────────────────────────────────

  /** The cloud an attempt's requests go to: a training attempt's never reach the real one. */
  private cloudFor(attemptId: string): CloudPort | undefined {
    return isTrainingAttempt(attemptId) ? this.deps.trainingCloud : this.deps.rpc;
  }

  /** The runner's way out: what a durable step does on this lane's devices and toward the cloud. */
  private effectsPort(): SaleEffectsPort {
    return {
      answer: (answer) => {
        if (answer.type === "result") this.resultScheme = answer.scheme;
        const marked = this.training.answer(answer);
        if (marked) this.terminal.send(marked);
        if (answer.type === "result") this.crash(`answer:${answer.status}`);
      },
      // Voice is a second rendering of the view shown (docs/hardware.md, "Voice prompts"). Not
      // `this.voice?.show(this.training.display(…))`: without a voice that would skip the display.
      display: (view, step) => {
        const shown = this.training.display(this.tapSales?.view(view) ?? view, step.training);
        this.voice?.show(shown, this.resultScheme);
      },
      // No-integration mode: published only if the scan's total still stands (lane-tap.ts gate).
      pay: (attempt) => this.tapSales?.gate(attempt) ?? this.custody.publish(attempt),
      send: (effect) => this.send(effect),
      event: (effect, step) =>
        reportSaleEvent(effect, step.input, {
          log: this.deps.log,
          repeats: this.repeats,
          counters: this.counters,
          onEvent: this.deps.onEvent,
        }),
      stepped: (before, after) => this.stepped(before, after),
    };
  }

  /** A query, cancel or refund request to the cloud of its attempt. */
  private send(effect: CommandEffect): void {
    const attemptId = effect.command.attemptId;
    const rpc = this.cloudFor(attemptId);
    if (!rpc) return;
    const sent = rpc.send(this.id, effect.command, {
      expiresAtMono: this.deps.clock.monoNow() + COMMAND_EXPIRY_MS,
      // Refused by the broker: delivered to no one. The link holds requests back meanwhile
      // (the schedule moves on without sending); a refused cancel is no reversal spent.
      onAck: (_acked, refusal) => {
        if (refusal && effect.type === "cancel") this.runner.feed({ type: "cancelRefused", attemptId });
      },
    });
    if (sent.ok) this.crash(`publish:${effect.type}`);
    // Retried on every query interval while the broker is away: one line per window.
    else
      this.repeats.warn(
        `notSent:${effect.type}`,
        { attemptId: effect.command.attemptId, kind: effect.type },
        `${effect.type} not sent: broker offline; will retry`,
      );
  }

  /** After each step: codes that can no longer be sent go; who watches hears what changed. */
  private stepped(before: LaneSaleState, after: LaneSaleState): void {
    this.resultScheme = null; // a later step's paid view (a recovered sale) must not say this one's scheme
    this.custody.forgetAllBut(after.current?.attempt);
    this.tapSales?.stepped(after);
    if (stateChannel.hasSubscribers) {
      const from = laneState(before);
      const to = laneState(after);
      if (from !== to)
        stateChannel.publish({
          type: "state",
          at: this.deps.clock.wallNow(),
          lane: this.id,
          subject: "lane",
          to,
          detail: `${from} → ${to}${after.current ? ` order ${after.current.record.orderRef}` : ""}`,
        });
    }
    // Pending work is part of the retained status: republish when it changes.
    if (
      before.background.length !== after.background.length ||
      before.refunds.length !== after.refunds.length
    )
      this.deps.onStatusChange();
  }
}
