// Which serial setting and dialect a register's display line uses, from bytes read at candidate
// settings (scanbox-anchors.md §2.1.1: displays run at 2400 or 9600, parity none/odd/even, and
// vendors disagree about their own models). The daemon reopens the listen port at each setting,
// reads for a while, and hands the samples here; this file only scores them. Pure.
//
// How a sample scores, per dialect: the sample goes through that dialect's reader, then
//   clean     = (bytes read as commands or plausible text) / bytes — noise, unknown escapes,
//               bytes a framing or parity error turned into 00, and text no display font draws
//               (not ASCII, not GB2312) all count against it;
//   structure = min(1, evidence / 6), evidence = escape sequences read + lamps set + 2 × lines
//               that show an amount + (text displays only) 2 × lines that show a label such as
//               合计/TOTAL — an LED shows no words; noise read as plain text has none of these;
//   score     = clean × structure.
// At the right setting the right dialect reads everything (clean 1) with plenty of structure; at a
// wrong baud rate or parity the bytes are garbled and both fall.
//
// Dialects that read a sample equally well (within 0.02) are tied, and then:
// - a dialect that set lamps outranks the lampless ones: they can only read a lamp byte as a
//   character written and at once overwritten by the next line, which no register does;
// - a text dialect that showed labels (合计, TOTAL) outranks the LED dialects: an LED has no
//   letters, so a line with words in it was meant for a text display;
// - dialects that turn the sample into the same readings (kind and amount of every update) are
//   equivalent for it — a register that never sent a lamp — and the one that assumes least is
//   taken (TIE_ORDER);
// - otherwise the sample cannot tell them apart: the verdict is `ambiguous`, never a guess.
import {
  type AmountRules,
  amountRules,
  findAmounts,
  hasLabel,
  normalise,
  readScreen,
} from "./amount-text.js";
import { createDisplayReader, DISPLAY_DIALECTS, type DisplayDialect, dialectInfo } from "./dialects.js";
import type { DisplayReaderOptions } from "./display-reader.js";

export interface SerialSetting {
  baudRate: number;
  parity: "none" | "odd" | "even";
}

/** The settings worth trying on a display line: 2400–19200 baud, 8 data bits, parity none/odd/even. */
export const DETECT_SETTINGS: readonly SerialSetting[] = [2400, 4800, 9600, 19200].flatMap((baudRate) =>
  (["none", "odd", "even"] as const).map((parity) => ({ baudRate, parity })),
);

export interface DialectScore {
  dialect: DisplayDialect;
  score: number;
  clean: number;
  evidence: number;
  lamps: number;
  amountLines: number;
  labelLines: number;
  bytes: number;
  discarded: number;
  /** The kind and amount of every update, to tell equivalent dialects from different ones. */
  readings: string;
}

export interface DetectOptions {
  /** Dialects to try; default all. */
  dialects?: readonly DisplayDialect[];
  /** Reader options (decodeText is not needed: plausibility is judged on bytes). */
  readerOptions?: Omit<DisplayReaderOptions, "decodeText">;
  rules?: Partial<AmountRules>;
}

const EVIDENCE_FOR_FULL_STRUCTURE = 6;
/** A dialect that misreads a tenth of the bytes the best one reads is clearly wrong. */
const DIALECT_MARGIN = 0.1;
/** A wrong setting garbles a lot; one that comes within a quarter is suspicious. */
const SETTING_MARGIN = 0.25;
const TIE = 0.02;
/** Below this the best candidate is not believed at all. */
const MIN_SCORE = 0.5;
/** A sample shorter than this says nothing. */
const MIN_BYTES = 8;

/** How well each dialect reads `bytes`, best first. */
export function scoreDialects(bytes: Uint8Array, options: DetectOptions = {}): DialectScore[] {
  const dialects = options.dialects ?? DISPLAY_DIALECTS;
  const rules = amountRules(options.rules);
  const scores = dialects.map((dialect) => scoreOne(bytes, dialect, rules, options.readerOptions ?? {}));
  return scores.sort(byScore);
}

function scoreOne(
  bytes: Uint8Array,
  dialect: DisplayDialect,
  rules: AmountRules,
  readerOptions: DetectOptions["readerOptions"],
): DialectScore {
  const reader = createDisplayReader(dialect, { ...readerOptions });
  const events = [...reader.push(bytes, 0), ...reader.end()];
  const text = dialectInfo(dialect).shows === "text";
  let lamps = 0;
  let amountLines = 0;
  let labelLines = 0;
  let previous: readonly string[] = [];
  const readings: string[] = [];
  for (const event of events) {
    if (event.type !== "update") continue;
    if (event.change === "lamp" && event.screen.lamp !== "unknown") lamps++;
    if (event.change === "lines") {
      const changed = event.screen.lines.filter((line, i) => line !== previous[i]);
      if (changed.some((line) => findAmounts(normalise(line), rules.wholeNumbers).some((t) => t.parsed.ok))) {
        amountLines++;
      }
      if (text && changed.some((line) => hasLabel(line, rules))) labelLines++;
    }
    previous = event.screen.lines;
    const reading = readScreen(event.screen, rules);
    readings.push(`${reading.kind}:${reading.amountFen}`);
  }
  const total = bytes.length;
  const clean = total === 0 ? 0 : Math.max(0, reader.decodedTotal - reader.implausibleText) / total;
  const evidence = reader.escapesRead + lamps + 2 * amountLines + 2 * labelLines;
  const structure = Math.min(1, evidence / EVIDENCE_FOR_FULL_STRUCTURE);
  return {
    dialect,
    score: clean * structure,
    clean,
    evidence,
    lamps,
    amountLines,
    labelLines,
    bytes: total,
    discarded: reader.discardedTotal,
    readings: readings.join(" "),
  };
}

