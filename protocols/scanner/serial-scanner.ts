// Frames the byte stream of an RS-232 / USB-CDC barcode scanner into reads (device-protocols.md
// §3.1): symbol data + configured suffix, with an optional fixed prefix and an optional AIM
// symbology identifier in front. Pure push(bytes) → chunks: no timers (the runner calls reset()
// on port close or a stale partial read) and a buffer capped at maxLength.
//
// Dropped reads are reported with their length only, never their bytes: noise around a read can
// hold part of a payment code (payment-domain.md §7 rule 18).

export type SerialScannerSuffix = "CR" | "LF" | "CRLF" | "TAB";

export interface SerialScannerOptions {
  /** Terminator the scanner sends after each read. */
  suffix: SerialScannerSuffix;
  /** Fixed prefix the scanner is programmed to send; stripped, and reads without it are dropped. */
  prefix?: string;
  /** Longest read (prefix + AIM id + data, without suffix) accepted; default 128. */
  maxLength?: number;
  /** Strip a leading AIM symbology identifier such as `]E0` or `]Q1`; default false. */
  stripAim?: boolean;
}

export type ScanDiscardReason = "overflow" | "empty" | "binary" | "prefixMismatch" | "incomplete";

export type ScanChunk =
  | { type: "scan"; text: string }
  | { type: "discarded"; length: number; reason: ScanDiscardReason };

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const MAX_MAX_LENGTH = 4096;
// `]` + symbology letter + modifier (ISO/IEC 15424).
const AIM_ID = /^\][A-Za-z][0-9A-Za-z]/;

export class SerialScannerDecoder {
  readonly #suffix: SerialScannerSuffix;
  readonly #prefix: string;
  readonly #maxLength: number;
  readonly #stripAim: boolean;
  readonly #buffer: Uint8Array;
  /** Bytes of the current read seen so far; may exceed the buffer after an overflow. */
  #length = 0;
  #last = -1;
  /** The previous byte ended a read with CR: an LF right after it is the rest of a CRLF suffix. */
  #afterCr = false;

  constructor({ suffix, prefix = "", maxLength = 128, stripAim = false }: SerialScannerOptions) {
    if (suffix !== "CR" && suffix !== "LF" && suffix !== "CRLF" && suffix !== "TAB") {
      throw new TypeError(`suffix must be "CR", "LF", "CRLF" or "TAB", got ${JSON.stringify(suffix)}`);
    }
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
      throw new TypeError(`maxLength must be an integer 1..${MAX_MAX_LENGTH}, got ${String(maxLength)}`);
    }
    if (typeof prefix !== "string" || !/^[\x20-\x7e]*$/.test(prefix)) {
      throw new TypeError("prefix must be printable ASCII");
    }
    if (prefix.length >= maxLength) throw new TypeError("prefix must be shorter than maxLength");
    if (typeof stripAim !== "boolean") throw new TypeError("stripAim must be a boolean");
    this.#suffix = suffix;
    this.#prefix = prefix;
    this.#maxLength = maxLength;
    this.#stripAim = stripAim;
    this.#buffer = new Uint8Array(maxLength);
  }

  push(bytes: Uint8Array): ScanChunk[] {
    const out: ScanChunk[] = [];
    for (const byte of bytes) {
      const afterCr = this.#afterCr;
      this.#afterCr = false;
      switch (this.#suffix) {
        case "CR":
          if (byte === CR) {
            out.push(this.#finish());
            this.#afterCr = true;
            continue;
          }
          // A scanner left at its CRLF default still works with a CR suffix: the LF is not data.
          if (byte === LF && afterCr) continue;
          break;
        case "LF":
        case "CRLF":
          // CRLF ends at the LF; with an LF suffix a CR right before it is likewise the suffix's,
          // so a CRLF scanner works under either setting. A CR elsewhere stays data (→ binary).
          if (byte === LF) {
            out.push(this.#finish());
            continue;
          }
          break;
        case "TAB":
          if (byte === TAB) {
            out.push(this.#finish());
            continue;
          }
          break;
      }
      this.#append(byte);
    }
    return out;
  }

  /** Drops a pending partial read (port closed, or the runner's stale-read timeout). */
  reset(): ScanChunk[] {
    this.#afterCr = false;
    if (this.#length === 0) return [];
    const reason: ScanDiscardReason = this.#length > this.#maxLength ? "overflow" : "incomplete";
    const chunk: ScanChunk = { type: "discarded", length: this.#length, reason };
    this.#clear();
    return [chunk];
  }

  #append(byte: number): void {
    if (this.#length < this.#maxLength) this.#buffer[this.#length] = byte;
    this.#length++;
    this.#last = byte;
  }

  #finish(): ScanChunk {
    let length = this.#length;
    // A CR just before the LF belongs to a CRLF suffix, not to the data.
    if ((this.#suffix === "LF" || this.#suffix === "CRLF") && length > 0 && this.#last === CR) length--;
    const data = this.#buffer.subarray(0, Math.min(length, this.#maxLength));
    const overflow = length > this.#maxLength;
    const binary = !overflow && data.some((b) => b < 0x20 || b > 0x7e);
    const text = overflow || binary ? "" : String.fromCharCode(...data);
    this.#clear();
    if (overflow) return { type: "discarded", length, reason: "overflow" };
    if (length === 0) return { type: "discarded", length: 0, reason: "empty" };
    if (binary) return { type: "discarded", length, reason: "binary" };
    return this.#strip(text);
  }

  #strip(read: string): ScanChunk {
    let text = read;
    if (this.#prefix) {
      if (!text.startsWith(this.#prefix))
        return { type: "discarded", length: read.length, reason: "prefixMismatch" };
      text = text.slice(this.#prefix.length);
    }
    if (this.#stripAim && AIM_ID.test(text)) text = text.slice(3);
    if (text.length === 0) return { type: "discarded", length: read.length, reason: "empty" };
    return { type: "scan", text };
  }

  #clear(): void {
    // Zero the buffer: a dropped partial read may hold digits of a payment code.
    this.#buffer.fill(0, 0, Math.min(this.#length, this.#maxLength));
    this.#length = 0;
    this.#last = -1;
  }
}
