// DATA fields ⇄ PosRequest / PosAnswer for the `ecr` profile (shared/spec/terminal-protocol.md, "DATA").
// Fields are separated by FS (1C); field 1 is the 2-letter code, field 2 the 2-digit seq.
import { concatBytes, fromUtf8, utf8 } from "../core/bytes.js";
import { parseAmountFen } from "../payment/amount.js";
import { type PosAnswer, type PosRequest, RESULT_STATUS_CODE } from "../pos/pos-messages.js";
import { validateRef } from "../pos/refs.js";
import { type EcrRequestCode, FS, PROGRESS_SEQ, REQUEST_CODES } from "./constants.js";

export type EcrDecodeErrorCode =
  | "PB_MSG_ENCODING"
  | "PB_MSG_CODE"
  | "PB_MSG_SEQ"
  | "PB_MSG_FIELDS"
  | "PB_MSG_REF"
  | "PB_MSG_AMOUNT";

export type EcrDecodeResult =
  | { ok: true; request: PosRequest }
  | {
      ok: false;
      /** The request's seq when it was readable, else "00"; the RS 40 answer echoes it. */
      seq: string;
      /** The orderRef when present and valid, else "". */
      orderRef: string;
      code: EcrDecodeErrorCode;
      message: string;
    };

export interface EcrDecodeOptions {
  /** Configured maximum sale/refund amount in fen. */
  maxAmountFen: number;
}

/** Turns text into field bytes; UTF-8 by default, GB18030 per lane later (spec "DATA"). */
export type TextEncode = (text: string) => Uint8Array;

/** Total field count per request code, including code and seq. */
const FIELD_COUNT: Readonly<Record<EcrRequestCode, number>> = { SA: 4, QY: 3, CA: 3, RF: 5, EC: 2 };
const FIELD_NAMES: Readonly<Record<EcrRequestCode, string>> = {
  SA: "SA seq orderRef amountFen",
  QY: "QY seq orderRef",
  CA: "CA seq orderRef",
  RF: "RF seq orderRef refundRef amountFen",
  EC: "EC seq",
};
const SEQ = /^\d{2}$/;

function splitFields(data: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === FS) {
      fields.push(data.subarray(start, i));
      start = i + 1;
    }
  }
  return fields;
}

function isRequestCode(code: string): code is EcrRequestCode {
  return (REQUEST_CODES as readonly string[]).includes(code);
}

/**
 * Decodes a well-formed frame's DATA. Failures carry enough (seq, orderRef) for the caller to answer
 * `RS … 40` as the spec asks of "a well-formed frame whose DATA cannot be understood".
 */
export function decodeEcrRequest(data: Uint8Array, opts: EcrDecodeOptions): EcrDecodeResult {
  const raw = splitFields(data);
  const text = raw.map(fromUtf8);
  const seqText = text[1];
  const seq = seqText !== undefined && SEQ.test(seqText) ? seqText : "00";
  const refText = text[2];
  const orderRef = refText !== undefined && validateRef(refText) === undefined ? refText : "";
  const fail = (code: EcrDecodeErrorCode, message: string): EcrDecodeResult => ({
    ok: false,
    seq,
    orderRef,
    code,
    message,
  });

  const badField = text.indexOf(undefined);
  if (badField >= 0) return fail("PB_MSG_ENCODING", `field ${badField + 1} is not valid UTF-8`);
  const fields = text as string[];
  const code = fields[0] as string;
  if (!isRequestCode(code)) {
    return fail(
      "PB_MSG_CODE",
      code === "" ? "message code is missing" : "unknown message code; expected SA, QY, CA, RF or EC",
    );
  }
  if (seqText === undefined || !SEQ.test(seqText)) return fail("PB_MSG_SEQ", "seq must be 2 digits");
  if (fields.length !== FIELD_COUNT[code]) {
    return fail(
      "PB_MSG_FIELDS",
      `${code} needs ${FIELD_COUNT[code]} fields (${FIELD_NAMES[code]}), got ${fields.length}`,
    );
  }
  if (code === "EC") return { ok: true, request: { type: "echo", seq } };

  const ref = fields[2] as string;
  const refError = validateRef(ref, "orderRef");
  if (refError !== undefined) return fail("PB_MSG_REF", refError);
  switch (code) {
    case "QY":
      return { ok: true, request: { type: "query", seq, orderRef: ref } };
    case "CA":
      return { ok: true, request: { type: "cancel", seq, orderRef: ref } };
    case "SA": {
      const amount = parseAmountFen(fields[3] as string, opts.maxAmountFen);
      if (!amount.ok) return fail("PB_MSG_AMOUNT", amount.message);
      return { ok: true, request: { type: "sale", seq, orderRef: ref, amountFen: amount.value } };
    }
    case "RF": {
      const refundRef = fields[3] as string;
      const refundError = validateRef(refundRef, "refundRef");
      if (refundError !== undefined) return fail("PB_MSG_REF", refundError);
      const amount = parseAmountFen(fields[4] as string, opts.maxAmountFen);
      if (!amount.ok) return fail("PB_MSG_AMOUNT", amount.message);
      return {
        ok: true,
        request: { type: "refund", seq, orderRef: ref, refundRef, amountFen: amount.value },
      };
    }
  }
}

