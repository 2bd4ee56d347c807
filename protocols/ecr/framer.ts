// bytes → EcrChunk[] for the `ecr` profile (shared/spec/terminal-protocol.md, "Framing").
// Shaped after zwave-js SerialAPIParser: buffer, resync on STX, one-byte controls as chunks,
// dropped bytes reported as a counted chunk. No I/O, no timers, no logger.
import { concatBytes, decodeBcd2, xorLrc } from "../core/bytes.js";
import { ACK, DEFAULT_MAX_DATA_LENGTH, ENQ, ETX, MAX_BCD_LENGTH, NAK, STX } from "./constants.js";
import type { EcrControlByte } from "./constants.js";

/**
 * Why a frame was refused (each is answered with NAK by the link layer):
 * - `lrc`: the LRC byte does not match the XOR of LEN..ETX.
 * - `bcdLength`: a LEN nibble is not a decimal digit.
 * - `tooLong`: LEN exceeds `maxDataLength`.
 * - `noEtx`: the byte where ETX belongs (after LEN bytes of DATA) is not 03, so LEN is wrong.
 */
export type EcrBadFrameReason = "lrc" | "bcdLength" | "tooLong" | "noEtx";

export type EcrChunk =
  | { type: "frame"; data: Uint8Array }
  | { type: "control"; byte: EcrControlByte }
  | { type: "badFrame"; reason: EcrBadFrameReason }
  /** Bytes outside any frame. Only the count: noise can hold part of a payment code. */
  | { type: "discarded"; length: number };

export interface EcrFramerOptions {
  /** Largest DATA accepted, 1..9999 (LEN is 4 BCD digits). Default 1024 (spec: "default 1024"). */
  maxDataLength?: number;
}

/** STX + 2 LEN bytes. */
const HEADER_LENGTH = 3;
/** STX + LEN + ETX + LRC around DATA. */
const FRAME_OVERHEAD = 5;

function isControl(byte: number): byte is EcrControlByte {
  return byte === ENQ || byte === ACK || byte === NAK;
}

export class EcrFramer {
  readonly maxDataLength: number;
  /** Bytes reported in `discarded` chunks since construction. */
  discardedTotal = 0;
  /**
   * Unfinished frame, always starting with STX. Never longer than maxDataLength + 5: LEN is checked
   * against the maximum as soon as it arrives, so the buffer is capped by construction.
   */
  private pending: Uint8Array = new Uint8Array(0);

  constructor({ maxDataLength = DEFAULT_MAX_DATA_LENGTH }: EcrFramerOptions = {}) {
    if (!Number.isInteger(maxDataLength) || maxDataLength < 1 || maxDataLength > MAX_BCD_LENGTH) {
      throw new TypeError(`maxDataLength must be an integer in 1..${MAX_BCD_LENGTH}, got ${maxDataLength}`);
    }
    this.maxDataLength = maxDataLength;
  }

  /** Bytes held while waiting for the rest of a frame (for diagnostics). */
  get bufferedLength(): number {
    return this.pending.length;
  }

  /**
   * The line went quiet with a frame still incomplete. Its LEN may have been read from noise (a
   * stray STX followed by the STX and LEN of a real frame), so the frame would wait for bytes that
   * never come and hide the real one. The runner calls this after a silence: the STX is dropped as
   * noise and what followed it is rescanned, so the parser resynchronises on the next STX as
   * terminal-protocol.md asks. Nothing is NAKed: the register resends what it did not get ACKed.
   */
  expireIncomplete(): EcrChunk[] {
    const chunks: EcrChunk[] = [];
    while (this.pending.length > 0) {
      // Bytes of the abandoned frame are not controls (a LEN byte 06 is no ACK): skip to the next
      // STX, count the rest as discarded, and parse normally from there.
      const next = this.pending.indexOf(STX, 1);
      const dropped = next < 0 ? this.pending.length : next;
      const rest = next < 0 ? new Uint8Array(0) : this.pending.subarray(next);
      this.pending = new Uint8Array(0);
      this.discardedTotal += dropped;
      chunks.push({ type: "discarded", length: dropped });
      chunks.push(...this.push(rest));
    }
    return chunks;
  }

  /**
   * Feeds bytes as they were read; returns what they completed, in wire order. A noise run is
   * reported when a frame or control byte ends it, or at the end of this push, so counters never lag.
   */
  push(bytes: Uint8Array): EcrChunk[] {
    const work = this.pending.length === 0 ? bytes : concatBytes(this.pending, bytes);
    const chunks: EcrChunk[] = [];
    let noise = 0;
    const flushNoise = () => {
      if (noise > 0) {
        chunks.push({ type: "discarded", length: noise });
        this.discardedTotal += noise;
        noise = 0;
      }
    };

    let i = 0;
    let keepFrom = work.length;
    while (i < work.length) {
      const byte = work[i] as number;
      if (byte !== STX) {
        if (isControl(byte)) {
          flushNoise();
          chunks.push({ type: "control", byte });
        } else {
          noise++;
        }
        i++;
        continue;
      }

      flushNoise();
      if (work.length - i < HEADER_LENGTH) {
        keepFrom = i;
        break;
      }
      const dataLength = decodeBcd2(work[i + 1] as number, work[i + 2] as number);
      if (dataLength === undefined) {
        // Resync scanning from the byte after this STX: the LEN bytes may be noise hiding a real STX.
        chunks.push({ type: "badFrame", reason: "bcdLength" });
        i++;
        continue;
      }
      if (dataLength > this.maxDataLength) {
        // Reported at once rather than buffering up to 9999 bytes; what follows is rescanned for STX.
        chunks.push({ type: "badFrame", reason: "tooLong" });
        i++;
        continue;
      }
      const frameLength = dataLength + FRAME_OVERHEAD;
      if (work.length - i < frameLength) {
        keepFrom = i;
        break;
      }
      const etxAt = i + HEADER_LENGTH + dataLength;
      if (work[etxAt] !== ETX) {
        // LEN does not match the frame that follows, so we cannot trust where it ends: rescan after STX.
        chunks.push({ type: "badFrame", reason: "noEtx" });
        i++;
        continue;
      }
      if (xorLrc(work, i + 1, etxAt + 1) !== work[etxAt + 1]) {
        // Structure is intact, only a byte is corrupted: the whole frame is consumed and NAKed.
        chunks.push({ type: "badFrame", reason: "lrc" });
        i += frameLength;
        continue;
      }
      chunks.push({ type: "frame", data: work.slice(i + HEADER_LENGTH, etxAt) });
      i += frameLength;
    }
    flushNoise();
    // Copy so the caller may reuse its read buffer.
    this.pending = keepFrom < work.length ? work.slice(keepFrom) : new Uint8Array(0);
    return chunks;
  }
}
