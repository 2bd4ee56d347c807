// A virtual cash register speaking the `ecr` profile: frames and sends requests, ACKs every
// frame the bridge sends, and records the decoded answers. The demo drives it; so do the
// integration tests (over a real pty) — it is the POS vendor's side of terminal-protocol.md.
import { EcrFramer } from "../../protocols/ecr/framer.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { encodeEcrRequest } from "../../protocols/ecr/messages.js";
import { decodeBridgeAnswer } from "../../protocols/ecr/register-side.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";

const ACK = Uint8Array.of(0x06);

export interface RegisterRecord {
  answer: PosAnswer;
  at: number;
}

export class VirtualRegister {
  readonly answers: RegisterRecord[] = [];
  /** Raw bytes the bridge sent, in order (for byte-for-byte assertions). */
  readonly received: Uint8Array[] = [];
  private readonly framer = new EcrFramer({ maxDataLength: 9999 });
  private waiters: { pred: (a: PosAnswer) => boolean; resolve: (a: PosAnswer) => void }[] = [];
  private listeners: ((a: PosAnswer) => void)[] = [];
  /** When false, frames from the bridge are not ACKed (to test retransmission). */
  autoAck = true;

  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  /** Feed bytes that arrived from the bridge. */
  receive(bytes: Uint8Array): void {
    this.received.push(bytes);
    for (const chunk of this.framer.push(bytes)) {
      if (chunk.type !== "frame") continue;
      if (this.autoAck) this.send(ACK);
      const answer = decodeBridgeAnswer(chunk.data);
      if (!answer) continue;
      // A resend after a lost ACK carries the same DATA: the register records it once.
      this.answers.push({ answer, at: Date.now() });
      for (const fn of this.listeners) fn(answer);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(answer)) return true;
        w.resolve(answer);
        return false;
      });
    }
  }

  onAnswer(fn: (a: PosAnswer) => void): void {
    this.listeners.push(fn);
  }

  request(req: PosRequest): void {
    this.send(encodeEcrFrame(encodeEcrRequest(req)));
  }

  sendRaw(bytes: Uint8Array): void {
    this.send(bytes);
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
}
