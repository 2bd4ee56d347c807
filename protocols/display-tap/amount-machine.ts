// Deciding the amount to charge from what the register's display shows (no-integration mode,
// scanbox-anchors.md §2.1.3 steps 3–4). A pure step: (state, input, nowMono) → {state, effects}.
// No timers: the runner arms one for `amountDueMono(state)` and feeds `tick` when it fires.
//
// - Only a total is chargeable (amount-text.ts: the 合计 lamp or a total label, above zero and at
//   most maxAmountFen). A unit price never is; a cash tender or change (收款/找零) means no charge.
// - A total must stay on the display, unchanged, for `stableMs` before it is accepted: a lamp and
//   its number arrive as two updates (either order), so for a few ms the display shows the new lamp
//   over the old number; that never lasts long enough to be charged. A re-sent identical total
//   (a refresh) changes nothing; anything else on the display in between — a clear, another amount,
//   a tender — starts over.
// - Every accepted total gets the next sequence number (`lastSeq` + 1). A scan binds to the total
//   on the display: at once if it is accepted, or as soon as it is if it is still settling (the
//   customer saw it; it must only stay put). Anything else is refused with a reason.
// - Between the scan and the request going out, the display may change. Then the binding is void
//   (`totalChanged`, durable) and `send` is refused: nothing is sent, the customer rescans for the
//   new total. The runner asks with `send` in the same turn it publishes, so nothing can slip in.
// - A total that was sent is spent: scanning again while it is still shown is refused (`spent`)
//   until the register shows a new total, or the runner releases it (the payment failed).
import { AmountEffects, type AmountBinding, type AmountEffect, type ScanRefusal } from "./amount-effects.js";
import {
  type AmountRules,
  amountRules,
  isChargeable,
  readScreen,
  type ScreenReading,
} from "./amount-text.js";
import type { Screen, ScreenEvent } from "./screen-event.js";

export interface AmountMachineOptions {
  /** How long a total must stay unchanged before a scan may be charged for it. Default 800, 200..10000 ms. */
  stableMs?: number;
  /** Label and number rules (amount-text.ts); unset fields keep DEFAULT_AMOUNT_RULES. */
  rules?: Partial<AmountRules>;
  /** The largest total charged; a positive safe integer. Default 99 999 999 (999 999.99 yuan). */
  maxAmountFen?: number;
  /** The highest sequence number already used (from the journal), so numbers keep rising. Default 0. */
  lastSeq?: number;
}

export interface AmountSettings {
  readonly stableMs: number;
  readonly rules: AmountRules;
  readonly maxAmountFen: number;
}

/** The display as last read. */
export interface Shown {
  readonly reading: ScreenReading;
  readonly chargeable: boolean;
  readonly screen: Screen;
  /** When this reading first appeared (a refresh of the same total keeps it). */
  readonly sinceMono: number;
  readonly evidence: Uint8Array;
}

/** An accepted total still on the display. */
export interface StandingTotal {
  readonly seq: number;
  readonly amountFen: number;
  readonly screen: Screen;
  readonly evidence: Uint8Array;
  readonly shownMono: number;
  readonly acceptedMono: number;
}

export interface AmountState {
  readonly settings: AmountSettings;
  readonly lastSeq: number;
  readonly shown: Shown | null;
  readonly standing: StandingTotal | null;
  /** A scan waiting for the shown total to settle. */
  readonly waiting: { readonly scanMono: number } | null;
  /** The binding waiting for `send`. */
  readonly bound: AmountBinding | null;
  /** The seq of the last total sent; not bound again while it stands, unless released. */
  readonly spentSeq: number | null;
}

export type AmountInput =
  | ScreenEvent
  /** The runner's timer (at `amountDueMono`); any input also counts as one. */
  | { type: "tick" }
  /** A payment code was scanned (the code itself stays with the runner). */
  | { type: "scan" }
  /** The runner is about to publish the request bound under `seq`: approve or refuse, now. */
  | { type: "send"; seq: number }
  /**
   * The runner will not send `seq`, or its payment ended without money moving (declined,
   * cancelled): the binding is dropped and the total may be charged again while it stands.
   */
  | { type: "release"; seq: number };

export interface AmountStep {
  state: AmountState;
  effects: AmountEffect[];
}

type Draft = { -readonly [K in keyof AmountState]: AmountState[K] };

export function amountSettings(options: AmountMachineOptions = {}): AmountSettings {
  const { stableMs = 800, rules = {}, maxAmountFen = 99_999_999 } = options;
  if (!Number.isInteger(stableMs) || stableMs < 200 || stableMs > 10_000) {
    throw new TypeError(`stableMs must be an integer 200..10000, got ${String(stableMs)}`);
  }
  if (!Number.isSafeInteger(maxAmountFen) || maxAmountFen < 1) {
    throw new TypeError(`maxAmountFen must be a positive safe integer, got ${String(maxAmountFen)}`);
  }
  return { stableMs, rules: amountRules(rules), maxAmountFen };
}

export function initialAmountState(options: AmountMachineOptions = {}): AmountState {
  const { lastSeq = 0 } = options;
  if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) {
    throw new TypeError(`lastSeq must be a safe integer >= 0, got ${String(lastSeq)}`);
  }
  return {
    settings: amountSettings(options),
    lastSeq,
    shown: null,
    standing: null,
    waiting: null,
    bound: null,
    spentSeq: null,
  };
}

