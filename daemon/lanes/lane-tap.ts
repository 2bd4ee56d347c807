// A lane in no-integration mode (docs/hardware.md): no register asks for sales, so the lane makes
// them up from what the register's customer display shows (daemon/devices/display-tap-port.ts).
// A scan while an accepted total stands binds to it (protocols/display-tap/amount-machine.ts); the
// lane then feeds the SAME sale machine an SA of its own — a new orderRef, the total's amount,
// and where the amount came from (journaled with the sale: amountSource, tapSeq, tapEvidence) —
// followed by the scan. Everything after (journal, attempts, query/reverse, no double charge) is
// the register lane's engine, unchanged.
//
// - The pay request goes out only if the total the scan was bound to is still on the display at
//   that moment (`gate`, asked in the same turn the request is published): if it changed, nothing
//   is sent (the attempt ends `notSent`, no money moved), the display shows the new total, and the
//   open sale is cancelled; the customer rescans.
// - A scan with no accepted total (cleared, a unit price, a cash tender or change 收款/找零) is
//   refused: nothing is sent, no sale is opened.
// - An open sale whose total is no longer on the display, with no payment in flight, is cancelled:
//   a new total opens a new sale. A payment in flight is never cancelled for a display change.
// - A payment that ended without money moving (declined, not sent) releases its total: a rescan
//   charges it again under the same sale. A paid or unknown one keeps it spent: scanning again
//   while the same total stands is refused until the register shows a new one.
// A scan that comes while a total is still settling waits (stableMs at most) for it here: the code
// is held in `waiting` only until the total is accepted or changes, then goes to code custody.
import type { AmountBinding, AmountEffect, ScanRefusal } from "../../protocols/display-tap/amount-effects.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import { type AttemptRecord, isFinalAttempt } from "../../protocols/sale/records.js";
import type { LaneSaleState, SaleInput } from "../../protocols/sale/sale-types.js";
import type { VoicePrompt } from "../../protocols/voice/prompts.js";
import { type DisplayTap, evidenceHash } from "../devices/display-tap-port.js";
import type { Logger } from "../log/logger.js";
import type { CodeCustody, PaySent } from "./code-custody.js";
import type { SaleRunner } from "./sale-runner.js";

export interface LaneTapDeps {
  tap: DisplayTap;
  runner: Pick<SaleRunner, "feed" | "state">;
  custody: Pick<CodeCustody, "hold">;
  newId: () => string;
  /**
   * The attempt id of a scan, asked when the scan's turn comes in the runner (a training sale's
   * carry their own prefix; with group commit the step before may still be committing).
   */
  newAttemptId: () => string;
  log: Logger;
  /**
   * A view on the lane's display (the tap's real display, or the lane's own), and on the lane's
   * voice: `spoken` when the voice says something the view does not (the total changed).
   */
  show(view: DisplayView, spoken?: VoicePrompt): void;
  /** Short, code-free events for P/event. */
  onEvent(kind: string, detail: string): void;
  /**
   * The amount of the last display-tap sale in the journal, unless it was cancelled (lane-journal.ts
   * lastTapSale): after a restart, that total is not charged until the display has shown another.
   */
  guardFen?: number | null;
}

interface OpenSale {
  orderRef: string;
  seq: number;
  /** A cancel was fed for it (the runner steps it next). */
  cancelling: boolean;
}

interface PendingScan {
  code: string;
  atMono: number;
}

/** What the customer is shown when a scan is refused (null: nothing new to show). */
const REFUSAL_VIEW: Record<ScanRefusal, DisplayView | null> = {
  noTotal: { type: "waitForCashier" },
  tender: { type: "waitForCashier" },
  price: { type: "waitForCashier" },
  unreadable: { type: "waitForCashier" },
  overMax: { type: "waitForCashier" },
  changed: null, // shown with the new total (totalChanged / the next update)
  spent: null, // the sale's own result is on the display
  busy: null, // the open sale's view stands
};

