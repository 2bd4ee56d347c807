// The display-tap readers, dialect by dialect (scanbox-anchors.md §2.1.2): what each command does
// to the screen, lamps in every form, frames cut on idle and never on read boundaries, the
// capped buffer, discards reported by length only.
import { describe, expect, it } from "vitest";
import { Cd5220Reader } from "../../../protocols/display-tap/cd5220-reader.js";
import { createDisplayReader, DISPLAY_DIALECTS } from "../../../protocols/display-tap/dialects.js";
import { EscPosReader } from "../../../protocols/display-tap/escpos-reader.js";
import { MAX_USER_CHARS_BYTES } from "../../../protocols/display-tap/grammar-parts.js";
import { Led8Reader } from "../../../protocols/display-tap/led8-reader.js";
import type { ScreenEvent } from "../../../protocols/display-tap/screen-event.js";
import { bytesOf, feedCuts, feedDrip, gb, merged, prng, screens } from "./tap-support.js";

const decode = (reader: ReturnType<typeof createDisplayReader>, text: string) =>
  feedCuts(reader, bytesOf(text), []);

describe("options", () => {
  it("a bad option is a TypeError naming it", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => new Led8Reader({ lampForm: "morse" as never }), /lampForm/],
      [() => new Led8Reader({ lampForm: "ascii", idleMs: 5 }), /idleMs/],
      [() => new Led8Reader({ lampForm: "ascii", idleMs: 1.5 }), /idleMs/],
      [() => new Led8Reader({ lampForm: "ascii", maxLineBytes: 4 }), /maxLineBytes/],
      [() => new Led8Reader({ lampForm: "ascii", evidenceBytes: 99_999 }), /evidenceBytes/],
      [() => new Led8Reader({ lampForm: "ascii", decodeText: "gb18030" as never }), /decodeText/],
      [() => new Cd5220Reader({ rows: 3 as never }), /rows/],
      [() => new Cd5220Reader({ columns: 100 }), /columns/],
      [() => new EscPosReader({ rows: 5 }), /rows/],
      [() => new EscPosReader({ columns: 2 }), /columns/],
      [() => createDisplayReader("vfd9000" as never), /dialect must be one of/],
    ];
    for (const [make, name] of cases) {
      expect(make).toThrow(TypeError);
      expect(make).toThrow(name);
    }
  });

  it("every dialect has a reader with working defaults", () => {
    for (const dialect of DISPLAY_DIALECTS) {
      const reader = createDisplayReader(dialect);
      expect(reader.settings).toMatchObject({ idleMs: 100, maxLineBytes: 64, evidenceBytes: 256 });
    }
  });
});

