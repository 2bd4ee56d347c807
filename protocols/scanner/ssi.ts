// Zebra / Symbol SSI (Simple Serial Interface) packets (device-protocols.md §3.4; sources there:
// `clocklimited/motorola-ssi-scanner` scanner.js / lib/opcodes.js / lib/checksum.js,
// `enioka-Haute-Couture/enioka_scan` SsiPacket / SsiParser):
//
//   byte 0      length = bytes of the packet without the 2 checksum bytes (4 + data), ≤ 0xFF
//   byte 1      opcode
//   byte 2      message source: 0x00 decoder (scanner), 0x04 host
//   byte 3      status: bit 0 retransmission, bit 1 continuation (more packets of this message
//               follow), bit 3 permanent parameter change
//   4 … L-1     data
//   L, L+1      checksum: 16-bit two's complement of the sum of bytes 0 … L-1, high byte first
//
// Encoders build host packets; SsiDecoder frames the scanner's byte stream by the length byte,
// resynchronises on garbage (skipping bytes that cannot start a packet, and giving up a half-read
// "packet" as soon as a complete, checksum-valid packet ends inside it), checks checksums, glues multi-packet messages and says which ACK/NAK
// to send back for each packet. Pure: push(bytes) → items, no timers (the runner calls reset()
// after a silence), buffer capped at one packet. Dropped packets are reported by length only,
// never their bytes: decode data may be a payment code (payment-domain.md §7 rule 18).

export const SSI_OPCODE = {
  CMD_ACK: 0xd0,
  CMD_NAK: 0xd1,
  FLUSH_QUEUE: 0xd2,
  /** "START_SESSION" in motorola-ssi-scanner; START_DECODE in other SSI tables. */
  START_SESSION: 0xe4,
  STOP_SESSION: 0xe5,
  BEEP: 0xe6,
  LED_ON: 0xe7,
  LED_OFF: 0xe8,
  SCAN_ENABLE: 0xe9,
  SCAN_DISABLE: 0xea,
  SLEEP: 0xeb,
  PARAM_SEND: 0xc6,
  PARAM_REQUEST: 0xc7,
  PARAM_DEFAULTS: 0xc8,
  REQUEST_REVISION: 0xa3,
  REPLY_REVISION: 0xa4,
  IMAGE_DATA: 0xb1,
  DECODE_DATA: 0xf3,
  EVENT: 0xf6,
  IMAGER_MODE: 0xf7,
} as const;

/** Software trigger on / off: the same opcodes as START_SESSION / STOP_SESSION. */
export const SSI_START_DECODE = SSI_OPCODE.START_SESSION;
export const SSI_STOP_DECODE = SSI_OPCODE.STOP_SESSION;

export const SSI_SOURCE = { DECODER: 0x00, HOST: 0x04 } as const;

export const SSI_STATUS = { RETRANSMIT: 0x01, CONTINUATION: 0x02, PERMANENT: 0x08 } as const;

/** CMD_NAK data byte. */
export const SSI_NAK_CAUSE = { RESEND: 0x01, BAD_CONTEXT: 0x02, DENIED: 0x06 } as const;

/** DECODE_DATA barcode type byte → name (device-protocols.md §3.4). */
export const SSI_SYMBOLOGY: ReadonlyMap<number, string> = new Map([
  [0x01, "Code 39"],
  [0x02, "Codabar"],
  [0x03, "Code 128"],
  [0x06, "Interleaved 2 of 5"],
  [0x07, "Code 93"],
  [0x08, "UPC-A"],
  [0x09, "UPC-E"],
  [0x0a, "EAN-8"],
  [0x0b, "EAN-13"],
  [0x0f, "GS1-128"],
  [0x11, "PDF417"],
  [0x1b, "Data Matrix"],
  [0x1c, "QR Code"],
  [0x30, "GS1 DataBar"],
  [0x31, "GS1 DataBar Limited"],
  [0x32, "GS1 DataBar Expanded"],
]);

const HEADER = 4;
const MAX_PACKET_LENGTH = 0xff;
/** Most data bytes one packet can carry. */
export const SSI_MAX_DATA = MAX_PACKET_LENGTH - HEADER;
const MAX_MAX_LENGTH = 65_536;
const TYPE_CODE_39 = 0x01;

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new TypeError(`${name} must be an integer 0..255, got ${String(value)}`);
  }
}