export function stepAmount(state: AmountState, input: AmountInput, nowMono: number): AmountStep {
  const s: Draft = { ...state };
  const out = new AmountEffects();
  settle(s, nowMono, out);
  switch (input.type) {
    case "update":
      onScreen(s, input, nowMono, out);
      break;
    case "scan":
      onScan(s, nowMono, out);
      break;
    case "send":
      if (s.bound !== null && s.bound.seq === input.seq) {
        out.add({ type: "sendApproved", seq: input.seq, amountFen: s.bound.amountFen });
        s.spentSeq = input.seq;
        s.bound = null;
      } else {
        out.add({ type: "sendRefused", seq: input.seq });
      }
      break;
    case "release":
      if (s.bound?.seq === input.seq) s.bound = null;
      if (s.spentSeq === input.seq) s.spentSeq = null;
      break;
    case "tick":
    case "discarded":
      break;
  }
  return { state: s, effects: out.list() };
}

/** When a shown total becomes accepted (arm a timer and feed `tick`), or null. */
export function amountDueMono(state: AmountState): number | null {
  const { shown, standing } = state;
  if (shown === null || !shown.chargeable || standing !== null) return null;
  return shown.sinceMono + state.settings.stableMs;
}

/** The accepted total on the display now: what a scan would be charged. */
export function standingTotal(state: AmountState): { seq: number; amountFen: number } | null {
  const { standing } = state;
  return standing === null ? null : { seq: standing.seq, amountFen: standing.amountFen };
}

/** Accepts the shown total once it has stood for stableMs; a waiting scan binds to it. */
function settle(s: Draft, now: number, out: AmountEffects): void {
  const due = amountDueMono(s);
  const shown = s.shown;
  if (due === null || shown === null || now < due) return;
  const seq = s.lastSeq + 1;
  const amountFen = shown.reading.amountFen as number;
  s.lastSeq = seq;
  s.standing = {
    seq,
    amountFen,
    screen: shown.screen,
    evidence: shown.evidence,
    shownMono: shown.sinceMono,
    acceptedMono: due,
  };
  out.add({ type: "totalAccepted", seq, amountFen, screen: shown.screen });
  if (s.waiting !== null) {
    s.waiting = null;
    bind(s, now, out);
  }
}

function onScreen(
  s: Draft,
  event: Extract<ScreenEvent, { type: "update" }>,
  now: number,
  out: AmountEffects,
): void {
  const { settings } = s;
  const reading = readScreen(event.screen, settings.rules);
  const chargeable = isChargeable(reading, settings.maxAmountFen);
  const before = s.shown;
  if (before?.chargeable && chargeable && before.reading.amountFen === reading.amountFen) return;

  if (s.standing !== null) {
    out.add({
      type: "totalWithdrawn",
      seq: s.standing.seq,
      amountFen: s.standing.amountFen,
      now: reading.kind,
    });
    s.standing = null;
  }
  if (s.bound !== null) {
    out.add({
      type: "totalChanged",
      seq: s.bound.seq,
      amountFen: s.bound.amountFen,
      newAmountFen: chargeable ? reading.amountFen : null,
      now: reading.kind,
    });
    s.bound = null;
  }
  if (s.waiting !== null) {
    out.add({ type: "scanRefused", reason: "changed", amountFen: before?.reading.amountFen ?? null });
    s.waiting = null;
  }
  s.shown = { reading, chargeable, screen: event.screen, sinceMono: now, evidence: event.evidence };
}

function onScan(s: Draft, now: number, out: AmountEffects): void {
  if (s.bound !== null || s.waiting !== null) {
    out.add({
      type: "scanRefused",
      reason: "busy",
      amountFen: s.bound?.amountFen ?? s.shown?.reading.amountFen ?? null,
    });
    return;
  }
  if (s.standing !== null) {
    if (s.standing.seq === s.spentSeq) {
      out.add({ type: "scanRefused", reason: "spent", amountFen: s.standing.amountFen });
      return;
    }
    bind(s, now, out);
    return;
  }
  const shown = s.shown;
  if (shown?.chargeable) {
    s.waiting = { scanMono: now };
    out.add({
      type: "scanWaiting",
      amountFen: shown.reading.amountFen as number,
      dueMono: shown.sinceMono + s.settings.stableMs,
    });
    return;
  }
  out.add({ type: "scanRefused", reason: refusal(s), amountFen: shown?.reading.amountFen ?? null });
}

function bind(s: Draft, now: number, out: AmountEffects): void {
  const standing = s.standing as StandingTotal;
  const binding: AmountBinding = {
    source: "displayTap",
    seq: standing.seq,
    amountFen: standing.amountFen,
    screen: standing.screen,
    evidence: standing.evidence,
    shownMono: standing.shownMono,
    acceptedMono: standing.acceptedMono,
    boundMono: now,
  };
  s.bound = binding;
  out.add({ type: "bound", binding });
}

function refusal(s: Draft): ScanRefusal {
  const reading = s.shown?.reading;
  switch (reading?.kind) {
    case "tender":
      return "tender";
    case "price":
      return "price";
    case "unreadable":
      return "unreadable";
    case "total":
      return (reading.amountFen ?? 0) > s.settings.maxAmountFen ? "overMax" : "noTotal";
    default:
      return "noTotal";
  }
}
