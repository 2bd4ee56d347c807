// What a display screen says about money: a total to charge, a unit price, a cash tender, or
// nothing (scanbox-anchors.md §2.1.3 steps 2 and 5). Pure text rules; the amount machine decides
// when a total has been shown long enough to charge.
//
// - An LED display's lamp decides what its number is: 合计 lit → a total; 单价 → a price; 收款 or
//   找零 → a cash tender in progress, never charged. Unlit, unknown or 谢谢惠顾 → a bare number.
// - A text display has no lamps: a label decides. The amount of a total label is the first number
//   after it on its line, else the first number on the next line (Hisense: "TOTAL" on line 1, the
//   amount on line 2). A tender label (收款/找零/CASH/CHANGE …) anywhere on the screen means no
//   charge, whatever else it shows. Labels are configurable (乐惠's 金额前缀 is a total label).
// - Amounts go from text to integer fen by their digits, never through floating point: "12.34",
//   "¥12.34", "12.3", "1,234.50", full-width "１２．３４", "合计：12.34". Anything doubtful is not a
//   total: three decimals, a comma that is not a thousands separator, a sign, a number without a
//   decimal point unless the rules say what it means (`wholeNumbers`), more than 10 yuan digits.

import type { Screen } from "./screen-event.js";

/**
 * A number shown without a decimal point: "refuse" (not an amount: the default, as "1250" could
 * be 12.50 or 1250 yuan), "yuan" (12 → 1200 fen) or "fen" (an implied point before the last two
 * digits: 1250 → 1250 fen, as some LED displays send).
 */
export type WholeNumbers = "refuse" | "yuan" | "fen";

export interface AmountRules {
  /** Labels of the total to charge. */
  total: readonly string[];
  /** Labels of amounts that are never charged: unit price, subtotal, discount. */
  notCharged: readonly string[];
  /** Labels of a cash tender in progress: nothing is charged while one is shown. */
  tender: readonly string[];
  /**
   * Phrases that contain a label word but are no label ("PAY CODE" holds PAY, 收款码 holds 收款):
   * the longer match wins, so they hide the word and mean nothing themselves.
   */
  ignore: readonly string[];
  wholeNumbers: WholeNumbers;
}

/**
 * Chinese and English labels as Chinese POS software shows them (the javaPos drivers label their
 * messages Price/Total/Pay/Change; §2.1.3 names 合计/总计/应收/TOTAL). ASCII labels match whole
 * words, case-insensitively; so SUBTOTAL is not TOTAL, and "SUB TOTAL" matches the longer label.
 */
export const DEFAULT_AMOUNT_RULES: AmountRules = {
  total: ["合计", "总计", "应收", "应付", "TOTAL", "AMOUNT DUE"],
  notCharged: [
    "单价",
    "小计",
    "价格",
    "原价",
    "数量",
    "折扣",
    "优惠",
    "PRICE",
    "SUBTOTAL",
    "SUB TOTAL",
    "SUB-TOTAL",
    "QTY",
    "DISCOUNT",
  ],
  tender: ["收款", "实收", "找零", "现金", "收现", "CASH", "CHANGE", "PAY", "PAID", "TENDER"],
  ignore: ["PAY CODE", "付款码", "收款码"],
  wholeNumbers: "refuse",
};

const WHOLE_NUMBERS: readonly WholeNumbers[] = ["refuse", "yuan", "fen"];
const LABEL_LISTS = ["total", "notCharged", "tender", "ignore"] as const;

