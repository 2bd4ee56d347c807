import { describe, expect, it } from "vitest";
import {
  type ScanChunk,
  SerialScannerDecoder,
  type SerialScannerOptions,
} from "../../../protocols/scanner/serial-scanner.js";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Feeds `input` in pieces cut at the given offsets and collects every chunk. */
function feed(decoder: SerialScannerDecoder, input: Uint8Array, cuts: readonly number[] = []): ScanChunk[] {
  const out: ScanChunk[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...decoder.push(input.subarray(from, cut)));
    from = cut;
  }
  return out;
}

const decode = (opts: SerialScannerOptions, text: string) =>
  feed(new SerialScannerDecoder(opts), bytes(text));

const CODE = "134567890123456789";

describe("SerialScannerDecoder options", () => {
  it("throws TypeError on bad options", () => {
    expect(() => new SerialScannerDecoder({ suffix: "CRLF2" as never })).toThrow(TypeError);
    expect(() => new SerialScannerDecoder({ suffix: "CR", maxLength: 0 })).toThrow(TypeError);
    expect(() => new SerialScannerDecoder({ suffix: "CR", maxLength: 12.5 })).toThrow(TypeError);
    expect(() => new SerialScannerDecoder({ suffix: "CR", maxLength: 4097 })).toThrow(TypeError);
    expect(() => new SerialScannerDecoder({ suffix: "CR", prefix: "\r" })).toThrow(TypeError);
    expect(() => new SerialScannerDecoder({ suffix: "CR", prefix: "ABCDEFGH", maxLength: 8 })).toThrow(
      TypeError,
    );
    expect(() => new SerialScannerDecoder({ suffix: "CR", stripAim: "yes" as never })).toThrow(TypeError);
  });

  it("accepts the documented defaults", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    expect(d.push(bytes(`${"1".repeat(128)}\r`))).toEqual([{ type: "scan", text: "1".repeat(128) }]);
    expect(d.push(bytes(`${"1".repeat(129)}\r`))).toEqual([
      { type: "discarded", length: 129, reason: "overflow" },
    ]);
    expect(d.push(bytes(`]Q1${CODE}\r`))).toEqual([{ type: "scan", text: `]Q1${CODE}` }]);
  });
});

describe("framing by suffix", () => {
  it.each([
    ["CR", "\r"],
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["TAB", "\t"],
  ] as const)("frames reads ended by %s", (suffix, end) => {
    expect(decode({ suffix }, `${CODE}${end}5901234123457${end}`)).toEqual([
      { type: "scan", text: CODE },
      { type: "scan", text: "5901234123457" },
    ]);
  });

  it("decodes the same whatever byte boundary a read is split at", () => {
    for (const suffix of ["CR", "LF", "CRLF", "TAB"] as const) {
      const end = { CR: "\r", LF: "\n", CRLF: "\r\n", TAB: "\t" }[suffix];
      const input = bytes(`${CODE}${end}9${end}`);
      const expected = [
        { type: "scan", text: CODE },
        { type: "scan", text: "9" },
      ];
      for (let cut = 0; cut <= input.length; cut++) {
        expect(feed(new SerialScannerDecoder({ suffix }), input, [cut])).toEqual(expected);
      }
    }
  });

  it("decodes the same when every byte arrives in its own push", () => {
    const input = bytes(`${CODE}\r\n${CODE}\r\n`);
    const cuts = Array.from({ length: input.length }, (_, i) => i);
    expect(feed(new SerialScannerDecoder({ suffix: "CR" }), input, cuts)).toEqual([
      { type: "scan", text: CODE },
      { type: "scan", text: CODE },
    ]);
  });

  it("returns nothing until the suffix arrives", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    expect(d.push(bytes("1345"))).toEqual([]);
    expect(d.push(new Uint8Array())).toEqual([]);
    expect(d.push(bytes("6789\r"))).toEqual([{ type: "scan", text: "13456789" }]);
  });

  it("with a CR suffix drops the LF of a CRLF scanner, also when split between pushes", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    expect(d.push(bytes(`${CODE}\r`))).toEqual([{ type: "scan", text: CODE }]);
    expect(d.push(bytes(`\n5901234123457\r`))).toEqual([{ type: "scan", text: "5901234123457" }]);
    expect(d.push(bytes("\n"))).toEqual([]);
  });

  it("with a CR suffix treats an LF not right after the suffix as data", () => {
    expect(decode({ suffix: "CR" }, "12\n34\r")).toEqual([
      { type: "discarded", length: 5, reason: "binary" },
    ]);
  });

  it("with an LF suffix drops the CR of a CRLF scanner", () => {
    expect(decode({ suffix: "LF" }, `${CODE}\r\n`)).toEqual([{ type: "scan", text: CODE }]);
  });

  it("with a CRLF suffix keeps a lone CR as data and accepts a bare LF", () => {
    expect(decode({ suffix: "CRLF" }, "12\r34\r\n")).toEqual([
      { type: "discarded", length: 5, reason: "binary" },
    ]);
    expect(decode({ suffix: "CRLF" }, `${CODE}\n`)).toEqual([{ type: "scan", text: CODE }]);
  });

  it("reports a suffix with nothing before it as an empty read", () => {
    expect(decode({ suffix: "CR" }, "\r\r\n")).toEqual([
      { type: "discarded", length: 0, reason: "empty" },
      { type: "discarded", length: 0, reason: "empty" },
    ]);
    expect(decode({ suffix: "CRLF" }, "\r\n")).toEqual([{ type: "discarded", length: 0, reason: "empty" }]);
  });
});

