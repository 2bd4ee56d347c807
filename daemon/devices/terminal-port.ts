// The register's serial line. Profile `ecr`: port ⇄ ecr framer ⇄ link machine, with real timers;
// decoded requests go up to the lane, answers come down as frames. Profile `line`: port ⇄ line
// framer, one request per line and one answer per line, no link layer (no ACK/NAK, no resends);
// results are sent as they come, so a recovered sale's result arrives as an unsolicited RESULT
// line. Frames and lines are never logged as bytes (a register's data carries no payment code,
// but noise on the line might). A noisy or misconfigured line repeats the same trouble (bad
// frames, noise, requests that mean nothing, answers never acknowledged) without end: each kind is
// one line per window with a count (RepeatLimiter), and the count is reported as soon as the
// register sends a request the bridge understands again.
import { TextDecoder } from "node:util";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { type EcrChunk, EcrFramer } from "../../protocols/ecr/framer.js";
import {
  createLinkState,
  type LinkCounters,
  zeroLinkCounters,
  type LinkEffect,
  type LinkInput,
  type LinkState,
  linkStep,
} from "../../protocols/ecr/link-machine.js";
import { ACK, ENQ, NAK } from "../../protocols/ecr/constants.js";
import { describeFrame } from "../../protocols/ecr/describe-frame.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { decodeEcrRequest, encodeEcrAnswer } from "../../protocols/ecr/messages.js";
import {
  decodeLineRequest,
  encodeLineAnswer,
  LINE_SEQ,
  type LineDecodeResult,
  LineFramer,
  lineTooLongMessage,
} from "../../protocols/pos/line-codec.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import type { TimerHandle } from "../clock.js";
import type { TerminalConfig } from "../config/config-types.js";
import { type FrameEvent, frameChannel, maskedHex } from "../diagnostics/channels.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { textEncoder } from "../text/text-encoder.js";
import { describeLocation } from "./device-identity.js";
import { type PortDeps, PortSupervisor } from "./port-supervisor.js";
import type { RegisterLink } from "./register-link.js";
import type { OpenPort } from "./serial-binding.js";

export interface TerminalHandlers {
  onRequest(request: PosRequest): void;
  onBadRequest(seq: string, orderRef: string, message: string): void;
  onState?(state: DeviceState, error: string): void;
  /** The register did not acknowledge a frame after every allowed send. */
  onLinkFault?(detail: string): void;
}

/**
 * Silence after which a partly received frame is abandoned. A healthy sender streams a frame's
 * bytes back to back (a byte every 1–8 ms from 9600 down to 1200 baud, USB adapters batch within
 * 16 ms), so 300 ms of silence mid-frame means the frame will not complete.
 */
export const STALE_FRAME_MS = 300;

/** What a register that sends requests the bridge understands again has put an end to. */
const LINE_TROUBLE = ["badFrame", "noise", "rejected", "noAck", "lineDiscarded"] as const;

export interface TerminalPortDeps extends PortDeps {
  maxAmountFen: number;
  /** The lane this link serves, for `posbridge monitor`. */
  laneId?: string;
}

/** What `posbridge test register` found: the register acknowledged the frame, or why not. */
export interface ProbeResult {
  /** acked: ACK within the link's sends; noAck: none after 3 sends; sent: `line` profile (no ACK exists); down: no port. */
  outcome: "acked" | "noAck" | "sent" | "down";
  /** From the send to the ACK (or to giving up). */
  ms: number;
}

export class TerminalPort implements RegisterLink {
  private readonly supervisor: PortSupervisor;
  private framer: EcrFramer;
  private lineFramer: LineFramer;
  private readonly encodeText: (text: string) => Uint8Array;
  private link: LinkState;
  /** The `line` profile's counters, in the link layer's shape (no NAKs, no resends). */
  private readonly lineCounters: LinkCounters = zeroLinkCounters();
  private timer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  /** This line's repeated warnings, keyed by kind of trouble. */
  private readonly repeats: RepeatLimiter;
  /** Monotonic time of the last well-formed frame (or line) from the register. */
  private lastGoodMono: number | undefined;
  /** Resolved when nothing is in flight or queued on the ecr link any more (probe()). */
  private idleWaiters: (() => void)[] = [];
  /** The last frame written, to tell a resend in `monitor`. */
  private lastFrameOut: Uint8Array | undefined;
  private textDecoder: TextDecoder | undefined;

  constructor(
    private readonly config: TerminalConfig,
    private readonly deps: TerminalPortDeps,
    private readonly handlers: TerminalHandlers,
  ) {
    this.framer = new EcrFramer({ maxDataLength: config.maxDataLength });
    this.lineFramer = new LineFramer();
    this.encodeText = textEncoder(config.encoding);
    this.link = createLinkState({ ackTimeoutMs: config.ackTimeoutMs });
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
    this.supervisor = new PortSupervisor({
      ...deps,
      settings: config,
      onOpen: (port) => (config.profile === "line" ? this.attachLine(port) : this.attach(port)),
      onState: (state, error) => handlers.onState?.(state, error),
    });
  }

  get kind(): "ecr" | "line" {
    return this.config.profile;
  }

