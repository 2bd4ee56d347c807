import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex } from "../../../protocols/core/bytes.js";
import {
  decodeEvdevKey,
  decodeHidKey,
  EV_KEY,
  EV_SYN,
  EVDEV_KEY,
  EVDEV_KEYMAP,
  EvdevKeyDecoder,
  type InputEvent,
  KEY_PRESS,
  KEY_RELEASE,
  KEY_REPEAT,
  KeyboardWedgeDecoder,
  parseInputEvents,
  SYN_DROPPED,
  type WedgeChunk,
} from "../../../protocols/scanner/keyboard-wedge.js";

// Fake, payment-code-shaped digits: 18 digits like a WeChat/Alipay code, but not a real one.
const CODE = "134567890123456789";

// USB HID Usage Tables, Keyboard page 0x07 (device-protocols.md §3.2 table).
const TOP_ROW: Record<string, number> = { 0: 0x27 };
const KEYPAD: Record<string, number> = { 0: 0x62 };
for (let d = 1; d <= 9; d++) {
  TOP_ROW[d] = 0x1e + d - 1;
  KEYPAD[d] = 0x59 + d - 1;
}
const ENTER = 0x28;
const KP_ENTER = 0x58;
const TAB = 0x2b;
const LSHIFT = 0x02;
const RSHIFT = 0x20;
const LCTRL = 0x01;
const RELEASE = new Uint8Array(8);

const key = (usage: number, modifiers = 0, ...more: number[]) =>
  Uint8Array.of(modifiers, 0, usage, ...more, ...new Array(5 - more.length).fill(0));

/** Press + all-zero release for each usage, as a wedge scanner types (test vector 22). */
const type = (usages: readonly number[], modifiers = 0) =>
  usages.flatMap((u) => [key(u, modifiers), RELEASE]);
const digits = (text: string, row = TOP_ROW) => type([...text].map((c) => row[c]!));

function feed(d: KeyboardWedgeDecoder, reports: readonly Uint8Array[], start = 0, step = 2): WedgeChunk[] {
  return reports.flatMap((r, i) => d.push(r, start + i * step));
}

/** No discarded chunk may carry 6 consecutive characters of the read it dropped. */
function expectNoContent(chunks: readonly WedgeChunk[], secret: string) {
  for (const chunk of chunks) {
    if (chunk.type !== "discarded") continue;
    const json = JSON.stringify(chunk);
    expect(json).not.toMatch(/\d{6,}/);
    for (let i = 0; i + 6 <= secret.length; i++) expect(json).not.toContain(secret.slice(i, i + 6));
  }
}

