// What came from the register, read as the bridge reads it (protocols/ecr/messages.ts,
// protocols/pos/line-codec.ts), plus what the conformance report says about it: readable DATA,
// the rule a refused request breaks, and a hint when FS is the likely mistake.
import { fromUtf8, toHex } from "../core/bytes.js";
import { ACK, ENQ, FS, NAK, STX } from "../ecr/constants.js";
import { decodeEcrRequest } from "../ecr/messages.js";
import { decodeLineRequest } from "../pos/line-codec.js";
import type { ConformanceProfile } from "./conformance-types.js";
import type { RuleId } from "./rules.js";
import type { Incoming } from "./script-context.js";

const VERB_CODES: Readonly<Record<string, string>> = {
  SALE: "SA",
  QUERY: "QY",
  CANCEL: "CA",
  REFUND: "RF",
  ECHO: "EC",
};

const DECODE_RULES: Readonly<Record<string, RuleId>> = {
  PB_MSG_ENCODING: "data-encoding",
  PB_MSG_CODE: "data-code",
  PB_MSG_SEQ: "data-seq",
  PB_MSG_FIELDS: "data-fields",
  PB_MSG_REF: "data-ref",
  PB_MSG_AMOUNT: "data-amount",
};

/** Readable DATA: FS shown as <FS>, other control bytes as <hex>. */
export function readable(data: Uint8Array): string {
  const text = fromUtf8(data);
  if (text === undefined) return `(not UTF-8) ${toHex(data)}`;
  return text.replace(/[\u0000-\u001f]/g, (ch) =>
    ch.charCodeAt(0) === FS ? "<FS>" : `<${ch.charCodeAt(0).toString(16).padStart(2, "0")}>`,
  );
}

/** A control byte by name, a frame by its readable DATA, anything else as text. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 1 && bytes[0] === ACK) return "ACK";
  if (bytes.length === 1 && bytes[0] === NAK) return "NAK";
  if (bytes.length === 1 && bytes[0] === ENQ) return "ENQ";
  if (bytes.length >= 5 && bytes[0] === STX) return readable(bytes.subarray(3, bytes.length - 2));
  return readable(bytes);
}

/** Why a request's fields did not split right, when FS is the likely cause. */
function fsHint(data: Uint8Array): string {
  if (!data.includes(FS)) {
    const text = fromUtf8(data) ?? "";
    return /[|, ;\t]/.test(text) ? " (fields must be separated by FS, byte 1C)" : "";
  }
  if (data[data.length - 1] === FS) return " (DATA ends with FS: FS goes between fields, not after the last)";
  if (data[0] === FS) return " (DATA starts with FS: the message code comes first)";
  for (let i = 1; i < data.length; i++)
    if (data[i] === FS && data[i - 1] === FS) return " (two FS in a row make an empty field)";
  return "";
}

export function orderRefOf(inc: Incoming): string | undefined {
  if (inc.type === "badRequest") return inc.orderRef;
  return "orderRef" in inc.request ? inc.request.orderRef : undefined;
}

/** A well-formed frame's DATA as the bridge decodes it. */
export function decodeFrame(data: Uint8Array, bytes: Uint8Array, at: number, maxAmountFen: number): Incoming {
  const end = data.indexOf(FS);
  const code = fromUtf8(end < 0 ? data : data.subarray(0, end)) ?? "";
  const base = { code, data, bytes, at, acked: false };
  const d = decodeEcrRequest(data, { maxAmountFen });
  if (d.ok) return { type: "request", request: d.request, ...base };
  return {
    type: "badRequest",
    seq: d.seq,
    orderRef: d.orderRef,
    message: d.message,
    rule: DECODE_RULES[d.code] ?? "data-fields",
    ...base,
  };
}

/** A line (without its terminator) as the bridge decodes it; the code is the verb's `ecr` code. */
export function decodeLine(bytes: Uint8Array, at: number, maxAmountFen: number): Incoming {
  const text = fromUtf8(bytes);
  const word = (text ?? "").split(" ")[0] ?? "";
  const code = VERB_CODES[word.toUpperCase()] ?? word;
  const base = { code, data: bytes, bytes, at, acked: false };
  const bad = (message: string, rule: RuleId, orderRef = ""): Incoming => ({
    type: "badRequest",
    seq: "00",
    orderRef,
    message,
    rule,
    ...base,
  });
  if (text === undefined) return bad("line is not valid UTF-8", "data-encoding");
  const d = decodeLineRequest(text, { maxAmountFen });
  if (d.ok) return { type: "request", request: d.request, ...base };
  // The line codec names the field in its message; its rule follows from it.
  const rule: RuleId = /amount/.test(d.message)
    ? "data-amount"
    : /orderRef|refundRef/.test(d.message)
      ? "data-ref"
      : "line-format";
  return bad(d.message, rule, d.orderRef);
}

/** The check a request's form earns: passed with what was right, or the rule it breaks and why. */
export function formCheck(
  inc: Incoming,
  profile: ConformanceProfile,
): { ok: boolean; rule: RuleId; message: string } {
  if (inc.type === "badRequest") {
    const hint = inc.rule === "data-fields" || inc.rule === "data-code" ? fsHint(inc.data) : "";
    return {
      ok: false,
      rule: inc.rule,
      message: `${inc.code || "request"} refused (the bridge answers RS 40): ${inc.message}${hint}`,
    };
  }
  if (profile === "line")
    return { ok: true, rule: "line-format", message: `${readable(inc.bytes)} is a well-formed line` };
  const fields = inc.data.filter((b) => b === FS).length + 1;
  return {
    ok: true,
    rule: "data-fields",
    message: `${inc.code} seq ${inc.request.seq} well formed: LEN ${toHex(inc.bytes.subarray(1, 3))} = ${inc.data.length} DATA bytes, ${fields} fields separated by FS, LRC ${toHex(inc.bytes.subarray(inc.bytes.length - 1))}`,
  };
}
