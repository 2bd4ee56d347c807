// Helpers for the display-tap tests: fixtures, capture text → bytes, feeding a reader at split
// points or a byte at a time, and comparing event lists whatever the read boundaries were.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CaptureChunk, parseCapture } from "../../../protocols/display-tap/capture.js";
import { type DisplayDialect, isDisplayDialect } from "../../../protocols/display-tap/dialects.js";
import type { DisplayReader } from "../../../protocols/display-tap/display-reader.js";
import type { ScreenEvent } from "../../../protocols/display-tap/screen-event.js";

export const FIXTURES = new URL("../../fixtures/display-tap/", import.meta.url).pathname;

const gbDecoder = new TextDecoder("gb18030");
/** GB18030 text, as the daemon's decoder reads it (a test may use the global decoder). */
export const gb = (bytes: Uint8Array): string => gbDecoder.decode(bytes);

export interface Fixture {
  name: string;
  dialect: DisplayDialect;
  chunks: CaptureChunk[];
  timed: boolean;
  /** All bytes, in order. */
  bytes: Uint8Array;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".hex"))
    .sort();
}

export function fixture(name: string): Fixture {
  const text = readFileSync(join(FIXTURES, name), "utf8");
  const dialect = /^# dialect: (\S+)$/m.exec(text)?.[1];
  if (!isDisplayDialect(dialect)) throw new Error(`${name}: no "# dialect:" line`);
  const parsed = parseCapture(text);
  if (!parsed.ok) throw new Error(`${name}, line ${parsed.line}: ${parsed.message}`);
  const bytes = Uint8Array.from(parsed.chunks.flatMap((c) => [...c.bytes]));
  return { name, dialect, chunks: parsed.chunks, timed: parsed.timed, bytes };
}

/** Capture text (hex, "ASCII") → bytes. */
export function bytesOf(text: string): Uint8Array {
  const parsed = parseCapture(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return Uint8Array.from(parsed.chunks.flatMap((c) => [...c.bytes]));
}

/** Pushes `bytes` cut at `cuts`, all at `now`, then ends the stream. */
export function feedCuts(
  reader: DisplayReader,
  bytes: Uint8Array,
  cuts: readonly number[],
  now = 0,
): ScreenEvent[] {
  const out: ScreenEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...reader.push(bytes.subarray(from, cut), now));
    from = cut;
  }
  return [...out, ...reader.end()];
}

/** One byte per push, `stepMs` apart, the reader's idle timer served as a runner would; then the end. */
export function feedDrip(
  reader: DisplayReader,
  bytes: Uint8Array,
  stepMs: number,
  startMs = 0,
): ScreenEvent[] {
  const out: ScreenEvent[] = [];
  let now = startMs;
  for (const b of bytes) {
    const due = reader.idleDueMono;
    if (due !== null && due <= now) out.push(...reader.flush(due));
    out.push(...reader.push(Uint8Array.of(b), now));
    now += stepMs;
  }
  return [...out, ...reader.end()];
}

/**
 * Events with adjacent discards of one reason merged: how many bytes a run of noise is reported
 * in depends on where reads end (as with the ECR framer), what was dropped does not.
 */
export function merged(events: readonly ScreenEvent[]): ScreenEvent[] {
  const out: ScreenEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === "discarded" && last?.type === "discarded" && last.reason === e.reason) {
      out[out.length - 1] = { ...last, length: last.length + e.length };
    } else {
      out.push(e);
    }
  }
  return out;
}

/** The updates only, as [lamp, lines] pairs, for short expectations. */
export function screens(events: readonly ScreenEvent[]): [string | null, readonly string[]][] {
  return events.flatMap((e) =>
    e.type === "update" ? [[e.screen.lamp, e.screen.lines] as [string | null, readonly string[]]] : [],
  );
}

/** A seeded PRNG (mulberry32), so a property test fails the same way every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