describe("KeyboardWedgeDecoder options", () => {
  it("throws TypeError on bad options and a bad now", () => {
    expect(() => new KeyboardWedgeDecoder({ maxLength: 0 })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder({ maxLength: 4097 })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder({ staleMs: -5 })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder({ staleMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder({ tabTerminates: 1 as never })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder({ reportId: -1 })).toThrow(TypeError);
    expect(() => new EvdevKeyDecoder({ maxLength: 2.5 })).toThrow(TypeError);
    expect(() => new KeyboardWedgeDecoder().push(RELEASE, Number.NaN)).toThrow(TypeError);
    expect(() => new EvdevKeyDecoder().push({ type: 1, code: 2, value: 1 }, Number.NaN)).toThrow(TypeError);
  });

  it("accepts the documented defaults: maxLength 128, staleMs 300, Enter only", () => {
    const d = new KeyboardWedgeDecoder();
    expect(feed(d, [...digits("1".repeat(128)), ...type([ENTER])])).toEqual([
      { type: "scan", text: "1".repeat(128) },
    ]);
    expect(feed(d, [...digits("1".repeat(129)), ...type([ENTER])])).toEqual([
      { type: "discarded", length: 129, reason: "overflow" },
    ]);
    d.push(key(TOP_ROW[1]!), 1000);
    expect(d.push(key(ENTER), 1300)).toEqual([{ type: "scan", text: "1" }]);
    d.push(key(TOP_ROW[1]!), 2000);
    expect(d.push(key(ENTER), 2301)).toEqual([
      { type: "discarded", length: 1, reason: "stale" },
      { type: "discarded", length: 0, reason: "empty" },
    ]);
    expect(feed(d, [...digits("12"), ...type([TAB]), ...type([ENTER])], 3000)).toEqual([
      { type: "discarded", length: 3, reason: "unmappedKey" },
    ]);
  });
});

describe("boot keyboard reports", () => {
  it("research vector 22: typing 1 2 Enter (device-protocols.md Test vectors #22)", () => {
    const vector = [
      "00 00 1E 00 00 00 00 00",
      "00 00 00 00 00 00 00 00",
      "00 00 1F 00 00 00 00 00",
      "00 00 00 00 00 00 00 00",
      "00 00 28 00 00 00 00 00",
      "00 00 00 00 00 00 00 00",
    ].map(fromHex);
    expect(feed(new KeyboardWedgeDecoder(), vector)).toEqual([{ type: "scan", text: "12" }]);
  });

  it("research vector 22: capital A is 02 00 04 (left shift)", () => {
    const reports = [fromHex("02 00 04 00 00 00 00 00"), RELEASE, key(ENTER), RELEASE];
    expect(feed(new KeyboardWedgeDecoder(), reports)).toEqual([{ type: "scan", text: "A" }]);
  });

  it("decodes top-row digits, keypad digits and both Enter keys", () => {
    const d = new KeyboardWedgeDecoder();
    expect(feed(d, [...digits(CODE), ...type([ENTER])])).toEqual([{ type: "scan", text: CODE }]);
    expect(feed(d, [...digits("5901234123457", KEYPAD), ...type([KP_ENTER])])).toEqual([
      { type: "scan", text: "5901234123457" },
    ]);
  });

  it("decodes letters with and without either shift, and punctuation", () => {
    const d = new KeyboardWedgeDecoder();
    const reports = [
      ...type([0x04, 0x1d]), // a z
      ...type([0x04, 0x1d], LSHIFT), // A Z
      ...type([0x05], RSHIFT), // B
      ...type([0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x2c]),
      ...type([0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38], LSHIFT),
      ...type([0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27], LSHIFT),
      ...type([0x54, 0x55, 0x56, 0x57, 0x63, 0x59], LSHIFT), // keypad ignores shift
      ...type([ENTER]),
    ];
    expect(feed(d, reports)).toEqual([
      { type: "scan", text: "azAZB-=[]\\;'`,./ _+{}|:\"~<>?!@#$%^&*()/*-+.1" },
    ]);
  });

  it("counts a key once while it is held (key-down edges only)", () => {
    const reports = [key(TOP_ROW[1]!), key(TOP_ROW[1]!), key(TOP_ROW[1]!), RELEASE, key(ENTER), RELEASE];
    expect(feed(new KeyboardWedgeDecoder(), reports)).toEqual([{ type: "scan", text: "1" }]);
  });

  it("needs the release between the same character twice", () => {
    const reports = [key(TOP_ROW[1]!), RELEASE, key(TOP_ROW[1]!), RELEASE, key(ENTER), RELEASE];
    expect(feed(new KeyboardWedgeDecoder(), reports)).toEqual([{ type: "scan", text: "11" }]);
  });

  it("takes a new key while another is held, and several new keys in one report in slot order", () => {
    const reports = [
      key(TOP_ROW[1]!),
      key(TOP_ROW[1]!, 0, TOP_ROW[2]!),
      key(TOP_ROW[2]!),
      RELEASE,
      key(TOP_ROW[3]!, 0, TOP_ROW[4]!, TOP_ROW[5]!),
      RELEASE,
      key(ENTER),
      RELEASE,
    ];
    expect(feed(new KeyboardWedgeDecoder(), reports)).toEqual([{ type: "scan", text: "12345" }]);
  });

  it("decodes the same whichever report the releases fall into", () => {
    // Every cut: characters before it typed with releases, after it typed without (each key
    // replaces the previous one in the same slot, which is also a release of the previous key).
    for (let cut = 0; cut <= CODE.length; cut++) {
      const withRelease = digits(CODE.slice(0, cut));
      const rolled = [...CODE.slice(cut)].map((c) => key(TOP_ROW[c]!));
      // A repeated digit right after itself needs a release to count, as on real hardware.
      const reports = [...withRelease];
      let previous = "";
      for (const [i, r] of rolled.entries()) {
        if (CODE[cut + i] === previous) reports.push(RELEASE);
        reports.push(r);
        previous = CODE[cut + i]!;
      }
      reports.push(key(ENTER), RELEASE);
      expect(feed(new KeyboardWedgeDecoder(), reports)).toEqual([{ type: "scan", text: CODE }]);
    }
  });

  it("ends a read with Tab when tabTerminates is set", () => {
    const d = new KeyboardWedgeDecoder({ tabTerminates: true });
    expect(feed(d, [...digits(CODE), ...type([TAB])])).toEqual([{ type: "scan", text: CODE }]);
  });

  it("reports a bare Enter as an empty read", () => {
    expect(feed(new KeyboardWedgeDecoder(), [...type([ENTER]), ...type([KP_ENTER])])).toEqual([
      { type: "discarded", length: 0, reason: "empty" },
      { type: "discarded", length: 0, reason: "empty" },
    ]);
  });

  it("returns nothing until the terminator", () => {
    const d = new KeyboardWedgeDecoder();
    expect(feed(d, digits("1345"))).toEqual([]);
    expect(feed(d, [...digits("6789"), key(ENTER)], 20)).toEqual([{ type: "scan", text: "13456789" }]);
  });

  it("strips a report id when configured (9-byte hidraw reports)", () => {
    const d = new KeyboardWedgeDecoder({ reportId: 0x01 });
    const withId = [...digits("42"), ...type([ENTER])].map((r) => concatBytes(Uint8Array.of(0x01), r));
    expect(feed(d, withId)).toEqual([{ type: "scan", text: "42" }]);
    // A report with another id (say, a consumer-control report) is dropped on its own.
    d.push(withId[0]!, 100);
    expect(d.push(Uint8Array.of(0x02, 0xe9, 0x00), 101)).toEqual([
      { type: "discarded", length: 3, reason: "wrongReportId" },
    ]);
    expect(feed(d, withId.slice(1), 102)).toEqual([{ type: "scan", text: "42" }]);
    // The right id with a wrong size is a malformed keyboard report.
    expect(feed(d, [Uint8Array.of(0x01, 0, 0), ...withId], 200)).toEqual([
      { type: "discarded", length: 2, reason: "badLength" },
    ]);
  });
});

describe("boot keyboard discarding", () => {
  it("drops a partial read idle for more than staleMs when the next key arrives", () => {
    const d = new KeyboardWedgeDecoder({ staleMs: 300 });
    expect(feed(d, digits("999"), 0, 1)).toEqual([]);
    const chunks = feed(d, [...digits(CODE), key(ENTER)], 306, 1);
    expect(chunks).toEqual([
      { type: "discarded", length: 3, reason: "stale" },
      { type: "scan", text: CODE },
    ]);
  });

  it("measures staleness from the last key, so a slow but steady scanner is fine", () => {
    const d = new KeyboardWedgeDecoder({ staleMs: 300 });
    expect(feed(d, [...digits(CODE), key(ENTER)], 0, 100)).toEqual([{ type: "scan", text: CODE }]);
  });

  it("treats a release as no key (a late release does not keep a read alive)", () => {
    const d = new KeyboardWedgeDecoder({ staleMs: 300 });
    d.push(key(TOP_ROW[1]!), 0);
    d.push(RELEASE, 250);
    expect(d.push(key(ENTER), 301)).toEqual([
      { type: "discarded", length: 1, reason: "stale" },
      { type: "discarded", length: 0, reason: "empty" },
    ]);
  });

  it("drops a read with a rollover error report at its terminator, whole", () => {
    const rollover = fromHex("00 00 01 01 01 01 01 01");
    const d = new KeyboardWedgeDecoder();
    const reports = [
      ...digits("1345"),
      rollover,
      ...digits("67890123456789"),
      ...type([ENTER]),
      ...digits("42"),
    ];
    const chunks = feed(d, [...reports, ...type([ENTER])]);
    expect(chunks).toEqual([
      { type: "discarded", length: 18, reason: "rollover" },
      { type: "scan", text: "42" },
    ]);
    expectNoContent(chunks, CODE);
  });

  it("does not count keys held through a rollover as new presses", () => {
    const rollover = fromHex("00 00 01 01 01 01 01 01");
    const d = new KeyboardWedgeDecoder();
    const reports = [key(TOP_ROW[1]!), rollover, key(TOP_ROW[1]!), RELEASE, key(ENTER), RELEASE];
    expect(feed(d, reports)).toEqual([{ type: "discarded", length: 1, reason: "rollover" }]);
  });

  it("drops a read with an unmapped key at its terminator, counting every key", () => {
    const d = new KeyboardWedgeDecoder();
    const esc = 0x29;
    const f1 = 0x3a;
    const chunks = feed(d, [
      ...digits("13456789"),
      ...type([esc]),
      ...digits("0123456789"),
      ...type([ENTER]),
      ...digits("12"),
      ...type([f1]),
      ...type([ENTER]),
    ]);
    expect(chunks).toEqual([
      { type: "discarded", length: 19, reason: "unmappedKey" },
      { type: "discarded", length: 3, reason: "unmappedKey" },
    ]);
    expectNoContent(chunks, CODE);
  });

  it("treats a key pressed with Ctrl, Alt or GUI as unmapped, Enter included", () => {
    for (const modifier of [LCTRL, 0x04, 0x08, 0x10, 0x40, 0x80]) {
      const d = new KeyboardWedgeDecoder();
      expect(feed(d, [...digits("12"), ...type([TOP_ROW[3]!], modifier), ...type([ENTER])])).toEqual([
        { type: "discarded", length: 3, reason: "unmappedKey" },
      ]);
      expect(feed(d, [...digits("12"), ...type([ENTER], modifier), ...type([ENTER])], 100)).toEqual([
        { type: "discarded", length: 3, reason: "unmappedKey" },
      ]);
    }
  });

  it("drops a read that a malformed report fell into", () => {
    const d = new KeyboardWedgeDecoder();
    const chunks = feed(d, [...digits("1345"), new Uint8Array(7), ...digits("6789"), ...type([ENTER])]);
    expect(chunks).toEqual([{ type: "discarded", length: 8, reason: "badLength" }]);
  });

  it("drops an over-long read by length and resyncs at the next Enter", () => {
    const d = new KeyboardWedgeDecoder({ maxLength: 8 });
    const chunks = feed(d, [...digits(CODE), ...type([ENTER]), ...digits("12345678"), ...type([ENTER])]);
    expect(chunks).toEqual([
      { type: "discarded", length: 18, reason: "overflow" },
      { type: "scan", text: "12345678" },
    ]);
    expectNoContent(chunks, CODE);
  });

  it("reset drops a pending read by length and forgets held keys", () => {
    const d = new KeyboardWedgeDecoder();
    expect(d.reset()).toEqual([]);
    feed(d, [...digits("134567"), key(TOP_ROW[8]!)]);
    const chunks = d.reset();
    expect(chunks).toEqual([{ type: "discarded", length: 7, reason: "incomplete" }]);
    expectNoContent(chunks, CODE);
    // The 8 still held before reset counts as a new press afterwards.
    expect(feed(d, [key(TOP_ROW[8]!), RELEASE, key(ENTER)], 100)).toEqual([{ type: "scan", text: "8" }]);
  });
});

describe("key tables", () => {
  it("maps HID usages with modifiers", () => {
    expect(decodeHidKey(0x1e)).toBe("1");
    expect(decodeHidKey(0x27)).toBe("0");
    expect(decodeHidKey(0x04)).toBe("a");
    expect(decodeHidKey(0x04, LSHIFT)).toBe("A");
    expect(decodeHidKey(0x1d, RSHIFT)).toBe("Z");
    expect(decodeHidKey(0x62)).toBe("0");
    expect(decodeHidKey(0x61)).toBe("9");
    expect(decodeHidKey(0x04, LCTRL)).toBeUndefined();
    expect(decodeHidKey(0x28)).toBeUndefined(); // Enter is a terminator, not a character
    expect(decodeHidKey(0x3a)).toBeUndefined();
  });

  it("maps evdev key codes (input-event-codes.h)", () => {
    const row = Array.from({ length: 10 }, (_, i) => decodeEvdevKey(2 + i)).join("");
    expect(row).toBe("1234567890"); // KEY_1 = 2 … KEY_0 = 11
    expect(decodeEvdevKey(16)).toBe("q"); // KEY_Q
    expect(decodeEvdevKey(25)).toBe("p"); // KEY_P
    expect(decodeEvdevKey(30, true)).toBe("A"); // KEY_A
    expect(decodeEvdevKey(38)).toBe("l"); // KEY_L
    expect(decodeEvdevKey(44)).toBe("z"); // KEY_Z
    expect(decodeEvdevKey(50, true)).toBe("M"); // KEY_M
    expect(decodeEvdevKey(12)).toBe("-"); // KEY_MINUS
    expect(decodeEvdevKey(52)).toBe("."); // KEY_DOT
    expect(decodeEvdevKey(2, true)).toBe("!");
    expect(decodeEvdevKey(57)).toBe(" "); // KEY_SPACE
    const keypad = [82, 79, 80, 81, 75, 76, 77, 71, 72, 73].map((c) => decodeEvdevKey(c, true)).join("");
    expect(keypad).toBe("0123456789"); // KEY_KP0 … KEY_KP9
    expect(decodeEvdevKey(83)).toBe("."); // KEY_KPDOT
    expect(decodeEvdevKey(EVDEV_KEY.KEY_ENTER)).toBeUndefined();
    expect(decodeEvdevKey(59)).toBeUndefined(); // KEY_F1
    expect(EVDEV_KEYMAP.size).toBeGreaterThan(60);
  });
});

// --- evdev ---

const press = (code: number): InputEvent => ({ type: EV_KEY, code, value: KEY_PRESS });
const release = (code: number): InputEvent => ({ type: EV_KEY, code, value: KEY_RELEASE });
const syn: InputEvent = { type: EV_SYN, code: 0, value: 0 };
const tap = (code: number) => [press(code), syn, release(code), syn];
const evDigits = (text: string) => [...text].flatMap((c) => tap(c === "0" ? 11 : 1 + Number(c)));

function feedEvents(d: EvdevKeyDecoder, events: readonly InputEvent[], start = 0, step = 1): WedgeChunk[] {
  return events.flatMap((e, i) => d.push(e, start + i * step));
}

describe("EvdevKeyDecoder", () => {
  it("decodes KEY_1…KEY_0 and both Enter keys", () => {
    const d = new EvdevKeyDecoder();
    expect(feedEvents(d, [...evDigits(CODE), ...tap(EVDEV_KEY.KEY_ENTER)])).toEqual([
      { type: "scan", text: CODE },
    ]);
    expect(feedEvents(d, [...evDigits("42"), ...tap(EVDEV_KEY.KEY_KPENTER)], 100)).toEqual([
      { type: "scan", text: "42" },
    ]);
  });

  it("tracks either Shift through press and release", () => {
    const d = new EvdevKeyDecoder();
    const events = [
      press(EVDEV_KEY.KEY_LEFTSHIFT),
      ...tap(30), // A
      release(EVDEV_KEY.KEY_LEFTSHIFT),
      ...tap(30), // a
      press(EVDEV_KEY.KEY_RIGHTSHIFT),
      ...tap(2), // !
      release(EVDEV_KEY.KEY_RIGHTSHIFT),
      ...tap(EVDEV_KEY.KEY_ENTER),
    ];
    expect(feedEvents(d, events)).toEqual([{ type: "scan", text: "Aa!" }]);
  });

  it("ignores autorepeat, releases and non-key events", () => {
    const d = new EvdevKeyDecoder();
    const events = [
      { type: 0x04, code: 0x04, value: 0x7001e }, // EV_MSC MSC_SCAN before a key
      press(2),
      { type: EV_KEY, code: 2, value: KEY_REPEAT },
      { type: EV_KEY, code: 2, value: KEY_REPEAT },
      release(2),
      syn,
      ...tap(EVDEV_KEY.KEY_ENTER),
    ];
    expect(feedEvents(d, events)).toEqual([{ type: "scan", text: "1" }]);
  });

  it("drops a read during which the kernel dropped events (SYN_DROPPED)", () => {
    const d = new EvdevKeyDecoder();
    const events = [
      press(EVDEV_KEY.KEY_LEFTSHIFT),
      ...evDigits("1345"),
      { type: EV_SYN, code: SYN_DROPPED, value: 0 },
      ...evDigits("6789"),
      ...tap(EVDEV_KEY.KEY_ENTER),
      ...tap(30), // shift state was reset by SYN_DROPPED: lower-case a
      ...tap(EVDEV_KEY.KEY_ENTER),
    ];
    expect(feedEvents(d, events)).toEqual([
      { type: "discarded", length: 8, reason: "eventsDropped" },
      { type: "scan", text: "a" },
    ]);
  });

  it("treats keys with Ctrl/Alt/Meta held, and unknown codes, as unmapped", () => {
    const d = new EvdevKeyDecoder();
    const events = [
      ...evDigits("12"),
      press(EVDEV_KEY.KEY_LEFTCTRL),
      ...tap(3),
      release(EVDEV_KEY.KEY_LEFTCTRL),
      ...tap(EVDEV_KEY.KEY_ENTER),
      ...evDigits("12"),
      ...tap(59), // KEY_F1
      ...tap(EVDEV_KEY.KEY_ENTER),
      ...evDigits("34"),
      ...tap(EVDEV_KEY.KEY_ENTER),
    ];
    expect(feedEvents(d, events)).toEqual([
      { type: "discarded", length: 3, reason: "unmappedKey" },
      { type: "discarded", length: 3, reason: "unmappedKey" },
      { type: "scan", text: "34" },
    ]);
  });

  it("handles Tab as configured", () => {
    const events = [...evDigits("12"), ...tap(EVDEV_KEY.KEY_TAB), ...tap(EVDEV_KEY.KEY_ENTER)];
    expect(feedEvents(new EvdevKeyDecoder({ tabTerminates: true }), events)).toEqual([
      { type: "scan", text: "12" },
      { type: "discarded", length: 0, reason: "empty" },
    ]);
    expect(feedEvents(new EvdevKeyDecoder(), events)).toEqual([
      { type: "discarded", length: 3, reason: "unmappedKey" },
    ]);
  });

  it("drops a stale partial read and keeps the read that follows", () => {
    const d = new EvdevKeyDecoder({ staleMs: 300 });
    feedEvents(d, evDigits("77"), 0, 1);
    const chunks = feedEvents(d, [...evDigits(CODE), ...tap(EVDEV_KEY.KEY_ENTER)], 1000, 1);
    expect(chunks).toEqual([
      { type: "discarded", length: 2, reason: "stale" },
      { type: "scan", text: CODE },
    ]);
  });

  it("drops over-long reads and reset drops a pending one, by length only", () => {
    const d = new EvdevKeyDecoder({ maxLength: 10 });
    const chunks = [
      ...feedEvents(d, [...evDigits(CODE), ...tap(EVDEV_KEY.KEY_ENTER)]),
      ...feedEvents(d, evDigits("1345678"), 500),
      ...d.reset(),
    ];
    expect(chunks).toEqual([
      { type: "discarded", length: 18, reason: "overflow" },
      { type: "discarded", length: 7, reason: "incomplete" },
    ]);
    expectNoContent(chunks, CODE);
  });
});

/** One 64-bit `struct input_event`: tv_sec, tv_usec (i64 each), u16 type, u16 code, s32 value, LE. */
function record(sec: number, usec: number, type: number, code: number, value: number): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, BigInt(sec), true);
  view.setBigInt64(8, BigInt(usec), true);
  view.setUint16(16, type, true);
  view.setUint16(18, code, true);
  view.setInt32(20, value, true);
  return bytes;
}

