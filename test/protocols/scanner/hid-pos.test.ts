import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../../protocols/core/bytes.js";
import {
  HID_POS_MAX_DATA,
  HID_POS_REPORT_SIZE,
  HID_POS_USAGE,
  HID_POS_USAGE_PAGE,
  type HidPosChunk,
  HidPosDecoder,
  isHidPosUsagePage,
  parseHidPosReport,
} from "../../../protocols/scanner/hid-pos.js";

// Fake, payment-code-shaped digits: 18 digits like a WeChat/Alipay code, but not a real one.
const CODE = "134567890123456789";
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/**
 * One input report in the Honeywell HID POS layout (device-protocols.md §3.3): report id 02,
 * data length, 3-byte AIM id, 56 data bytes zero padded, code id at 61, byte 63 bit 0 = more.
 */
function report(data: Uint8Array | string, { aim = "]Q1", more = false, codeId = 0, id = 0x02 } = {}) {
  const bytes = typeof data === "string" ? ascii(data) : data;
  const r = new Uint8Array(HID_POS_REPORT_SIZE);
  r[0] = id;
  r[1] = bytes.length;
  r.set(ascii(aim).subarray(0, 3), 2);
  r.set(bytes, 5);
  r[61] = codeId;
  r[63] = more ? 1 : 0;
  return r;
}

/** The reports a scanner sends for `text`, with `first` bytes in the first report, then 56 each. */
function reports(text: string, first = HID_POS_MAX_DATA, aim = "]Q1"): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let size = Math.min(first, text.length);
  do {
    const part = text.slice(at, at + size);
    at += size;
    out.push(report(part, { aim, more: at < text.length }));
    size = HID_POS_MAX_DATA;
  } while (at < text.length);
  return out;
}

function feed(d: HidPosDecoder, rs: readonly Uint8Array[], start = 0, step = 1): HidPosChunk[] {
  return rs.flatMap((r, i) => d.push(r, start + i * step));
}

/** No discarded chunk may carry 6 consecutive characters of the read it dropped. */
function expectNoContent(chunks: readonly HidPosChunk[], secret: string) {
  for (const chunk of chunks) {
    if (chunk.type !== "discarded") continue;
    const json = JSON.stringify(chunk);
    expect(json).not.toMatch(/\d{6,}/);
    for (let i = 0; i + 6 <= secret.length; i++) expect(json).not.toContain(secret.slice(i, i + 6));
  }
}

describe("usage page", () => {
  it("recognises the bar code scanner page 0x8C only", () => {
    expect(HID_POS_USAGE_PAGE).toBe(0x8c);
    expect(isHidPosUsagePage(0x8c)).toBe(true);
    expect(isHidPosUsagePage(0x01)).toBe(false);
    expect(isHidPosUsagePage(0xff8c)).toBe(false);
    // device-protocols.md §3.3 usage ids
    expect(HID_POS_USAGE.barCodeScanner).toBe(0x02);
    expect(HID_POS_USAGE.decodedData).toBe(0xfe);
    expect(HID_POS_USAGE.decodeDataContinued).toBe(0xff);
  });
});

describe("HidPosDecoder options", () => {
  it("throws TypeError on bad options and a bad now", () => {
    expect(() => new HidPosDecoder({ maxLength: 0 })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ maxLength: 4097 })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ maxLength: 1.5 })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ staleMs: -1 })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ staleMs: Number.NaN })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ staleMs: "500" as never })).toThrow(TypeError);
    expect(() => new HidPosDecoder({ reportId: 256 })).toThrow(TypeError);
    const d = new HidPosDecoder();
    expect(() => d.push(report(CODE), Number.NaN)).toThrow(TypeError);
    expect(() => d.push(report(CODE), Number.POSITIVE_INFINITY)).toThrow(/now must be/);
  });

  it("an error for a bad now does not carry the report's digits", () => {
    try {
      new HidPosDecoder().push(report(CODE), Number.NaN);
    } catch (error) {
      expect(String(error)).not.toMatch(/\d{6,}/);
    }
  });

  it("accepts the documented defaults: maxLength 128, staleMs 500", () => {
    const d = new HidPosDecoder();
    expect(feed(d, reports("7".repeat(128)))).toEqual([{ type: "scan", text: "7".repeat(128), aim: "]Q1" }]);
    expect(feed(d, reports("7".repeat(129)))).toEqual([
      { type: "discarded", length: 129, reason: "overflow" },
    ]);
    const [a, b] = reports("8".repeat(100));
    d.push(a!, 1000);
    expect(d.push(b!, 1500)).toEqual([{ type: "scan", text: "8".repeat(100), aim: "]Q1" }]);
    d.push(a!, 2000);
    expect(d.push(b!, 2501)).toEqual([{ type: "discarded", length: 100, reason: "stale" }]);
  });
});

