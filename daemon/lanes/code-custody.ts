// The only place a payment code lives (a bearer credential: payment-domain.md §7). A scanned code
// is held in memory, under the id of the attempt it was scanned for, while that attempt can still
// be published or published again: until it leaves queued/sent/unknown, until the code's life
// ends (scan + codeLifetimeMs, monotonic), and never after the lane stops. It leaves the bridge
// only inside its attempt's pay request. A code that left is remembered for a minute, as a keyed
// hash (recent-codes.ts), so a second read of it is refused; unless the broker refused its only
// copy, which then reached no one and may be scanned again. The sale machine sees a code only in
// the scan input that classifies it; its records and logs keep scheme + last 4.
import { hexCode } from "../../protocols/cloud/connack.js";
import type { PayCommand } from "../../protocols/cloud/cloud-messages.js";
import { codeDeadlineMono } from "../../protocols/sale/attempt-machine.js";
import type { AttemptRecord } from "../../protocols/sale/records.js";
import type { Clock } from "../clock.js";
import type { PublishRefusal } from "../cloud/mqtt-link.js";
import type { CloudRpc } from "../cloud/rpc.js";
import type { Logger } from "../log/logger.js";
import type { CrashPoint } from "./crash-points.js";
import { RecentCodes } from "./recent-codes.js";

interface HeldCode {
  code: string;
  /** Monotonic: the code is dead after this (scan + codeLifetimeMs). */
  deadlineMono: number;
  /** The pay request was handed to the broker and not (yet) acknowledged by it. */
  inDoubt: boolean;
  /** Pay requests published for this attempt (a resend after a reconnect makes two). */
  publishes: number;
}

export interface CodeCustodyDeps {
  laneId: string;
  clock: Clock;
  log: Logger;
  codeLifetimeMs: number;
  /** Where an attempt's requests go (a training attempt's never to the real cloud), or undefined: nowhere. */
  cloudFor: (attemptId: string) => Pick<CloudRpc, "send"> | undefined;
  /** The broker refused the attempt's only pay request ("0x87"): it reached no one, no money moved. */
  onPayRefused: (attemptId: string, reasonCode: string) => void;
  counters: { paysResent: number };
  crash: CrashPoint;
}

/** Whether a pay request left for the broker, and why not. */
export type PaySent = { ok: true } | { ok: false; reason: string };

export class CodeCustody {
  /** Codes of attempts still able to be (re)published, in memory only. */
  private readonly codes = new Map<string, HeldCode>();
  private readonly recent = new RecentCodes(60_000);

  constructor(private readonly deps: CodeCustodyDeps) {}

  /** Codes held now (for diagnostics: a number, never a code). */
  get size(): number {
    return this.codes.size;
  }

  /** True when `code` left the bridge less than a minute ago: a double read, or a stale code shown again. */
  seen(code: string, nowMono: number): boolean {
    return this.recent.seen(code, nowMono);
  }

  /** Holds a code read at `nowMono` for the attempt it may start (`attemptId`, made for this read). */
  hold(attemptId: string, code: string, nowMono: number): void {
    this.codes.set(attemptId, {
      code,
      deadlineMono: nowMono + this.deps.codeLifetimeMs,
      inDoubt: false,
      publishes: 0,
    });
  }

  /** Publishes the attempt's pay request with the code held for it. */
  publish(attempt: AttemptRecord): PaySent {
    const held = this.codes.get(attempt.attemptId);
    if (!held) return { ok: false, reason: "payment code no longer held" };
    return this.publishPay(attempt, held) ? { ok: true } : { ok: false, reason: "broker not connected" };
  }

  /** The cloud answered about the attempt: its pay request is no longer in doubt. */
  answered(attemptId: string): void {
    const held = this.codes.get(attemptId);
    if (held) held.inDoubt = false; // the cloud has it
  }

  /**
   * After a reconnect: a pay request the broker never acknowledged may not have arrived. Resend
   * it under the same attempt id (the cloud executes an attempt once) while its code still lives.
   * `a`: the attempt in flight on the lane, if any.
   */
  resendInDoubt(a: AttemptRecord | null | undefined): void {
    if (!a || (a.phase !== "sent" && a.phase !== "unknown")) return;
    const held = this.codes.get(a.attemptId);
    if (!held?.inDoubt) return;
    this.deps.counters.paysResent++;
    this.deps.log.info(
      { attemptId: a.attemptId },
      "pay request unacknowledged before the link dropped; resending",
    );
    this.publishPay(a, held);
  }

  /**
   * After each step: codes are kept only for the attempt in flight (`a`), only while it may still
   * be (re)published.
   */
  forgetAllBut(a: AttemptRecord | null | undefined): void {
    const now = this.deps.clock.monoNow();
    for (const [id, held] of this.codes) {
      const live =
        a?.attemptId === id && (a.phase === "queued" || a.phase === "sent" || a.phase === "unknown");
      if (!live || now >= held.deadlineMono) this.codes.delete(id);
    }
  }

  /** The lane stops: no code outlives it. */
  clear(): void {
    this.codes.clear();
  }

  private publishPay(a: AttemptRecord, held: HeldCode): boolean {
    const { clock, laneId } = this.deps;
    const rpc = this.deps.cloudFor(a.attemptId);
    if (!rpc) return false;
    const command: PayCommand = {
      type: "pay",
      attemptId: a.attemptId,
      orderRef: a.orderRef,
      amountFen: a.amountFen,
      authCode: held.code,
      scheme: a.scheme,
      scannedAtMs: a.createdAt,
      deadlineMs: a.deadlineMs,
    };
    const sent = rpc.send(laneId, command, {
      expiresAtMono: Math.min(codeDeadlineMono(a), held.deadlineMono),
      onAck: (acked, refusal) => {
        const h = this.codes.get(a.attemptId);
        if (h) h.inDoubt = !acked && !refusal;
        if (refusal) this.payRefused(a.attemptId, refusal);
      },
    });
    if (!sent.ok) return false;
    held.inDoubt = true;
    held.publishes++;
    // Only a code that left the bridge is spent; one that never went out may be scanned again.
    this.recent.remember(held.code, clock.monoNow());
    this.deps.crash("publish:pay");
    return true;
  }

  /**
   * The broker refused a pay request (MQTT 5 PUBACK ≥ 0x80): it reached no one. When it was the
   * attempt's only copy, the attempt ends at once as not sent and its code is not spent (it never
   * left for the cloud); after a resend an earlier copy may have arrived, so the attempt goes on
   * being resolved by query and reversal.
   */
  private payRefused(attemptId: string, refusal: PublishRefusal): void {
    const held = this.codes.get(attemptId);
    if (!held || held.publishes > 1) {
      this.deps.log.warn(
        { attemptId, reason: refusal.name },
        "pay request refused by the broker, but an earlier copy may have reached the cloud: resolving it by query",
      );
      return;
    }
    this.recent.forget(held.code);
    this.deps.onPayRefused(attemptId, hexCode(refusal.reasonCode));
  }
}
