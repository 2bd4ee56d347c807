// A virtual cash register speaking the `ecr` profile: frames and sends requests, ACKs every
// frame the bridge sends, and records the decoded answers. The demo drives it; so do the
// integration tests (over a real pty) — it is the POS vendor's side of terminal-protocol.md.
//
// Two modes. By default (for tests that script the link by hand) a request goes out at once and
// is never resent, and every answer is recorded as it comes. With `link`, the register keeps the
// link layer of terminal-protocol.md §4 through the same pure machine the bridge uses
// (protocols/ecr/link-machine.ts): one frame at a time, resent on NAK or after the ACK timeout
// (3 sends in all), a bad frame NAKed, a repeated frame ACKed and acted on once. That is the
// register `posbridge conformance register` passes.
import { EcrFramer } from "../../protocols/ecr/framer.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import {
  createLinkState,
  type LinkEffect,
  type LinkInput,
  type LinkState,
  linkStep,
} from "../../protocols/ecr/link-machine.js";
import { encodeEcrRequest } from "../../protocols/ecr/messages.js";
import { decodeBridgeAnswer } from "../../protocols/ecr/register-side.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";

const ACK = Uint8Array.of(0x06);

export interface RegisterRecord {
  answer: PosAnswer;
  at: number;
}

export interface VirtualRegisterOptions {
  /** Keep the link layer (§4): resend, NAK bad frames, act once on a repeat. */
  link?: { ackTimeoutMs?: number; clock?: Clock };
}

export class VirtualRegister {
  readonly answers: RegisterRecord[] = [];
  /** Raw bytes the bridge sent, in order (for byte-for-byte assertions). */
  readonly received: Uint8Array[] = [];
  /** Frames given up after 3 sends without an ACK (`link` mode). */
  linkFaults = 0;
  private readonly framer = new EcrFramer({ maxDataLength: 9999 });
  private waiters: { pred: (a: PosAnswer) => boolean; resolve: (a: PosAnswer) => void }[] = [];
  private listeners: ((a: PosAnswer) => void)[] = [];
  /** When false, frames from the bridge are not ACKed (to test retransmission). Default mode only. */
  autoAck = true;
  /** `link` mode: the link machine's state; subclasses in tests bend it to make a faulty register. */
  protected linkState: LinkState | null = null;
  private readonly clock: Clock;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    options: VirtualRegisterOptions = {},
  ) {
    this.clock = options.link?.clock ?? systemClock;
    if (options.link) this.linkState = createLinkState({ ackTimeoutMs: options.link.ackTimeoutMs ?? 1000 });
  }

  /** Feed bytes that arrived from the bridge. */
  receive(bytes: Uint8Array): void {
    this.received.push(bytes);
    for (const chunk of this.framer.push(bytes)) {
      if (this.linkState) {
        this.step({ type: "chunk", chunk });
        continue;
      }
      if (chunk.type !== "frame") continue;
      if (this.autoAck) this.send(ACK);
      this.act(chunk.data);
    }
  }

  onAnswer(fn: (a: PosAnswer) => void): void {
    this.listeners.push(fn);
  }

  request(req: PosRequest): void {
    const data = encodeEcrRequest(req);
    if (this.linkState) this.step({ type: "send", data });
    else this.send(encodeEcrFrame(data));
  }

  sendRaw(bytes: Uint8Array): void {
    this.send(bytes);
  }

  /** Stops the resend timer (`link` mode). */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Resolves with the first answer (already received or future) matching `pred`. */
  waitFor(pred: (a: PosAnswer) => boolean, timeoutMs = 10_000, since = 0): Promise<PosAnswer> {
    const seen = this.answers.slice(since).find((r) => pred(r.answer));
    if (seen) return Promise.resolve(seen.answer);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`register: no matching answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (a: PosAnswer) => {
        clearTimeout(timer);
        resolve(a);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Waits for the final RS answering the request with this seq. */
  result(seq: string, timeoutMs = 10_000, since = 0): Promise<Extract<PosAnswer, { type: "result" }>> {
    return this.waitFor((a) => a.type === "result" && a.seq === seq, timeoutMs, since) as Promise<
      Extract<PosAnswer, { type: "result" }>
    >;
  }

  /** An answer the register acts on: recorded, listeners and waiters told. */
  protected act(data: Uint8Array): void {
    const answer = decodeBridgeAnswer(data);
    if (!answer) return;
    this.answers.push({ answer, at: Date.now() });
    for (const fn of this.listeners) fn(answer);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(answer)) return true;
      w.resolve(answer);
      return false;
    });
  }

  private step(input: LinkInput): void {
    const { state, effects } = linkStep(this.linkState as LinkState, input, this.clock.monoNow());
    this.linkState = state;
    for (const effect of effects) this.run(effect);
  }

  private run(effect: LinkEffect): void {
    switch (effect.type) {
      case "write":
        this.send(effect.bytes);
        return;
      case "deliver":
        this.act(effect.data);
        return;
      case "armTimer":
        this.timer?.cancel();
        this.timer = this.clock.setTimeout(
          () => this.step({ type: "tick" }),
          effect.at - this.clock.monoNow(),
        );
        return;
      case "cancelTimer":
        this.timer?.cancel();
        this.timer = undefined;
        return;
      case "fault":
        this.linkFaults++;
        return;
    }
  }
}
