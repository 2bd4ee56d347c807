// The conformance tool's reading of the register's bytes (`ecr` profile). It judges frames as the
// bridge's framer does (protocols/ecr/framer.ts: same LEN, ETX and LRC rules, same verdicts), but
// keeps every byte, so a deviation is reported with the frame exactly as the register sent it and
// a diagnosis of the mistake. A register line carries no payment code: these bytes may be shown.
import { decodeBcd2, xorLrc } from "../core/bytes.js";
import { ACK, DEFAULT_MAX_DATA_LENGTH, ENQ, ETX, MAX_BCD_LENGTH, NAK, STX } from "../ecr/constants.js";
import type { EcrControlByte } from "../ecr/constants.js";
import { diagnoseLength, diagnoseLrc, diagnoseTooLong, type FrameDiagnosis } from "./frame-diagnosis.js";

export type SegmentEvent =
  | { type: "frame"; data: Uint8Array; bytes: Uint8Array }
  /** A frame the bridge NAKs, with what is wrong in it. */
  | { type: "badFrame"; bytes: Uint8Array; diagnosis: FrameDiagnosis }
  | { type: "control"; byte: EcrControlByte }
  /** Bytes outside any frame. */
  | { type: "noise"; bytes: Uint8Array }
  /** A frame cut short: the line went quiet before it ended. */
  | { type: "incomplete"; bytes: Uint8Array };

/** STX + LEN + ETX + LRC around DATA. */
const OVERHEAD = 5;
/** Noise kept for a report; longer runs are cut (the report says how long they were). */
const NOISE_KEPT = 64;

function isControl(byte: number): byte is EcrControlByte {
  return byte === ENQ || byte === ACK || byte === NAK;
}

export class EcrSegmenter {
  readonly maxDataLength: number;
  /** The frame being read, from its STX; null between frames. */
  private frame: number[] | null = null;
  private noise: number[] = [];
  private noiseLength = 0;

  constructor({ maxDataLength = DEFAULT_MAX_DATA_LENGTH }: { maxDataLength?: number } = {}) {
    if (!Number.isInteger(maxDataLength) || maxDataLength < 1 || maxDataLength > MAX_BCD_LENGTH) {
      throw new TypeError(`maxDataLength must be an integer in 1..${MAX_BCD_LENGTH}, got ${maxDataLength}`);
    }
    this.maxDataLength = maxDataLength;
  }

  /** True while part of a frame (or a noise run) waits for more bytes or for the line to go quiet. */
  get pending(): boolean {
    return this.frame !== null || this.noiseLength > 0;
  }

  push(bytes: Uint8Array): SegmentEvent[] {
    const out: SegmentEvent[] = [];
    for (const byte of bytes) this.byte(byte, out);
    return out;
  }

  /** The line went quiet: a frame still open is incomplete, and a noise run ends. */
  flush(): SegmentEvent[] {
    const out: SegmentEvent[] = [];
    if (this.frame) {
      const frame = Uint8Array.from(this.frame);
      this.frame = null;
      // A frame whose LEN promised more than it carried but which did end with ETX + LRC: the
      // bridge waits for bytes that never come, then drops it; say what LEN got wrong.
      const etxAt = firstEtx(frame);
      if (etxAt >= 0 && etxAt + 2 === frame.length)
        out.push({ type: "badFrame", bytes: frame, diagnosis: diagnoseLength(frame, etxAt) });
      else out.push({ type: "incomplete", bytes: frame });
    }
    this.flushNoise(out);
    return out;
  }

  private byte(byte: number, out: SegmentEvent[]): void {
    if (this.frame === null) {
      if (isControl(byte)) {
        this.flushNoise(out);
        out.push({ type: "control", byte });
      } else if (byte === STX) {
        this.flushNoise(out);
        this.frame = [STX];
      } else {
        if (this.noise.length < NOISE_KEPT) this.noise.push(byte);
        this.noiseLength++;
      }
      return;
    }
    this.frame.push(byte);
    this.judge(out);
  }

  /** Ends the open frame when its bytes decide it, as the bridge's framer would. */
  private judge(out: SegmentEvent[]): void {
    const f = this.frame as number[];
    const n = f.length;
    if (n < 3) return;
    const length = decodeBcd2(f[1] as number, f[2] as number);
    if (length !== undefined && n === length + OVERHEAD) {
      const frame = Uint8Array.from(f);
      if (frame[3 + length] === ETX) {
        this.frame = null;
        if (length > this.maxDataLength)
          out.push({
            type: "badFrame",
            bytes: frame,
            diagnosis: diagnoseTooLong(length, this.maxDataLength),
          });
        else if (xorLrc(frame, 1, n - 1) !== frame[n - 1])
          out.push({ type: "badFrame", bytes: frame, diagnosis: diagnoseLrc(frame) });
        else out.push({ type: "frame", data: frame.slice(3, 3 + length), bytes: frame });
        return;
      }
      // LEN is wrong: the frame ends at its first ETX (+ LRC) if that came already; what follows
      // it is read again from scratch (it may be the next frame).
      const etxAt = firstEtx(frame);
      if (etxAt >= 0) {
        this.frame = null;
        const bad = frame.slice(0, etxAt + 2);
        out.push({ type: "badFrame", bytes: bad, diagnosis: diagnoseLength(bad, etxAt) });
        for (const b of frame.subarray(etxAt + 2)) this.byte(b, out);
      }
      return;
    }
    // LEN not BCD, or already passed without an ETX in place: the frame ends after its first ETX.
    const passed = length === undefined || n > length + OVERHEAD;
    if (passed && n >= 5 && f[n - 2] === ETX) {
      const frame = Uint8Array.from(f);
      this.frame = null;
      out.push({ type: "badFrame", bytes: frame, diagnosis: diagnoseLength(frame, n - 2) });
      return;
    }
    if (n > MAX_BCD_LENGTH + OVERHEAD) {
      this.frame = null;
      out.push({ type: "incomplete", bytes: Uint8Array.from(f.slice(0, 64)) });
    }
  }

  private flushNoise(out: SegmentEvent[]): void {
    if (this.noiseLength === 0) return;
    out.push({ type: "noise", bytes: Uint8Array.from(this.noise) });
    this.noise = [];
    this.noiseLength = 0;
  }
}

/** Index of the first ETX after LEN, or -1. */
function firstEtx(frame: Uint8Array): number {
  for (let i = 3; i < frame.length; i++) if (frame[i] === ETX) return i;
  return -1;
}
