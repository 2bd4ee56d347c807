// A register-link DATA field in words, for `posbridge monitor`: "SA 01 ORD123 ¥12.34",
// "RS 01 ORD123 00 PAID ¥12.34 WECHAT 4200…1234 支付成功". Fields are split on FS as sent; amounts
// are shown in yuan and status codes named. Runs of 8 or more digits are masked (last 4 shown):
// a frame carries no payment code by contract, but what is shown must not depend on that.
import { maskDigitsInText } from "../payment/mask.js";
import { formatYuan } from "../payment/amount.js";
import { RESULT_STATUS_CODE } from "../pos/pos-messages.js";

const FS = "\x1c";
const STATUS_NAME = new Map(Object.entries(RESULT_STATUS_CODE).map(([name, code]) => [code, name]));

/** Which fields (by index, after code and seq) hold an amount in fen, per message code. */
const AMOUNT_FIELD: Readonly<Record<string, number>> = { SA: 3, RF: 4, RS: 4 };

export function describeFrame(text: string): string {
  const fields = text.split(FS);
  const code = fields[0] ?? "";
  const out = fields.map((f, i) => {
    if (i === AMOUNT_FIELD[code] && /^[0-9]{1,12}$/.test(f)) return `¥${formatYuan(Number(f))}`;
    if (code === "RS" && i === 3) return `${f} ${STATUS_NAME.get(f) ?? "?"}`;
    if (code === "ES" && i === 2) return f === "1" ? "online" : "offline";
    return f;
  });
  return maskDigitsInText(
    out
      .filter((f) => f !== "")
      .join(" ")
      .replace(/[\u0000-\u001f\u007f]/g, "·"),
  );
}
