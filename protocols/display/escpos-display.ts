// Epson ESC/POS customer display encoder (DM-D110/DM-D210 style, 2×20), device-protocols.md §2.2
// (command bytes from `lsongdev/node-escpos` `packages/screen/commands.js` and lcdproc
// `serialPOS_epson.c`). Same screen as the CD5220 (cd5220Lines is display-agnostic and reused as
// is), only the command set differs: ESC/POS has no "write line N" command, so each view is
//
//   1F 01          overwrite mode (a display left in scroll mode would scroll after column 20)
//   0C             clear
//   1F 24 01 01    cursor to column 1, row 1 (1-based)   + upper line, exactly 20 columns
//   1F 24 01 02    cursor to column 1, row 2             + lower line, exactly 20 columns
//
// Both lines are always rewritten in full, so a shorter text never leaves a tail behind. The mode
// is sent with every view (2 bytes) rather than once, so a display power-cycled behind the bridge's
// back still shows the next view right. ESC @ (ESCPOS_INIT) is sent once after the port opens.
//
// Text: ASCII unless the options say the display has a GB2312/GB18030 font. Then the Chinese
// layout below is sent as double-byte GB codes produced by the injected encoder, as node-escpos
// does; no `FS &` Chinese-mode command is sent (model-specific, unverified in §2.2). A Chinese
// character is taken to fill two columns, i.e. a line's byte count equals its column count. If the
// injected encoder breaks that (wrong charset, control bytes), the view falls back to the ASCII
// layout rather than send misaligned or garbled text.
import { concatBytes, printableAscii } from "../core/bytes.js";
import { formatYuan } from "../payment/amount.js";
import { CD5220_COLUMNS, cd5220Lines } from "./cd5220.js";
import type { DisplayView } from "./display-view.js";

export const ESCPOS_COLUMNS = CD5220_COLUMNS;

/** ESC @: initialise. Sent once after the port opens, not with every view. */
export const ESCPOS_INIT: Uint8Array = Uint8Array.of(0x1b, 0x40);

export type EscPosDisplayOptions =
  /** ROM font only: the CD5220's ASCII texts. */
  | { charset: "ascii" }
  /** The display draws GB2312 double-byte codes; `encodeText` is a GB18030 encoder (daemon/text). */
  | { charset: "gb18030"; encodeText: (text: string) => Uint8Array };

const OVERWRITE_MODE = Uint8Array.of(0x1f, 0x01);
const CLEAR = Uint8Array.of(0x0c);
const UPPER_LINE = Uint8Array.of(0x1f, 0x24, 0x01, 0x01); // US $ x=1 y=1
const LOWER_LINE = Uint8Array.of(0x1f, 0x24, 0x01, 0x02); // US $ x=1 y=2

type RescanReason = Extract<DisplayView, { type: "rescan" }>["reason"];

const ZH_RESCAN: Record<RescanReason, string> = {
  expired: "付款码已失效，请重扫",
  funds: "余额不足，请重扫",
  declined: "支付失败，请重扫",
  invalidCode: "无法识别，请重扫",
  notPayment: "非付款码，请重扫",
};

const ZH_TOTAL = "合计";

