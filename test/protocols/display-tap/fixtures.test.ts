// Every capture in test/fixtures/display-tap/ (README there says where each comes from) decodes to
// its expected result — fed whole, at every split point, and byte by byte with 15 ms drip timing —
// and no capture that shows 收款/找零 at its end leaves a total to charge.
import { describe, expect, it } from "vitest";
import { encodeCd5220 } from "../../../protocols/display/cd5220.js";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import { encodeEscPosView } from "../../../protocols/display/escpos-display.js";
import { encodeLed8View } from "../../../protocols/display/led8.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";
import { createDisplayReader } from "../../../protocols/display-tap/dialects.js";
import { decodeStream } from "../../../protocols/display-tap/decode-stream.js";
import { bytesOf, feedCuts, feedDrip, fixture, fixtureNames, gb, merged } from "./tap-support.js";

/** What a scan at the end of each capture charges, and the totals accepted on the way. */
const EXPECTED: Record<string, { standing: number | null; accepted: number[] }> = {
  "sedsy-ascii-lamp.hex": { standing: 1250, accepted: [1250] },
  "wintec-binary-lamp.hex": { standing: 1250, accepted: [1250] },
  "partner-4byte-lamp.hex": { standing: 1250, accepted: [1250] },
  "ejeton-bare-lamp.hex": { standing: 1250, accepted: [1250] },
  "cash-tender.hex": { standing: null, accepted: [1250] },
  "unit-price-only.hex": { standing: null, accepted: [] },
  "clear-after-total.hex": { standing: null, accepted: [] },
  "hisense-two-line.hex": { standing: 1250, accepted: [1250] },
  "wintec-cd320-drip.hex": { standing: null, accepted: [] },
  "wintec-cd320-total-drip.hex": { standing: 1250, accepted: [1250] },
  "sedsy-checkout.hex": { standing: null, accepted: [1250] },
  "citaq-welcome.hex": { standing: null, accepted: [1250] },
  "wintec-cd110-thanks.hex": { standing: null, accepted: [1250] },
  "partner-checkout.hex": { standing: null, accepted: [1250] },
  "ejeton-checkout.hex": { standing: null, accepted: [1250] },
  "fastfd-number-then-lamp.hex": { standing: 1250, accepted: [1250] },
  "fastfd-cash-number-then-lamp.hex": { standing: null, accepted: [1250] },
  "et112-value-only.hex": { standing: null, accepted: [] },
  "hisense-lc415-4row.hex": { standing: 1250, accepted: [1250] },
  "cd5220-lcdproc.hex": { standing: 1250, accepted: [1250] },
  "escpos-vfd220.hex": { standing: null, accepted: [] },
  "escpos-gb18030.hex": { standing: 1250, accepted: [1250] },
  "text-cash-sale.hex": { standing: null, accepted: [1250] },
  "text-chinese-tender.hex": { standing: null, accepted: [1250] },
  "changed-total.hex": { standing: 1500, accepted: [1250, 1500] },
};

const reader = (dialect: Parameters<typeof createDisplayReader>[0]) =>
  createDisplayReader(dialect, { decodeText: gb });

