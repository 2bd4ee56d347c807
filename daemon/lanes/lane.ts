// One checkout lane: register + scanner + display around the pure sale machine. The lane feeds
// the machine its inputs and carries out the effects it returns, in order.
import type {
  CloudCommand,
  CloudResponse,
  DeviceState,
  LaneStatusView,
} from "../../protocols/cloud/cloud-messages.js";
import type { PosRequest } from "../../protocols/pos/pos-messages.js";
import { initialSaleState, laneState, saleStep } from "../../protocols/sale/sale-machine.js";
import type {
  LaneSaleState,
  SaleEffect,
  SaleInput,
  SaleSettings,
  TimerName,
} from "../../protocols/sale/sale-types.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { LaneConfig } from "../config/config-types.js";
import type { CloudRpc } from "../cloud/rpc.js";
import { DisplayPort } from "../devices/display-port.js";
import { ScannerPort } from "../devices/scanner-port.js";
import type { SerialOpener } from "../devices/serial-binding.js";
import { TerminalPort } from "../devices/terminal-port.js";
import { deviceLogger, type Logger } from "../log/logger.js";
import { RecentCodes } from "./recent-codes.js";

export interface LaneDeps {
  settings: SaleSettings;
  opener: SerialOpener;
  clock: Clock;
  log: Logger;
  rpc: CloudRpc;
  newId: () => string;
  cloudOnline: () => boolean;
  /** Something changed that belongs in the retained status (device up/down). */
  onStatusChange: () => void;
  /** Short, code-free events for P/event. */
  onEvent: (kind: string, detail: string) => void;
}

export class Lane {
  private state: LaneSaleState;
  private readonly timers = new Map<TimerName, TimerHandle>();
  private readonly inbox: SaleInput[] = [];
  private readonly recentCodes = new RecentCodes(60_000);
  private stepping = false;
  private readonly terminal: TerminalPort;
  private readonly scanner: ScannerPort;
  private readonly display: DisplayPort | undefined;
  readonly counters = { scans: 0, scansIgnored: 0, scansRejected: 0, resultsIgnored: 0, alarms: 0 };