/** The two lines of the Chinese layout, each exactly 20 columns (a CJK character counts 2). */
export function escPosChineseLines(view: DisplayView): [string, string] {
  if (view.training && view.type === "unknown") return [padLine("培训"), padLine("支付结果未知")];
  if (view.training && view.type === "waitForCashier") return [padLine("培训"), padLine("请等待收银员")];
  const label = (text: string) => (view.training ? `培训${text === ZH_TOTAL ? "" : text}` : text);
  switch (view.type) {
    case "text":
      return [padLine(view.lines[0]), padLine(view.lines[1])];
    case "idle":
      return [padLine("欢迎光临"), padLine("")];
    case "waitForCashier":
      return [padLine("请等待收银员"), padLine("")];
    case "amountDue":
      return [labelAmount(label(ZH_TOTAL), view.amountFen), padLine("请出示付款码")];
    case "processing":
      return [labelAmount(label(ZH_TOTAL), view.amountFen), padLine("支付中，请稍候")];
    case "confirmOnPhone":
      return [labelAmount(label(ZH_TOTAL), view.amountFen), padLine("请在手机上确认支付")];
    case "rescan":
      return [labelAmount(label(ZH_TOTAL), view.amountFen), padLine(ZH_RESCAN[view.reason])];
    case "paid":
      return [
        labelAmount(label("已支付"), view.amountFen),
        padLine(view.training ? "培训，未扣款" : "支付成功，谢谢惠顾"),
      ];
    case "cancelled":
      return [labelAmount(label("已取消"), view.amountFen), padLine("")];
    case "unknown":
      // No amount, as on the CD5220: it must not read as a total still to pay.
      return [padLine("支付结果未知"), padLine("请勿重复付款")];
  }
}

/** Overwrite mode, clear, then both lines placed with US $. Throws TypeError on bad options. */
export function encodeEscPosView(view: DisplayView, options: EscPosDisplayOptions): Uint8Array {
  checkOptions(options);
  const [upper, lower] = options.charset === "gb18030" ? gbLines(view, options.encodeText) : asciiLines(view);
  return concatBytes(OVERWRITE_MODE, CLEAR, UPPER_LINE, upper, LOWER_LINE, lower);
}

function checkOptions(options: EscPosDisplayOptions): void {
  // Checked as untyped input: options come from config.
  const o = options as { charset?: unknown; encodeText?: unknown } | null | undefined;
  if (typeof o !== "object" || o === null) throw new TypeError("options must be an object");
  if (o.charset === "ascii") return;
  if (o.charset !== "gb18030") {
    throw new TypeError(`charset must be "ascii" or "gb18030", got ${JSON.stringify(o.charset)}`);
  }
  if (typeof o.encodeText !== "function") {
    throw new TypeError('encodeText must be a function when charset is "gb18030"');
  }
}

function asciiLines(view: DisplayView): [Uint8Array, Uint8Array] {
  const [upper, lower] = cd5220Lines(view);
  return [printableAscii(upper), printableAscii(lower)];
}

function gbLines(view: DisplayView, encodeText: (text: string) => Uint8Array): [Uint8Array, Uint8Array] {
  const [upper, lower] = escPosChineseLines(view).map(encodeText) as [Uint8Array, Uint8Array];
  // One byte per column, printable only: anything else is a wrong encoder, not a font problem.
  const fits = (line: Uint8Array) =>
    line.length === ESCPOS_COLUMNS && line.every((b) => b >= 0x20 && b !== 0x7f);
  return fits(upper) && fits(lower) ? [upper, lower] : asciiLines(view);
}

/** Columns a text fills: 1 for ASCII, 2 for a CJK (double-byte GB) character. */
function width(text: string): number {
  let columns = 0;
  for (const ch of text) columns += ch.charCodeAt(0) < 0x80 ? 1 : 2;
  return columns;
}

/** Cuts to at most `columns` by whole characters (half a double-byte character is never sent). */
function cut(text: string, columns: number): string {
  let out = "";
  for (const ch of text) {
    if (width(out + ch) > columns) break;
    out += ch;
  }
  return out;
}

function padLine(text: string): string {
  const shown = cut(text, ESCPOS_COLUMNS);
  return shown + " ".repeat(ESCPOS_COLUMNS - width(shown));
}

/** As on the CD5220: label left, amount right; the label is cut, never the amount. */
function labelAmount(label: string, amountFen: number): string {
  const amount = formatYuan(amountFen);
  const shown = cut(label, ESCPOS_COLUMNS - amount.length - 1);
  return shown + " ".repeat(ESCPOS_COLUMNS - width(shown) - amount.length) + amount;
}
