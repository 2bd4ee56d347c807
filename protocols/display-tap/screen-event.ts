// What a display-tap reader says about the register's customer display (no-integration mode,
// scanbox-anchors.md §2.1.2–2.1.3). A reader turns the bytes the register sends its display into
// these events; the amount machine (amount-machine.ts) and `posbridge display decode` consume them.
//
// Every update carries the whole screen as it stands after the command, not a diff: a consumer
// never has to replay history to know what the customer sees, and the amount rules read one
// snapshot at a time. One update per command (a lamp set, a line written, a clear, a run of text
// ended by the next command or by the line going idle), so a lamp sent just before or just after
// its number shows up as two updates a few milliseconds apart; the amount machine's stability
// window, not the reader, decides what was really shown.

/**
 * The indicator lamp under an LED price display's digits (单价/合计/收款/找零), as set by the
 * register. `thanks` is Wintec's "谢谢惠顾" lamp (`1F 50 01`); `unknown` until the register has set
 * one since the bridge started listening: a lamp set before that is not known, so nothing is a
 * total until the register sets the lamp again.
 */
export type Lamp = "off" | "price" | "total" | "collect" | "change" | "thanks" | "unknown";

export interface Screen {
  /** The lit lamp; null on a display that has no lamps (text displays, value-only LED displays). */
  lamp: Lamp | null;
  /** The display's rows as text (decoded with the reader's text decoder), trailing spaces cut. */
  lines: readonly string[];
}

/** Which command produced an update. */
export type ScreenChange = "lamp" | "lines" | "clear";

/**
 * Why bytes were dropped. They are reported by count only, as the ECR framer does: a display line
 * carries no payment code, but a tap wired to the wrong port might.
 * - `noise`: bytes outside any command this dialect knows (a wrong dialect, baud rate or parity).
 * - `unknownCommand`: an escape sequence this dialect does not know.
 * - `malformed`: a command cut short by the start of another one.
 * - `overflow`: a line longer than `maxLineBytes`; the rest of it, up to its CR, goes with it.
 * - `incomplete`: a command still open when the line went idle, or when the capture ended.
 */
export type DiscardReason = "noise" | "unknownCommand" | "malformed" | "overflow" | "incomplete";

export type ScreenEvent =
  | {
      type: "update";
      change: ScreenChange;
      screen: Screen;
      /**
       * The wire bytes up to and including the command that produced this update, at most the
       * reader's `evidenceBytes` of them (the oldest go first). Provenance for an accepted total: the
       * daemon hashes them into the sale's journal record, and the same capture reproduces them.
       */
      evidence: Uint8Array;
    }
  | { type: "discarded"; length: number; reason: DiscardReason };