describe("research vector 23 (Honeywell menu reply, device-protocols.md Test vectors #23)", () => {
  // 02 08 5D 5A 36 52 45 56 49 4E 46 06 2E + 48 × 00 + 36 00 00 — HenkVanAsselt/python_hon_usbhid
  // README (captured traffic): AIM ]Z6, data "REVINF" ACK ".", code id '6', last packet.
  const vector = fromHex(`02 08 5D 5A 36 52 45 56 49 4E 46 06 2E ${"00 ".repeat(48)} 36 00 00`);

  it("is 64 bytes and parses into its fields", () => {
    expect(vector.length).toBe(64);
    const parsed = parseHidPosReport(vector);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.aim).toBe("]Z6");
    expect(parsed.codeId).toBe(0x36);
    expect(parsed.more).toBe(false);
    expect([...parsed.data]).toEqual([0x52, 0x45, 0x56, 0x49, 0x4e, 0x46, 0x06, 0x2e]);
  });

  it("is not a scan: the ACK status byte makes it binary, dropped by length", () => {
    expect(new HidPosDecoder().push(vector, 0)).toEqual([{ type: "discarded", length: 8, reason: "binary" }]);
  });

  it("an earlier packet of the same reply (length 38, byte 63 = 01) is glued in front", () => {
    const earlier = report("A".repeat(0x38), { aim: "]Z6", more: true });
    expect(earlier[1]).toBe(0x38);
    expect(earlier[63]).toBe(0x01);
    expect(feed(new HidPosDecoder(), [earlier, vector])).toEqual([
      { type: "discarded", length: 0x38 + 8, reason: "binary" },
    ]);
  });
});

