// One checkout lane: register + scanner + display around the pure sale machine. The lane feeds
// the machine its inputs (with the journal's view of the sale a request names) and carries out
// the effects it returns, in order: journal records are durable (fsync) before anything after
// them in the same step is published, answered or shown. Payment codes live here only, in
// memory, under their attempt id, until the attempt leaves `sent`/`queued` or its deadline passes.
// Events that junk repeats without end (scans refused or ignored, frames that mean nothing) are
// one line per kind per window with a count; those that matter for money are all logged.
import type {
  CloudCommand,
  CloudResponse,
  DeviceState,
  LaneStatusView,
} from "../../protocols/cloud/cloud-messages.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import type { SaleView } from "../../protocols/sale/refund-machine.js";
import { laneState } from "../../protocols/sale/sale-machine.js";
import type { JournalFault, LaneSaleState, SaleSettings } from "../../protocols/sale/sale-types.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import { classifyCode } from "../../protocols/payment/classify-code.js";
import { maskCode } from "../../protocols/payment/mask.js";
import {
  isTrainingAttempt,
  TRAINING_ATTEMPT_PREFIX,
  TRAINING_MARK,
  TRAINING_ORDER_PREFIX,
} from "../../protocols/sale/training.js";
import type { AuditCause, JournaledWrite } from "../audit/audit-derive.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { LaneConfig } from "../config/config-types.js";
import type { CloudRpc } from "../cloud/rpc.js";
import { describeLocation } from "../devices/device-identity.js";
import { DisplayPort, displayText } from "../devices/display-port.js";
import type { ScannerDevice } from "../devices/scanner-device.js";
import { createScannerDevice } from "../devices/scanner-factory.js";
import type { SerialOpener } from "../devices/serial-binding.js";
import { type ProbeResult, TerminalPort } from "../devices/terminal-port.js";
import { deviceLogger, type Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { displayChannel, scanChannel, stateChannel } from "../diagnostics/channels.js";
import type { LaneSnapshot } from "../diagnostics/snapshot.js";
import type { CrashPoint } from "./crash-points.js";
import { type LaneJournal, saleView, unsettledViews } from "./lane-journal.js";
import { CodeCustody } from "./code-custody.js";
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
  /** The lane's repeated sale events (repeatKey) and journal failures; each device has its own limiter. */
  private readonly repeats: RepeatLimiter;
  private readonly terminal: TerminalPort;
  private readonly scanner: ScannerDevice;
  private readonly display: DisplayPort | undefined;
  private readonly crash: CrashPoint;
  /** Monotonic time of the scanner's last read (for diagnostics). */
  private lastScanMono: number | undefined;
  /** `posbridge test scan`: the next read goes here instead of to the sale machine. */
  private scanTap: ((code: string) => void) | undefined;
  /** `posbridge test sale`: who hears the training sale's progress and result. */
  private trainingWatch: { orderRef: string; listener: (event: TrainingEvent) => void } | undefined;
  private testDisplayTimer: TimerHandle | undefined;
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
    this.terminal = new TerminalPort(
      config.terminal,
      {
        opener,
        clock,
        log: deviceLogger(log, "terminal", describeLocation(config.terminal)),
        name: `lane ${config.id} terminal`,
        repeatWindowMs,
        maxAmountFen: deps.settings.maxAmountFen,
        laneId: config.id,
      },
      {
        onRequest: (request: PosRequest) => this.onPosRequest(request),
        onBadRequest: (seq, orderRef, message) =>
          this.runner.feed({ type: "badRequest", seq, orderRef, message }),
        onState: deviceState("terminal"),
        onLinkFault: (detail) => deps.onEvent("link_fault", `terminal: ${detail}`),
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
    this.parts = {
      id: config.id,
      config,
      clock,
      terminal: this.terminal,
      scanner: this.scanner,
      display: this.display,
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
    await Promise.allSettled([this.terminal.stop(), this.scanner.stop(), this.display?.stop()]);
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
   * request id is unknown (sent by an earlier process, forgotten after 10 minutes, or never sent):
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

  // ── diagnostics: test actions (daemon/diagnostics/methods/test.ts) ─────────────────────────

  /** Why the lane cannot be lent to a test action now, or undefined when it can. */
  busyReason(): string | undefined {
    const cur = this.runner.state.current;
    if (cur)
      return `${cur.record.training ? "a training" : "a"} sale is open on lane ${this.id} (order ${cur.record.orderRef})`;
    if (this.runner.state.refunds.some((r) => !r.answered))
      return `a refund is in progress on lane ${this.id}`;
    return undefined;
  }

  /**
   * `posbridge test display`: shows a view, then the idle view again after `forMs`, unless a sale
   * began meanwhile. Returns the lines shown, or undefined when the lane has no display.
   */
  testDisplay(view: DisplayView, forMs: number): string[] | undefined {
    if (!this.display || !this.config.display) return undefined;
    this.showView(view);
    this.testDisplayTimer?.cancel();
    this.testDisplayTimer = this.deps.clock.setTimeout(() => {
      this.testDisplayTimer = undefined;
      if (!this.runner.state.current) this.showView({ type: "idle" });
    }, forMs);
    return displayText(this.config.display, view);
  }

  /** `posbridge test scan`: the next read goes to `fn` instead of the sale machine; returns the cancel. */
  tapNextScan(fn: (code: string) => void): () => void {
    this.scanTap = fn;
    return () => {
      if (this.scanTap === fn) this.scanTap = undefined;
    };
  }

  /** What a sale would do with `code` now (for `posbridge test scan`): never the code itself. */
  judgeScan(code: string): { length: number; masked: string; classification: string; wouldDo: string } {
    const cls = classifyCode(code, this.deps.settings.schemes);
    const masked = maskCode(code, cls.type === "payment" ? cls.scheme : null);
    const classification =
      cls.type === "payment"
        ? `payment code, ${cls.scheme}`
        : `${cls.type === "notPayment" ? `not a payment code (${cls.kind})` : "unreadable"}: ${cls.reason}`;
    const wouldDo = this.custody.seen(code, this.deps.clock.monoNow())
      ? "refuse it: the same code was sent within the last minute (the cashier is asked for a fresh code)"
      : cls.type === "payment"
        ? `submit it to the payment cloud as a payment code of ${cls.scheme}`
        : "ask the cashier to rescan, showing why on the register and the display";
    return { length: code.length, masked, classification, wouldDo };
  }

  /** `posbridge test register`: an ES frame to the register and its ACK (ecr), with the link counters. */
  probeRegister(): Promise<ProbeResult> {
    return this.terminal.probe({
      type: "echoReply",
      seq: "00",
      brokerOnline: this.runner.state.cloudOnline,
      laneState: laneState(this.runner.state),
    });
  }

  /** The register link's state and counters (for the probe's report). */
  terminalStatus() {
    return this.terminal.status;
  }

  /**
   * `posbridge test sale`: opens a training sale of `amountFen` as if the register had sent SA
   * (order TRAIN-…, seq "TR"); its attempts go to the simulated cloud. `listener` hears its
   * progress, display and result; the register gets its progress marked 培训, never its result
   * (it did not ask). Returns the order reference and a cancel (as CA would).
   */
  startTraining(
    amountFen: number,
    listener: (event: TrainingEvent) => void,
  ): { orderRef: string; cancel(): void } {
    const orderRef = `${TRAINING_ORDER_PREFIX}${this.deps.newId().slice(-10)}`;
    this.trainingWatch = { orderRef, listener };
    listener({ type: "started", lane: this.id, orderRef, amountFen });
    this.runner.feed({
      type: "pos",
      request: { type: "sale", seq: TRAINING_SEQ, orderRef, amountFen },
      view: undefined,
      newId: this.deps.newId(),
      training: true,
    });
    return {
      orderRef,
      cancel: () => {
        if (this.runner.state.current?.record.orderRef === orderRef)
          this.runner.feed({
            type: "pos",
            request: { type: "cancel", seq: TRAINING_SEQ, orderRef },
            view: this.viewOf(orderRef),
          });
        if (this.trainingWatch?.orderRef === orderRef) this.trainingWatch = undefined;
      },
    };
  }

  /**
   * What the register gets of an answer about a training sale: its progress and the answers to
   * its own requests marked 培训; nothing for the training sale's own requests (seq "TR": the
   * register never sent them). Answers of real sales pass unchanged.
   */
  private trainingAnswer(answer: PosAnswer): PosAnswer | undefined {
    if (answer.type === "echoReply") return answer;
    const ownRequest = answer.type === "result" && answer.seq === TRAINING_SEQ;
    const training =
      ownRequest ||
      (answer.orderRef.startsWith(TRAINING_ORDER_PREFIX) &&
        this.deps.journal.sale(this.id, answer.orderRef)?.training);
    const marked: PosAnswer = training ? { ...answer, text: `${TRAINING_MARK} ${answer.text}` } : answer;
    const watch = this.trainingWatch;
    if (watch && marked.orderRef === watch.orderRef) {
      watch.listener(
        marked.type === "progress"
          ? { type: "progress", stage: marked.stage, text: marked.text }
          : {
              type: "result",
              status: marked.status,
              amountFen: marked.amountFen,
              scheme: marked.scheme,
              channelTradeNo: marked.channelTradeNo,
              text: marked.text,
            },
      );
      if (ownRequest) this.trainingWatch = undefined;
    }
    return ownRequest ? undefined : marked;
  }

  private showView(view: DisplayView): void {
    if (view.type !== "text") {
      this.testDisplayTimer?.cancel();
      this.testDisplayTimer = undefined;
    }
    this.display?.show(view);
    if (displayChannel.hasSubscribers && this.config.display)
      displayChannel.publish({
        type: "display",
        at: this.deps.clock.wallNow(),
        lane: this.id,
        lines: displayText(this.config.display, view),
        training: view.training === true,
      });
  }

  private publishScan(code: string, repeated: boolean): void {
    const judged = this.judgeScan(code);
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

  private onPosRequest(request: PosRequest): void {
    this.repeats.clear("badRequest"); // the register makes sense again
    if (request.type === "echo") {
      this.runner.feed({ type: "pos", request });
      return;
    }
    const view = this.viewOf(request.orderRef);
    this.runner.feed({ type: "pos", request, view, newId: this.deps.newId() });
  }

  private viewOf(orderRef: string): SaleView | undefined {
    return saleView(this.deps.journal, this.id, orderRef);
  }

  private onScan(code: string): void {
    const { clock, newId } = this.deps;
    this.counters.scans++;
    const now = clock.monoNow();
    this.lastScanMono = now;
    const tap = this.scanTap;
    if (tap) {
      // A test read: not a sale's, not remembered, never sent anywhere.
      this.scanTap = undefined;
      tap(code);
      return;
    }
    const repeated = this.custody.seen(code, now);
    if (scanChannel.hasSubscribers) this.publishScan(code, repeated);
    if (repeated) {
      this.runner.feed({ type: "scanRepeated" });
      return;
    }
    // A training sale's attempts carry their own prefix: routed to the simulated cloud only.
    const attemptId = this.runner.state.current?.record.training
      ? `${TRAINING_ATTEMPT_PREFIX}${newId()}`
      : newId();
    this.custody.hold(attemptId, code, now);
    this.runner.feed({ type: "scan", code, attemptId });
  }

  /** The cloud an attempt's requests go to: a training attempt's never reach the real one. */
  private cloudFor(attemptId: string): CloudPort | undefined {
    return isTrainingAttempt(attemptId) ? this.deps.trainingCloud : this.deps.rpc;
  }

  /** The runner's way out: what a durable step does on this lane's devices and toward the cloud. */
  private effectsPort(): SaleEffectsPort {
    return {
      answer: (answer) => {
        const marked = this.trainingAnswer(answer);
        if (marked) this.terminal.send(marked);
        if (answer.type === "result") this.crash(`answer:${answer.status}`);
      },
      display: (view, step) => {
        const shown: DisplayView = step.training && view.type !== "idle" ? { ...view, training: true } : view;
        this.showView(shown);
        if (this.trainingWatch && step.training && this.display && this.config.display)
          this.trainingWatch.listener({ type: "display", lines: displayText(this.config.display, shown) });
      },
      pay: (attempt) => this.custody.publish(attempt),
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

  /** After each step: codes of attempts that can no longer be sent go; who watches hears what changed. */
  private stepped(before: LaneSaleState, after: LaneSaleState): void {
    this.custody.forgetAllBut(after.current?.attempt);
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

/** The seq of a training sale's own SA and CA: no register sends it (seqs are two digits). */
export const TRAINING_SEQ = "TR";

/** What `posbridge test sale` hears of its training sale. */
export type TrainingEvent =
  | { type: "started"; lane: string; orderRef: string; amountFen: number }
  | { type: "progress"; stage: string; text: string }
  | { type: "display"; lines: string[] }
  | {
      type: "result";
      status: string;
      amountFen: number | null;
      scheme: string | null;
      channelTradeNo: string;
      text: string;
    };