  describe(): { type: string; location: string } {
    return { type: this.config.profile, location: describeLocation(this.config) };
  }

  get status() {
    const counters = this.config.profile === "line" ? this.lineCounters : this.link.counters;
    return { ...this.supervisor.status, counters: { ...counters } };
  }

  /** ms since the register last sent a well-formed frame (or line); undefined when it never did. */
  get lastGoodAgoMs(): number | undefined {
    return this.lastGoodMono === undefined ? undefined : this.deps.clock.monoNow() - this.lastGoodMono;
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.staleTimer?.cancel();
    await this.supervisor.stop();
    this.repeats.clearAll(); // says what is still held back
  }

  /**
   * `posbridge test register`: sends `answer` (an ES) and waits until the register acknowledged
   * it or the link gave up after its sends. The `line` profile has no acknowledgement: it is sent.
   */
  async probe(answer: PosAnswer): Promise<ProbeResult> {
    const { clock } = this.deps;
    const started = clock.monoNow();
    if (!this.supervisor.current) return { outcome: "down", ms: 0 };
    if (this.config.profile === "line") {
      this.sendLine(answer);
      return { outcome: "sent", ms: 0 };
    }
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
    if (this.config.profile === "line") {
      this.sendLine(answer);
      return;
    }
    this.step({ type: "send", data: encodeEcrAnswer(answer, this.encodeText) });
  }

  private sendLine(answer: PosAnswer): void {
    const port = this.supervisor.current;
    if (!port) {
      // No link layer to retry: the register asks again (QUERY) once its line is back.
      this.repeats.warn("answerDropped", { answer: answer.type }, "register line down; answer line dropped");
      return;
    }
    this.lineCounters.framesOut++;
    const bytes = this.encodeText(encodeLineAnswer(answer));
    if (frameChannel.hasSubscribers) this.publishFrame("out", "line", bytes, this.decode(bytes).trimEnd());
    this.write(port, bytes);
  }

  /** The `line` profile: every complete line is one request; overlong lines are answered REJECTED. */
  private attachLine(port: OpenPort): void {
    // A line half-received before an unplug is garbage now. No idle timeout: a technician types.
    this.lineFramer = new LineFramer();
    this.repeats.clear("answerDropped"); // the line is back
    port.onData((bytes) => {
      for (const chunk of this.lineFramer.push(bytes)) {
        if (chunk.type === "discarded") {
          this.lineCounters.discardedBytes += chunk.length;
          this.lineCounters.badFrames++;
          this.repeats.warn(
            "lineDiscarded",
            { length: chunk.length, reason: chunk.reason },
            "line from register discarded",
          );
          if (chunk.reason === "overlong") {
            this.handlers.onBadRequest(LINE_SEQ, "", lineTooLongMessage(this.lineFramer.maxLineLength));
          }
          continue;
        }
        this.lineCounters.framesIn++;
        this.lastGoodMono = this.deps.clock.monoNow();
        if (frameChannel.hasSubscribers)
          this.publishFrame("in", "line", this.encodeText(chunk.text), chunk.text);
        this.deliver(decodeLineRequest(chunk.text, { maxAmountFen: this.deps.maxAmountFen }));
      }
    });
  }

  private deliver(decoded: LineDecodeResult): void {
    if (decoded.ok) {
      this.understood();
      this.handlers.onRequest(decoded.request);
      return;
    }
    this.repeats.warn("rejected", { problem: decoded.message }, "request from register rejected");
    this.handlers.onBadRequest(LINE_SEQ, decoded.orderRef, decoded.message);
  }

  /**
   * The register sent a request the bridge understood: the line's trouble is over (a frame that
   * is merely well formed is no proof: junk has those too). What was held back is reported now,
   * and the next trouble is logged at once.
   */
  private understood(): void {
    for (const key of LINE_TROUBLE) this.repeats.clear(key);
  }

  private write(port: OpenPort, bytes: Uint8Array): void {
    port.write(bytes).then(
      () => this.repeats.clear("writeFailed"),
      (err: Error) => {
        this.repeats.warn("writeFailed", { err: err.message }, "write to register failed");
        // Through SerialPortStream a failed write has closed the port; this covers ports that don't.
        this.supervisor.fail(port, "ABSENT", `write failed: ${err.message}`);
      },
    );
  }

  private attach(port: OpenPort): void {
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

  // ── monitor (posbridge:frame): built only while someone watches ─────────────────────────────

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

  private publishFrame(
    dir: FrameEvent["dir"],
    kind: FrameEvent["kind"],
    bytes: Uint8Array,
    meaning: string,
    resend = false,
  ): void {
    frameChannel.publish({
      type: "frame",
      at: this.deps.clock.wallNow(),
      lane: this.deps.laneId ?? "",
      dir,
      kind,
      hex: maskedHex(bytes),
      meaning: kind === "line" ? describeFrame(meaning) : meaning,
      ...(resend ? { resend } : {}),
    } satisfies FrameEvent);
  }

  private decode(bytes: Uint8Array): string {
    this.textDecoder ??= new TextDecoder(this.config.encoding === "gb18030" ? "gb18030" : "utf-8");
    return this.textDecoder.decode(bytes);
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
          this.understood();
          this.handlers.onRequest(decoded.request);
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