  constructor(
    readonly config: LaneConfig,
    private readonly deps: LaneDeps,
  ) {
    this.state = initialSaleState(deps.cloudOnline());
    const { opener, clock, log } = deps;
    const deviceState = (device: string) => (state: DeviceState, error: string) => {
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
        log: deviceLogger(log, "terminal", config.terminal.path),
        maxAmountFen: deps.settings.maxAmountFen,
      },
      {
        onRequest: (request: PosRequest) => this.feed({ type: "pos", request }),
        onBadRequest: (seq, orderRef, message) => this.feed({ type: "badRequest", seq, orderRef, message }),
        onState: deviceState("terminal"),
        onLinkFault: (detail) => deps.onEvent("link_fault", `terminal: ${detail}`),
      },
    );
    this.scanner = new ScannerPort(
      config.scanner,
      { opener, clock, log: deviceLogger(log, "scanner", config.scanner.path) },
      {
        onScan: (code) => {
          this.counters.scans++;
          if (this.recentCodes.seen(code, clock.now())) this.feed({ type: "scanRepeated" });
          else this.feed({ type: "scan", code, attemptId: deps.newId() });
        },
        onState: deviceState("scanner"),
      },
    );
    this.display = config.display
      ? new DisplayPort(
          config.display,
          { opener, clock, log: deviceLogger(log, "display", config.display.path) },
          { onState: deviceState("display") },
        )
      : undefined;
  }

  get id(): string {
    return this.config.id;
  }

  start(): void {
    this.terminal.start();
    this.scanner.start();
    this.display?.start();
  }

  async stop(): Promise<void> {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await Promise.allSettled([this.terminal.stop(), this.scanner.stop(), this.display?.stop()]);
  }

  setCloudOnline(online: boolean): void {
    this.feed({ type: "cloudLink", online });
  }

  onCloudResponse(response: CloudResponse, answers: CloudCommand["type"]): void {
    if (response.result.type !== "payment") {
      this.deps.log.warn(
        { attemptId: response.attemptId },
        "refund result ignored: refunds are not supported yet",
      );
      return;
    }
    this.feed({ type: "cloudResult", attemptId: response.attemptId, result: response.result, answers });
  }

  status(): LaneStatusView {
    const t = this.terminal.status;
    const s = this.scanner.status;
    const d = this.display?.status;
    const lastError = [t, s, d].map((x) => x?.error).find((e) => e) ?? "";
    return {
      laneId: this.id,
      terminal: t.state,
      scanner: s.state,
      display: d ? d.state : "ABSENT",
      lastError,
    };
  }

  details() {
    return {
      id: this.id,
      state: laneState(this.state),
      orderRef: this.state.current?.orderRef ?? null,
      terminal: this.terminal.status,
      scanner: this.scanner.status,
      display: this.display?.status ?? null,
      counters: { ...this.counters },
    };
  }

  /** One line of counters for P/event (kind "counters"): numbers only, never a code. */
  countersText(): string {
    const link = this.terminal.status.counters;
    const scanner = this.scanner.status;
    const parts: Record<string, number> = {
      ...this.counters,
      framesIn: link.framesIn,
      framesOut: link.framesOut,
      naksSent: link.naksSent,
      naksReceived: link.naksReceived,
      retransmits: link.retransmits,
      linkFaults: link.faults,
      lineNoiseBytes: link.discardedBytes,
      scannerReads: scanner.reads,
      scannerDiscardedBytes: scanner.discardedBytes,
    };
    return Object.entries(parts)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  }

  /**
   * Steps the machine. An effect may itself produce an input (a pay request that could not be
   * sent); such inputs wait in the queue until every effect of the current step has been carried
   * out, so the register and the display always see the steps in order.
   */
  private feed(input: SaleInput): void {
    this.inbox.push(input);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.inbox.shift(); next; next = this.inbox.shift()) {
        const { state, effects } = saleStep(this.deps.settings, this.state, next, this.deps.clock.now());
        this.state = state;
        for (const effect of effects) this.runSafely(effect);
      }
    } finally {
      this.stepping = false;
    }
  }

  /** One effect failing (a serial write, an encoder refusing a field) must not stop the others. */
  private runSafely(effect: SaleEffect): void {
    try {
      this.run(effect);
    } catch (err) {
      this.deps.log.error({ effect: effect.type, err: (err as Error).message }, "sale effect failed");
    }
  }

  private run(effect: SaleEffect): void {
    const { log, clock, rpc } = this.deps;
    switch (effect.type) {
      case "answer":
        this.terminal.send(effect.answer);
        return;
      case "display":
        this.display?.show(effect.view);
        return;
      case "pay": {
        const c = effect.command;
        const expirySec = (c.deadlineMs - clock.now()) / 1000;
        const sent = rpc.send(this.id, c, expirySec);
        // Only a code that left the bridge is spent; one that never went out may be scanned again.
        if (sent.ok) this.recentCodes.remember(c.authCode, clock.now());
        else this.feed({ type: "payNotSent", attemptId: c.attemptId, reason: sent.reason });
        return;
      }
      case "cancel": {
        const sent = rpc.send(this.id, effect.command, 60);
        if (!sent.ok)
          log.warn({ attemptId: effect.command.attemptId }, "cancel could not be sent: broker offline");
        return;
      }
      case "armTimer": {
        this.timers.get(effect.name)?.cancel();
        const name = effect.name;
        this.timers.set(
          name,
          clock.setTimeout(() => {
            this.timers.delete(name);
            this.feed({ type: "timer", name });
          }, effect.at - clock.now()),
        );
        return;
      }
      case "cancelTimer":
        this.timers.get(effect.name)?.cancel();
        this.timers.delete(effect.name);
        return;
      case "event": {
        if (effect.kind === "scanIgnored") this.counters.scansIgnored++;
        if (effect.kind === "scanRejected") this.counters.scansRejected++;
        if (effect.kind === "resultIgnored") this.counters.resultsIgnored++;
        if (effect.kind === "amountMismatch") {
          this.counters.alarms++;
          this.deps.onEvent("alarm", effect.detail);
        }
        log[effect.level]({ event: effect.kind }, effect.detail);
        return;
      }
    }
  }
}
