// The `ecr` profile of the register link (docs/terminal-protocol.md): port ⇄ ecr framer ⇄ link
// machine (protocols/ecr/link-machine.ts), with real timers; decoded requests go up to the lane,
// answers come down as frames, acknowledged or resent by the link machine.
import { type EcrChunk, EcrFramer } from "../../protocols/ecr/framer.js";
import {
  createLinkState,
  type LinkCounters,
  type LinkEffect,
  type LinkInput,
  type LinkState,
  linkStep,
} from "../../protocols/ecr/link-machine.js";
import { ACK, ENQ, NAK } from "../../protocols/ecr/constants.js";
import { describeFrame } from "../../protocols/ecr/describe-frame.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { decodeEcrRequest, encodeEcrAnswer } from "../../protocols/ecr/messages.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import type { TimerHandle } from "../clock.js";
import type { TerminalConfig } from "../config/config-types.js";
import { frameChannel } from "../diagnostics/channels.js";
import type { OpenPort } from "./serial-binding.js";
import {
  type ProbeResult,
  type TerminalHandlers,
  TerminalPort,
  type TerminalPortDeps,
} from "./terminal-port.js";

/**
 * Silence after which a partly received frame is abandoned. A healthy sender streams a frame's
 * bytes back to back (a byte every 1–8 ms from 9600 down to 1200 baud, USB adapters batch within
 * 16 ms), so 300 ms of silence mid-frame means the frame will not complete.
 */
export const STALE_FRAME_MS = 300;

export class EcrTerminal extends TerminalPort {
  private framer: EcrFramer;
  private link: LinkState;
  private timer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  /** Resolved when nothing is in flight or queued on the link any more (probe()). */
  private idleWaiters: (() => void)[] = [];
  /** The last frame written, to tell a resend in `monitor`. */
  private lastFrameOut: Uint8Array | undefined;

  constructor(config: TerminalConfig, deps: TerminalPortDeps, handlers: TerminalHandlers) {
    super(config, deps, handlers);
    this.framer = new EcrFramer({ maxDataLength: config.maxDataLength });
    this.link = createLinkState({ ackTimeoutMs: config.ackTimeoutMs });
  }

  protected counters(): LinkCounters {
    return this.link.counters;
  }

  protected override stopTimers(): void {
    this.timer?.cancel();
    this.staleTimer?.cancel();
  }