/**
 * Among tied dialects that set no lamps, the one that assumes least comes first: a register that
 * sends numbers and never a lamp is a value-only display (led8-plain, never charged), not an LED
 * whose lamps were merely not seen (every lamp driver sends the lamp with every number).
 */
const TIE_ORDER: readonly DisplayDialect[] = [
  "led8-plain",
  "cd5220",
  "cd5220-4row",
  "escpos",
  "led8-ascii",
  "led8-binary",
  "led8-partner",
  "led8-bare",
];

/** Score first; at a tie the dialect that set more lamps, then showed more labels; then TIE_ORDER. */
function byScore(a: DialectScore, b: DialectScore): number {
  if (Math.abs(a.score - b.score) > TIE) return b.score - a.score;
  if (a.lamps !== b.lamps) return b.lamps - a.lamps;
  if (a.labelLines !== b.labelLines) return b.labelLines - a.labelLines;
  return TIE_ORDER.indexOf(a.dialect) - TIE_ORDER.indexOf(b.dialect);
}

export interface SettingSample<S> {
  setting: S;
  /** What the port read at that setting. */
  bytes: Uint8Array;
}

export interface DetectCandidate<S> extends DialectScore {
  setting: S;
}

export interface Detection<S> {
  /**
   * - `found`: one setting and one dialect read the line clearly better than anything else.
   * - `ambiguous`: the best setting is clear but several dialects read its sample equally well
   *   (`tied`); more traffic (a sale with lamps) or the technician must decide.
   * - `nothing`: no setting reads like a display line (silent, too short, or not a known dialect).
   */
  verdict: "found" | "ambiguous" | "nothing";
  best: DetectCandidate<S> | null;
  /**
   * 0..1: the best score, scaled down when another dialect at the same setting comes within
   * DIALECT_MARGIN of it or another setting within SETTING_MARGIN, and divided among dialects the
   * sample cannot tell apart.
   */
  confidence: number;
  /** How much better the best reads than the best other dialect (outside the tie) at its setting. */
  dialectMargin: number;
  /** How much better the best reads than anything at another setting. */
  settingMargin: number;
  tied: DisplayDialect[];
  /** Every (setting, dialect) scored, best first. */
  ranking: DetectCandidate<S>[];
  /** One sentence for the technician. */
  reason: string;
}

/** Picks the setting and dialect that read the samples best. */
export function detectDisplay<S>(
  samples: readonly SettingSample<S>[],
  options: DetectOptions = {},
): Detection<S> {
  const ranking = samples
    .flatMap(({ setting, bytes }) => scoreDialects(bytes, options).map((score) => ({ ...score, setting })))
    .sort(byScore);
  const best = ranking[0];
  if (best === undefined || best.bytes < MIN_BYTES || best.score < MIN_SCORE) {
    const longest = Math.max(0, ...samples.map((s) => s.bytes.length));
    return {
      verdict: "nothing",
      best: null,
      confidence: 0,
      dialectMargin: 0,
      settingMargin: 0,
      tied: [],
      ranking,
      reason:
        longest < MIN_BYTES
          ? `the line was silent (at most ${longest} bytes at any setting): ring up a sale while listening`
          : "no setting reads like a known display dialect",
    };
  }
  const level = ranking.filter((c) => c.setting === best.setting && best.score - c.score <= TIE);
  const contenders =
    best.lamps > 0
      ? level.filter((c) => c.lamps > 0)
      : best.labelLines > 0
        ? level.filter((c) => c.labelLines > 0)
        : level;
  const distinct = new Set(contenders.map((c) => c.readings)).size;
  const tied = distinct > 1 ? contenders.map((c) => c.dialect) : [best.dialect];
  const otherDialect = ranking.find((c) => c.setting === best.setting && !level.includes(c));
  const otherSetting = ranking.find((c) => c.setting !== best.setting);
  const dialectMargin = best.score - (otherDialect?.score ?? 0);
  const settingMargin = best.score - (otherSetting?.score ?? 0);
  const confidence =
    (best.score * Math.min(1, dialectMargin / DIALECT_MARGIN) * Math.min(1, settingMargin / SETTING_MARGIN)) /
    distinct;
  const verdict = distinct > 1 ? "ambiguous" : "found";
  const reason =
    verdict === "found"
      ? `${best.dialect} reads ${(best.clean * 100).toFixed(0)}% of the bytes at this setting`
      : `${tied.join(", ")} read this line equally well: it has not shown what tells them apart (lamps)`;
  return { verdict, best, confidence, dialectMargin, settingMargin, tied, ranking, reason };
}
