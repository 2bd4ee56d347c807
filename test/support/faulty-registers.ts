// Registers for the conformance tool's tests: the project's VirtualRegister keeping the link layer
// (it conforms), and variants with one mistake each that POS integrations are known to make. Each
// mistake is made on the wire or in the link state, the rest of the register stays correct, so a
// test shows the tool names exactly that mistake, with its bytes.
import type { Clock } from "../../daemon/clock.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { concatBytes, fromUtf8, utf8, xorLrc } from "../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { LineRegister } from "./line-register.js";

export type RegisterFault =
  | "none"
  /** LRC computed over STX too. */
  | "wrongLrc"
  /** LEN sent in binary (0x17 for 23), not BCD. */
  | "binaryLength"
  /** Takes a NAK for an ACK: never sends the frame again. */
  | "ignoresNak"
  /** ACKs the terminal's frames after 1.5 × the ACK timeout. */
  | "lateAck"
  /** Re-encodes a resent request with a new seq. */
  | "newSeqOnResend"
  /** No duplicate suppression: an answer sent twice is acted on twice. */
  | "actsTwice"
  /** Sends amounts in yuan with a decimal point ("12.34"). */
  | "decimalAmount"
  /** `line` profile: ends each request with CR alone, never LF. */
  | "crOnly";

export interface TestRegister {
  register: VirtualRegister | LineRegister;
  /** Bytes from the terminal to the register. */
  receive(bytes: Uint8Array): void;
}

/** A `line` register, correct or with one fault (decimalAmount, crOnly). */
export function makeLineRegister(fault: RegisterFault, write: (bytes: Uint8Array) => void): TestRegister {
  const register = new LineRegister(write, (line) => {
    if (fault === "crOnly") return line.replace(/\r\n$/, "\r");
    if (fault === "decimalAmount" && line.startsWith("SALE "))
      return line.replace(/ (\d+)\r\n$/, (_m, fen: string) => ` ${(Number(fen) / 100).toFixed(2)}\r\n`);
    return line;
  });
  return { register, receive: (bytes) => register.receive(bytes) };
}

const STX = 0x02;
const isFrame = (b: Uint8Array) => b.length >= 5 && b[0] === STX;

/** A register without duplicate suppression: the link machine's memory of the last frame is wiped. */
class ActsTwiceRegister extends VirtualRegister {
  override receive(bytes: Uint8Array): void {
    if (this.linkState) this.linkState = { ...this.linkState, lastReceived: null };
    super.receive(bytes);
  }
}

function withData(frame: Uint8Array, edit: (fields: string[]) => string[]): Uint8Array {
  const text = fromUtf8(frame.subarray(3, frame.length - 2)) as string;
  return encodeEcrFrame(utf8(edit(text.split("\x1c")).join("\x1c")));
}

export function makeRegister(
  fault: RegisterFault,
  write: (bytes: Uint8Array) => void,
  link: { ackTimeoutMs: number; clock?: Clock },
): TestRegister {
  let lastOut: Uint8Array | null = null;
  let lastSent: Uint8Array | null = null;
  let seqBump = 50;
  const out = (bytes: Uint8Array) => {
    if (fault === "lateAck" && bytes.length === 1 && bytes[0] === 0x06) {
      const delay = Math.round(link.ackTimeoutMs * 1.5);
      if (link.clock) link.clock.setTimeout(() => write(bytes), delay);
      else setTimeout(() => write(bytes), delay);
      return;
    }
    if (!isFrame(bytes)) return write(bytes);
    let frame = bytes;
    if (fault === "wrongLrc") {
      frame = bytes.slice();
      frame[frame.length - 1] = xorLrc(frame, 0, frame.length - 1);
    } else if (fault === "binaryLength") {
      const n = bytes.length - 5;
      frame = concatBytes(Uint8Array.of(STX, n >> 8, n & 0xff), bytes.subarray(3));
      frame[frame.length - 1] = xorLrc(frame, 1, frame.length - 1);
    } else if (fault === "decimalAmount") {
      frame = withData(bytes, (f) =>
        f[0] === "SA" ? [...f.slice(0, 3), (Number(f[3]) / 100).toFixed(2)] : f,
      );
    } else if (fault === "newSeqOnResend") {
      // The same frame again is a resend: this register builds it anew with its next seq.
      if (lastOut && lastOut.join() === bytes.join())
        frame = withData(lastSent as Uint8Array, (f) => [f[0] as string, String(++seqBump), ...f.slice(2)]);
      lastOut = bytes;
    }
    lastSent = frame;
    write(frame);
  };
  const register =
    fault === "actsTwice" ? new ActsTwiceRegister(out, { link }) : new VirtualRegister(out, { link });
  return {
    register,
    receive(bytes) {
      // A register that reads NAK as ACK drops the frame as delivered.
      if (fault === "ignoresNak" && bytes.length === 1 && bytes[0] === 0x15) bytes = Uint8Array.of(0x06);
      register.receive(bytes);
    },
  };
}
