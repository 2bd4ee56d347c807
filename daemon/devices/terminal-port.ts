// The register's serial line: port ⇄ ecr framer ⇄ link machine, with real timers. Decoded
// requests go up to the lane; answers come down as frames. Frames are never logged as bytes
// at info level (a register's DATA carries no payment code, but noise on the line might).
import { EcrFramer } from "../../protocols/ecr/framer.js";
import {
  createLinkState,
  type LinkEffect,
  type LinkInput,
  type LinkState,
  linkStep,
} from "../../protocols/ecr/link-machine.js";
import { decodeEcrRequest, encodeEcrAnswer } from "../../protocols/ecr/messages.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { TerminalConfig } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import { textEncoder } from "../text/text-encoder.js";
import { PortSupervisor } from "./port-supervisor.js";
import type { OpenPort, SerialOpener } from "./serial-binding.js";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";

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

export class TerminalPort {
  private readonly supervisor: PortSupervisor;
  private framer: EcrFramer;
  private readonly encodeText: (text: string) => Uint8Array;
  private link: LinkState;
  private timer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;

  constructor(
    private readonly config: TerminalConfig,
    private readonly deps: { opener: SerialOpener; clock: Clock; log: Logger; maxAmountFen: number },
    private readonly handlers: TerminalHandlers,
  ) {
    this.framer = new EcrFramer({ maxDataLength: config.maxDataLength });
    this.encodeText = textEncoder(config.encoding);
    this.link = createLinkState({ ackTimeoutMs: config.ackTimeoutMs });
    this.supervisor = new PortSupervisor({
      settings: config,
      opener: deps.opener,
      clock: deps.clock,
      log: deps.log,
      onOpen: (port) => this.attach(port),
      onState: (state, error) => handlers.onState?.(state, error),
    });
  }

  get status() {
    return { ...this.supervisor.status, counters: { ...this.link.counters } };
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.staleTimer?.cancel();
    await this.supervisor.stop();
  }

  send(answer: PosAnswer): void {
    this.step({ type: "send", data: encodeEcrAnswer(answer, this.encodeText) });
  }

  private attach(port: OpenPort): void {
    // A frame half-received before an unplug is garbage now.
    this.framer = new EcrFramer({ maxDataLength: this.config.maxDataLength });
    port.onData((bytes) => {
      for (const chunk of this.framer.push(bytes)) this.step({ type: "chunk", chunk });
      // A frame still incomplete after a silence is given up (its STX may have been noise).
      this.staleTimer?.cancel();
      this.staleTimer =
        this.framer.bufferedLength > 0
          ? this.deps.clock.setTimeout(() => {
              for (const chunk of this.framer.expireIncomplete()) this.step({ type: "chunk", chunk });
            }, STALE_FRAME_MS)
          : undefined;
    });
  }

  private step(input: LinkInput): void {
    const { state, effects } = linkStep(this.link, input, this.deps.clock.now());
    this.link = state;
    for (const effect of effects) this.run(effect);
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
        port
          .write(effect.bytes)
          .catch((err: Error) => log.warn({ err: err.message }, "write to register failed"));
        return;
      }
      case "deliver": {
        const decoded = decodeEcrRequest(effect.data, { maxAmountFen: this.deps.maxAmountFen });
        if (decoded.ok) this.handlers.onRequest(decoded.request);
        else {
          log.warn(
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
          effect.at - this.deps.clock.now(),
        );
        return;
      case "cancelTimer":
        this.timer?.cancel();
        this.timer = undefined;
        return;
      case "fault":
        log.error(
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