describe("parseInputEvents", () => {
  it("reads a 24-byte record byte-exact (little endian)", () => {
    // tv_sec 0x6553F100 = 1700000000, tv_usec 2000, EV_KEY, KEY_1 (2), press.
    const bytes = fromHex("00 F1 53 65 00 00 00 00 D0 07 00 00 00 00 00 00 01 00 02 00 01 00 00 00");
    expect(bytes).toEqual(record(1_700_000_000, 2000, 1, 2, 1));
    expect(parseInputEvents(bytes)).toEqual({
      events: [{ type: 1, code: 2, value: 1, time: 1_700_000_000_002 }],
      rest: new Uint8Array(0),
    });
  });

  it("reads a signed value and 16-byte records of 32-bit systems", () => {
    const wide = record(1, 0, 3, 0, -5);
    expect(parseInputEvents(wide).events[0]).toEqual({ type: 3, code: 0, value: -5, time: 1000 });
    const narrow = fromHex("01 00 00 00 E8 03 00 00 01 00 1C 00 00 00 00 00");
    expect(parseInputEvents(narrow, 16)).toEqual({
      events: [{ type: 1, code: 28, value: 0, time: 1001 }],
      rest: new Uint8Array(0),
    });
    expect(() => parseInputEvents(narrow, 12 as never)).toThrow(TypeError);
  });

  it("gives the same events whatever byte boundary the reads split records at", () => {
    const stream = concatBytes(record(1, 1, 1, 2, 1), record(1, 2, 0, 0, 0), record(1, 3, 1, 2, 0));
    const whole = parseInputEvents(stream).events;
    expect(whole).toHaveLength(3);
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = parseInputEvents(stream.subarray(0, cut));
      const second = parseInputEvents(concatBytes(first.rest, stream.subarray(cut)));
      expect([...first.events, ...second.events]).toEqual(whole);
      expect(second.rest.length).toBe(0);
    }
  });

  it("returns the unfinished record as a copy", () => {
    const stream = concatBytes(record(1, 1, 1, 2, 1), new Uint8Array(10).fill(7));
    const { events, rest } = parseInputEvents(stream);
    expect(events).toHaveLength(1);
    stream.fill(0);
    expect(rest).toEqual(new Uint8Array(10).fill(7));
  });
});

