// The loop every display-tap reader shares: bytes in, ScreenEvents out, with a dialect's grammar
// saying what a command is. Shaped after protocols/ecr/framer.ts (and zwave-js SerialAPIParser):
// a capped buffer of the one command still incomplete, bytes nobody can read reported as a
// count, and a resync at the next byte that starts a command.
//
// Frames are cut on inter-byte idle, not on read boundaries (scanbox-anchors.md §2.1.3): some
// registers drip one byte every 15 ms (Wintec CD320), so a read boundary means nothing. Time
// arrives as an argument — no timers here:
// - `push(bytes, nowMono)`: if the line was quiet for `idleMs` before these bytes, whatever was
//   open is cut first (an unfinished command is discarded, a run of text is reported).
// - `flush(nowMono)`: the runner calls it when `idleDueMono` has passed; it cuts the same way.
// - `end()`: the capture is over (offline decoding): everything open is cut.
// A run of text written at the cursor (ESC/POS, CD5220 cursor mode) has no terminator; it is one
// update when the next command arrives or the line goes idle — "12.50" dripped a byte at a time
// is one update, never "1", "12", "12." first.
import { concatBytes } from "../core/bytes.js";
import type { DiscardReason, Lamp, Screen, ScreenChange, ScreenEvent } from "./screen-event.js";
import { TextGrid } from "./text-grid.js";

export interface DisplayReaderOptions {
  /** A gap of this many ms ends a frame. Default 100 (above a 15 ms drip plus USB latency), 10..5000. */
  idleMs?: number;
  /** Longest line of text a line-write command may carry before it is dropped. Default 64, 8..512. */
  maxLineBytes?: number;
  /** Wire bytes kept as an update's `evidence`. Default 256, 16..4096. */
  evidenceBytes?: number;
  /**
   * Row bytes → text. Default: printable ASCII, anything else U+FFFD. The daemon injects a GB18030
   * decoder (daemon/text) for displays that show Chinese; GB18030 is a superset of ASCII and GB2312.
   */
  decodeText?: (bytes: Uint8Array) => string;
}

export interface ReaderSettings {
  readonly idleMs: number;
  readonly maxLineBytes: number;
  readonly evidenceBytes: number;
  readonly decodeText: (bytes: Uint8Array) => string;
}

/** What the display holds: the grammar's commands change it, the reader snapshots it. */
export interface ScreenState {
  lamp: Lamp | null;
  readonly grid: TextGrid;
}

/** What a grammar found at the front of the unread bytes. */
export type Step =
  /** The bytes so far start a command that is not complete yet. */
  | { kind: "need" }
  /** A command of `length` bytes; `apply` makes its change; `change` null = nothing visible (a cursor move). */
  | { kind: "command"; length: number; change: ScreenChange | null; apply: (state: ScreenState) => void }
  /** `length` bytes of text to write at the cursor. */
  | { kind: "text"; length: number }
  /** `length` bytes nobody reads; `skipLine`: also drop what follows up to the line's CR. */
  | { kind: "junk"; length: number; reason: DiscardReason; skipLine?: boolean };

export interface Grammar {
  readonly rows: number;
  readonly columns: number;
  /** null: the display has no lamps. */
  readonly initialLamp: Lamp | null;
  /** The longest command the grammar waits for: the reader never holds more unread bytes. */
  readonly maxCommandBytes: number;
  read(bytes: Uint8Array, at: number, end: number): Step;
}

const CR = 0x0d;
const ESC = 0x1b;
const FF = 0x0c;
const US = 0x1f;

export function readerSettings(options: DisplayReaderOptions): ReaderSettings {
  // Checked as untyped input: the options come from config and the CLI.
  const o = options as Record<string, unknown>;
  if (typeof o !== "object" || o === null) throw new TypeError("reader options must be an object");
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const value = o[name] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(`${name} must be an integer ${min}..${max}, got ${String(value)}`);
    }
    return value;
  };
  const decodeText = o.decodeText ?? asciiText;
  if (typeof decodeText !== "function") throw new TypeError("decodeText must be a function");
  return {
    idleMs: int("idleMs", 100, 10, 5000),
    maxLineBytes: int("maxLineBytes", 64, 8, 512),
    evidenceBytes: int("evidenceBytes", 256, 16, 4096),
    decodeText: decodeText as (bytes: Uint8Array) => string,
  };
}