  /**
   * `posbridge test register`: sends `answer` (an ES) and waits until the register acknowledged
   * it or the link gave up after its sends.
   */
  async probe(answer: PosAnswer): Promise<ProbeResult> {
    const { clock } = this.deps;
    const started = clock.monoNow();
    if (!this.supervisor.current) return { outcome: "down", ms: 0 };
    const faultsBefore = this.link.counters.faults;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.send(answer);
    // The link machine ends every frame within its sends; this only guards against a lost port.
    const limitMs = this.link.ackTimeoutMs * (this.link.maxSends + 1) + 1_000;
    let timer: TimerHandle | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, limitMs);
    });
    await Promise.race([idle, gaveUp]);
    timer?.cancel();
    const ms = clock.monoNow() - started;
    return { outcome: this.link.counters.faults === faultsBefore && this.linkIdle() ? "acked" : "noAck", ms };
  }

  send(answer: PosAnswer): void {
    this.step({ type: "send", data: encodeEcrAnswer(answer, this.encodeText) });
  }

  protected attach(port: OpenPort): void {
    // A frame half-received before an unplug is garbage now.
    this.framer = new EcrFramer({ maxDataLength: this.config.maxDataLength });
    port.onData((bytes) => {
      for (const chunk of this.framer.push(bytes)) this.chunkIn(chunk);
      // A frame still incomplete after a silence is given up (its STX may have been noise).
      this.staleTimer?.cancel();
      this.staleTimer =
        this.framer.bufferedLength > 0
          ? this.deps.clock.setTimeout(() => {
              for (const chunk of this.framer.expireIncomplete()) this.chunkIn(chunk);
            }, STALE_FRAME_MS)
          : undefined;
    });
  }

  /** One chunk from the framer: bad frames and noise are said (the link layer only counts them). */
  private chunkIn(chunk: EcrChunk): void {
    if (chunk.type === "frame") this.lastGoodMono = this.deps.clock.monoNow();
    if (frameChannel.hasSubscribers) this.publishChunk(chunk);
    if (chunk.type === "badFrame")
      this.repeats.warn("badFrame", { reason: chunk.reason }, "bad frame from register NAKed");
    else if (chunk.type === "discarded")
      this.repeats.warn("noise", { length: chunk.length }, "bytes outside a frame from register discarded");
    this.step({ type: "chunk", chunk });
  }

  private step(input: LinkInput): void {
    const { state, effects } = linkStep(this.link, input, this.deps.clock.monoNow());
    this.link = state;
    for (const effect of effects) this.run(effect);
    if (this.idleWaiters.length > 0 && this.linkIdle()) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private linkIdle(): boolean {
    return this.link.inFlight === null && this.link.queue.length === 0;
  }

  private publishChunk(chunk: EcrChunk): void {
    switch (chunk.type) {
      case "frame":
        this.publishFrame("in", "frame", encodeEcrFrame(chunk.data), describeFrame(this.decode(chunk.data)));
        return;
      case "control": {
        const kind = chunk.byte === ACK ? "ack" : chunk.byte === NAK ? "nak" : "enq";
        this.publishFrame("in", kind, Uint8Array.of(chunk.byte), kind.toUpperCase());
        return;
      }
      case "badFrame":
        this.publishFrame("in", "badFrame", new Uint8Array(0), `bad frame (${chunk.reason}): NAKed`);
        return;
      case "discarded":
        this.publishFrame(
          "in",
          "noise",
          new Uint8Array(0),
          `${chunk.length} bytes outside a frame discarded`,
        );
        return;
    }
  }

  private publishWrite(bytes: Uint8Array): void {
    if (bytes.length === 1) {
      const b = bytes[0];
      const kind = b === ACK ? "ack" : b === NAK ? "nak" : b === ENQ ? "enq" : "frame";
      this.publishFrame("out", kind, bytes, kind.toUpperCase());
      return;
    }
    const resend = this.lastFrameOut !== undefined && sameBytes(this.lastFrameOut, bytes);
    this.lastFrameOut = bytes;
    // STX, 2 length bytes, DATA, ETX, LRC.
    this.publishFrame(
      "out",
      "frame",
      bytes,
      describeFrame(this.decode(bytes.subarray(3, bytes.length - 2))),
      resend,
    );
  }

  private run(effect: LinkEffect): void {
    const { log } = this.deps;
    switch (effect.type) {
      case "write": {
        const port = this.supervisor.current;
        if (!port) {
          log.debug(
            { length: effect.bytes.length },
            "register line down; write dropped (the link layer will retry)",
          );
          return;
        }
        if (frameChannel.hasSubscribers) this.publishWrite(effect.bytes);
        this.write(port, effect.bytes);
        return;
      }
      case "deliver": {
        const decoded = decodeEcrRequest(effect.data, { maxAmountFen: this.deps.maxAmountFen });
        if (decoded.ok) {
          this.deliverRequest(decoded.request);
        } else {
          this.repeats.warn(
            "rejected",
            { errorCode: decoded.code, seq: decoded.seq, problem: decoded.message },
            "request from register rejected",
          );
          this.handlers.onBadRequest(decoded.seq, decoded.orderRef, decoded.message);
        }
        return;
      }
      case "armTimer":
        this.timer?.cancel();
        this.timer = this.deps.clock.setTimeout(
          () => this.step({ type: "tick" }),
          effect.at - this.deps.clock.monoNow(),
        );
        return;
      case "cancelTimer":
        this.timer?.cancel();
        this.timer = undefined;
        return;
      case "fault":
        this.repeats.error(
          "noAck",
          { reason: effect.reason },
          "register did not acknowledge a frame after 3 sends; frame dropped",
        );
        this.handlers.onLinkFault?.(`no ACK after ${this.link.maxSends} sends (${effect.reason})`);
        return;
      default:
        return;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
