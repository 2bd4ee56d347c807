// 8-digit LED price display ("LED-8", 客显) encoder, device-protocols.md §2.3 (bytes from
// `ch593030323/fastfd20200204` `output_lib/clientdisplay_no.cpp`) and scanbox-anchors.md §2.1.2.
// Typically 2400 baud (a port setting, not this file's concern).
//
//   1B 73 n           ESC s n: indicator lamp, n ASCII '0' all off, '1' 单价 price, '2' 总计 total,
//                     '3' 收款 collected, '4' 找零 change
//   1B 51 41 … 0D     ESC Q A: show the number, ASCII digits and '.' ("%.2f", e.g. "12.50")
//   1B 40             ESC @: clear/reset (LED8_INIT, sent once after the port opens)
//
// A view is the lamp, then the number: every javaPos driver in scanbox-anchors.md §2.1.2 sends the
// lamp first (§6 "Sedsy/Citaq ASCII lamp" vector); device-protocols.md vector 21 sends the same two
// commands the other way round, which ends in the same state. The lamp byte is the ASCII form
// (Sedsy PD1800A, Citaq, fastfd); the binary, 4-byte and bare-byte dialects of §2.1.2 are not
// produced.
//
// The display has no text, so each view is a lamp and a number:
//
// | view            | lamp          | number   | why                                                  |
// |-----------------|---------------|----------|------------------------------------------------------|
// | idle            | '0' off       | 0.00     | Citaq's "Welcome" shows 0.00 (§2.1.2)                |
// | amountDue       | '2' 总计      | amount   | the total to pay                                     |
// | processing      | '2' 总计      | amount   | still the total: nothing is paid yet                 |
// | confirmOnPhone  | '2' 总计      | amount   | likewise                                             |
// | rescan (any)    | '2' 总计      | amount   | the sale goes on and the amount is still due; the    |
// |                 |               |          | reason cannot be shown on 8 digits                   |
// | paid            | '3' 收款      | amount   | the amount was collected                             |
// | cancelled       | '0' off       | 0.00     | nothing is owed; a bare amount would read as a total |
// | unknown         | '0' off       | 0.00     | as the CD5220: never show a total that invites a     |
// |                 |               |          | second payment                                       |
// | text            | '1' 单价      | 888888.88| `posbridge test display`: every segment lit          |
//
// A training sale's views (`training: true`) look like any other here: eight digits leave no room
// for a mark; the register's text and the technician's terminal say it.
//
// A lamp-off 0.00 is also what a display sniffer takes for "cleared" (lamp '0'), and a number is
// only ever under 总计 while it is really due (scanbox-anchors.md §2.1.3).
//
// Amounts are integer fen formatted by formatYuan (no floating point). An amount the 8 digits
// cannot show (over 999999.99 or negative) is never cut, which would show a wrong price: the digits
// are cleared with ESC @ and only the lamp is set.
import { concatBytes } from "../core/bytes.js";
import { formatYuan } from "../payment/amount.js";
import type { DisplayView } from "./display-view.js";

/** ESC @: clear/reset. Sent once after the port opens. */
export const LED8_INIT: Uint8Array = Uint8Array.of(0x1b, 0x40);

/** `posbridge test display` on an LED display: 888888.88, every segment lit. */
export const LED8_TEST_FEN = 88_888_888;

/** Largest amount the 8 digits show: 999999.99 yuan (the point is not a digit). */
export const LED8_MAX_FEN = 99_999_999;

export type Led8Lamp = "off" | "price" | "total" | "collect" | "change";

/** `n` of ESC s n, as ASCII digits. */
export const LED8_LAMP_BYTE: Readonly<Record<Led8Lamp, number>> = {
  off: 0x30,
  price: 0x31,
  total: 0x32,
  collect: 0x33,
  change: 0x34,
};

const RESET = LED8_INIT;
const LAMP = Uint8Array.of(0x1b, 0x73); // ESC s
const NUMBER = Uint8Array.of(0x1b, 0x51, 0x41); // ESC Q A
const END_NUMBER = Uint8Array.of(0x0d);

/** What the display shows for a view: the lit lamp and the amount in fen (0 when cleared). */
export function led8Reading(view: DisplayView): { lamp: Led8Lamp; amountFen: number } {
  switch (view.type) {
    case "text":
      // No letters on 8 digits: a test shows the pattern that lights every segment.
      return { lamp: "price", amountFen: LED8_TEST_FEN };
    case "idle":
    case "waitForCashier":
    case "cancelled":
    case "unknown":
      return { lamp: "off", amountFen: 0 };
    case "amountDue":
    case "processing":
    case "confirmOnPhone":
    case "rescan":
      return { lamp: "total", amountFen: view.amountFen };
    case "paid":
      return { lamp: "collect", amountFen: view.amountFen };
  }
}

/**
 * ESC s lamp, then ESC Q A number CR. Throws RangeError when the view's amount is not a safe
 * integer, even for a view that does not show it (a bug upstream, as in the CD5220 encoder).
 */
export function encodeLed8View(view: DisplayView): Uint8Array {
  if ("amountFen" in view && !Number.isSafeInteger(view.amountFen)) {
    throw new RangeError(`amountFen must be a safe integer, got ${view.amountFen}`);
  }
  const { lamp, amountFen } = led8Reading(view);
  const number = formatYuan(amountFen);
  const lampBytes = concatBytes(LAMP, Uint8Array.of(LED8_LAMP_BYTE[lamp]));
  if (amountFen < 0 || amountFen > LED8_MAX_FEN) return concatBytes(RESET, lampBytes);
  return concatBytes(lampBytes, NUMBER, asciiDigits(number), END_NUMBER);
}

function asciiDigits(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
