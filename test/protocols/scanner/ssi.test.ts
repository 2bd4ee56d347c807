import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../../protocols/core/bytes.js";
import {
  encodeSsiPacket,
  SSI_MAX_DATA,
  SSI_NAK_CAUSE,
  SSI_OPCODE,
  SSI_SOURCE,
  SSI_START_DECODE,
  SSI_STATUS,
  SSI_STOP_DECODE,
  SSI_SYMBOLOGY,
  ssiAck,
  ssiChecksum,
  ssiCommand,
  SsiDecoder,
  type SsiItem,
  ssiNak,
  ssiParamSend,
} from "../../../protocols/scanner/ssi.js";

// Fake, payment-code-shaped digits: 18 digits like a WeChat/Alipay code, but not a real one.
const CODE = "134567890123456789";
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const QR = 0x1c;
const EAN_13 = 0x0b;

const ACK = "04 d0 04 00 ff 28";
const NAK_RESEND = "05 d1 04 00 01 ff 25";

/** DECODE_DATA as the scanner sends it (source 00): type byte + symbol bytes. */
const decode = (type: number, text: string | Uint8Array, status = 0) =>
  encodeSsiPacket({
    opcode: SSI_OPCODE.DECODE_DATA,
    source: SSI_SOURCE.DECODER,
    status,
    data: concatBytes(Uint8Array.of(type), typeof text === "string" ? ascii(text) : text),
  });

/** Items with replies shown as hex, so expectations read like the vectors. */
const show = (items: readonly SsiItem[]) =>
  items.map((item) => ("reply" in item && item.reply ? { ...item, reply: toHex(item.reply) } : item));

function feed(d: SsiDecoder, input: Uint8Array, cuts: readonly number[] = []) {
  const out: SsiItem[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...d.push(input.subarray(from, cut)));
    from = cut;
  }
  return show(out);
}

/** No discarded item may carry 6 consecutive characters of the data it dropped. */
function expectNoContent(items: readonly unknown[], secret: string) {
  for (const item of items) {
    if ((item as { type: string }).type !== "discarded") continue;
    const json = JSON.stringify(item);
    expect(json).not.toMatch(/\d{6,}/);
    for (let i = 0; i + 6 <= secret.length; i++) expect(json).not.toContain(secret.slice(i, i + 6));
    // the same in the packet's own encoding: hex of the digits
    expect(json).not.toContain(toHex(ascii(secret.slice(0, 6))));
  }
}

describe("checksum (device-protocols.md §3.4 and Test vectors #14–18)", () => {
  it("is the 16-bit two's complement of the byte sum", () => {
    // clocklimited/motorola-ssi-scanner test/checksum.test.js `create`
    expect(ssiChecksum(fromHex("07 f3 00 00 01 4e 52"))).toBe(0xfe65);
    expect(ssiChecksum(Uint8Array.of(0x00))).toBe(0x0000);
    expect(ssiChecksum(fromHex("ff ff ff ff ff"))).toBe(0xfb05);
    // same file, `check`: 05 00 04 00 00 FF F7 valid, FF E7 not
    const packet = fromHex("05 00 04 00 00 ff f7");
    expect(ssiChecksum(packet, 0, 5)).toBe(0xfff7);
    expect(ssiChecksum(packet, 0, 5)).not.toBe(0xffe7);
  });

  it("wraps sums above 0xFFFF", () => {
    const big = new Uint8Array(300).fill(0xff); // Σ = 76500 = 0x12AD4
    expect(ssiChecksum(big)).toBe((0x10000 - 0x2ad4) & 0xffff);
  });
});

