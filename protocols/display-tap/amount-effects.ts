// What the display-tap amount machine asks its runner (the daemon's lane) to do, and the
// accumulator that keeps the durable ones first — the same contract as
// protocols/sale/sale-outcomes.ts `Effects`: the runner makes `bound` and `totalChanged` durable
// (the sale's journal record carries the binding, or its voiding) before it acts on anything
// after them, and stops at the first failed write.
import type { ReadingKind } from "./amount-text.js";
import type { Screen } from "./screen-event.js";

/**
 * A scan tied to a displayed total: what the sale's journal record must carry so anyone can later
 * say where the amount came from (scanbox-anchors.md §5 "amount provenance"): the source, the
 * total's sequence number (Alipay's bizNo), the amount, and the wire bytes it was read from. The
 * daemon hashes `evidence` (SHA-256 in daemon/, which can import node:crypto) and journals the
 * hash; the same capture reproduces the same bytes.
 */
export interface AmountBinding {
  source: "displayTap";
  seq: number;
  amountFen: number;
  /** The screen when the total was accepted. */
  screen: Screen;
  /** The wire bytes up to the command that first showed this total (ScreenEvent `evidence`). */
  evidence: Uint8Array;
  /** When the total first appeared, was accepted, and the scan was bound (monotonic ms). */
  shownMono: number;
  acceptedMono: number;
  boundMono: number;
}

/**
 * Why a scan is not charged. The code is dropped (never kept); the runner tells the customer.
 * - `noTotal`: no total on the display (cleared, a bare number, a zero total).
 * - `tender`: a cash tender or change is shown (收款/找零): no charge at all.
 * - `price`: a unit price or subtotal is shown, not a total.
 * - `unreadable`: a total is shown that cannot be read safely (three decimals, two totals …).
 * - `overMax`: the total is above the configured maximum.
 * - `changed`: the total changed while the scan waited for it to settle.
 * - `spent`: this total was already sent for payment; a new one must be shown to charge again.
 * - `busy`: another scan is bound or waiting.
 */
export type ScanRefusal =
  | "noTotal"
  | "tender"
  | "price"
  | "unreadable"
  | "overMax"
  | "changed"
  | "spent"
  | "busy";

export type AmountEffect =
  /** A total has been shown, unchanged, for `stableMs`: a scan now binds to it. */
  | { type: "totalAccepted"; seq: number; amountFen: number; screen: Screen }
  /** The accepted total is no longer shown (cleared, replaced, a tender started). */
  | { type: "totalWithdrawn"; seq: number; amountFen: number; now: ReadingKind }
  /** A scan came while a total was settling: it binds when the total is accepted (by `dueMono`). */
  | { type: "scanWaiting"; amountFen: number; dueMono: number }
  /** Durable. The scan is bound to this total: journal it with the sale, then `send`. */
  | { type: "bound"; binding: AmountBinding }
  | { type: "scanRefused"; reason: ScanRefusal; amountFen: number | null }
  /**
   * Durable. The total changed after the scan and before the request was sent: the binding is void
   * and NOTHING may be sent. Show the new total (if any) and ask for a rescan.
   */
  | { type: "totalChanged"; seq: number; amountFen: number; newAmountFen: number | null; now: ReadingKind }
  /** Answer to `send`: the bound total is still shown; publish the request now, in this same turn. */
  | { type: "sendApproved"; seq: number; amountFen: number }
  /** Answer to `send`: nothing is bound under this seq (voided, released or never bound): do not send. */
  | { type: "sendRefused"; seq: number };

const DURABLE: ReadonlySet<AmountEffect["type"]> = new Set(["bound", "totalChanged"]);

/** Effects of one step; `list()` returns the durable ones first, in the order they were added. */
export class AmountEffects {
  private readonly durable: AmountEffect[] = [];
  private readonly rest: AmountEffect[] = [];

  add(...effects: AmountEffect[]): this {
    for (const effect of effects) (DURABLE.has(effect.type) ? this.durable : this.rest).push(effect);
    return this;
  }

  list(): AmountEffect[] {
    return [...this.durable, ...this.rest];
  }
}

/** Whether the runner must make this effect durable before acting on the ones after it. */
export function isDurable(effect: AmountEffect): boolean {
  return DURABLE.has(effect.type);
}
