// Request/response correlation over the broker: every BridgeRequest gets a fresh request id; a
// BridgeResponse is matched by that id (and must name the same attempt). Responses for another
// attempt, or repeating what was already applied, are counted and ignored (mqtt-contract.md,
// "Semantics the bridge relies on"). A payment result whose request id is unknown (sent by an
// earlier process, forgotten after `forgetAfterMs`, or never sent) still reaches the lane of the
// attempt it names when the journal knows that attempt (`laneOfAttempt`), as "unsolicited": a late
// PAID for an attempt that has long ended must be seen, not dropped. Otherwise it is counted and
// ignored. Garbage payloads never reach a lane.
// Memory stays bounded without a scan on the hot path: a request answered with a final result
// leaves `pending` at once and moves to `answered`, the last ANSWERED_KEPT of them (so a QoS 1
// redelivery of the answer is still recognised as a duplicate); a request still waiting (no answer
// yet, or WAITING_CUSTOMER/UNKNOWN) is forgotten `forgetAfterMs` after it was sent. Every request
// gets the same lifetime and the monotonic clock never goes back, so `pending`'s insertion order
// is the order of their deadlines: forgetting looks only at the oldest entries and stops at the
// first that is still young.
import type { CloudCommand, CloudResponse } from "../../protocols/cloud/cloud-messages.js";
import { maskCode } from "../../protocols/payment/mask.js";
import { isTrainingAttempt } from "../../protocols/sale/training.js";
import type { Clock } from "../clock.js";
import { cloudChannel } from "../diagnostics/channels.js";
import type { RpcSnapshot } from "../diagnostics/snapshot.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { MqttLink, PublishRefusal } from "./mqtt-link.js";
import { decodeResponse, encodeRequest } from "./proto-codec.js";

/** Which request a response answers; "unsolicited" when its request id is not (or no longer) known. */
export type Answers = CloudCommand["type"] | "unsolicited";
type ResultHandler = (laneId: string, response: CloudResponse, answers: Answers) => void;

interface Pending {
  laneId: string;
  attemptId: string;
  kind: CloudCommand["type"];
  /** Monotonic: when it was published. */
  sentMono: number;
  /** Serialised last result applied, to recognise an exact duplicate. */
  lastApplied: string | undefined;
}

export interface RpcCounters {
  sent: number;
  notSent: number;
  /** Requests (pay requests: their code's deadline) not published because they had expired. */
  expired: number;
  responses: number;
  garbage: number;
  unknown: number;
  /** Results for unknown request ids delivered by the attempt they name. */
  unsolicited: number;
  duplicates: number;
  mismatched: number;
}

/** How many of the cloud's last answers the clock-skew estimate is the median of. */
const SKEW_SAMPLES = 5;

/** Answered requests remembered, most recent first, to recognise a redelivered answer. */
export const ANSWERED_KEPT = 256;

const DEFAULT_FORGET_AFTER_MS = 10 * 60_000;

/** Results after which the cloud sends nothing more for the request (cloud-contract.md). */
const FINAL_STATUSES: ReadonlySet<string> = new Set([
  "PAID",
  "FAILED",
  "CANCELLED",
  "REFUNDED",
  "REFUND_FAILED",
]);

export class CloudRpc {
  /** The cloud's sent_at_ms minus our wall clock at receipt, for its last answers. */
  private readonly skews: number[] = [];
  /** Requests waiting for a (final) answer, oldest first: insertion order is deadline order. */
  private readonly pending = new Map<string, Pending>();
  /** The last ANSWERED_KEPT requests answered with a final result, oldest first. */
  private readonly answered = new Map<string, Pending>();
  readonly counters: RpcCounters = {
    sent: 0,
    notSent: 0,
    expired: 0,
    responses: 0,
    garbage: 0,
    unknown: 0,
    unsolicited: 0,
    duplicates: 0,
    mismatched: 0,
  };
  private handler: ResultHandler | undefined;

