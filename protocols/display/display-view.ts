// What the customer display should show, independent of the display's command set.
// Encoders (cd5220, …) turn a view into bytes; the sale machine only ever emits views.

export type DisplayView = (
  | { type: "idle" }
  /** A code was scanned with no sale open: it was dropped; the customer waits for the cashier. */
  | { type: "waitForCashier" }
  | { type: "amountDue"; amountFen: number }
  | { type: "processing"; amountFen: number }
  | { type: "confirmOnPhone"; amountFen: number }
  | {
      type: "rescan";
      amountFen: number;
      reason: "expired" | "funds" | "declined" | "invalidCode" | "notPayment";
    }
  | { type: "paid"; amountFen: number }
  | { type: "cancelled"; amountFen: number }
  | { type: "unknown"; amountFen: number }
  /** `posbridge test display`: two lines of text (a display that shows only numbers shows its test pattern). */
  | { type: "text"; lines: [string, string] }
) & {
  /** A training sale's view (posbridge test sale): the display says so where it can. */
  training?: boolean;
};