describe("display-tap fixtures", () => {
  it("every fixture file has an expected result, and every expectation a file", () => {
    expect(fixtureNames()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of fixtureNames()) {
    const f = fixture(name);
    const expected = EXPECTED[name] as { standing: number | null; accepted: number[] };

    it(`${name} (${f.dialect}): a scan at the end charges ${expected.standing ?? "nothing"}`, () => {
      const decoded = decodeStream(f.chunks, reader(f.dialect));
      expect(decoded.standingTotalFen).toBe(expected.standing);
      expect(decoded.accepted.map((a) => a.amountFen)).toEqual(expected.accepted);
      expect(decoded.accepted.map((a) => a.seq)).toEqual(expected.accepted.map((_, i) => i + 1));
      expect(decoded.discardedBytes).toBe(0);
    });

    it(`${name}: the same updates whatever the reads — every split point, and a 15 ms drip`, () => {
      const whole = merged(feedCuts(reader(f.dialect), f.bytes, []));
      for (let cut = 0; cut <= f.bytes.length; cut++) {
        expect(merged(feedCuts(reader(f.dialect), f.bytes, [cut]))).toEqual(whole);
      }
      expect(merged(feedDrip(reader(f.dialect), f.bytes, 15))).toEqual(whole);
    });
  }

  it("a timed capture fed byte by byte at its own times gives the same result as its chunks", () => {
    for (const name of fixtureNames()) {
      const f = fixture(name);
      const bytewise = f.chunks.flatMap((c) =>
        [...c.bytes].map((b) => ({ atMs: c.atMs, bytes: Uint8Array.of(b) })),
      );
      const a = decodeStream(f.chunks, reader(f.dialect));
      const b = decodeStream(bytewise, reader(f.dialect));
      expect(b.updates, name).toEqual(a.updates);
      expect(b.standingTotalFen, name).toBe(a.standingTotalFen);
    }
  });

  it("the drip is one update, not five (scanbox-anchors.md §6, Wintec CD320)", () => {
    const f = fixture("wintec-cd320-drip.hex");
    const decoded = decodeStream(f.chunks, reader(f.dialect));
    expect(decoded.updates.map((u) => u.lines)).toEqual([["", "12.50"]]);
  });

  it("no capture that ends on 收款/找零 leaves anything to charge, and none is charged during one", () => {
    for (const name of fixtureNames()) {
      const f = fixture(name);
      const decoded = decodeStream(f.chunks, reader(f.dialect));
      for (const u of decoded.updates) if (u.kind === "tender") expect(u.chargeable, name).toBe(false);
      if (decoded.updates.at(-1)?.kind === "tender") expect(decoded.standingTotalFen, name).toBeNull();
    }
  });

  it("the 2 ms 合计 20.00 of a number-then-lamp tender is shown but never accepted", () => {
    const f = fixture("fastfd-cash-number-then-lamp.hex");
    const decoded = decodeStream(f.chunks, reader(f.dialect));
    expect(decoded.updates.some((u) => u.chargeable && u.amountFen === 2000)).toBe(true);
    expect(decoded.accepted.map((a) => a.amountFen)).toEqual([1250]);
  });
});

describe("posbridge's own display output, read back by the tap", () => {
  // In man-in-the-middle mode the bridge drives the display itself; whatever it shows must never
  // read as a new total to charge, except the total it is collecting.
  const views: DisplayView[] = [
    { type: "idle" },
    { type: "waitForCashier" },
    { type: "amountDue", amountFen: 1234 },
    { type: "processing", amountFen: 1234 },
    { type: "confirmOnPhone", amountFen: 1234 },
    { type: "rescan", amountFen: 1234, reason: "declined" },
    { type: "paid", amountFen: 1234 },
    { type: "cancelled", amountFen: 1234 },
    { type: "unknown", amountFen: 1234 },
  ];
  const DUE = new Set(["amountDue", "processing", "confirmOnPhone", "rescan"]);
  const encoders: [string, (v: DisplayView) => Uint8Array, Parameters<typeof createDisplayReader>[0]][] = [
    ["cd5220", encodeCd5220, "cd5220"],
    ["escpos ascii", (v) => encodeEscPosView(v, { charset: "ascii" }), "escpos"],
    [
      "escpos gb18030",
      (v) => encodeEscPosView(v, { charset: "gb18030", encodeText: textEncoder("gb18030") }),
      "escpos",
    ],
    ["led8", encodeLed8View, "led8-ascii"],
  ];
  for (const [name, encode, dialect] of encoders) {
    it(`${name}: only a view of an amount still due reads as a total, at that amount`, () => {
      for (const view of views) {
        const decoded = decodeStream([{ atMs: 0, bytes: encode(view) }], reader(dialect));
        expect(decoded.standingTotalFen, `${name} ${view.type}`).toBe(DUE.has(view.type) ? 1234 : null);
      }
    });
  }
});

it("bytesOf reads the capture text form", () => {
  expect(bytesOf(`1b "A" 0d`)).toEqual(Uint8Array.of(0x1b, 0x41, 0x0d));
});