/**
 * Control characters (FS above all) would split or corrupt a field on the POS side, so text fields
 * are cleaned before encoding: C0 controls, DEL and C1 controls become a space.
 */
export function cleanField(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}

function digits(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer`);
  return String(value);
}

function checkSeq(seq: string): string {
  if (!SEQ.test(seq)) throw new RangeError(`seq must be 2 digits, got ${JSON.stringify(seq)}`);
  return seq;
}

function joinFields(fields: readonly string[], encode: TextEncode): Uint8Array {
  const parts: Uint8Array[] = [];
  fields.forEach((field, index) => {
    if (index > 0) parts.push(Uint8Array.of(FS));
    const bytes = encode(cleanField(field));
    // A pluggable encoder must not reintroduce control bytes (GB18030 never does; guard anyway).
    parts.push(bytes.some((b) => b < 0x20) ? bytes.map((b) => (b < 0x20 ? 0x3f : b)) : bytes);
  });
  return concatBytes(...parts);
}

/** Encodes an answer as DATA: `PR`, `RS` or `ES` (spec "Bridge → POS"). */
export function encodeEcrAnswer(answer: PosAnswer, encode: TextEncode = utf8): Uint8Array {
  switch (answer.type) {
    case "progress":
      return joinFields(["PR", PROGRESS_SEQ, answer.orderRef, answer.stage, answer.text], encode);
    case "result":
      return joinFields(
        [
          "RS",
          checkSeq(answer.seq),
          answer.orderRef,
          RESULT_STATUS_CODE[answer.status],
          answer.amountFen === null ? "" : digits(answer.amountFen, "amountFen"),
          answer.scheme ?? "",
          answer.channelTradeNo,
          answer.text,
        ],
        encode,
      );
    case "echoReply":
      return joinFields(
        ["ES", checkSeq(answer.seq), answer.brokerOnline ? "1" : "0", answer.laneState],
        encode,
      );
  }
}

/** Encodes a request as DATA, as a POS would (used by the mock register and round-trip tests). */
export function encodeEcrRequest(request: PosRequest, encode: TextEncode = utf8): Uint8Array {
  const seq = checkSeq(request.seq);
  switch (request.type) {
    case "sale":
      return joinFields(["SA", seq, request.orderRef, digits(request.amountFen, "amountFen")], encode);
    case "query":
      return joinFields(["QY", seq, request.orderRef], encode);
    case "cancel":
      return joinFields(["CA", seq, request.orderRef], encode);
    case "refund":
      return joinFields(
        ["RF", seq, request.orderRef, request.refundRef, digits(request.amountFen, "amountFen")],
        encode,
      );
    case "echo":
      return joinFields(["EC", seq], encode);
  }
}