describe("reads", () => {
  it("decodes a one-report read with its AIM id", () => {
    expect(new HidPosDecoder().push(report(CODE), 0)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
    expect(new HidPosDecoder().push(report("5901234123457", { aim: "]E0" }), 0)).toEqual([
      { type: "scan", text: "5901234123457", aim: "]E0" },
    ]);
  });

  it("reports aim as empty when the AIM bytes are not printable", () => {
    const r = report(CODE);
    r.fill(0, 2, 5);
    expect(new HidPosDecoder().push(r, 0)).toEqual([{ type: "scan", text: CODE, aim: "" }]);
  });

  it("ignores the zero padding and the code id byte", () => {
    const r = report(CODE, { codeId: 0x64 });
    r.fill(0x39, 5 + CODE.length, 61); // junk after the valid bytes must not leak into the read
    expect(new HidPosDecoder().push(r, 0)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
  });

  it("accepts a full 56-byte report", () => {
    const text = `${CODE}${"0".repeat(HID_POS_MAX_DATA - CODE.length)}`;
    expect(new HidPosDecoder().push(report(text), 0)).toEqual([{ type: "scan", text, aim: "]Q1" }]);
  });

  it("glues a multi-report read, whatever byte count each report carries", () => {
    const text = `https://pay.example.invalid/qr?code=${CODE}&amount=1250&lane=01&x=${"y".repeat(40)}`;
    expect(text.length).toBeGreaterThan(HID_POS_MAX_DATA * 2);
    for (let first = 0; first <= HID_POS_MAX_DATA; first++) {
      const rs = reports(text, first);
      expect(feed(new HidPosDecoder(), rs)).toEqual([{ type: "scan", text, aim: "]Q1" }]);
    }
  });

  it("glues a read split into one report per byte", () => {
    const parts = [...CODE].map((c, i) => report(c, { more: i < CODE.length - 1 }));
    expect(feed(new HidPosDecoder(), parts)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
  });

  it("uses the AIM id of the first report", () => {
    const rs = [report("1234", { aim: "]Q1", more: true }), report("5678", { aim: "]E0" })];
    expect(feed(new HidPosDecoder(), rs)).toEqual([{ type: "scan", text: "12345678", aim: "]Q1" }]);
  });

  it("decodes back-to-back reads independently", () => {
    const rs = [...reports("A".repeat(70)), report(CODE), ...reports("B".repeat(60))];
    expect(feed(new HidPosDecoder(), rs)).toEqual([
      { type: "scan", text: "A".repeat(70), aim: "]Q1" },
      { type: "scan", text: CODE, aim: "]Q1" },
      { type: "scan", text: "B".repeat(60), aim: "]Q1" },
    ]);
  });

  it("returns nothing until the last report of a read", () => {
    const d = new HidPosDecoder();
    const [a, b, c] = reports("C".repeat(120));
    expect(d.push(a!, 0)).toEqual([]);
    expect(d.push(b!, 1)).toEqual([]);
    expect(d.push(c!, 2)).toEqual([{ type: "scan", text: "C".repeat(120), aim: "]Q1" }]);
  });
});

describe("discarding", () => {
  it("drops a read whose continuation comes more than staleMs after the previous part", () => {
    const d = new HidPosDecoder({ staleMs: 100 });
    const [a, b, c] = reports(`${CODE}${"0".repeat(100)}`);
    expect(d.push(a!, 0)).toEqual([]);
    expect(d.push(b!, 101)).toEqual([]); // stale, but the read has not ended yet
    expect(d.push(c!, 102)).toEqual([{ type: "discarded", length: 118, reason: "stale" }]);
    // The next read starts clean.
    expect(d.push(report(CODE), 103)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
  });

  it("drops a stale read when its continuation is the last part", () => {
    const d = new HidPosDecoder({ staleMs: 100 });
    const chunks = feed(d, reports(`${CODE}${"9".repeat(50)}`), 0, 101);
    expect(chunks).toEqual([{ type: "discarded", length: 68, reason: "stale" }]);
    expectNoContent(chunks, CODE);
  });

  it("counts staleness from the previous part, not from the first", () => {
    const d = new HidPosDecoder({ staleMs: 100, maxLength: 200 });
    const text = "D".repeat(150);
    expect(feed(d, reports(text), 0, 100)).toEqual([{ type: "scan", text, aim: "]Q1" }]);
  });

  it("does not hold a late single-report read against anything", () => {
    const d = new HidPosDecoder({ staleMs: 100 });
    expect(d.push(report(CODE), 0)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
    expect(d.push(report(CODE), 10_000)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
  });

  it("drops an over-long read by length, keeps only maxLength in memory, and resyncs", () => {
    const d = new HidPosDecoder({ maxLength: 20 });
    const chunks = feed(d, [...reports(`${CODE}${CODE}${CODE}${CODE}`), report("12345678")]);
    expect(chunks).toEqual([
      { type: "discarded", length: 72, reason: "overflow" },
      { type: "scan", text: "12345678", aim: "]Q1" },
    ]);
    expectNoContent(chunks, CODE);
  });

  it("accepts a read of exactly maxLength", () => {
    expect(new HidPosDecoder({ maxLength: 18 }).push(report(CODE), 0)).toEqual([
      { type: "scan", text: CODE, aim: "]Q1" },
    ]);
    expect(new HidPosDecoder({ maxLength: 17 }).push(report(CODE), 0)).toEqual([
      { type: "discarded", length: 18, reason: "overflow" },
    ]);
  });

  it("drops reads with bytes outside printable ASCII", () => {
    const data = ascii(CODE);
    data[5] = 0x1d; // GS inside a GS1 read
    const chunks = new HidPosDecoder().push(report(data), 0);
    expect(chunks).toEqual([{ type: "discarded", length: 18, reason: "binary" }]);
    expectNoContent(chunks, CODE);
    expect(new HidPosDecoder().push(report(Uint8Array.of(0x31, 0xe4, 0xb8, 0xad)), 0)).toEqual([
      { type: "discarded", length: 4, reason: "binary" },
    ]);
  });

  it("reports a last report with no data and nothing before it as empty", () => {
    expect(new HidPosDecoder().push(report(""), 0)).toEqual([
      { type: "discarded", length: 0, reason: "empty" },
    ]);
  });

  it("drops reports with another report id and keeps the pending read", () => {
    const d = new HidPosDecoder();
    const [a, b] = reports(`${CODE}${"1".repeat(50)}`);
    expect(d.push(a!, 0)).toEqual([]);
    expect(d.push(report(CODE, { id: 0x04 }), 1)).toEqual([
      { type: "discarded", length: 64, reason: "wrongReportId" },
    ]);
    expect(d.push(b!, 2)).toEqual([{ type: "scan", text: `${CODE}${"1".repeat(50)}`, aim: "]Q1" }]);
    // a report without its id byte (63 bytes, starts with the length byte) is another id too
    expect(d.push(report(CODE).subarray(1), 3)).toEqual([
      { type: "discarded", length: 63, reason: "wrongReportId" },
    ]);
  });

  it("uses a configured report id", () => {
    const d = new HidPosDecoder({ reportId: 0x03 });
    expect(d.push(report(CODE, { id: 0x03 }), 0)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
    expect(d.push(report(CODE), 0)).toEqual([{ type: "discarded", length: 64, reason: "wrongReportId" }]);
  });

  it("drops malformed reports and the read they interrupt", () => {
    const d = new HidPosDecoder();
    const [a] = reports(`${CODE}${"2".repeat(50)}`);
    d.push(a!, 0);
    const short = report(CODE).subarray(0, 40);
    const chunks = d.push(short, 1);
    expect(chunks).toEqual([
      { type: "discarded", length: 56, reason: "incomplete" },
      { type: "discarded", length: 40, reason: "badLength" },
    ]);
    expectNoContent(chunks, CODE);
    const tooLong = report(CODE);
    tooLong[1] = HID_POS_MAX_DATA + 1;
    expect(d.push(tooLong, 2)).toEqual([{ type: "discarded", length: 64, reason: "badLength" }]);
    expect(d.push(new Uint8Array(65).fill(2), 3)).toEqual([
      { type: "discarded", length: 65, reason: "badLength" },
    ]);
    expect(d.push(new Uint8Array(0), 4)).toEqual([{ type: "discarded", length: 0, reason: "badLength" }]);
    expect(d.push(report(CODE), 5)).toEqual([{ type: "scan", text: CODE, aim: "]Q1" }]);
  });

  it("never puts the bytes of a dropped read into a chunk", () => {
    const d = new HidPosDecoder({ maxLength: 30, staleMs: 50 });
    const chunks = [
      ...feed(d, reports(`${CODE}${CODE}${CODE}${CODE}`)),
      ...feed(d, reports(`${CODE}${CODE}${CODE}${CODE}`), 0, 60),
      ...d.push(report(`${CODE}\x01`), 1000),
      ...d.push(reports(`${CODE}${"3".repeat(50)}`)[0]!, 1001),
      ...d.reset(),
    ];
    expect(chunks.map((c) => c.type === "discarded" && c.reason)).toEqual([
      "overflow",
      "stale",
      "binary",
      "incomplete",
    ]);
    expectNoContent(chunks, CODE);
  });
});

describe("reset", () => {
  it("returns nothing when no read is open", () => {
    const d = new HidPosDecoder();
    expect(d.reset()).toEqual([]);
    d.push(report(CODE), 0);
    expect(d.reset()).toEqual([]);
  });

  it("drops an open read by length and starts clean", () => {
    const d = new HidPosDecoder();
    const [a, b] = reports(`${CODE}${"4".repeat(50)}`);
    d.push(a!, 0);
    expect(d.reset()).toEqual([{ type: "discarded", length: 56, reason: "incomplete" }]);
    // the tail that arrives afterwards is a read of its own (the runner resets after staleMs)
    expect(d.push(b!, 1)).toEqual([{ type: "scan", text: "4".repeat(12), aim: "]Q1" }]);
  });

  it("reports an open read already known to be stale as stale", () => {
    const d = new HidPosDecoder({ staleMs: 10 });
    const [a, b] = reports("5".repeat(150));
    d.push(a!, 0);
    d.push(b!, 20);
    expect(d.reset()).toEqual([{ type: "discarded", length: 112, reason: "stale" }]);
  });
});

describe("recorded-report fixture", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("../../fixtures/hid/hid-pos-honeywell.json", import.meta.url), "utf8"),
  ) as { source: string; device: string; reports: string[]; expect: string[] };

  it("is built from the documented layout", () => {
    expect(fixture.source).toMatch(/§3\.3/);
    for (const hex of fixture.reports) expect(fromHex(hex).length).toBe(64);
  });

  it("replays into the expected reads", () => {
    const d = new HidPosDecoder();
    const chunks = fixture.reports.flatMap((hex, i) => d.push(fromHex(hex), i * 8));
    expect(chunks.map((c) => (c.type === "scan" ? c.text : c))).toEqual(fixture.expect);
  });
});