describe("discarding", () => {
  it("discards an over-long read by length and resyncs at the next suffix", () => {
    const d = new SerialScannerDecoder({ suffix: "CR", maxLength: 8 });
    const input = bytes(`1234567890123\r12345678\r`);
    expect(feed(d, input, [3, 9, 10])).toEqual([
      { type: "discarded", length: 13, reason: "overflow" },
      { type: "scan", text: "12345678" },
    ]);
  });

  it("counts a read of exactly maxLength data + CRLF as fitting under an LF suffix", () => {
    expect(decode({ suffix: "LF", maxLength: 8 }, "12345678\r\n")).toEqual([
      { type: "scan", text: "12345678" },
    ]);
    expect(decode({ suffix: "LF", maxLength: 8 }, "123456789\r\n")).toEqual([
      { type: "discarded", length: 9, reason: "overflow" },
    ]);
  });

  it("discards reads with non-printable bytes as binary", () => {
    expect(decode({ suffix: "CR" }, "12\x0034\r")).toEqual([
      { type: "discarded", length: 5, reason: "binary" },
    ]);
    expect(
      feed(new SerialScannerDecoder({ suffix: "CR" }), Uint8Array.of(0x31, 0xef, 0xbc, 0x91, 0x0d)),
    ).toEqual([{ type: "discarded", length: 4, reason: "binary" }]);
    expect(decode({ suffix: "CR" }, "\x7f\r1\r")).toEqual([
      { type: "discarded", length: 1, reason: "binary" },
      { type: "scan", text: "1" },
    ]);
  });

  it("never puts the bytes of a discarded read into the chunk", () => {
    const chunks = decode({ suffix: "CR", maxLength: 8 }, `${CODE}\r\x01${CODE}\r`);
    expect(JSON.stringify(chunks)).not.toContain("6789");
  });
});

describe("prefix and AIM identifier", () => {
  it("strips a configured prefix", () => {
    expect(decode({ suffix: "CR", prefix: "S:" }, `S:${CODE}\r`)).toEqual([{ type: "scan", text: CODE }]);
  });

  it("discards reads without the configured prefix", () => {
    expect(decode({ suffix: "CR", prefix: "S:" }, `${CODE}\rS${CODE}\r`)).toEqual([
      { type: "discarded", length: 18, reason: "prefixMismatch" },
      { type: "discarded", length: 19, reason: "prefixMismatch" },
    ]);
  });

  it("reports a read that is only the prefix as empty", () => {
    expect(decode({ suffix: "CR", prefix: "S:" }, "S:\r")).toEqual([
      { type: "discarded", length: 2, reason: "empty" },
    ]);
  });

  it("strips AIM identifiers when stripAim is set", () => {
    const opts = { suffix: "CR", stripAim: true } as const;
    expect(decode(opts, `]Q1${CODE}\r]E05901234123457\r]e0abc\r`)).toEqual([
      { type: "scan", text: CODE },
      { type: "scan", text: "5901234123457" },
      { type: "scan", text: "abc" },
    ]);
  });

  it("leaves reads without an AIM identifier alone when stripAim is set", () => {
    expect(decode({ suffix: "CR", stripAim: true }, `${CODE}\r]1abc\r`)).toEqual([
      { type: "scan", text: CODE },
      { type: "scan", text: "]1abc" },
    ]);
  });

  it("strips the prefix first, then the AIM identifier", () => {
    expect(decode({ suffix: "CR", prefix: "#", stripAim: true }, `#]Q1${CODE}\r`)).toEqual([
      { type: "scan", text: CODE },
    ]);
  });

  it("reports a read that is only an AIM identifier as empty", () => {
    expect(decode({ suffix: "CR", stripAim: true }, "]Q1\r")).toEqual([
      { type: "discarded", length: 3, reason: "empty" },
    ]);
  });
});

describe("reset", () => {
  it("returns nothing when no read is pending", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    expect(d.reset()).toEqual([]);
    d.push(bytes(`${CODE}\r`));
    expect(d.reset()).toEqual([]);
  });

  it("discards a pending partial read by length and starts clean", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    expect(d.push(bytes("134567"))).toEqual([]);
    expect(d.reset()).toEqual([{ type: "discarded", length: 6, reason: "incomplete" }]);
    expect(d.push(bytes("89\r"))).toEqual([{ type: "scan", text: "89" }]);
  });

  it("reports a pending over-long read as overflow", () => {
    const d = new SerialScannerDecoder({ suffix: "CR", maxLength: 8 });
    d.push(bytes("1234567890"));
    expect(d.reset()).toEqual([{ type: "discarded", length: 10, reason: "overflow" }]);
  });

  it("forgets a CR so the next LF is data again", () => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    d.push(bytes("1\r"));
    d.reset();
    expect(d.push(bytes("\n2\r"))).toEqual([{ type: "discarded", length: 2, reason: "binary" }]);
  });
});
