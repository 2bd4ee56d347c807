// The register's serial link (docs/terminal-protocol.md), one class per wire profile behind the
// RegisterLink factory (register-link.ts): `ecr` (ecr-terminal.ts: STX/LEN/DATA/ETX/LRC frames
// with ACK/NAK, run by the link machine with real timers) and `line` (line-terminal.ts: one request
// per line, one answer per line, no link layer). This base holds what both do the same: the port
// supervisor, text encoding, the repeat limiter, "the register makes sense again", writes, and
// what `posbridge monitor` sees. Frames and lines are never logged as bytes (a register's data
// carries no payment code, but noise on the line might). A noisy or misconfigured line repeats the
// same trouble (bad frames, noise, requests that mean nothing, answers never acknowledged) without
// end: each kind is one line per window with a count (RepeatLimiter), and the count is reported as
// soon as the register sends a request the bridge understands again.
import { TextDecoder } from "node:util";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { describeFrame } from "../../protocols/ecr/describe-frame.js";
import type { LinkCounters } from "../../protocols/ecr/link-machine.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import type { TerminalConfig } from "../config/config-types.js";
import { type FrameEvent, frameChannel, maskedHex } from "../diagnostics/channels.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { textEncoder } from "../text/text-encoder.js";
import { describeLocation } from "./device-identity.js";
import { type PortDeps, PortSupervisor } from "./port-supervisor.js";
import type { RegisterLink, RegisterLinkStatus } from "./register-link.js";
import type { OpenPort } from "./serial-binding.js";

export interface TerminalHandlers {
  onRequest(request: PosRequest): void;
  onBadRequest(seq: string, orderRef: string, message: string): void;
  onState?(state: DeviceState, error: string): void;
  /** The register did not acknowledge a frame after every allowed send. */
  onLinkFault?(detail: string): void;
}

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

/** A register link on a serial port; EcrTerminal or LineTerminal by the config's profile. */
export abstract class TerminalPort implements RegisterLink {
  protected readonly supervisor: PortSupervisor;
  protected readonly encodeText: (text: string) => Uint8Array;
  /** This line's repeated warnings, keyed by kind of trouble. */
  protected readonly repeats: RepeatLimiter;
  /** Monotonic time of the last well-formed frame (or line) from the register. */
  protected lastGoodMono: number | undefined;
  private textDecoder: TextDecoder | undefined;

  constructor(
    protected readonly config: TerminalConfig,
    protected readonly deps: TerminalPortDeps,
    protected readonly handlers: TerminalHandlers,
  ) {
    this.encodeText = textEncoder(config.encoding);
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
    this.supervisor = new PortSupervisor({
      ...deps,
      settings: config,
      onOpen: (port) => this.attach(port),
      onState: (state, error) => handlers.onState?.(state, error),
    });
  }

  get kind(): "ecr" | "line" {
    return this.config.profile;
  }

  describe(): { type: string; location: string } {
    return { type: this.config.profile, location: describeLocation(this.config) };
  }

  get status(): RegisterLinkStatus {
    return { ...this.supervisor.status, counters: { ...this.counters() } };
  }

  /** ms since the register last sent a well-formed frame (or line); undefined when it never did. */
  get lastGoodAgoMs(): number | undefined {
    return this.lastGoodMono === undefined ? undefined : this.deps.clock.monoNow() - this.lastGoodMono;
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    this.stopTimers();
    await this.supervisor.stop();
    this.repeats.clearAll(); // says what is still held back
  }

  /** `posbridge test register`: an ES to the register, and whether it was taken. */
  abstract probe(answer: PosAnswer): Promise<ProbeResult>;
  abstract send(answer: PosAnswer): void;
  /** A newly opened port: attach the reader. */
  protected abstract attach(port: OpenPort): void;
  /** The link's counters, in the link layer's shape. */
  protected abstract counters(): LinkCounters;
  protected stopTimers(): void {}

  /** A request understood: the register makes sense again (and gets its request handled). */
  protected deliverRequest(request: PosRequest): void {
    this.understood();
    this.handlers.onRequest(request);
  }

  /**
   * The register sent a request the bridge understood: the line's trouble is over (a frame that
   * is merely well formed is no proof: junk has those too). What was held back is reported now,
   * and the next trouble is logged at once.
   */
  protected understood(): void {
    for (const key of LINE_TROUBLE) this.repeats.clear(key);
  }

  protected write(port: OpenPort, bytes: Uint8Array): void {
    port.write(bytes).then(
      () => this.repeats.clear("writeFailed"),
      (err: Error) => {
        this.repeats.warn("writeFailed", { err: err.message }, "write to register failed");
        // Through SerialPortStream a failed write has closed the port; this covers ports that don't.
        this.supervisor.fail(port, "ABSENT", `write failed: ${err.message}`);
      },
    );
  }

  protected publishFrame(
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

  protected decode(bytes: Uint8Array): string {
    this.textDecoder ??= new TextDecoder(this.config.encoding === "gb18030" ? "gb18030" : "utf-8");
    return this.textDecoder.decode(bytes);
  }
}
