// CD5220 2×20 VFD pole display encoder (device-protocols.md §2.1, command bytes from lcdproc
// `serialPOS_cd5220.c`). Each view rewrites both lines in full, padded to 20 columns, so a shorter
// text never leaves characters of the previous one behind.
//
// Texts are plain ASCII: these displays ship with no CJK font, and the customer must never see the
// payment code, so no view carries one.
import { concatBytes, printableAscii } from "../core/bytes.js";
import { formatYuan } from "../payment/amount.js";
import type { DisplayView } from "./display-view.js";

export const CD5220_COLUMNS = 20;

/** ESC @: initialise. Sent once after the port opens, not with every view. */
export const CD5220_INIT: Uint8Array = Uint8Array.of(0x1b, 0x40);

const CLEAR = Uint8Array.of(0x0c);
const UPPER_LINE = Uint8Array.of(0x1b, 0x51, 0x41); // ESC Q A
const LOWER_LINE = Uint8Array.of(0x1b, 0x51, 0x42); // ESC Q B
const END_LINE = Uint8Array.of(0x0d);

type RescanReason = Extract<DisplayView, { type: "rescan" }>["reason"];

const RESCAN_TEXT: Record<RescanReason, string> = {
  expired: "CODE EXPIRED-RESCAN",
  funds: "LOW BALANCE-RESCAN",
  declined: "DECLINED - RESCAN",
  invalidCode: "UNREADABLE - RESCAN",
  notPayment: "NOT A PAY CODE",
};

/** A training sale's labels: the customer must see that no money moves. */
const TRAINING_LABEL: Readonly<Record<string, string>> = {
  TOTAL: "TRAINING",
  PAID: "TRAINING PAID",
  CANCELLED: "TRAINING CANCEL",
};

/** The two 20-column lines a view shows, exactly as sent. */
export function cd5220Lines(view: DisplayView): [string, string] {
  if (view.training && view.type === "unknown") return [padLine("TRAINING"), padLine("RESULT UNKNOWN")];
  if (view.training && view.type === "waitForCashier")
    return [padLine("TRAINING"), padLine("WAIT FOR CASHIER")];
  const label = (text: string) => (view.training ? (TRAINING_LABEL[text] ?? `TRAINING ${text}`) : text);
  switch (view.type) {
    case "text":
      return [padLine(view.lines[0]), padLine(view.lines[1])];
    case "idle":
      return [padLine("WELCOME"), padLine("")];
    case "waitForCashier":
      return [padLine("PLEASE WAIT FOR"), padLine("THE CASHIER")];
    case "amountDue":
      return [labelAmount(label("TOTAL"), view.amountFen), padLine("PLEASE SHOW PAY CODE")];
    case "processing":
      return [labelAmount(label("TOTAL"), view.amountFen), padLine("PROCESSING...")];
    case "confirmOnPhone":
      return [labelAmount(label("TOTAL"), view.amountFen), padLine("CONFIRM ON PHONE")];
    case "rescan":
      return [labelAmount(label("TOTAL"), view.amountFen), padLine(RESCAN_TEXT[view.reason])];
    case "paid":
      return [
        labelAmount(label("PAID"), view.amountFen),
        padLine(view.training ? "NO MONEY MOVED" : "THANK YOU"),
      ];
    case "cancelled":
      return [labelAmount(label("CANCELLED"), view.amountFen), padLine("")];
    case "unknown":
      // No amount: the customer must not read this as a total still to pay.
      return [padLine("RESULT UNKNOWN"), padLine("DO NOT PAY AGAIN")];
  }
}

/** Clear, then both lines (ESC Q A … CR, ESC Q B … CR). */
export function encodeCd5220(view: DisplayView): Uint8Array {
  const [upper, lower] = cd5220Lines(view);
  return concatBytes(
    CLEAR,
    UPPER_LINE,
    printableAscii(upper),
    END_LINE,
    LOWER_LINE,
    printableAscii(lower),
    END_LINE,
  );
}

/**
 * Label left, amount right-aligned in 20 columns with at least one space between. When they do
 * not fit the label is cut, never the amount: a truncated amount would show the wrong price.
 */
function labelAmount(label: string, amountFen: number): string {
  // formatYuan of any safe integer is at most 18 characters ("-90071992547409.91"), so it always fits.
  const amount = formatYuan(amountFen);
  const room = CD5220_COLUMNS - amount.length - 1;
  const shown = label.slice(0, room);
  return shown + " ".repeat(CD5220_COLUMNS - shown.length - amount.length) + amount;
}

function padLine(text: string): string {
  return text.slice(0, CD5220_COLUMNS).padEnd(CD5220_COLUMNS);
}