/** The rules with `overrides` on the defaults; throws TypeError naming the bad field. */
export function amountRules(overrides: Partial<AmountRules> = {}): AmountRules {
  const o = overrides as Record<string, unknown>;
  if (typeof o !== "object" || o === null) throw new TypeError("amount rules must be an object");
  for (const key of Object.keys(o)) {
    if (key !== "wholeNumbers" && !(LABEL_LISTS as readonly string[]).includes(key)) {
      throw new TypeError(`unknown amount rule ${JSON.stringify(key)}`);
    }
  }
  const rules = { ...DEFAULT_AMOUNT_RULES, ...overrides };
  for (const key of LABEL_LISTS) {
    const list = rules[key] as unknown;
    if (!Array.isArray(list) || list.some((l) => typeof l !== "string" || normalise(l).trim() === "")) {
      throw new TypeError(`${key} must be a list of non-empty labels`);
    }
    if (list.some((l: string) => /[0-9.,¥]/.test(normalise(l)))) {
      throw new TypeError(
        `${key} labels must not contain digits, '.', ',' or '¥' (they would read as amounts)`,
      );
    }
  }
  if (rules.total.length === 0) throw new TypeError("total must name at least one label");
  if (!WHOLE_NUMBERS.includes(rules.wholeNumbers)) {
    throw new TypeError(
      `wholeNumbers must be one of ${WHOLE_NUMBERS.join(", ")}, got ${String(rules.wholeNumbers)}`,
    );
  }
  return rules;
}

export type AmountTextError = "negative" | "decimals" | "grouping" | "noPoint" | "tooLarge";

export type ParsedAmount = { ok: true; fen: number } | { ok: false; error: AmountTextError };

/** A number found in a line: where it is (in the normalised line) and what it is worth. */
export interface AmountToken {
  start: number;
  end: number;
  text: string;
  parsed: ParsedAmount;
}

/** More yuan digits than this and the number is not an amount (10^10 yuan; fen stays exact). */
const MAX_YUAN_DIGITS = 10;

// An optional sign and currency mark, digits with optional comma groups, an optional fraction.
// Not preceded by an ASCII letter, digit, point or comma (not the middle of "LANE2" or "1.2.3"),
// not followed by a letter or digit.
const NUMBER = /(?<![A-Za-z0-9.,])(-\s*)?(?:(?:¥|RMB|CNY)\s*)?(-\s*)?(\d+(?:,\d+)*)(\.\d*)?(?![A-Za-z0-9])/g;

/**
 * Full-width forms to ASCII (NFKC: "１２．３４" → "12.34", "：" → ":", "￥" → "¥"), the minus
 * sign U+2212 to "-", ASCII upper case for label matching.
 */
export function normalise(text: string): string {
  return text.normalize("NFKC").replaceAll("\u2212", "-").toUpperCase();
}

/** Every number in a (normalised) line, in order. */
export function findAmounts(line: string, wholeNumbers: WholeNumbers): AmountToken[] {
  const found: AmountToken[] = [];
  for (const m of line.matchAll(NUMBER)) {
    const [text, sign1, sign2, digits, fraction] = m;
    const start = m.index;
    found.push({
      start,
      end: start + text.length,
      text,
      parsed: parseDigits(
        sign1 !== undefined || sign2 !== undefined,
        digits as string,
        fraction,
        wholeNumbers,
      ),
    });
  }
  return found;
}

/** One amount as a display shows it ("¥1,234.50", "１２．３"), to fen. */
export function parseAmountText(text: string, wholeNumbers: WholeNumbers = "refuse"): ParsedAmount | null {
  const normal = normalise(text).trim();
  const tokens = findAmounts(normal, wholeNumbers);
  const only = tokens[0];
  if (only === undefined || tokens.length > 1 || only.start !== 0 || only.end !== normal.length) return null;
  return only.parsed;
}