describe("encoding host packets", () => {
  it("#14 CMD_ACK and #15 CMD_NAK resend, byte-exact", () => {
    expect(toHex(ssiAck())).toBe(ACK);
    expect(toHex(ssiNak())).toBe(NAK_RESEND);
    expect(toHex(ssiNak(SSI_NAK_CAUSE.RESEND))).toBe(NAK_RESEND);
  });

  it("#16 START_SESSION (= START_DECODE) and the other data-less commands, byte-exact", () => {
    expect(toHex(ssiCommand(SSI_OPCODE.START_SESSION))).toBe("04 e4 04 00 ff 14");
    expect(toHex(ssiCommand(SSI_START_DECODE))).toBe("04 e4 04 00 ff 14");
    expect(toHex(ssiCommand(SSI_STOP_DECODE))).toBe("04 e5 04 00 ff 13");
    expect(toHex(ssiCommand(SSI_OPCODE.SCAN_ENABLE))).toBe("04 e9 04 00 ff 0f");
    expect(toHex(ssiCommand(SSI_OPCODE.SCAN_DISABLE))).toBe("04 ea 04 00 ff 0e");
    expect(toHex(ssiCommand(SSI_OPCODE.REQUEST_REVISION))).toBe("04 a3 04 00 ff 55");
  });

  it("#17 / #18 DECODE_DATA packets from the scanner, byte-exact", () => {
    expect(toHex(decode(0x01, "NR"))).toBe("07 f3 00 00 01 4e 52 fe 65");
    expect(toHex(decode(EAN_13, "5901234123457"))).toBe(
      "12 f3 00 00 0b 35 39 30 31 32 33 34 31 32 33 34 35 37 fc 52",
    );
  });

  it("PARAM_SEND: beep FF, then number/value pairs (§3.4 start-up sequence)", () => {
    // 07 C6 04 00 FF 9F 01: Σ = 0x270 → FD 90
    expect(toHex(ssiParamSend([[0x9f, 0x01]]))).toBe("07 c6 04 00 ff 9f 01 fd 90");
    const permanent = ssiParamSend(
      [
        [0x5e, 0x01],
        [0xee, 0x01],
      ],
      { permanent: true },
    );
    expect(permanent[3]).toBe(SSI_STATUS.PERMANENT);
    expect(toHex(permanent.subarray(0, 9))).toBe("09 c6 04 08 ff 5e 01 ee 01");
    expect(ssiChecksum(permanent, 0, 9)).toBe((permanent[9]! << 8) | permanent[10]!);
  });

  it("validates its fields", () => {
    expect(() => encodeSsiPacket({ opcode: 0x100 })).toThrow(TypeError);
    expect(() => encodeSsiPacket({ opcode: 0xe4, source: -1 })).toThrow(TypeError);
    expect(() => encodeSsiPacket({ opcode: 0xe4, status: 1.5 })).toThrow(TypeError);
    expect(() => encodeSsiPacket({ opcode: 0xe4, data: [256] })).toThrow(TypeError);
    expect(() => encodeSsiPacket({ opcode: 0xe4, data: new Uint8Array(SSI_MAX_DATA + 1) })).toThrow(
      RangeError,
    );
    const full = encodeSsiPacket({ opcode: 0xe4, data: new Uint8Array(SSI_MAX_DATA) });
    expect(full[0]).toBe(0xff);
    expect(full.length).toBe(257);
  });

  it("returns a fresh array each time", () => {
    const a = ssiAck();
    a[0] = 0;
    expect(toHex(ssiAck())).toBe(ACK);
  });
});

describe("SsiDecoder options", () => {
  it("throws TypeError on bad options", () => {
    expect(() => new SsiDecoder({ maxLength: 0 })).toThrow(TypeError);
    expect(() => new SsiDecoder({ maxLength: 65_537 })).toThrow(TypeError);
    expect(() => new SsiDecoder({ source: 0x100 })).toThrow(TypeError);
  });

  it("accepts the documented default maxLength of 128", () => {
    const d = new SsiDecoder();
    expect(feed(d, decode(QR, "7".repeat(128)))).toEqual([
      { type: "decodeData", symbology: QR, text: "7".repeat(128), reply: ACK },
    ]);
    expect(feed(d, decode(QR, "7".repeat(129)))).toEqual([
      { type: "discarded", length: 129, reason: "overflow", reply: ACK },
    ]);
  });
});