describe("LED-8 lamps, every form of §2.1.2", () => {
  const table: [string, string, string][] = [
    ["led8-ascii", "1b 73 30", "off"],
    ["led8-ascii", "1b 73 31", "price"],
    ["led8-ascii", "1b 73 32", "total"],
    ["led8-ascii", "1b 73 33", "collect"],
    ["led8-ascii", "1b 73 34", "change"],
    ["led8-ascii", "1b 73 35", "off"],
    ["led8-binary", "1b 73 00", "off"],
    ["led8-binary", "1b 73 01", "price"],
    ["led8-binary", "1b 73 02", "total"],
    ["led8-binary", "1b 73 03", "collect"],
    ["led8-binary", "1b 73 04", "change"],
    ["led8-binary", "1f 50 01", "thanks"],
    ["led8-partner", "1b 73 01 01", "off"],
    ["led8-partner", "1b 73 02 01", "price"],
    ["led8-partner", "1b 73 03 01", "total"],
    ["led8-partner", "1b 73 04 01", "collect"],
    ["led8-partner", "1b 73 05 01", "change"],
    ["led8-bare", "30", "off"],
    ["led8-bare", "31", "price"],
    ["led8-bare", "32", "total"],
    ["led8-bare", "33", "collect"],
    ["led8-bare", "34", "change"],
  ];
  it.each(table)("%s: %s lights %s", (dialect, lamp, name) => {
    const events = decode(createDisplayReader(dialect as never), `${lamp} 1b 51 41 "12.50" 0d`);
    expect(events).toEqual([
      { type: "update", change: "lamp", screen: { lamp: name, lines: [""] }, evidence: bytesOf(lamp) },
      {
        type: "update",
        change: "lines",
        screen: { lamp: name, lines: ["12.50"] },
        evidence: bytesOf(`${lamp} 1b 51 41 "12.50" 0d`),
      },
    ]);
  });

  it("the same bytes mean different lamps in different forms: a form is never guessed", () => {
    // 1B 73 02: 合计 in the binary form, the start of 单价 in Partner's (§2.1.2).
    expect(screens(decode(createDisplayReader("led8-binary"), "1b 73 02 01"))).toEqual([["total", [""]]]);
    expect(screens(decode(createDisplayReader("led8-partner"), "1b 73 02 01"))).toEqual([["price", [""]]]);
    // A binary lamp under the ASCII form, an ASCII lamp under the binary form: dropped, not guessed.
    expect(merged(decode(createDisplayReader("led8-ascii"), "1b 73 02"))).toEqual([
      { type: "discarded", length: 3, reason: "unknownCommand" },
    ]);
    expect(merged(decode(createDisplayReader("led8-binary"), "1b 73 32"))).toEqual([
      { type: "discarded", length: 3, reason: "unknownCommand" },
    ]);
  });

  it("Partner's form without its 01 drops three bytes and reads on from the fourth", () => {
    const events = decode(createDisplayReader("led8-partner"), `1b 73 03 1b 51 41 "12.50" 0d`);
    expect(events[0]).toEqual({ type: "discarded", length: 3, reason: "unknownCommand" });
    expect(screens(events)).toEqual([["unknown", ["12.50"]]]);
  });

  it("a bare lamp byte is a lamp only in the bare form; a stray digit is never part of the amount", () => {
    expect(screens(decode(createDisplayReader("led8-bare"), `32 1b 51 41 "12.50" 0d`))).toEqual([
      ["total", [""]],
      ["total", ["12.50"]],
    ]);
    const ascii = decode(createDisplayReader("led8-ascii"), `32 1b 51 41 "12.50" 0d`);
    expect(ascii[0]).toEqual({ type: "discarded", length: 1, reason: "noise" });
    expect(screens(ascii)).toEqual([["unknown", ["12.50"]]]);
  });

  it("the lamp is unknown until the register sets one; the value-only form has none at all", () => {
    expect(screens(decode(createDisplayReader("led8-ascii"), `1b 51 41 "1.00" 0d`))).toEqual([
      ["unknown", ["1.00"]],
    ]);
    expect(screens(decode(createDisplayReader("led8-plain"), `1b 73 32 1b 51 41 "1.00" 0d`))).toEqual([
      [null, ["1.00"]],
    ]);
  });

  it("FF clears the number and keeps the lamp; ESC @ clears both", () => {
    expect(
      screens(decode(createDisplayReader("led8-ascii"), `1b 73 32 1b 51 41 "12.50" 0d 0c`)).at(-1),
    ).toEqual(["total", [""]]);
    const events = decode(createDisplayReader("led8-ascii"), `1b 73 32 1b 51 41 "12.50" 0d 1b 40`);
    expect(events.at(-1)).toMatchObject({ change: "clear", screen: { lamp: "off", lines: [""] } });
  });

  it("a line that is not ESC Q A is dropped with its text: its digits are never lamps", () => {
    const events = decode(createDisplayReader("led8-bare"), `1b 51 42 "1234" 0d 32 1b 51 41 "5.00" 0d`);
    expect(merged(events)[0]).toEqual({ type: "discarded", length: 8, reason: "unknownCommand" });
    expect(screens(events)).toEqual([
      ["total", [""]],
      ["total", ["5.00"]],
    ]);
  });
});