/** 16-bit two's complement of the sum of `bytes[from, to)`: 0x10000 − Σ, masked to 16 bits. */
export function ssiChecksum(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i] as number;
  return (0x10000 - (sum & 0xffff)) & 0xffff;
}

export interface SsiPacketFields {
  opcode: number;
  /** Default: none. At most 251 bytes. */
  data?: Uint8Array | readonly number[];
  /** Default SSI_SOURCE.HOST. */
  source?: number;
  /** Default 0. */
  status?: number;
}

/** Builds one packet: length, opcode, source, status, data, checksum (high byte first). */
export function encodeSsiPacket({
  opcode,
  data = [],
  source = SSI_SOURCE.HOST,
  status = 0,
}: SsiPacketFields): Uint8Array {
  checkByte("opcode", opcode);
  checkByte("source", source);
  checkByte("status", status);
  if (data.length > SSI_MAX_DATA) throw new RangeError(`SSI data is at most ${SSI_MAX_DATA} bytes`);
  for (const b of data) checkByte("data byte", b);
  const length = HEADER + data.length;
  const packet = new Uint8Array(length + 2);
  packet.set([length, opcode, source, status]);
  packet.set(data, HEADER);
  const sum = ssiChecksum(packet, 0, length);
  packet[length] = sum >> 8;
  packet[length + 1] = sum & 0xff;
  return packet;
}

/** CMD_ACK from the host: `04 D0 04 00 FF 28`. */
export function ssiAck(): Uint8Array {
  return encodeSsiPacket({ opcode: SSI_OPCODE.CMD_ACK });
}

/** CMD_NAK from the host; cause RESEND (`05 D1 04 00 01 FF 25`) asks for the last packet again. */
export function ssiNak(cause: number = SSI_NAK_CAUSE.RESEND): Uint8Array {
  return encodeSsiPacket({ opcode: SSI_OPCODE.CMD_NAK, data: [cause] });
}

/** A data-less host command such as SCAN_ENABLE, START_SESSION (= START_DECODE) or FLUSH_QUEUE. */
export function ssiCommand(opcode: number): Uint8Array {
  return encodeSsiPacket({ opcode });
}

/**
 * PARAM_SEND: beep code (0xFF = no beep) then parameter number / value pairs, e.g.
 * `[[0x9f, 0x01]]` enables software ACK/NAK handshaking (device-protocols.md §3.4). Only
 * single-byte parameter numbers; `permanent` sets status bit 3.
 */
export function ssiParamSend(
  params: readonly (readonly [number, number])[],
  { beep = 0xff, permanent = false }: { beep?: number; permanent?: boolean } = {},
): Uint8Array {
  const data = [beep, ...params.flat()];
  return encodeSsiPacket({
    opcode: SSI_OPCODE.PARAM_SEND,
    data,
    status: permanent ? SSI_STATUS.PERMANENT : 0,
  });
}

export type SsiDiscardReason =
  /** Bytes that do not start a plausible packet (skipped one at a time while resynchronising). */
  | "garbage"
  /** A plausible packet whose checksum does not match; NAK (resend) is the reply. */
  | "checksum"
  /** A retransmission of the packet accepted last (our ACK was lost); ACKed again, not repeated. */
  | "duplicate"
  /** The message was longer than maxLength. */
  | "overflow"
  /** Decode data with a byte outside printable ASCII. */
  | "binary"
  /** DECODE_DATA with a barcode type but no symbol bytes. */
  | "empty"
  /** DECODE_DATA without a barcode type byte, or whose packets disagree on it. */
  | "malformed"
  /** A multi-packet message cut short by another message or by reset(). */
  | "incomplete";

/**
 * What a packet (or skipped bytes) meant. `reply`, when present, must be written to the scanner:
 * an ACK for every good packet except ACK/NAK themselves, a NAK (resend) for a bad checksum.
 */
export type SsiItem =
  | { type: "decodeData"; symbology: number; text: string; reply: Uint8Array }
  /** DECODE_DATA type 01 (Code 39) with data "NR": the session ended without a read. */
  | { type: "noRead"; reply: Uint8Array }
  /** A packet of a multi-packet message that is not finished yet; `length` = data bytes so far. */
  | { type: "continued"; opcode: number; length: number; reply: Uint8Array }
  | { type: "ack" }
  /** `cause` is the NAK's data byte (SSI_NAK_CAUSE), null when it has none. */
  | { type: "nak"; cause: number | null }
  /** Any other message; `length` = data bytes. Its data is not exposed. */
  | { type: "other"; opcode: number; length: number; reply: Uint8Array }
  | { type: "discarded"; length: number; reason: SsiDiscardReason; reply?: Uint8Array };