  constructor(
    private readonly deps: {
      link: MqttLink;
      clock: Clock;
      log: Logger;
      newId: () => string;
      /** Pending entries older than this are forgotten (the lane has long given up on them). */
      forgetAfterMs?: number;
      /** The lane of an attempt the journal knows (for results whose request id is unknown). */
      laneOfAttempt?: (attemptId: string) => string | undefined;
    },
  ) {
    deps.link.onResponse((bytes) => this.onResponse(bytes));
  }

  onResult(fn: ResultHandler): void {
    this.handler = fn;
  }

  /**
   * Sends a command for a lane. `expiresAtMono` is the monotonic instant after which the request
   * is useless (a pay request: its code's deadline); what is left of it becomes the v5 Message
   * Expiry Interval, and a request at or past it is never published (the cloud must not charge
   * then anyway). Measured on the monotonic clock: a wall-clock step neither kills a fresh request
   * nor revives a stale one. `onAck(true)` when the broker acknowledged it, `onAck(false)` when
   * the link dropped first, `onAck(false, refusal)` when the broker refused it (MQTT 5 PUBACK
   * ≥ 0x80: delivered to no one).
   */
  send(
    laneId: string,
    command: CloudCommand,
    options: { expiresAtMono: number; onAck?: (acked: boolean, refusal?: PublishRefusal) => void },
  ): { ok: true; requestId: string } | { ok: false; reason: string } {
    // The last guard of training sales (posbridge test sale): the lane routes their requests to
    // the simulated cloud; one that reaches this door anyway is a bug, and goes no further.
    if (isTrainingAttempt(command.attemptId)) {
      const err = new BridgeError(
        "PB_TRAINING_GUARD",
        `a ${command.type} request of training attempt ${command.attemptId} reached the real cloud's path; not sent`,
      );
      this.deps.log.error({ errCode: err.code, laneId, attemptId: command.attemptId }, err.message);
      throw err;
    }
    this.forgetOld();
    const mono = this.deps.clock.monoNow();
    if (mono >= options.expiresAtMono) {
      this.counters.expired++;
      this.deps.log.warn(
        { laneId, attemptId: command.attemptId, kind: command.type },
        `${command.type} request past its deadline not published`,
      );
      return { ok: false, reason: "past its deadline" };
    }
    const requestId = this.deps.newId();
    const bytes = encodeRequest({ requestId, sentAtMs: this.deps.clock.wallNow(), laneId, command });
    const published = this.deps.link.publishRequest(
      bytes,
      { requestId, expirySec: (options.expiresAtMono - mono) / 1000 },
      options.onAck ? (acked, refusal) => options.onAck?.(acked, refusal) : undefined,
    );
    if (!published) {
      this.counters.notSent++;
      return { ok: false, reason: "broker not connected" };
    }
    this.counters.sent++;
    this.pending.set(requestId, {
      laneId,
      attemptId: command.attemptId,
      kind: command.type,
      sentMono: mono,
      lastApplied: undefined,
    });
    this.deps.log.info(
      { laneId, requestId, attemptId: command.attemptId, kind: command.type },
      "request published",
    );
    if (cloudChannel.hasSubscribers) publishRequest(laneId, command, this.deps.clock.wallNow(), false);
    return { ok: true, requestId };
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** For diagnostics (daemon/diagnostics/snapshot.ts). */
  describe(): RpcSnapshot {
    return {
      pending: this.pending.size,
      counters: { ...this.counters },
      cloudClockSkewMs: this.cloudSkewMs(),
    };
  }

  /**
   * The cloud's clock minus ours, from the `sent_at_ms` of its last answers (the median of up to 5,
   * so one late delivery does not count): positive when this PC's clock is behind. Our deadlines
   * and timestamps reach the cloud off by about that much (docs/diagnostics.md, doctor "clock").
   * null before the first answer.
   */
  cloudSkewMs(): number | null {
    if (this.skews.length === 0) return null;
    const sorted = [...this.skews].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  }

  private onResponse(bytes: Uint8Array): void {
    const { log } = this.deps;
    const decoded = decodeResponse(bytes);
    if (!decoded.ok) {
      this.counters.garbage++;
      log.warn(
        { errCode: "PB_MQTT_DECODE", length: bytes.length, problem: decoded.error },
        "undecodable response from broker ignored",
      );
      return;
    }
    const res = decoded.value;
    if (res.sentAtMs > 0) {
      this.skews.push(res.sentAtMs - this.deps.clock.wallNow());
      if (this.skews.length > SKEW_SAMPLES) this.skews.shift();
    }
    const entry = this.pending.get(res.requestId) ?? this.answered.get(res.requestId);
    if (!entry) {
      const laneId = res.result.type === "payment" ? this.deps.laneOfAttempt?.(res.attemptId) : undefined;
      if (laneId === undefined) {
        this.counters.unknown++;
        log.warn(
          { requestId: res.requestId, attemptId: res.attemptId },
          "response for an unknown request ignored",
        );
        return;
      }
      this.counters.unsolicited++;
      log.warn(
        { laneId, requestId: res.requestId, attemptId: res.attemptId, status: res.result.status },
        "response for an unknown request delivered by its attempt id",
      );
      this.deliver(laneId, res, "unsolicited");
      return;
    }
    if (entry.attemptId !== res.attemptId) {
      this.counters.mismatched++;
      log.warn(
        { requestId: res.requestId, attemptId: res.attemptId, expected: entry.attemptId },
        "response names another attempt; ignored",
      );
      return;
    }
    const fingerprint = JSON.stringify(res.result);
    if (fingerprint === entry.lastApplied) {
      this.counters.duplicates++;
      log.info({ requestId: res.requestId, attemptId: res.attemptId }, "duplicate response ignored");
      return;
    }
    entry.lastApplied = fingerprint;
    if (FINAL_STATUSES.has(res.result.status) && this.pending.delete(res.requestId))
      this.remember(res.requestId, entry);
    this.counters.responses++;
    log.info(
      {
        requestId: res.requestId,
        attemptId: res.attemptId,
        status: res.result.status,
        reasonCode: res.result.reasonCode,
      },
      "response received",
    );
    this.deliver(entry.laneId, res, entry.kind);
  }

  private deliver(laneId: string, res: CloudResponse, answers: Answers): void {
    if (cloudChannel.hasSubscribers) publishResponse(laneId, res, this.deps.clock.wallNow(), false);
    try {
      this.handler?.(laneId, res, answers);
    } catch (err) {
      // Runs inside mqtt.js's message handler: nothing may escape into the client.
      this.deps.log.error(
        { requestId: res.requestId, err: (err as Error).message },
        "handling a response failed",
      );
    }
  }

  /** Keeps an answered request among the last ANSWERED_KEPT (a redelivery is then a duplicate). */
  private remember(requestId: string, entry: Pending): void {
    this.answered.set(requestId, entry);
    if (this.answered.size > ANSWERED_KEPT) {
      const oldest = this.answered.keys().next();
      if (!oldest.done) this.answered.delete(oldest.value);
    }
  }

  /** Forgets the requests sent more than forgetAfterMs ago: only those, oldest first, are looked at. */
  private forgetOld(): void {
    const limit = this.deps.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS;
    const now = this.deps.clock.monoNow();
    for (const [id, p] of this.pending) {
      if (now - p.sentMono <= limit) return;
      this.pending.delete(id);
    }
  }
}

/** A request as `posbridge monitor` shows it: kind, attempt, amount, masked code; never the code. */
export function publishRequest(laneId: string, command: CloudCommand, at: number, training: boolean): void {
  cloudChannel.publish({
    type: "cloud",
    at,
    lane: laneId,
    dir: "out",
    kind: command.type,
    attemptId: command.attemptId,
    amountFen: command.type === "pay" || command.type === "refund" ? command.amountFen : null,
    ...(command.type === "pay" ? { masked: maskCode(command.authCode, command.scheme) } : {}),
    training,
  });
}

/** A result as `posbridge monitor` shows it: status, amount, reason code. */
export function publishResponse(laneId: string, res: CloudResponse, at: number, training: boolean): void {
  cloudChannel.publish({
    type: "cloud",
    at,
    lane: laneId,
    dir: "in",
    kind: res.result.type,
    attemptId: res.attemptId,
    amountFen: res.result.amountFen,
    status: res.result.status,
    reasonCode: res.result.reasonCode,
    training,
  });
}