describe("CD5220 text displays", () => {
  it("ESC Q A / B write whole rows; D is the upper row too", () => {
    const events = decode(new Cd5220Reader(), `1b 51 41 "TOTAL" 0d 1b 51 42 "12.50" 0d 1b 51 44 "SCROLL" 0d`);
    expect(screens(events)).toEqual([
      [null, ["TOTAL", ""]],
      [null, ["TOTAL", "12.50"]],
      [null, ["SCROLL", "12.50"]],
    ]);
  });

  it("4 rows (Hisense LC415): ESC Q @, A, B, C", () => {
    const events = decode(
      new Cd5220Reader({ rows: 4 }),
      `1b 51 40 "a" 0d 1b 51 41 "b" 0d 1b 51 42 "c" 0d 1b 51 43 "d" 0d`,
    );
    expect(screens(events).at(-1)).toEqual([null, ["a", "b", "c", "d"]]);
    // In 2-row mode '@' is no row: dropped with its text.
    expect(merged(decode(new Cd5220Reader(), `1b 51 40 "a" 0d`))).toEqual([
      { type: "discarded", length: 5, reason: "unknownCommand" },
    ]);
  });

  it("text at the cursor (lcdproc): ESC l places it, one update per run", () => {
    const events = decode(new Cd5220Reader(), `0c 1b 6c 0f 02 "12.50" 1b 6c 01 01 "TOTAL"`);
    expect(screens(events)).toEqual([
      [null, ["", ""]],
      [null, ["", "              12.50"]],
      [null, ["TOTAL", "              12.50"]],
    ]);
  });

  it("CAN clears the cursor's row; HOM, CR, LF, BS and HT move the cursor", () => {
    const events = decode(new Cd5220Reader(), `"ABC" 0a 0d "DEF" 18 0b 09 "x" 08 08 "y"`);
    expect(screens(events)).toEqual([
      [null, ["ABC", ""]],
      [null, ["ABC", "DEF"]],
      [null, ["ABC", ""]],
      [null, ["AxC", ""]],
      [null, ["yxC", ""]],
    ]);
  });

  it("GB2312 text decodes with the injected decoder; the default shows U+FFFD, never a guess", () => {
    const line = `1b 51 41 ba cf bc c6 "  12.50" 0d`;
    expect(screens(decode(new Cd5220Reader({ decodeText: gb }), line))).toEqual([
      [null, ["合计  12.50", ""]],
    ]);
    expect(screens(decode(new Cd5220Reader(), line))).toEqual([
      [null, ["\ufffd\ufffd\ufffd\ufffd  12.50", ""]],
    ]);
  });

  it("inert commands change nothing visible and are not reported", () => {
    const events = decode(
      new Cd5220Reader(),
      `1b 40 1b 5f 00 1b 2a 04 1b 25 00 1b 74 00 1b 26 01 41 41 05 01 02 03 04 05 "A"`,
    );
    expect(merged(events)).toEqual([
      {
        type: "update",
        change: "clear",
        screen: { lamp: null, lines: ["", ""] },
        evidence: expect.any(Uint8Array),
      },
      {
        type: "update",
        change: "lines",
        screen: { lamp: null, lines: ["A", ""] },
        evidence: expect.any(Uint8Array),
      },
    ]);
  });
});

