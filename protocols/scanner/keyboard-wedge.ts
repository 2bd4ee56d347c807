// Decodes a keyboard-wedge barcode scanner — a scanner that "types" its read as key presses and
// ends it with Enter — from either of the two Linux views of it (device-protocols.md §3.2):
//
// - KeyboardWedgeDecoder: raw USB boot-protocol keyboard input reports (hidraw / node-hid), 8 bytes
//   `[modifiers, reserved, key1..key6]`; modifier bits 0 LCtrl, 1 LShift, 2 LAlt, 3 LGUI, 4 RCtrl,
//   5 RShift, 6 RAlt, 7 RGUI; key 00 = none, 01 in every slot = ErrorRollOver. Usage ids are the
//   Keyboard/Keypad page 0x07 of the USB HID Usage Tables (hut1_21.pdf §10).
// - EvdevKeyDecoder: Linux evdev `struct input_event` records from /dev/input/eventN (the node a
//   daemon grabs with EVIOCGRAB), key codes from the kernel's
//   include/uapi/linux/input-event-codes.h.
//
// Characters are mapped with a fixed US layout: the daemon reads the device itself, so the host's
// keyboard layout and IME play no part. A read is the characters up to Enter (or Tab when enabled).
// Pure: push(…, now) → chunks, time arrives as `now` (ms), no timers, buffer capped at maxLength.
// Dropped reads are reported by length (key presses) only, never their characters: a read may be
// a payment code (payment-domain.md §7 rule 18). A read with anything doubtful in it — a key we
// cannot map, a rollover, a malformed report, events the kernel dropped — is dropped whole at its
// terminator rather than passed on with a gap, because a payment code with a missing digit is a
// different code.

export type WedgeDiscardReason =
  /** More key presses than maxLength before the terminator. */
  | "overflow"
  /** A terminator with no key before it (scan boxes send a second Enter on a rescan). */
  | "empty"
  /** The partial read had been idle for more than staleMs when the next key arrived. */
  | "stale"
  /** A boot report with every key slot 0x01 (ErrorRollOver) arrived during the read. */
  | "rollover"
  /**
   * A key with no character in the US layout (Esc, F-keys, Backspace, CapsLock, NumLock, Tab
   * unless tabTerminates…), or any key pressed with Ctrl/Alt/GUI held.
   */
  | "unmappedKey"
  /** A HID report of the wrong size arrived during the read. */
  | "badLength"
  /**
   * A HID report with another report id (only with the reportId option): dropped on its own,
   * `length` = its size; the read in progress is not affected.
   */
  | "wrongReportId"
  /** The kernel reported SYN_DROPPED during the read: key events were lost. */
  | "eventsDropped"
  /** reset() was called with a read pending. */
  | "incomplete";

export type WedgeChunk =
  | { type: "scan"; text: string }
  | { type: "discarded"; length: number; reason: WedgeDiscardReason };

export interface WedgeReadOptions {
  /** Longest read (key presses before the terminator) accepted; default 128. */
  maxLength?: number;
  /**
   * A partial read that has seen no key for more than this many ms when the next key arrives is
   * dropped ("stale"), and that key starts a new read. Wedge scanners type a whole code within a
   * few ms per key; default 300.
   */
  staleMs?: number;
  /** Tab also ends a read (scanners programmed with a Tab suffix); default false. */
  tabTerminates?: boolean;
}

const MAX_MAX_LENGTH = 4096;
const MAX_STALE_MS = 60_000;

/** What one key press means for the read. */
type Key = { kind: "char"; code: number } | { kind: "end" } | { kind: "tab" } | { kind: "unmapped" };

const END: Key = { kind: "end" };
const TAB: Key = { kind: "tab" };
const UNMAPPED: Key = { kind: "unmapped" };

function validate({ maxLength = 128, staleMs = 300, tabTerminates = false }: WedgeReadOptions) {
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
    throw new TypeError(`maxLength must be an integer 1..${MAX_MAX_LENGTH}, got ${String(maxLength)}`);
  }
  if (typeof staleMs !== "number" || !Number.isFinite(staleMs) || staleMs < 0 || staleMs > MAX_STALE_MS) {
    throw new TypeError(`staleMs must be a number 0..${MAX_STALE_MS}, got ${String(staleMs)}`);
  }
  if (typeof tabTerminates !== "boolean") throw new TypeError("tabTerminates must be a boolean");
  return { maxLength, staleMs, tabTerminates };
}