describe("recorded-report fixtures", () => {
  const load = (name: string) =>
    JSON.parse(readFileSync(new URL(`../../fixtures/hid/${name}`, import.meta.url), "utf8")) as {
      source: string;
      device: string;
      reports: string[];
      expect: string[];
    };

  it("replays the boot keyboard fixture (2 ms per report)", () => {
    const fixture = load("keyboard-wedge-boot.json");
    expect(fixture.source).toMatch(/§3\.2/);
    const d = new KeyboardWedgeDecoder();
    const chunks = fixture.reports.flatMap((hex, i) => d.push(fromHex(hex), i * 2));
    expect(chunks.map((c) => (c.type === "scan" ? c.text : c))).toEqual(fixture.expect);
  });

  it("replays the evdev fixture with split records, timed by the kernel timestamps", () => {
    const fixture = load("evdev-keyboard-wedge.json");
    const d = new EvdevKeyDecoder();
    let rest: Uint8Array = new Uint8Array(0);
    const chunks: WedgeChunk[] = [];
    for (const hex of fixture.reports) {
      const parsed = parseInputEvents(concatBytes(rest, fromHex(hex)));
      rest = parsed.rest;
      for (const event of parsed.events) chunks.push(...d.push(event, event.time ?? 0));
    }
    expect(rest.length).toBe(0);
    expect(chunks.map((c) => (c.type === "scan" ? c.text : c))).toEqual(fixture.expect);
  });
});
