// The `line` profile of the register link (docs/terminal-protocol.md, "line"): port ⇄ line framer,
// one request per line and one answer per line, no link layer (no ACK/NAK, no resends); results
// are sent as they come, so a recovered sale's result arrives as an unsolicited RESULT line.
import { zeroLinkCounters, type LinkCounters } from "../../protocols/ecr/link-machine.js";
import {
  decodeLineRequest,
  encodeLineAnswer,
  LINE_SEQ,
  type LineDecodeResult,
  LineFramer,
  lineTooLongMessage,
} from "../../protocols/pos/line-codec.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { frameChannel } from "../diagnostics/channels.js";
import type { OpenPort } from "./serial-binding.js";
import { type ProbeResult, TerminalPort } from "./terminal-port.js";

export class LineTerminal extends TerminalPort {
  private lineFramer = new LineFramer();
  /** The counters in the link layer's shape (no NAKs, no resends). */
  private readonly lineCounters: LinkCounters = zeroLinkCounters();

  protected counters(): LinkCounters {
    return this.lineCounters;
  }

  /** `posbridge test register`: the line profile has no acknowledgement: the ES line is sent. */
  async probe(answer: PosAnswer): Promise<ProbeResult> {
    if (!this.supervisor.current) return { outcome: "down", ms: 0 };
    this.send(answer);
    return { outcome: "sent", ms: 0 };
  }

  send(answer: PosAnswer): void {
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
  protected attach(port: OpenPort): void {
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
      this.deliverRequest(decoded.request);
      return;
    }
    this.repeats.warn("rejected", { problem: decoded.message }, "request from register rejected");
    this.handlers.onBadRequest(LINE_SEQ, decoded.orderRef, decoded.message);
  }
}