function parseDigits(
  negative: boolean,
  digits: string,
  fraction: string | undefined,
  wholeNumbers: WholeNumbers,
): ParsedAmount {
  if (negative) return { ok: false, error: "negative" };
  if (digits.includes(",") && !/^\d{1,3}(,\d{3})+$/.test(digits)) return { ok: false, error: "grouping" };
  const whole = digits.replaceAll(",", "").replace(/^0+(?=\d)/, "");
  if (fraction === undefined) {
    if (wholeNumbers === "refuse") return { ok: false, error: "noPoint" };
    if (wholeNumbers === "fen") {
      // An implied point: the last two digits are fen.
      return whole.length > MAX_YUAN_DIGITS + 2
        ? { ok: false, error: "tooLarge" }
        : { ok: true, fen: Number(whole) };
    }
    return whole.length > MAX_YUAN_DIGITS
      ? { ok: false, error: "tooLarge" }
      : { ok: true, fen: Number(`${whole}00`) };
  }
  const decimals = fraction.slice(1);
  if (decimals.length > 2) return { ok: false, error: "decimals" };
  if (whole.length > MAX_YUAN_DIGITS) return { ok: false, error: "tooLarge" };
  // Digits to an integer in one step: "12" + "30" → 1230. Exact: at most 12 digits < 2^53.
  return { ok: true, fen: Number(whole + decimals.padEnd(2, "0")) };
}

export type LabelKind = (typeof LABEL_LISTS)[number];

interface LabelHit {
  start: number;
  end: number;
  kind: LabelKind;
  label: string;
}

/** Labels in a normalised line; where two overlap the longer wins ("SUB TOTAL" over "TOTAL"). */
function findLabels(line: string, rules: AmountRules): LabelHit[] {
  const hits: LabelHit[] = [];
  for (const kind of LABEL_LISTS) {
    for (const raw of rules[kind]) {
      const label = normalise(raw);
      const ascii = /^[\x20-\x7e]+$/.test(label);
      for (let at = line.indexOf(label); at >= 0; at = line.indexOf(label, at + 1)) {
        const end = at + label.length;
        if (ascii && (isWordChar(line[at - 1]) || isWordChar(line[end]))) continue;
        hits.push({ start: at, end, kind, label: raw });
      }
    }
  }
  hits.sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start));
  const kept: LabelHit[] = [];
  for (const hit of hits) {
    const last = kept[kept.length - 1];
    if (last !== undefined && hit.start < last.end) continue;
    kept.push(hit);
  }
  return kept;
}

/** Whether a line shows any of the rules' labels (detect.ts: text, not LED digits). */
export function hasLabel(line: string, rules: AmountRules): boolean {
  return findLabels(normalise(line), rules).some((hit) => hit.kind !== "ignore");
}

/** A letter: an ASCII label must not be part of a longer word (SUBTOTAL); a digit may touch it (TOTAL12.50). */
function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Z]/.test(c);
}

export type ReadingKind =
  /** A total: chargeable when its amount is above zero (isChargeable). */
  | "total"
  /** A unit price, subtotal or discount: never charged. */
  | "price"
  /** A cash tender or change is shown: nothing is charged. */
  | "tender"
  /** Nothing: cleared, or text without an amount. */
  | "blank"
  /** A number no lamp or label says is a total. */
  | "unlabelled"
  /** A total that cannot be read safely (why in `basis`): never charged. */
  | "unreadable";

export interface ScreenReading {
  kind: ReadingKind;
  /** The amount shown for that kind, in fen; null when there is none or it could not be read. */
  amountFen: number | null;
  /** What decided it, for a technician: "lamp total", "label 合计", "label 找零", "3 decimals" … */
  basis: string;
}

const ERROR_TEXT: Record<AmountTextError, string> = {
  negative: "a negative amount",
  decimals: "more than 2 decimals",
  grouping: "a comma that is not a thousands separator",
  noPoint: "a number without a decimal point (see wholeNumbers)",
  tooLarge: "more than 10 yuan digits",
};

