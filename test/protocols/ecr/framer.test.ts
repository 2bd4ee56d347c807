import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, utf8 } from "../../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { type EcrChunk, EcrFramer } from "../../../protocols/ecr/framer.js";

const SA = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
const SA_DATA = SA.slice(3, -2);
const EC = fromHex("02 00 05 45 43 1c 30 37 03 1b");
const EC_DATA = EC.slice(3, -2);

function pushAll(framer: EcrFramer, ...pieces: Uint8Array[]): EcrChunk[] {
  return pieces.flatMap((p) => framer.push(p));
}

describe("EcrFramer", () => {
  it("decodes the spec's SA example in one push", () => {
    expect(new EcrFramer().push(SA)).toEqual([{ type: "frame", data: SA_DATA }]);
    expect(new TextDecoder().decode(SA_DATA)).toBe("SA\x1c01\x1cORD123\x1c1234");
  });

  it("decodes the SA frame split in two at every boundary", () => {
    for (let cut = 1; cut < SA.length; cut++) {
      const framer = new EcrFramer();
      const chunks = pushAll(framer, SA.slice(0, cut), SA.slice(cut));
      expect(chunks, `cut at ${cut}`).toEqual([{ type: "frame", data: SA_DATA }]);
      expect(framer.bufferedLength).toBe(0);
    }
  });

  it("decodes the SA frame fed one byte per push, emitting only on the last byte", () => {
    const framer = new EcrFramer();
    for (let i = 0; i < SA.length - 1; i++) expect(framer.push(SA.slice(i, i + 1))).toEqual([]);
    expect(framer.push(SA.slice(-1))).toEqual([{ type: "frame", data: SA_DATA }]);
  });

  it("decodes several frames and controls in one push, in wire order", () => {
    const chunks = new EcrFramer().push(concatBytes(SA, fromHex("06"), EC, SA));
    expect(chunks).toEqual([
      { type: "frame", data: SA_DATA },
      { type: "control", byte: 0x06 },
      { type: "frame", data: EC_DATA },
      { type: "frame", data: SA_DATA },
    ]);
  });

  it("reports ENQ, ACK and NAK between frames as control chunks", () => {
    expect(new EcrFramer().push(fromHex("05 06 15"))).toEqual([
      { type: "control", byte: 0x05 },
      { type: "control", byte: 0x06 },
      { type: "control", byte: 0x15 },
    ]);
  });

  it("does not treat ACK/NAK bytes inside a frame's DATA as controls", () => {
    const data = fromHex("41 06 15 05 42");
    expect(new EcrFramer().push(encodeEcrFrame(data))).toEqual([{ type: "frame", data }]);
  });

  it("counts noise before and between frames as discarded runs with their lengths", () => {
    const framer = new EcrFramer();
    const chunks = framer.push(concatBytes(fromHex("31 32 33"), SA, fromHex("ff ff 06 00"), EC));
    expect(chunks).toEqual([
      { type: "discarded", length: 3 },
      { type: "frame", data: SA_DATA },
      { type: "discarded", length: 2 },
      { type: "control", byte: 0x06 },
      { type: "discarded", length: 1 },
      { type: "frame", data: EC_DATA },
    ]);
    expect(framer.discardedTotal).toBe(6);
  });

  it("reports noise at the end of each push so the counter never lags", () => {
    const framer = new EcrFramer();
    expect(framer.push(fromHex("aa bb"))).toEqual([{ type: "discarded", length: 2 }]);
    expect(framer.push(fromHex("cc"))).toEqual([{ type: "discarded", length: 1 }]);
    expect(framer.discardedTotal).toBe(3);
  });

  it("reports a bad LRC, then still decodes the next good frame", () => {
    const bad = SA.slice();
    bad[bad.length - 1] = 0x77;
    const framer = new EcrFramer();
    expect(framer.push(concatBytes(bad, EC))).toEqual([
      { type: "badFrame", reason: "lrc" },
      { type: "frame", data: EC_DATA },
    ]);
    expect(framer.discardedTotal).toBe(0);
  });

  it("reports a corrupted DATA byte as a bad LRC", () => {
    const bad = SA.slice();
    bad[5] = 0x42;
    expect(new EcrFramer().push(bad)).toEqual([{ type: "badFrame", reason: "lrc" }]);
  });

  it("reports a non-decimal BCD length and resyncs after that STX", () => {
    const framer = new EcrFramer();
    // 02 0a 00: 0a is not BCD; the two LEN bytes become noise and EC decodes.
    expect(framer.push(concatBytes(fromHex("02 0a 00"), EC))).toEqual([
      { type: "badFrame", reason: "bcdLength" },
      { type: "discarded", length: 2 },
      { type: "frame", data: EC_DATA },
    ]);
  });

  it("finds a real frame whose STX sits inside the LEN bytes of a bad one", () => {
    // The first STX reads "LEN" ff 02 (not BCD); rescanning after it finds EC's STX at offset 2.
    const chunks = new EcrFramer().push(concatBytes(fromHex("02 ff"), EC));
    expect(chunks).toEqual([
      { type: "badFrame", reason: "bcdLength" },
      { type: "discarded", length: 1 },
      { type: "frame", data: EC_DATA },
    ]);
  });

  it("reports tooLong as soon as LEN is read, without waiting for the DATA", () => {
    const framer = new EcrFramer({ maxDataLength: 10 });
    expect(framer.push(fromHex("02 00 11"))).toEqual([
      { type: "badFrame", reason: "tooLong" },
      { type: "discarded", length: 2 },
    ]);
    expect(framer.bufferedLength).toBe(0);
    expect(framer.push(EC)).toEqual([{ type: "frame", data: EC_DATA }]);
  });

  it("accepts DATA of exactly maxDataLength", () => {
    const data = new Uint8Array(10).fill(0x41);
    expect(new EcrFramer({ maxDataLength: 10 }).push(encodeEcrFrame(data))).toEqual([
      { type: "frame", data },
    ]);
  });

  it("uses 1024 as the default maximum", () => {
    expect(new EcrFramer().push(fromHex("02 10 25"))[0]).toEqual({ type: "badFrame", reason: "tooLong" });
    const framer = new EcrFramer();
    expect(framer.push(fromHex("02 10 24"))).toEqual([]);
    expect(framer.bufferedLength).toBe(3);
  });

  it("reports a frame whose ETX position holds another byte, then resyncs", () => {
    // LEN says 3 but five DATA bytes follow: byte at ETX position is 1c.
    const bad = fromHex("02 00 03 45 43 1c 30 37 03 1b");
    const chunks = new EcrFramer().push(concatBytes(bad, EC));
    expect(chunks[0]).toEqual({ type: "badFrame", reason: "noEtx" });
    expect(chunks.at(-1)).toEqual({ type: "frame", data: EC_DATA });
  });

  it("keeps its buffer capped at maxDataLength + 5 while a frame is incomplete", () => {
    const framer = new EcrFramer({ maxDataLength: 20 });
    expect(framer.push(fromHex("02 00 20"))).toEqual([]);
    expect(framer.push(new Uint8Array(21).fill(0x41))).toEqual([]);
    expect(framer.bufferedLength).toBe(24);
    // One more byte completes the 25-byte frame slot; it is not ETX, so the frame is refused.
    expect(framer.push(fromHex("41"))[0]).toEqual({ type: "badFrame", reason: "noEtx" });
    expect(framer.bufferedLength).toBe(0);
  });

  it("does not retain the caller's buffer", () => {
    const framer = new EcrFramer();
    const piece = SA.slice(0, 10);
    framer.push(piece);
    piece.fill(0);
    expect(framer.push(SA.slice(10))).toEqual([{ type: "frame", data: SA_DATA }]);
  });

  it("decodes a UTF-8 frame split inside a multibyte character", () => {
    const data = utf8("PR\x1c00\x1cORD1\x1cWAIT_SCAN\x1c请出示付款码");
    const frame = encodeEcrFrame(data);
    const framer = new EcrFramer();
    expect(pushAll(framer, frame.slice(0, 30), frame.slice(30))).toEqual([{ type: "frame", data }]);
  });

  it("rejects invalid options with a TypeError", () => {
    expect(() => new EcrFramer({ maxDataLength: 0 })).toThrow(TypeError);
    expect(() => new EcrFramer({ maxDataLength: 10000 })).toThrow(TypeError);
    expect(() => new EcrFramer({ maxDataLength: 1.5 })).toThrow(TypeError);
  });

  it("a stray STX before a real frame makes a false LEN; after a silence the real frame is found", () => {
    const sa = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
    const framer = new EcrFramer();
    // 02 | 02 00 → LEN "0200" = 200 bytes: the framer waits for a frame that is not there.
    expect(framer.push(Uint8Array.of(0x02, ...sa))).toEqual([]);
    expect(framer.bufferedLength).toBe(sa.length + 1);
    const chunks = framer.expireIncomplete();
    expect(chunks).toEqual([
      { type: "discarded", length: 1 },
      { type: "frame", data: sa.slice(3, sa.length - 2) },
    ]);
    expect(framer.bufferedLength).toBe(0);
    expect(framer.discardedTotal).toBe(1);
  });

  it("expireIncomplete drops an unfinished frame whole, never reading its bytes as controls", () => {
    const framer = new EcrFramer();
    expect(framer.expireIncomplete()).toEqual([]);
    framer.push(fromHex("02 00 06 45 43")); // LEN 0006 holds an 06 byte: not an ACK
    expect(framer.expireIncomplete()).toEqual([{ type: "discarded", length: 5 }]);
    expect(framer.bufferedLength).toBe(0);
  });
});
