// The payment cloud of training sales (`posbridge test sale`): the simulated cloud's ledger and
// rules (daemon/cloud-sim/), answering in-process. It has no network client and reads no
// configuration, so nothing can point it at a real cloud; it accepts only training attempts
// (`trn_…`), and the lanes send it nothing else. The amount picks the outcome as with cloud-sim
// (docs/cloud-sim.md): ends in 98 → UNKNOWN, 99 → the answer is lost (queries resolve it), 77 →
// the customer confirms after confirmDelayMs, 97 → declined, anything else → PAID.
import type {
  CloudCommand,
  CloudResponse,
  PaymentResult,
  RefundResult,
} from "../../protocols/cloud/cloud-messages.js";
import { isTrainingAttempt } from "../../protocols/sale/training.js";
import type { Clock, TimerHandle } from "../clock.js";
import { Ledger } from "../cloud-sim/ledger.js";
import type { Answers } from "../cloud/rpc.js";
import { publishRequest, publishResponse } from "../cloud/rpc.js";
import { cloudChannel } from "../diagnostics/channels.js";
import type { Logger } from "../log/logger.js";
import type { CloudPort } from "./lane.js";

type ResultHandler = (laneId: string, response: CloudResponse, answers: Answers) => void;

export interface TrainingCloudDeps {
  clock: Clock;
  log: Logger;
  newId: () => string;
  /** How long the simulated cloud takes to answer; default 200 ms (a sale that feels like one). */
  answerDelayMs?: number;
  /** How long a simulated customer takes to confirm on the phone (amounts ending 77); default 1500 ms. */
  confirmDelayMs?: number;
}

export class TrainingCloud implements CloudPort {
  readonly ledger = new Ledger();
  private handler: ResultHandler | undefined;
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly deps: TrainingCloudDeps) {}

  onResult(fn: ResultHandler): void {
    this.handler = fn;
  }

  send(
    laneId: string,
    command: CloudCommand,
    options: { expiresAtMono: number; onAck?: (acked: boolean) => void },
  ): { ok: true; requestId: string } | { ok: false; reason: string } {
    // The reverse guard: a real attempt is never answered by a simulation.
    if (!isTrainingAttempt(command.attemptId)) return { ok: false, reason: "not a training attempt" };
    const { clock } = this.deps;
    const requestId = `trn_${this.deps.newId()}`;
    if (cloudChannel.hasSubscribers) publishRequest(laneId, command, clock.wallNow(), true);
    this.deps.log.info(
      { laneId, requestId, attemptId: command.attemptId, kind: command.type, training: true },
      "training request answered by the simulated cloud",
    );
    this.later(0, () => options.onAck?.(true));
    this.later(this.deps.answerDelayMs ?? 200, () => this.answer(laneId, requestId, command));
    return { ok: true, requestId };
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  private answer(laneId: string, requestId: string, command: CloudCommand): void {
    const now = this.deps.clock.wallNow();
    switch (command.type) {
      case "pay": {
        const { outcome, result } = this.ledger.pay(command, now, `training/${laneId}`);
        if (outcome?.kind === "silent") return; // charged, answer lost: the lane's queries find it
        this.deliver(laneId, requestId, command, result);
        if (outcome?.kind === "waiting")
          this.later(this.deps.confirmDelayMs ?? 1500, () => {
            const confirmed = this.ledger.confirm(command.attemptId);
            if (confirmed) this.deliver(laneId, requestId, command, confirmed);
          });
        return;
      }
      case "query":
        this.deliver(laneId, requestId, command, this.ledger.query(command.attemptId));
        return;
      case "cancel":
        this.deliver(laneId, requestId, command, this.ledger.cancel(command));
        return;
      case "refund":
        this.deliver(laneId, requestId, command, this.ledger.refund(command));
        return;
    }
  }

  private deliver(
    laneId: string,
    requestId: string,
    command: CloudCommand,
    result: PaymentResult | RefundResult,
  ): void {
    const response: CloudResponse = {
      requestId,
      attemptId: command.attemptId,
      sentAtMs: this.deps.clock.wallNow(),
      result,
    };
    if (cloudChannel.hasSubscribers) publishResponse(laneId, response, response.sentAtMs, true);
    try {
      this.handler?.(laneId, response, command.type);
    } catch (err) {
      this.deps.log.error({ requestId, err: (err as Error).message }, "handling a training result failed");
    }
  }

  private later(ms: number, fn: () => void): void {
    const timer = this.deps.clock.setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