function checkNow(now: number): void {
  if (typeof now !== "number" || !Number.isFinite(now)) {
    throw new TypeError(`now must be a finite number, got ${String(now)}`);
  }
}

/** Collects key presses into reads; shared by both decoders. */
class ReadAssembler {
  readonly #maxLength: number;
  readonly #staleMs: number;
  readonly #tabTerminates: boolean;
  readonly #buffer: Uint8Array;
  /** A read is open: at least one key (or a taint) since the last terminator. */
  #open = false;
  /** Key presses in the open read; may exceed the buffer after an overflow. */
  #count = 0;
  #lastAt = 0;
  /** Why the open read will be dropped at its terminator, if it will. */
  #taint: WedgeDiscardReason | undefined;

  constructor(options: WedgeReadOptions) {
    const { maxLength, staleMs, tabTerminates } = validate(options);
    this.#maxLength = maxLength;
    this.#staleMs = staleMs;
    this.#tabTerminates = tabTerminates;
    this.#buffer = new Uint8Array(maxLength);
  }

  /** A key went down at `now`. */
  press(key: Key, now: number, out: WedgeChunk[]): void {
    this.#expire(now, out);
    if (key.kind === "end" || (key.kind === "tab" && this.#tabTerminates)) {
      out.push(this.#finish());
      return;
    }
    this.#touch(now);
    if (key.kind === "char") {
      if (this.#count < this.#maxLength) this.#buffer[this.#count] = key.code;
    } else {
      this.#taint ??= "unmappedKey";
    }
    this.#count++;
  }

  /** Something at `now` makes the read untrustworthy (it may have lost a key). */
  taint(reason: WedgeDiscardReason, now: number, out: WedgeChunk[]): void {
    this.#expire(now, out);
    this.#touch(now);
    this.#taint ??= reason;
  }

  reset(): WedgeChunk[] {
    if (!this.#open) return [];
    const chunk: WedgeChunk = { type: "discarded", length: this.#count, reason: "incomplete" };
    this.#clear();
    return [chunk];
  }

  #touch(now: number): void {
    this.#open = true;
    this.#lastAt = now;
  }

  #expire(now: number, out: WedgeChunk[]): void {
    if (this.#open && now - this.#lastAt > this.#staleMs) {
      out.push({ type: "discarded", length: this.#count, reason: "stale" });
      this.#clear();
    }
  }

  #finish(): WedgeChunk {
    const count = this.#count;
    const taint = this.#taint;
    const overflow = count > this.#maxLength;
    const text = taint || overflow ? "" : String.fromCharCode(...this.#buffer.subarray(0, count));
    this.#clear();
    if (taint) return { type: "discarded", length: count, reason: taint };
    if (overflow) return { type: "discarded", length: count, reason: "overflow" };
    if (count === 0) return { type: "discarded", length: 0, reason: "empty" };
    return { type: "scan", text };
  }

  #clear(): void {
    // Zero the buffer: a dropped read may hold digits of a payment code.
    this.#buffer.fill(0, 0, Math.min(this.#count, this.#maxLength));
    this.#open = false;
    this.#count = 0;
    this.#taint = undefined;
  }
}

// --- USB HID boot keyboard --------------------------------------------------------------------

/** Keyboard/Keypad page usage ids (HUT 1.21 §10) with a meaning for a read. */
export const HID_KEY = {
  A: 0x04,
  Z: 0x1d,
  DIGIT_1: 0x1e,
  DIGIT_0: 0x27,
  ENTER: 0x28,
  TAB: 0x2b,
  SPACE: 0x2c,
  KEYPAD_ENTER: 0x58,
  KEYPAD_1: 0x59,
  KEYPAD_0: 0x62,
  ERROR_ROLL_OVER: 0x01,
} as const;

/** Boot keyboard modifier byte: bits 1 (LShift) and 5 (RShift). */
const HID_SHIFT = 0x22;
/** Ctrl, Alt and GUI on either side. */
const HID_OTHER_MODIFIERS = 0xdd;

/** usage id → [unshifted, shifted] character, US layout. */
const HID_CHARS = new Map<number, readonly [string, string]>();
for (let i = 0; i < 26; i++) {
  const lower = String.fromCharCode(0x61 + i);
  HID_CHARS.set(HID_KEY.A + i, [lower, lower.toUpperCase()]);
}
"1234567890".split("").forEach((digit, i) => {
  HID_CHARS.set(HID_KEY.DIGIT_1 + i, [digit, "!@#$%^&*()"[i] as string]);
});
for (const [usage, plain, shifted] of [
  [0x2c, " ", " "],
  [0x2d, "-", "_"],
  [0x2e, "=", "+"],
  [0x2f, "[", "{"],
  [0x30, "]", "}"],
  [0x31, "\\", "|"],
  [0x33, ";", ":"],
  [0x34, "'", '"'],
  [0x35, "`", "~"],
  [0x36, ",", "<"],
  [0x37, ".", ">"],
  [0x38, "/", "?"],
] as const) {
  HID_CHARS.set(usage, [plain, shifted]);
}
// Keypad: the same character with or without Shift (NumLock is the host's business, not ours).
for (const [usage, char] of [
  [0x54, "/"],
  [0x55, "*"],
  [0x56, "-"],
  [0x57, "+"],
  [0x63, "."],
] as const) {
  HID_CHARS.set(usage, [char, char]);
}
"1234567890".split("").forEach((digit, i) => {
  HID_CHARS.set(HID_KEY.KEYPAD_1 + i, [digit, digit]);
});

/** The character a boot-keyboard key types under the modifier byte, or undefined for none. */
export function decodeHidKey(usage: number, modifiers = 0): string | undefined {
  if (modifiers & HID_OTHER_MODIFIERS) return undefined;
  return HID_CHARS.get(usage)?.[modifiers & HID_SHIFT ? 1 : 0];
}

function hidKey(usage: number, modifiers: number): Key {
  if (modifiers & HID_OTHER_MODIFIERS) return UNMAPPED;
  if (usage === HID_KEY.ENTER || usage === HID_KEY.KEYPAD_ENTER) return END;
  if (usage === HID_KEY.TAB) return TAB;
  const char = decodeHidKey(usage, modifiers);
  return char === undefined ? UNMAPPED : { kind: "char", code: char.charCodeAt(0) };
}

export interface KeyboardWedgeOptions extends WedgeReadOptions {
  /**
   * Report id the device puts in front of its keyboard report (hidraw then delivers 9 bytes);
   * stripped before decoding. Default: none — a boot keyboard has no report id.
   */
  reportId?: number;
}

export const BOOT_REPORT_SIZE = 8;

/** USB boot keyboard input reports → reads. */
export class KeyboardWedgeDecoder {
  readonly #reads: ReadAssembler;
  readonly #reportId: number | undefined;
  /** Usages held down in the previous report. */
  #held = new Set<number>();

  constructor(options: KeyboardWedgeOptions = {}) {
    const { reportId, ...rest } = options;
    if (reportId !== undefined && (!Number.isInteger(reportId) || reportId < 0 || reportId > 0xff)) {
      throw new TypeError(`reportId must be an integer 0..255, got ${String(reportId)}`);
    }
    this.#reads = new ReadAssembler(rest);
    this.#reportId = reportId;
  }

  /** Feeds one input report received at `now` (ms). */
  push(report: Uint8Array, now: number): WedgeChunk[] {
    checkNow(now);
    const out: WedgeChunk[] = [];
    let body = report;
    if (this.#reportId !== undefined) {
      // Another report of a composite device (media keys, …): not part of the key stream.
      if (report[0] !== this.#reportId)
        return [{ type: "discarded", length: report.length, reason: "wrongReportId" }];
      body = report.subarray(1);
    }
    if (body.length !== BOOT_REPORT_SIZE) {
      // We cannot tell which keys this report held: the read it falls into may miss a key.
      this.#reads.taint("badLength", now, out);
      return out;
    }
    const modifiers = body[0] as number;
    const slots = body.subarray(2, BOOT_REPORT_SIZE);
    if (slots.every((usage) => usage === HID_KEY.ERROR_ROLL_OVER)) {
      // Too many keys down: the report does not say which. Keep the held set of the last good
      // report so keys still down afterwards are not seen as new presses.
      this.#reads.taint("rollover", now, out);
      return out;
    }
    const held = new Set<number>();
    for (const usage of slots) {
      if (usage === 0 || held.has(usage)) continue;
      held.add(usage);
      // Key-down edge: a usage already in the previous report is a key still held, not a press.
      if (!this.#held.has(usage)) this.#reads.press(hidKey(usage, modifiers), now, out);
    }
    this.#held = held;
    return out;
  }

  /** Drops a pending partial read (device closed, or the runner's idle timer). */
  reset(): WedgeChunk[] {
    this.#held = new Set();
    return this.#reads.reset();
  }
}

// --- Linux evdev --------------------------------------------------------------------------------

/** Event types (input-event-codes.h). */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_MSC = 0x04;
/** EV_SYN code: the kernel's buffer overran and events were lost. */
export const SYN_DROPPED = 3;

/** evdev key codes with a meaning for a read (input-event-codes.h). */
export const EVDEV_KEY = {
  KEY_1: 2,
  KEY_0: 11,
  KEY_TAB: 15,
  KEY_ENTER: 28,
  KEY_LEFTCTRL: 29,
  KEY_LEFTSHIFT: 42,
  KEY_RIGHTSHIFT: 54,
  KEY_LEFTALT: 56,
  KEY_KPENTER: 96,
  KEY_RIGHTCTRL: 97,
  KEY_RIGHTALT: 100,
  KEY_LEFTMETA: 125,
  KEY_RIGHTMETA: 126,
} as const;

/** evdev `value` of an EV_KEY event. */
export const KEY_RELEASE = 0;
export const KEY_PRESS = 1;
export const KEY_REPEAT = 2;

/** evdev key code → [unshifted, shifted] character, US layout (input-event-codes.h numbering). */
export const EVDEV_KEYMAP: ReadonlyMap<number, readonly [string, string]> = (() => {
  const map = new Map<number, readonly [string, string]>();
  const row = (first: number, plain: string, shifted: string) => {
    for (let i = 0; i < plain.length; i++) map.set(first + i, [plain[i] as string, shifted[i] as string]);
  };
  row(2, "1234567890-=", "!@#$%^&*()_+"); // KEY_1 = 2 … KEY_0 = 11, KEY_MINUS 12, KEY_EQUAL 13
  row(16, "qwertyuiop[]", "QWERTYUIOP{}"); // KEY_Q = 16 … KEY_P = 25, KEY_LEFTBRACE 26, KEY_RIGHTBRACE 27
  row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~'); // KEY_A = 30 … KEY_L = 38, SEMICOLON 39, APOSTROPHE 40, GRAVE 41
  row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?"); // KEY_BACKSLASH 43, KEY_Z = 44 … KEY_M = 50, COMMA 51, DOT 52, SLASH 53
  map.set(57, [" ", " "]); // KEY_SPACE
  // Keypad: KEY_KPASTERISK 55, KP7 71, KP8 72, KP9 73, KPMINUS 74, KP4 75, KP5 76, KP6 77,
  // KPPLUS 78, KP1 79, KP2 80, KP3 81, KP0 82, KPDOT 83, KPSLASH 98.
  for (const [code, char] of [
    [55, "*"],
    [71, "7"],
    [72, "8"],
    [73, "9"],
    [74, "-"],
    [75, "4"],
    [76, "5"],
    [77, "6"],
    [78, "+"],
    [79, "1"],
    [80, "2"],
    [81, "3"],
    [82, "0"],
    [83, "."],
    [98, "/"],
  ] as const) {
    map.set(code, [char, char]);
  }
  return map;
})();

/** The character an evdev key types with or without Shift, or undefined for none. */
export function decodeEvdevKey(code: number, shift = false): string | undefined {
  return EVDEV_KEYMAP.get(code)?.[shift ? 1 : 0];
}

/** One `struct input_event`: `time` is the kernel timestamp in ms (seconds * 1000 + µs / 1000). */
export interface InputEvent {
  type: number;
  code: number;
  value: number;
  time?: number;
}

const SHIFT_KEYS: ReadonlySet<number> = new Set([EVDEV_KEY.KEY_LEFTSHIFT, EVDEV_KEY.KEY_RIGHTSHIFT]);
const OTHER_MODIFIER_KEYS: ReadonlySet<number> = new Set([
  EVDEV_KEY.KEY_LEFTCTRL,
  EVDEV_KEY.KEY_RIGHTCTRL,
  EVDEV_KEY.KEY_LEFTALT,
  EVDEV_KEY.KEY_RIGHTALT,
  EVDEV_KEY.KEY_LEFTMETA,
  EVDEV_KEY.KEY_RIGHTMETA,
]);

/**
 * evdev key events → reads. Feed every event of the device (non-key events are ignored, except
 * SYN_DROPPED). Key presses count; releases only update Shift/Ctrl/Alt/Meta; autorepeat (value 2)
 * is ignored — a scanner does not hold keys, so a repeat is not a character it meant to send.
 */
export class EvdevKeyDecoder {
  readonly #reads: ReadAssembler;
  /** Modifier keys held down. */
  readonly #modifiers = new Set<number>();

  constructor(options: WedgeReadOptions = {}) {
    this.#reads = new ReadAssembler(options);
  }

  push(event: InputEvent, now: number): WedgeChunk[] {
    checkNow(now);
    const out: WedgeChunk[] = [];
    const { type, code, value } = event;
    if (type === EV_SYN && code === SYN_DROPPED) {
      // Presses and releases were lost: the read may miss a key and the modifier state is unknown.
      this.#modifiers.clear();
      this.#reads.taint("eventsDropped", now, out);
      return out;
    }
    if (type !== EV_KEY) return out;
    if (SHIFT_KEYS.has(code) || OTHER_MODIFIER_KEYS.has(code)) {
      if (value === KEY_PRESS) this.#modifiers.add(code);
      else if (value === KEY_RELEASE) this.#modifiers.delete(code);
      return out;
    }
    if (value !== KEY_PRESS) return out;
    this.#reads.press(this.#key(code), now, out);
    return out;
  }

  /** Drops a pending partial read (device closed, or the runner's idle timer). */
  reset(): WedgeChunk[] {
    this.#modifiers.clear();
    return this.#reads.reset();
  }

  #key(code: number): Key {
    for (const held of this.#modifiers) if (OTHER_MODIFIER_KEYS.has(held)) return UNMAPPED;
    if (code === EVDEV_KEY.KEY_ENTER || code === EVDEV_KEY.KEY_KPENTER) return END;
    if (code === EVDEV_KEY.KEY_TAB) return TAB;
    const shift =
      this.#modifiers.has(EVDEV_KEY.KEY_LEFTSHIFT) || this.#modifiers.has(EVDEV_KEY.KEY_RIGHTSHIFT);
    const char = decodeEvdevKey(code, shift);
    return char === undefined ? UNMAPPED : { kind: "char", code: char.charCodeAt(0) };
  }
}

/** Size of `struct input_event` on 64-bit Linux (16-byte timeval) and on 32-bit (8-byte timeval). */
export type InputEventRecordSize = 24 | 16;

/**
 * Splits bytes read from /dev/input/eventN into events: each record is `timeval` (two longs),
 * u16 type, u16 code, s32 value, little endian. Returns the events and the bytes of an unfinished
 * record (a copy), which the caller puts in front of the next read.
 */
export function parseInputEvents(
  bytes: Uint8Array,
  recordSize: InputEventRecordSize = 24,
): { events: InputEvent[]; rest: Uint8Array } {
  if (recordSize !== 24 && recordSize !== 16) {
    throw new TypeError(`recordSize must be 24 or 16, got ${String(recordSize)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = bytes.length - (bytes.length % recordSize);
  const events: InputEvent[] = [];
  for (let at = 0; at < whole; at += recordSize) {
    const wide = recordSize === 24;
    const seconds = wide ? Number(view.getBigInt64(at, true)) : view.getInt32(at, true);
    const micros = wide ? Number(view.getBigInt64(at + 8, true)) : view.getInt32(at + 4, true);
    const field = at + (wide ? 16 : 8);
    events.push({
      type: view.getUint16(field, true),
      code: view.getUint16(field + 2, true),
      value: view.getInt32(field + 4, true),
      time: seconds * 1000 + micros / 1000,
    });
  }
  return { events, rest: bytes.slice(whole) };
}