/** The default decoder: printable ASCII as is, every other byte U+FFFD (never a guess). */
export function asciiText(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "\ufffd";
  return text;
}

export class DisplayReader {
  readonly settings: ReaderSettings;
  /** Bytes reported in `discarded` events since construction. */
  discardedTotal = 0;
  /** Bytes read as commands or text since construction (for detect.ts). */
  decodedTotal = 0;
  /** Commands of two bytes or more read (escape sequences: noise rarely forms one), for detect.ts. */
  escapesRead = 0;
  /**
   * Text bytes no display font draws: not printable ASCII and not part of a GB2312 pair (lead
   * A1–F7, trail A1–FE). Noise read as text at a wrong baud rate shows up here (detect.ts).
   */
  implausibleText = 0;
  private readonly grammar: Grammar;
  private readonly state: ScreenState;
  /** The unread start of a command, capped at grammar.maxCommandBytes. */
  private pending: Uint8Array = new Uint8Array(0);
  private lastByteMono: number | null = null;
  /** Text was written at the cursor since the last update. */
  private textRun = false;
  /** Dropping the rest of a line, up to its CR, and why (an overlong line, an unknown row). */
  private skipping: DiscardReason | null = null;
  /** The last wire bytes read, for `evidence`. */
  private tail: Uint8Array = new Uint8Array(0);
  private noise: { reason: DiscardReason; length: number } | null = null;
  /** A GB2312 lead byte waiting for its trail byte (text may drip a byte at a time). */
  private gbLead = false;

  constructor(grammar: Grammar, settings: ReaderSettings) {
    this.grammar = grammar;
    this.settings = settings;
    this.state = { lamp: grammar.initialLamp, grid: new TextGrid(grammar.rows, grammar.columns) };
  }

  /** Bytes held for a command not complete yet (for diagnostics). */
  get bufferedLength(): number {
    return this.pending.length;
  }

  /** When `flush` would cut what is open, or null when nothing is open. */
  get idleDueMono(): number | null {
    if (this.lastByteMono === null || !this.isOpen()) return null;
    return this.lastByteMono + this.settings.idleMs;
  }

  /** Feeds one read; `nowMono` is when it arrived. Returns what it completed, in wire order. */
  push(bytes: Uint8Array, nowMono: number): ScreenEvent[] {
    const out: ScreenEvent[] = [];
    if (bytes.length === 0) return out;
    if (this.lastByteMono !== null && nowMono - this.lastByteMono >= this.settings.idleMs) this.cut(out);
    this.lastByteMono = nowMono;
    this.consume(bytes, out);
    return out;
  }

  /** The runner's idle timer: cuts what is open if the line has been quiet for `idleMs`. */
  flush(nowMono: number): ScreenEvent[] {
    const out: ScreenEvent[] = [];
    if (this.lastByteMono !== null && nowMono - this.lastByteMono >= this.settings.idleMs) this.cut(out);
    return out;
  }

  /** The stream is over (a capture file ends): cuts everything open. */
  end(): ScreenEvent[] {
    const out: ScreenEvent[] = [];
    this.cut(out);
    return out;
  }

  private isOpen(): boolean {
    return this.pending.length > 0 || this.textRun || this.skipping !== null;
  }

  private cut(out: ScreenEvent[]): void {
    if (this.pending.length > 0) {
      this.remember(this.pending, 0, this.pending.length);
      this.discard(out, "incomplete", this.pending.length);
      this.pending = new Uint8Array(0);
    }
    this.skipping = null;
    this.closeGbPair();
    this.flushNoise(out);
    if (this.textRun) this.update(out, "lines");
  }