export class LaneTap {
  /** The scan being bound now (scan() reports synchronously). */
  private scanning: PendingScan | undefined;
  /** A scan waiting for the shown total to settle. */
  private waiting: PendingScan | undefined;
  /** The sale this lane made up last, while it is open. */
  private open: OpenSale | undefined;
  /** The attempt whose pay request the amount machine approved. */
  private approved: string | undefined;
  /** The tap cancelled the open sale (its total went): its "cancelled" view is replaced. */
  private cancelledByTap = false;
  /** Scans refused, by reason (for diagnostics). */
  readonly refused: Partial<Record<ScanRefusal, number>> = {};

  /** See LaneTapDeps.guardFen; cleared once the display moved on. */
  private guardFen: number | null;

  constructor(private readonly deps: LaneTapDeps) {
    this.guardFen = deps.guardFen ?? null;
  }

  /** A payment code was read (not a repeat): bind it to the standing total, or refuse it. */
  onScan(code: string, nowMono: number): void {
    const cur = this.deps.runner.state.current;
    const open = this.open;
    // The open sale awaits a rescan (its last attempt moved no money): its total may be charged again.
    if (open && cur?.record.orderRef === open.orderRef && !inFlight(cur.attempt))
      this.deps.tap.release(open.seq);
    this.scanning = { code, atMono: nowMono };
    this.deps.tap.scan();
    this.scanning = undefined;
  }

  /** What the amount machine decided (display-tap-port.ts onAmount). */
  onAmount(effect: AmountEffect): void {
    switch (effect.type) {
      case "bound": {
        const scan = this.scanning ?? this.waiting;
        this.scanning = undefined;
        this.waiting = undefined;
        if (!scan) {
          this.deps.tap.release(effect.binding.seq);
          return;
        }
        if (this.guardFen !== null && effect.binding.amountFen === this.guardFen) {
          // The bridge restarted while the register may still show the total it charged last: that
          // total is spent (approved, never sent) until the register shows something else.
          this.deps.tap.approveSend(effect.binding.seq);
          this.deps.log.warn(
            { seq: effect.binding.seq, amountFen: effect.binding.amountFen },
            "scan refused: after a restart the display shows the total of the last sale, which was not cancelled",
          );
          this.deps.show({ type: "waitForCashier" });
          return;
        }
        this.startSale(effect.binding, scan);
        return;
      }
      case "totalAccepted":
        if (effect.amountFen !== this.guardFen) this.guardFen = null;
        return;
      case "scanWaiting":
        this.waiting = this.scanning;
        return;
      case "scanRefused": {
        if (effect.reason !== "busy") this.waiting = undefined;
        this.refused[effect.reason] = (this.refused[effect.reason] ?? 0) + 1;
        this.deps.log.info(
          { reason: effect.reason, amountFen: effect.amountFen },
          "scan refused: no chargeable total on the register's display",
        );
        const view = REFUSAL_VIEW[effect.reason];
        if (view) this.deps.show(view);
        return;
      }
      case "totalChanged":
        this.deps.log.warn(
          { seq: effect.seq, amountFen: effect.amountFen, newAmountFen: effect.newAmountFen },
          "the register's total changed after the scan: nothing sent, asking for a rescan",
        );
        this.deps.onEvent(
          "tapTotalChanged",
          `total ${effect.seq} changed before the request was sent; nothing sent`,
        );
        this.deps.show(
          effect.newAmountFen === null
            ? { type: "waitForCashier" }
            : { type: "amountDue", amountFen: effect.newAmountFen },
          { type: "totalChanged", amountFen: effect.newAmountFen },
        );
        this.checkSoon();
        return;
      case "totalWithdrawn":
        this.guardFen = null;
        this.checkSoon();
        return;
      default:
        return;
    }
  }

  /**
   * Asked by the lane in the same turn it publishes an attempt's pay request: refuses it when the
   * total the scan was bound to is no longer on the display. undefined: not a sale of the tap.
   */
  gate(attempt: AttemptRecord): PaySent | undefined {
    const open = this.open;
    if (!open || attempt.orderRef !== open.orderRef) return undefined;
    // The machine approves a binding once. The same attempt published again (its first publish
    // found the broker away: `queued`) goes only while its total still stands.
    const again = this.approved === attempt.attemptId;
    const ok = again ? this.deps.tap.standing?.seq === open.seq : this.deps.tap.approveSend(open.seq);
    if (ok) {
      this.approved = attempt.attemptId;
      return undefined;
    }
    return { ok: false, reason: "the total on the register's display changed before the request was sent" };
  }