describe("ESC/POS displays", () => {
  it("US $ x y places text (1-based); FF and CAN clear", () => {
    const events = decode(
      new EscPosReader({ decodeText: gb }),
      `0c 1f 24 01 02 "12.50" 1f 24 01 01 ba cf bc c6 18`,
    );
    expect(screens(events)).toEqual([
      [null, ["", ""]],
      [null, ["", "12.50"]],
      [null, ["合计", "12.50"]],
      [null, ["", "12.50"]],
    ]);
  });

  it("a position outside the display is refused, not clamped", () => {
    const events = decode(new EscPosReader(), `1f 24 15 01 "X"`);
    expect(events[0]).toEqual({ type: "discarded", length: 4, reason: "unknownCommand" });
    expect(screens(events)).toEqual([[null, ["X", ""]]]);
  });

  it("overwrite mode wraps to the top; vertical scroll mode scrolls", () => {
    const long = `"${"A".repeat(20)}${"B".repeat(20)}C"`;
    expect(screens(decode(new EscPosReader(), `1f 01 ${long}`)).at(-1)).toEqual([
      null,
      [`C${"A".repeat(19)}`, "B".repeat(20)],
    ]);
    expect(screens(decode(new EscPosReader(), `1f 02 ${long}`)).at(-1)).toEqual([
      null,
      ["B".repeat(20), "C"],
    ]);
  });

  it("the clock (US U) replaces the text: read as a clear", () => {
    const events = decode(new EscPosReader(), `"TOTAL 1.00" 1f 55`);
    expect(events.at(-1)).toMatchObject({ change: "clear", screen: { lines: ["", ""] } });
  });

  it("a run of text is one update when the next command comes, whatever the reads", () => {
    const bytes = bytesOf(`0b "TOTAL" 1f 24 01 02 "12.50"`);
    const expected = merged(feedCuts(new EscPosReader(), bytes, []));
    expect(screens(expected)).toEqual([
      [null, ["TOTAL", ""]],
      [null, ["TOTAL", "12.50"]],
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(merged(feedCuts(new EscPosReader(), bytes, [cut]))).toEqual(expected);
    }
  });
});

describe("frames are cut on idle, not on read boundaries", () => {
  it("a drip of one byte every 15 ms is one frame; a 100 ms gap ends it", () => {
    const reader = new EscPosReader();
    const events: ScreenEvent[] = [];
    let now = 0;
    for (const b of bytesOf(`1f 24 01 02 "12.50"`)) {
      events.push(...reader.push(Uint8Array.of(b), now));
      now += 15;
    }
    // Nothing yet: the run is open until the line has been quiet for idleMs.
    expect(screens(events)).toEqual([]);
    const last = now - 15;
    expect(reader.idleDueMono).toBe(last + 100);
    expect(reader.flush(last + 99)).toEqual([]);
    expect(screens(reader.flush(last + 100))).toEqual([[null, ["", "12.50"]]]);
    expect(reader.idleDueMono).toBeNull();
  });

  it("the gap is measured on the next read too: a late byte starts a new run", () => {
    const reader = new EscPosReader();
    const first = reader.push(bytesOf(`1f 24 01 02 "12"`), 0);
    const second = reader.push(bytesOf(`".50"`), 500);
    expect(screens(first)).toEqual([]);
    expect(screens(second)).toEqual([[null, ["", "12"]]]);
    expect(screens(reader.end())).toEqual([[null, ["", "12.50"]]]);
  });

  it("a command still open when the line goes quiet is discarded by length, and reading goes on", () => {
    const reader = createDisplayReader("led8-ascii");
    expect(reader.push(bytesOf(`1b 73 32 1b 51 41 "12"`), 0)).toHaveLength(1); // the lamp
    expect(reader.bufferedLength).toBe(5);
    const later = reader.push(bytesOf(`1b 51 41 "3.00" 0d`), 200);
    expect(later[0]).toEqual({ type: "discarded", length: 5, reason: "incomplete" });
    expect(screens(later)).toEqual([["total", ["3.00"]]]);
  });

  it("byte by byte at 15 ms decodes exactly as one read, for every dialect's own vector", () => {
    const vectors: [string, string][] = [
      ["led8-ascii", `1b 73 32 1b 51 41 "12.50" 0d`],
      ["led8-binary", `1b 73 02 1b 51 41 "12.50" 0d 0c 1f 50 01`],
      ["led8-partner", `1b 73 03 01 1b 51 41 "12.50" 0d`],
      ["led8-bare", `32 1b 51 41 "12.50" 0d`],
      ["led8-plain", `1b 51 41 "12.50" 0d`],
      ["cd5220", `0c 1b 51 41 "TOTAL" 0d 1b 51 42 "12.50" 0d`],
      ["cd5220-4row", `1b 51 40 "TOTAL" 0d 1b 51 41 "12.50" 0d`],
      ["escpos", `0b "TOTAL" 1f 24 01 02 "12.50"`],
    ];
    for (const [dialect, text] of vectors) {
      const bytes = bytesOf(text);
      const whole = merged(feedCuts(createDisplayReader(dialect as never), bytes, []));
      expect(merged(feedDrip(createDisplayReader(dialect as never), bytes, 15))).toEqual(whole);
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(merged(feedCuts(createDisplayReader(dialect as never), bytes, [cut]))).toEqual(whole);
      }
    }
  });
});