  private consume(bytes: Uint8Array, out: ScreenEvent[]): void {
    const work = this.pending.length === 0 ? bytes : concatBytes(this.pending, bytes);
    let i = 0;
    while (i < work.length) {
      if (this.skipping !== null) {
        const reason = this.skipping;
        const b = work[i] as number;
        // The skipped line ends at its CR; a byte that starts a command resyncs at once.
        if (b === ESC || b === FF || b === US) {
          this.skipping = null;
          continue;
        }
        if (b === CR) this.skipping = null;
        this.remember(work, i, i + 1);
        this.discard(out, reason, 1);
        i++;
        continue;
      }
      const step = this.grammar.read(work, i, work.length);
      if (step.kind === "need") {
        if (work.length - i > this.grammar.maxCommandBytes) {
          // A grammar bug, not a wire fault: still never hold more than the cap.
          this.remember(work, i, work.length);
          this.discard(out, "overflow", work.length - i);
          i = work.length;
        }
        break;
      }
      if (step.kind === "junk") {
        this.remember(work, i, i + step.length);
        this.discard(out, step.reason, step.length);
        if (step.skipLine) this.skipping = step.reason;
      } else if (step.kind === "text") {
        this.flushNoise(out);
        this.remember(work, i, i + step.length);
        for (let k = i; k < i + step.length; k++) {
          this.state.grid.write(work[k] as number);
          this.judgeText(work[k] as number);
        }
        this.decodedTotal += step.length;
        this.textRun = true;
      } else {
        this.flushNoise(out);
        // The text before this command is reported as it stood, before the command changes it.
        if (this.textRun) this.update(out, "lines");
        this.remember(work, i, i + step.length);
        step.apply(this.state);
        this.decodedTotal += step.length;
        if (step.length >= 2) this.escapesRead++;
        this.closeGbPair();
        if (step.change !== null) this.update(out, step.change);
      }
      i += step.length;
    }
    this.flushNoise(out);
    // Copy: the caller may reuse its read buffer.
    this.pending = i < work.length ? work.slice(i) : new Uint8Array(0);
  }

  /** Adds to the run of discarded bytes; a run is reported when something else happens. */
  private discard(out: ScreenEvent[], reason: DiscardReason, length: number): void {
    if (this.noise !== null && this.noise.reason !== reason) this.flushNoise(out);
    if (this.noise === null) this.noise = { reason, length: 0 };
    this.noise.length += length;
    this.discardedTotal += length;
  }

  private flushNoise(out: ScreenEvent[]): void {
    if (this.noise === null) return;
    out.push({ type: "discarded", length: this.noise.length, reason: this.noise.reason });
    this.noise = null;
  }

  private judgeText(b: number): void {
    if (this.gbLead) {
      this.gbLead = false;
      if (b >= 0xa1 && b <= 0xfe) return;
      this.implausibleText++; // the lead byte without its trail
    }
    if (b >= 0xa1 && b <= 0xf7) this.gbLead = true;
    else if (b >= 0x80) this.implausibleText++;
  }

  private closeGbPair(): void {
    if (this.gbLead) this.implausibleText++;
    this.gbLead = false;
  }

  private update(out: ScreenEvent[], change: ScreenChange): void {
    this.textRun = false;
    out.push({ type: "update", change, screen: this.snapshot(), evidence: this.tail.slice() });
  }

  private snapshot(): Screen {
    const decode = this.settings.decodeText;
    return {
      lamp: this.state.lamp,
      lines: this.state.grid.rowBytes().map((row) => (row.length === 0 ? "" : decode(row).trimEnd())),
    };
  }

  private remember(bytes: Uint8Array, from: number, to: number): void {
    const max = this.settings.evidenceBytes;
    const joined = concatBytes(this.tail, bytes.subarray(from, to));
    this.tail = joined.length > max ? joined.slice(joined.length - max) : joined;
  }
}