  /**
   * A sale view on its way to the display: the "cancelled" of a sale the tap cancelled because its
   * total went is shown as what the display now asks for instead (the new total, or the cashier).
   */
  view(view: DisplayView): DisplayView {
    if (view.type !== "cancelled" || !this.cancelledByTap) return view;
    this.cancelledByTap = false;
    const standing = this.deps.tap.standing;
    return standing ? { type: "amountDue", amountFen: standing.amountFen } : { type: "waitForCashier" };
  }

  /** After each sale step: an open sale of the tap whose total is gone is cancelled (nothing in flight). */
  stepped(after: LaneSaleState): void {
    this.check(after);
  }

  /**
   * The display changed: checked once the sale step under way (if any) is over, so the cancel
   * sees the attempt as the journal has it (a display update may arrive between an attempt's
   * record and its pay request; the gate refuses that request, and the attempt is `queued`).
   */
  private checkSoon(): void {
    queueMicrotask(() => this.check(this.deps.runner.state));
  }

  private check(state: LaneSaleState): void {
    const open = this.open;
    if (!open) return;
    const cur = state.current;
    if (cur?.record.orderRef !== open.orderRef) {
      this.open = undefined; // ended: paid, cancelled, unknown
      this.cancelledByTap = false; // its views are shown (a step's views come before this check)
      return;
    }
    if (open.cancelling || this.deps.tap.standing?.seq === open.seq || inFlight(cur.attempt)) return;
    this.cancel(open);
  }

  private startSale(binding: AmountBinding, scan: PendingScan): void {
    const { runner, newId } = this.deps;
    const cur = runner.state.current;
    const open = this.open;
    if (open && cur?.record.orderRef === open.orderRef) {
      if (open.seq === binding.seq && !open.cancelling) {
        this.feedScan(scan); // a rescan for the same total, under the same sale
        return;
      }
      if (!open.cancelling && !inFlight(cur.attempt)) this.cancel(open);
    }
    const orderRef = newId();
    this.open = { orderRef, seq: binding.seq, cancelling: false };
    runner.feed({
      type: "pos",
      request: { type: "sale", seq: `T${binding.seq}`, orderRef, amountFen: binding.amountFen },
      newId: newId(),
      amountFrom: {
        amountSource: "displayTap",
        tapSeq: binding.seq,
        tapEvidence: evidenceHash(binding.evidence),
      },
    });
    // The scan follows the sale in the runner's queue; with group commit the sale's step may still
    // be committing now, so whether it opened is asked when the scan's turn comes.
    runner.feed(() => {
      if (runner.state.current?.record.orderRef !== orderRef) {
        // Refused (cloud offline, journal down, another sale open): nothing was charged.
        if (this.open?.orderRef === orderRef) this.open = undefined;
        this.deps.tap.release(binding.seq);
        return null;
      }
      return this.scanInput(scan);
    });
  }

  private feedScan(scan: PendingScan): void {
    this.deps.runner.feed(() => this.scanInput(scan));
  }

  /** The scan's input when its turn comes: its attempt id then, its code into custody. */
  private scanInput(scan: PendingScan): SaleInput {
    const attemptId = this.deps.newAttemptId();
    this.deps.custody.hold(attemptId, scan.code, scan.atMono);
    return { type: "scan", code: scan.code, attemptId };
  }

  private cancel(open: OpenSale): void {
    open.cancelling = true;
    this.cancelledByTap = true;
    this.deps.runner.feed({
      type: "pos",
      request: { type: "cancel", seq: `T${open.seq}`, orderRef: open.orderRef },
      newId: this.deps.newId(),
    });
  }
}

/**
 * An attempt that may still move money: never cancelled for a display change. A `queued` one has
 * not left the bridge (its code waits in memory): cancelling it moves nothing (no reversal).
 */
function inFlight(attempt: AttemptRecord | null): boolean {
  return attempt !== null && !isFinalAttempt(attempt.phase) && attempt.phase !== "queued";
}