describe("the buffer is capped and discards carry no bytes", () => {
  it("a line longer than maxLineBytes is dropped up to its CR, its tail never read as text", () => {
    const reader = new Cd5220Reader({ maxLineBytes: 8 });
    const events = feedCuts(reader, bytesOf(`1b 51 41 "TOTAL 12345.00" 0d 1b 51 42 "OK" 0d`), [5, 9]);
    expect(merged(events)).toEqual([
      { type: "discarded", length: 18, reason: "overflow" },
      {
        type: "update",
        change: "lines",
        screen: { lamp: null, lines: ["", "OK"] },
        evidence: expect.any(Uint8Array),
      },
    ]);
  });

  it("random bytes never make the reader hold more than its cap, and every byte is accounted for", () => {
    const random = prng(7);
    for (const dialect of DISPLAY_DIALECTS) {
      const reader = createDisplayReader(dialect, { maxLineBytes: 16 });
      let seen = 0;
      let discarded = 0;
      for (let n = 0; n < 300; n++) {
        // Biased towards command bytes so commands start often and break often.
        const chunk = Uint8Array.from({ length: 1 + Math.floor(random() * 12) }, () =>
          random() < 0.3
            ? [0x1b, 0x1f, 0x51, 0x41, 0x73, 0x0d, 0x0c][Math.floor(random() * 7)]!
            : Math.floor(random() * 256),
        );
        seen += chunk.length;
        for (const e of reader.push(chunk, n * 3)) if (e.type === "discarded") discarded += e.length;
        expect(reader.bufferedLength).toBeLessThanOrEqual(MAX_USER_CHARS_BYTES);
      }
      for (const e of reader.end()) if (e.type === "discarded") discarded += e.length;
      expect(discarded).toBe(reader.discardedTotal);
      expect(reader.decodedTotal + reader.discardedTotal).toBe(seen);
    }
  });

  it("a discarded event holds a count and a reason, never the bytes", () => {
    const events = decode(createDisplayReader("led8-ascii"), `"1345678901234567" 0d`);
    for (const e of events) {
      if (e.type === "discarded") expect(Object.keys(e).sort()).toEqual(["length", "reason", "type"]);
    }
    expect(merged(events)).toEqual([{ type: "discarded", length: 17, reason: "noise" }]);
  });

  it("evidence is the wire up to the update's command, at most evidenceBytes of it", () => {
    const reader = createDisplayReader("led8-ascii", { evidenceBytes: 16 });
    const wire = bytesOf(`1b 73 31 1b 51 41 "3.50" 0d 1b 73 32 1b 51 41 "12.50" 0d 1b 73 33`);
    const events = feedCuts(reader, wire, []);
    const total = events.at(-2) as Extract<ScreenEvent, { type: "update" }>;
    expect(total.screen).toEqual({ lamp: "total", lines: ["12.50"] });
    expect(total.evidence).toEqual(wire.slice(wire.length - 3 - 16, wire.length - 3));
  });
});