describe("decoding scanner packets", () => {
  it("#18 decodes EAN-13 data and asks for an ACK", () => {
    const packet = fromHex("12 F3 00 00 0B 35 39 30 31 32 33 34 31 32 33 34 35 37 FC 52");
    expect(feed(new SsiDecoder(), packet)).toEqual([
      { type: "decodeData", symbology: EAN_13, text: "5901234123457", reply: ACK },
    ]);
    expect(SSI_SYMBOLOGY.get(EAN_13)).toBe("EAN-13");
  });

  it("#17 reports NR (type 01) as a no-read, still ACKed", () => {
    expect(feed(new SsiDecoder(), fromHex("07 F3 00 00 01 4E 52 FE 65"))).toEqual([
      { type: "noRead", reply: ACK },
    ]);
    // "NR" under another symbology is data
    expect(feed(new SsiDecoder(), decode(QR, "NR"))).toEqual([
      { type: "decodeData", symbology: QR, text: "NR", reply: ACK },
    ]);
  });

  it("reports the scanner's ACK and NAK without a reply", () => {
    const d = new SsiDecoder();
    const ack = encodeSsiPacket({ opcode: SSI_OPCODE.CMD_ACK, source: 0 });
    const nak = encodeSsiPacket({ opcode: SSI_OPCODE.CMD_NAK, source: 0, data: [SSI_NAK_CAUSE.BAD_CONTEXT] });
    const bare = encodeSsiPacket({ opcode: SSI_OPCODE.CMD_NAK, source: 0 });
    expect(toHex(ack)).toBe("04 d0 00 00 ff 2c");
    expect(feed(d, concatBytes(ack, nak, bare))).toEqual([
      { type: "ack" },
      { type: "nak", cause: 2 },
      { type: "nak", cause: null },
    ]);
  });

  it("reports other messages by opcode and length, ACKed, without their data", () => {
    const revision = encodeSsiPacket({
      opcode: SSI_OPCODE.REPLY_REVISION,
      source: 0,
      data: ascii("NBRPUAAM"),
    });
    const event = encodeSsiPacket({ opcode: SSI_OPCODE.EVENT, source: 0, data: [0x01] });
    expect(feed(new SsiDecoder(), concatBytes(revision, event))).toEqual([
      { type: "other", opcode: 0xa4, length: 8, reply: ACK },
      { type: "other", opcode: 0xf6, length: 1, reply: ACK },
    ]);
  });

  it("decodes the same whatever byte boundary the stream is split at", () => {
    const stream = concatBytes(
      decode(QR, CODE),
      encodeSsiPacket({ opcode: SSI_OPCODE.CMD_ACK, source: 0 }),
      fromHex("07 F3 00 00 01 4E 52 FE 65"),
      decode(EAN_13, "5901234123457"),
    );
    const expected = [
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
      { type: "ack" },
      { type: "noRead", reply: ACK },
      { type: "decodeData", symbology: EAN_13, text: "5901234123457", reply: ACK },
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(new SsiDecoder(), stream, [cut])).toEqual(expected);
    }
    const everyByte = Array.from({ length: stream.length }, (_, i) => i);
    expect(feed(new SsiDecoder(), stream, everyByte)).toEqual(expected);
  });

  it("returns nothing until a packet is complete", () => {
    const d = new SsiDecoder();
    const packet = decode(QR, CODE);
    expect(d.push(packet.subarray(0, 10))).toEqual([]);
    expect(show(d.push(packet.subarray(10)))).toEqual([
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
  });
});

describe("multi-packet messages (status bit 1 = continuation)", () => {
  const text = `https://pay.example.invalid/qr?code=${CODE}&amount=1250`;
  // Each packet carries the barcode type first (motorola-ssi-scanner `_handleTransmission(4)`).
  const parts = [text.slice(0, 20), text.slice(20, 45), text.slice(45)];
  const packets = parts.map((p, i) => decode(QR, p, i < parts.length - 1 ? SSI_STATUS.CONTINUATION : 0));
  const stream = concatBytes(...packets);

  it("glues the packets and ACKs each one", () => {
    expect(feed(new SsiDecoder(), stream)).toEqual([
      { type: "continued", opcode: 0xf3, length: 20, reply: ACK },
      { type: "continued", opcode: 0xf3, length: 45, reply: ACK },
      { type: "decodeData", symbology: QR, text, reply: ACK },
    ]);
  });

  it("glues the same at every split of the stream", () => {
    const expected = feed(new SsiDecoder(), stream);
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(new SsiDecoder(), stream, [cut])).toEqual(expected);
    }
  });

  it("applies maxLength to the glued data", () => {
    const items = feed(new SsiDecoder({ maxLength: 50 }), stream);
    expect(items.at(-1)).toEqual({ type: "discarded", length: text.length, reason: "overflow", reply: ACK });
    expectNoContent(items, CODE);
  });

  it("drops a message whose packets disagree on the barcode type", () => {
    const mixed = concatBytes(
      decode(QR, CODE.slice(0, 9), SSI_STATUS.CONTINUATION),
      decode(0x03, CODE.slice(9)),
    );
    const items = feed(new SsiDecoder(), mixed);
    expect(items).toEqual([
      { type: "continued", opcode: 0xf3, length: 9, reply: ACK },
      { type: "discarded", length: 18, reason: "malformed", reply: ACK },
    ]);
    expectNoContent(items, CODE);
  });

  it("drops an unfinished message when another message arrives", () => {
    const event = encodeSsiPacket({ opcode: SSI_OPCODE.EVENT, source: 0, data: [0x01] });
    const items = feed(new SsiDecoder(), concatBytes(packets[0]!, event, decode(QR, CODE)));
    expect(items).toEqual([
      { type: "continued", opcode: 0xf3, length: 20, reply: ACK },
      { type: "discarded", length: 20, reason: "incomplete" },
      { type: "other", opcode: 0xf6, length: 1, reply: ACK },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
  });

  it("lets the scanner's ACK through without breaking the message", () => {
    const ack = encodeSsiPacket({ opcode: SSI_OPCODE.CMD_ACK, source: 0 });
    const items = feed(new SsiDecoder(), concatBytes(packets[0]!, ack, packets[1]!, packets[2]!));
    expect(items.map((i) => i.type)).toEqual(["continued", "ack", "continued", "decodeData"]);
  });
});

describe("errors and resynchronisation", () => {
  it("skips garbage that cannot start a packet and reports it by length", () => {
    // 00/03: length < 4; 41 42 43: their third byte is not source 00
    const stream = concatBytes(fromHex("00 03 41 42 43"), decode(QR, CODE));
    const expected = [
      { type: "discarded", length: 5, reason: "garbage" },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(new SsiDecoder(), stream, [cut])).toEqual(expected);
    }
  });

  it("NAKs (resend) a packet with a bad checksum and takes the retransmission", () => {
    const good = decode(QR, CODE);
    const bad = good.slice();
    bad[10] = (bad[10]! + 1) & 0xff;
    const resent = decode(QR, CODE, SSI_STATUS.RETRANSMIT);
    const items = feed(new SsiDecoder(), concatBytes(bad, resent));
    expect(items).toEqual([
      { type: "discarded", length: good.length, reason: "checksum", reply: NAK_RESEND },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
    expectNoContent(items, CODE);
  });

  it("NAKs a bad checksum byte itself", () => {
    const bad = fromHex("12 F3 00 00 0B 35 39 30 31 32 33 34 31 32 33 34 35 37 FC 53");
    expect(feed(new SsiDecoder(), bad)).toEqual([
      { type: "discarded", length: 20, reason: "checksum", reply: NAK_RESEND },
    ]);
  });

  it("recovers from garbage that looks like a packet header through the NAK and resend", () => {
    // 05 FF 00 passes the header check; with the real packet's first bytes it fails the checksum.
    const packet = decode(QR, CODE);
    const stream = concatBytes(fromHex("05 ff 00"), packet, decode(QR, CODE, SSI_STATUS.RETRANSMIT));
    const items = feed(new SsiDecoder(), stream);
    expect(items).toEqual([
      { type: "discarded", length: 7, reason: "checksum", reply: NAK_RESEND },
      { type: "discarded", length: packet.length - 4, reason: "garbage" },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
    expectNoContent(items, CODE);
  });

  it("ACKs a retransmission of the packet it already took, without repeating the read", () => {
    const first = decode(QR, CODE);
    const again = decode(QR, CODE, SSI_STATUS.RETRANSMIT);
    const second = decode(QR, CODE); // a new scan of the same code: not a retransmission
    const items = feed(new SsiDecoder(), concatBytes(first, again, second));
    expect(items).toEqual([
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
      { type: "discarded", length: 19, reason: "duplicate", reply: ACK },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
    expectNoContent(items, CODE);
    // a retransmission of something else is taken
    expect(feed(new SsiDecoder(), concatBytes(first, decode(QR, "99", SSI_STATUS.RETRANSMIT)))).toEqual([
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
      { type: "decodeData", symbology: QR, text: "99", reply: ACK },
    ]);
  });

  it("ignores packets from another source (the host's own packets echoed)", () => {
    expect(feed(new SsiDecoder(), fromHex(ACK))).toEqual([]);
    expect(feed(new SsiDecoder({ source: SSI_SOURCE.HOST }), fromHex(ACK))).toEqual([{ type: "ack" }]);
  });

  it("does not let a false header with a large length swallow the packets behind it", () => {
    // In the echoed ACK 04 D0 04 00 FF 28, "D0 04 00" looks like a header of length 208.
    const stream = concatBytes(fromHex(ACK), decode(QR, "1"), decode(QR, CODE));
    const expected = [
      { type: "discarded", length: 6, reason: "garbage" },
      { type: "decodeData", symbology: QR, text: "1", reply: ACK },
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(new SsiDecoder(), stream, [cut])).toEqual(expected);
    }
  });

  it("keeps a real packet whose data holds bytes that look like a header", () => {
    // Printable decode data has no 00 byte, so a header-like run (length, x, 00) can only hide in
    // binary data. Inner "05 07 00" and "07 00 00" form no packet with a good checksum ending at
    // the last byte, so the outer packet is taken whole.
    const data = Uint8Array.of(0x08, 0x00, 0x00, 0x05, 0x07, 0x00, 0x00, 0x01, 0x02);
    const packet = encodeSsiPacket({ opcode: SSI_OPCODE.IMAGE_DATA, source: 0, data });
    expect(feed(new SsiDecoder(), packet)).toEqual([{ type: "other", opcode: 0xb1, length: 9, reply: ACK }]);
  });

  it("drops decode data that is binary, empty or has no barcode type", () => {
    const gs = decode(0x0f, concatBytes(ascii("0112345678"), Uint8Array.of(0x1d), ascii(CODE)));
    const empty = decode(QR, "");
    const typeless = encodeSsiPacket({ opcode: SSI_OPCODE.DECODE_DATA, source: 0 });
    const items = feed(new SsiDecoder(), concatBytes(gs, empty, typeless));
    expect(items).toEqual([
      { type: "discarded", length: 29, reason: "binary", reply: ACK },
      { type: "discarded", length: 0, reason: "empty", reply: ACK },
      { type: "discarded", length: 0, reason: "malformed", reply: ACK },
    ]);
    expectNoContent(items, CODE);
  });

  it("takes a maximum-size packet (length FF)", () => {
    const data = new Uint8Array(SSI_MAX_DATA).fill(0x41);
    data[0] = QR;
    const packet = encodeSsiPacket({ opcode: SSI_OPCODE.DECODE_DATA, source: 0, data });
    expect(packet[0]).toBe(0xff);
    expect(feed(new SsiDecoder({ maxLength: 300 }), packet)).toEqual([
      { type: "decodeData", symbology: QR, text: "A".repeat(SSI_MAX_DATA - 1), reply: ACK },
    ]);
  });

  it("never puts dropped data into an item", () => {
    const d = new SsiDecoder({ maxLength: 10 });
    const bad = decode(QR, CODE);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    const items = [
      ...feed(d, decode(QR, CODE)),
      ...feed(d, bad),
      ...feed(d, concatBytes(ascii(CODE), decode(QR, "1"))),
      ...feed(d, decode(QR, CODE, SSI_STATUS.CONTINUATION)),
      ...show(d.reset()),
    ];
    expect(items.map((i) => (i.type === "discarded" ? i.reason : i.type))).toEqual([
      "overflow",
      "checksum",
      "garbage",
      "decodeData",
      "continued",
      "incomplete",
    ]);
    expectNoContent(items, CODE);
  });
});

describe("reset", () => {
  it("returns nothing when idle", () => {
    const d = new SsiDecoder();
    expect(d.reset()).toEqual([]);
    d.push(decode(QR, CODE));
    expect(d.reset()).toEqual([]);
  });

  it("drops a partial packet and an unfinished message by length, then starts clean", () => {
    const d = new SsiDecoder();
    d.push(decode(QR, "12345", SSI_STATUS.CONTINUATION));
    d.push(decode(QR, CODE).subarray(0, 9));
    expect(show(d.reset())).toEqual([
      { type: "discarded", length: 9, reason: "garbage" },
      { type: "discarded", length: 5, reason: "incomplete" },
    ]);
    expect(feed(d, decode(QR, CODE))).toEqual([
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
  });

  it("forgets the last packet, so a retransmission after reset is taken", () => {
    const d = new SsiDecoder();
    d.push(decode(QR, CODE));
    d.reset();
    expect(feed(d, decode(QR, CODE, SSI_STATUS.RETRANSMIT))).toEqual([
      { type: "decodeData", symbology: QR, text: CODE, reply: ACK },
    ]);
  });
});