export interface SsiDecoderOptions {
  /**
   * Longest message accepted, in data bytes over all its packets (for DECODE_DATA without the
   * barcode type bytes); default 128.
   */
  maxLength?: number;
  /** Message source byte of the packets to accept; default SSI_SOURCE.DECODER (0x00). */
  source?: number;
}

/** The multi-packet message being collected. */
interface Pending {
  opcode: number;
  symbology: number;
  /** Data bytes so far; may exceed the buffer after an overflow. */
  length: number;
  malformed: boolean;
}

export class SsiDecoder {
  readonly #maxLength: number;
  readonly #source: number;
  /** Unparsed input; never more than one packet (257 bytes) because push works byte by byte. */
  readonly #input = new Uint8Array(MAX_PACKET_LENGTH + 2);
  #inputLength = 0;
  /** Bytes skipped since the last packet. */
  #garbage = 0;
  readonly #message: Uint8Array;
  #pending: Pending | undefined;
  /** Copy of the last accepted packet, to spot a retransmission of it; length 0 = none. */
  readonly #last = new Uint8Array(MAX_PACKET_LENGTH + 2);
  #lastLength = 0;

  constructor({ maxLength = 128, source = SSI_SOURCE.DECODER }: SsiDecoderOptions = {}) {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
      throw new TypeError(`maxLength must be an integer 1..${MAX_MAX_LENGTH}, got ${String(maxLength)}`);
    }
    checkByte("source", source);
    this.#maxLength = maxLength;
    this.#source = source;
    this.#message = new Uint8Array(maxLength);
  }

  push(bytes: Uint8Array): SsiItem[] {
    const out: SsiItem[] = [];
    for (const byte of bytes) {
      this.#input[this.#inputLength++] = byte;
      this.#scan(out);
    }
    return out;
  }

  /**
   * Forgets unparsed bytes and an unfinished multi-packet message (port closed, or the runner's
   * idle timer): returns what was dropped.
   */
  reset(): SsiItem[] {
    const out: SsiItem[] = [];
    this.#garbage += this.#inputLength;
    this.#input.fill(0);
    this.#inputLength = 0;
    this.#flushGarbage(out);
    this.#dropPending(out);
    this.#last.fill(0);
    this.#lastLength = 0;
    return out;
  }

  /** Takes every complete packet or garbage byte off the front of the input. */
  #scan(out: SsiItem[]): void {
    const input = this.#input;
    while (this.#inputLength > 0) {
      const length = input[0] as number;
      if (length < HEADER || (this.#inputLength > 2 && input[2] !== this.#source)) {
        this.#skip(1);
        continue;
      }
      if (this.#inputLength < length + 2) {
        // A false header (garbage whose "length" is large) would otherwise swallow the packets
        // behind it until its length is reached. A complete packet with a good checksum ending
        // here proves the bytes in front of it are garbage.
        const inner = this.#innerPacket();
        if (inner < 0) return;
        this.#skip(inner);
        continue;
      }
      const expected = ssiChecksum(input, 0, length);
      const received = ((input[length] as number) << 8) | (input[length + 1] as number);
      this.#flushGarbage(out);
      if (expected === received) this.#packet(input.subarray(0, length + 2), out);
      else out.push({ type: "discarded", length: length + 2, reason: "checksum", reply: ssiNak() });
      this.#consume(length + 2);
    }
  }

  /**
   * Offset of a plausible packet with a good checksum that ends at the last byte received, or -1.
   * Only packets ending at the last byte need checking: scan runs after every byte.
   */
  #innerPacket(): number {
    const input = this.#input;
    const end = this.#inputLength;
    for (let at = 1; at + HEADER + 2 <= end; at++) {
      const length = input[at] as number;
      if (length < HEADER || at + length + 2 !== end || input[at + 2] !== this.#source) continue;
      const received = ((input[end - 2] as number) << 8) | (input[end - 1] as number);
      if (ssiChecksum(input, at, at + length) === received) return at;
    }
    return -1;
  }

  #packet(packet: Uint8Array, out: SsiItem[]): void {
    const length = packet[0] as number;
    const opcode = packet[1] as number;
    const status = packet[3] as number;
    const data = packet.subarray(HEADER, length);
    if (opcode === SSI_OPCODE.CMD_ACK) {
      out.push({ type: "ack" });
      return;
    }
    if (opcode === SSI_OPCODE.CMD_NAK) {
      out.push({ type: "nak", cause: data.length > 0 ? (data[0] as number) : null });
      return;
    }
    if (status & SSI_STATUS.RETRANSMIT && this.#isRepeat(packet)) {
      out.push({ type: "discarded", length: data.length, reason: "duplicate", reply: ssiAck() });
      return;
    }
    this.#remember(packet);
    if (this.#pending && this.#pending.opcode !== opcode) this.#dropPending(out);
    this.#pending ??= { opcode, symbology: -1, length: 0, malformed: false };
    const pending = this.#pending;
    this.#append(pending, data);
    if (status & SSI_STATUS.CONTINUATION) {
      out.push({ type: "continued", opcode, length: pending.length, reply: ssiAck() });
      return;
    }
    out.push(this.#finish(pending));
  }

  #append(pending: Pending, data: Uint8Array): void {
    let part = data;
    if (pending.opcode === SSI_OPCODE.DECODE_DATA) {
      // Every packet of a multi-packet DECODE_DATA starts with the barcode type
      // (motorola-ssi-scanner `_handleTransmission(4)` strips it from each packet).
      const type = data[0];
      if (type === undefined || (pending.symbology !== -1 && type !== pending.symbology)) {
        pending.malformed = true;
      } else {
        pending.symbology = type;
      }
      part = data.subarray(1);
    }
    const room = this.#maxLength - pending.length;
    if (room > 0) this.#message.set(part.subarray(0, room), pending.length);
    pending.length += part.length;
  }

  #finish(pending: Pending): SsiItem {
    const { opcode, symbology, length, malformed } = pending;
    const overflow = length > this.#maxLength;
    const body = this.#message.subarray(0, Math.min(length, this.#maxLength));
    const decode = opcode === SSI_OPCODE.DECODE_DATA;
    const binary = decode && body.some((b) => b < 0x20 || b > 0x7e);
    const text = decode && !malformed && !overflow && !binary ? String.fromCharCode(...body) : "";
    this.#clearPending();
    const reply = ssiAck();
    if (malformed) return { type: "discarded", length, reason: "malformed", reply };
    if (overflow) return { type: "discarded", length, reason: "overflow", reply };
    if (!decode) return { type: "other", opcode, length, reply };
    if (length === 0) return { type: "discarded", length, reason: "empty", reply };
    if (binary) return { type: "discarded", length, reason: "binary", reply };
    if (symbology === TYPE_CODE_39 && text === "NR") return { type: "noRead", reply };
    return { type: "decodeData", symbology, text, reply };
  }

  #dropPending(out: SsiItem[]): void {
    if (!this.#pending) return;
    out.push({ type: "discarded", length: this.#pending.length, reason: "incomplete" });
    this.#clearPending();
  }

  #clearPending(): void {
    // Zero the buffer: a dropped message may hold digits of a payment code.
    if (this.#pending) this.#message.fill(0, 0, Math.min(this.#pending.length, this.#maxLength));
    this.#pending = undefined;
  }

  /** Same packet as the last accepted one, the retransmission bit aside. */
  #isRepeat(packet: Uint8Array): boolean {
    const length = packet[0] as number;
    if (this.#lastLength !== length + 2) return false;
    for (let i = 0; i < length; i++) {
      const a = packet[i] as number;
      const b = this.#last[i] as number;
      if (i === 3 ? (a | SSI_STATUS.RETRANSMIT) !== (b | SSI_STATUS.RETRANSMIT) : a !== b) return false;
    }
    return true;
  }

  #remember(packet: Uint8Array): void {
    this.#last.fill(0);
    this.#last.set(packet);
    this.#lastLength = packet.length;
  }

  #skip(count: number): void {
    this.#garbage += count;
    this.#consume(count);
  }

  #consume(count: number): void {
    this.#input.copyWithin(0, count, this.#inputLength);
    this.#input.fill(0, this.#inputLength - count, this.#inputLength);
    this.#inputLength -= count;
  }

  #flushGarbage(out: SsiItem[]): void {
    if (this.#garbage === 0) return;
    out.push({ type: "discarded", length: this.#garbage, reason: "garbage" });
    this.#garbage = 0;
  }
}