/** What the screen shows, by the lamp or the labels. */
export function readScreen(screen: Screen, rules: AmountRules): ScreenReading {
  const lines = screen.lines.map(normalise);
  const labels = lines.map((line) => findLabels(line, rules));
  const amounts = lines.map((line) => findAmounts(line, rules.wholeNumbers));
  const first = amounts.flat()[0];
  const fenOf = (t: AmountToken | undefined | null) => (t?.parsed.ok ? t.parsed.fen : null);

  /** The amount a label belongs to: after it on its line, else the first on a next line without labels. */
  const amountAfter = (row: number, hit: LabelHit): AmountToken | null => {
    const rowLabels = labels[row] as LabelHit[];
    const nextLabel = rowLabels.find((l) => l.start >= hit.end)?.start ?? Number.POSITIVE_INFINITY;
    const same = (amounts[row] as AmountToken[]).find((t) => t.start >= hit.end && t.start < nextLabel);
    if (same !== undefined) return same;
    // "TOTAL12.50" with no space: the number right after the label.
    const glued = findAmounts((lines[row] as string).slice(hit.end), rules.wholeNumbers)[0];
    if (glued !== undefined && glued.start === 0) return glued;
    if (nextLabel !== Number.POSITIVE_INFINITY) return null;
    const next = row + 1;
    if (next < lines.length && (labels[next] as LabelHit[]).every((l) => l.kind === "ignore"))
      return (amounts[next] as AmountToken[])[0] ?? null;
    return null;
  };
  const hitsOf = (kind: LabelKind) =>
    labels.flatMap((row, r) => row.filter((h) => h.kind === kind).map((hit) => ({ row: r, hit })));

  if (screen.lamp === "collect" || screen.lamp === "change") {
    return { kind: "tender", amountFen: fenOf(first), basis: `lamp ${screen.lamp}` };
  }
  const tender = hitsOf("tender")[0];
  if (tender !== undefined) {
    return {
      kind: "tender",
      amountFen: fenOf(amountAfter(tender.row, tender.hit)),
      basis: `label ${tender.hit.label}`,
    };
  }

  if (screen.lamp !== null) {
    if (screen.lamp === "total") {
      if (first === undefined) return { kind: "blank", amountFen: null, basis: "lamp total, no number" };
      if (!first.parsed.ok) {
        return {
          kind: "unreadable",
          amountFen: null,
          basis: `lamp total: ${ERROR_TEXT[first.parsed.error]}`,
        };
      }
      return { kind: "total", amountFen: first.parsed.fen, basis: "lamp total" };
    }
    if (screen.lamp === "price") return { kind: "price", amountFen: fenOf(first), basis: "lamp price" };
    return first === undefined
      ? { kind: "blank", amountFen: null, basis: `lamp ${screen.lamp}` }
      : { kind: "unlabelled", amountFen: fenOf(first), basis: `lamp ${screen.lamp}` };
  }

  const totals = hitsOf("total");
  if (totals.length > 0) {
    const found = totals.map(({ row, hit }) => ({ hit, token: amountAfter(row, hit) }));
    for (const { hit, token } of found) {
      if (token === null)
        return { kind: "unreadable", amountFen: null, basis: `label ${hit.label} without an amount` };
      if (!token.parsed.ok) {
        return {
          kind: "unreadable",
          amountFen: null,
          basis: `label ${hit.label}: ${ERROR_TEXT[token.parsed.error]}`,
        };
      }
    }
    const values = new Set(found.map(({ token }) => fenOf(token)));
    const label = (found[0] as { hit: LabelHit }).hit.label;
    if (values.size > 1) return { kind: "unreadable", amountFen: null, basis: "two different totals" };
    return {
      kind: "total",
      amountFen: fenOf((found[0] as { token: AmountToken }).token),
      basis: `label ${label}`,
    };
  }
  const price = hitsOf("notCharged")[0];
  if (price !== undefined) {
    return {
      kind: "price",
      amountFen: fenOf(amountAfter(price.row, price.hit)),
      basis: `label ${price.hit.label}`,
    };
  }
  return first === undefined
    ? { kind: "blank", amountFen: null, basis: "no amount" }
    : { kind: "unlabelled", amountFen: fenOf(first), basis: "no label" };
}

/** A total above zero and at most `maxAmountFen`: the only reading a scan may be charged for. */
export function isChargeable(reading: ScreenReading, maxAmountFen: number): boolean {
  return (
    reading.kind === "total" &&
    reading.amountFen !== null &&
    reading.amountFen > 0 &&
    reading.amountFen <= maxAmountFen
  );
}
