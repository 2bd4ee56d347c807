// The `line` terminal profile (shared/spec/terminal-protocol.md, "The `line` profile"): one
// request per line, `\r\n` or `\n` terminated, fields separated by single spaces. Same semantics
// and the same field rules as `ecr` (protocols/ecr/messages.ts): refs via validateRef, amounts via
// parseAmountFen.
//
// Requests (verb case-insensitive, ASCII letters only):
//   SALE <orderRef> <amountFen> | QUERY <orderRef> | CANCEL <orderRef>
//   REFUND <orderRef> <refundRef> <amountFen> | ECHO
// Answers (encodeLineAnswer), each ending in CR LF:
//   PROGRESS <orderRef> <stage> <text>
//   RESULT <orderRef> <STATUS> <amountFen|-> <scheme|-> <channelTradeNo|-> <text>
//   ECHO <1|0> <laneState>
// A field that is empty is sent as `-` (text and laneState too), so every answer has a fixed
// number of space-separated fields before its text. A line that cannot be understood is answered
// `RESULT - REJECTED - - - <message>` — a REJECTED result whose orderRef is "" (the runner passes
// the failure to the sale machine as a bad request, as for `ecr`). When the verb is known and its
// orderRef valid, the failure carries that orderRef, as `ecr` does, and the answer names it.
// Overlong lines (LineFramer) are answered the same way, with lineTooLongMessage().
//
// seq: the wire has none. Every request decodes with seq LINE_SEQ ("00") and answers ignore seq.
// A rolling counter would be an invented number that no answer can carry back to the register;
// on this profile a request is identified by its orderRef alone.
//
// Text fields (progress/result text) have control characters — CR and LF above all, which would
// end the line — replaced by spaces; other single-token fields have spaces and control
// characters replaced by `_` so they cannot shift the fields after them. The answer is a string:
// the runner turns it into bytes with the lane's encoding (UTF-8 or GB18030; neither produces CR
// or LF bytes for other characters).
import { parseAmountFen } from "../payment/amount.js";
import type { PosAnswer, PosRequest } from "./pos-messages.js";
import { REF_MAX_LENGTH, validateRef } from "./refs.js";

/** The seq every line request decodes with. */
export const LINE_SEQ = "00";

export const DEFAULT_MAX_LINE_LENGTH = 256;
/** Longest valid request: `REFUND` + two 32-character refs + 12 digits + 3 spaces. */
export const LONGEST_LINE_REQUEST = 6 + 1 + REF_MAX_LENGTH + 1 + REF_MAX_LENGTH + 1 + 12;
const MAX_MAX_LINE_LENGTH = 4096;

const LF = 0x0a;
const CR = 0x0d;

export interface LineFramerOptions {
  /**
   * Longest line accepted, in bytes without its terminator; LONGEST_LINE_REQUEST..4096, so every
   * valid request fits. Default 256.
   */
  maxLineLength?: number;
}

export type LineDiscardReason = "overlong" | "incomplete";

export type LineChunk =
  /** A complete non-empty line, terminator removed, decoded as UTF-8 (bad bytes become U+FFFD). */
  | { type: "line"; text: string }
  /**
   * A line dropped unread: `overlong` when its terminator arrived, `incomplete` when reset() dropped
   * a partial line. Only the byte count (terminator excluded), never the bytes.
   */
  | { type: "discarded"; length: number; reason: LineDiscardReason };

export function lineTooLongMessage(maxLineLength: number): string {
  return `line is longer than ${maxLineLength} bytes`;
}

/**
 * bytes → lines. The buffer is capped at maxLineLength + 1 (room for the CR of a CRLF): past that,
 * the line's bytes are only counted until its LF and it is reported as one `overlong` chunk, so
 * none of it ever reaches a `line`. Empty lines (a bare LF or CRLF) are skipped: they carry no
 * request and need no answer. A CR not followed by LF stays in the line, where decodeLineRequest
 * refuses it as a control character.
 */
export class LineFramer {
  readonly maxLineLength: number;
  /** Bytes reported in `discarded` chunks since construction. */
  discardedTotal = 0;
  /** Lines reported as `overlong` since construction. */
  overlongLines = 0;
  readonly #buffer: Uint8Array;
  /** Bytes of the current line so far; may exceed the buffer once the line is overlong. */
  #length = 0;
  #last = -1;
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });

  constructor({ maxLineLength = DEFAULT_MAX_LINE_LENGTH }: LineFramerOptions = {}) {
    if (
      !Number.isInteger(maxLineLength) ||
      maxLineLength < LONGEST_LINE_REQUEST ||
      maxLineLength > MAX_MAX_LINE_LENGTH
    ) {
      throw new TypeError(
        `maxLineLength must be an integer ${LONGEST_LINE_REQUEST}..${MAX_MAX_LINE_LENGTH}, got ${String(maxLineLength)}`,
      );
    }
    this.maxLineLength = maxLineLength;
    this.#buffer = new Uint8Array(maxLineLength + 1);
  }

  /** Bytes of the unfinished line (for diagnostics). */
  get bufferedLength(): number {
    return this.#length;
  }

  /** Feeds bytes as read; returns the lines and drops they complete, in order. */
  push(bytes: Uint8Array): LineChunk[] {
    const out: LineChunk[] = [];
    for (const byte of bytes) {
      if (byte === LF) {
        const chunk = this.#finish();
        if (chunk) out.push(chunk);
        continue;
      }
      if (this.#length < this.#buffer.length) this.#buffer[this.#length] = byte;
      this.#length++;
      this.#last = byte;
    }
    return out;
  }

  /** Drops a partial line (port closed, or the runner's idle timeout). */
  reset(): LineChunk[] {
    if (this.#length === 0) return [];
    const length = this.#length;
    const overlong = length > this.maxLineLength;
    this.#clear();
    return [this.#discard(length, overlong ? "overlong" : "incomplete")];
  }

  #finish(): LineChunk | undefined {
    const length = this.#length - (this.#last === CR ? 1 : 0);
    if (length > this.maxLineLength) {
      this.#clear();
      return this.#discard(length, "overlong");
    }
    const text = this.#decoder.decode(this.#buffer.subarray(0, length));
    this.#clear();
    return length === 0 ? undefined : { type: "line", text };
  }

  #discard(length: number, reason: LineDiscardReason): LineChunk {
    this.discardedTotal += length;
    if (reason === "overlong") this.overlongLines++;
    return { type: "discarded", length, reason };
  }

  #clear(): void {
    this.#buffer.fill(0, 0, Math.min(this.#length, this.#buffer.length));
    this.#length = 0;
    this.#last = -1;
  }
}

export interface LineDecodeOptions {
  /** Configured maximum sale/refund amount in fen (a positive safe integer). */
  maxAmountFen: number;
}

export type LineDecodeResult =
  | { ok: true; request: PosRequest }
  | {
      ok: false;
      /** The orderRef when the verb is known and its orderRef field valid, else "". */
      orderRef: string;
      message: string;
    };

type Verb = "SALE" | "QUERY" | "CANCEL" | "REFUND" | "ECHO";

const FORMS: Readonly<Record<Verb, string>> = {
  SALE: "SALE orderRef amountFen",
  QUERY: "QUERY orderRef",
  CANCEL: "CANCEL orderRef",
  REFUND: "REFUND orderRef refundRef amountFen",
  ECHO: "ECHO",
};

function isVerb(text: string): text is Verb {
  return Object.hasOwn(FORMS, text);
}

/**
 * Decodes one line (without its terminator). Messages never quote the line: a misrouted scanner
 * could put a payment code in it. Throws TypeError when maxAmountFen is not a positive safe integer.
 */
export function decodeLineRequest(line: string, options: LineDecodeOptions): LineDecodeResult {
  const { maxAmountFen } = options;
  if (!Number.isSafeInteger(maxAmountFen) || maxAmountFen < 1) {
    throw new TypeError(`maxAmountFen must be a positive safe integer, got ${maxAmountFen}`);
  }
  const fail = (message: string, orderRef = ""): LineDecodeResult => ({ ok: false, orderRef, message });

  if (line.length === 0) return fail("line is empty");
  if (/[\u0000-\u001f\u007f-\u009f]/.test(line)) return fail("line contains a control character");
  const fields = line.split(" ");
  const word = fields[0] as string;
  // ASCII letters before toUpperCase: "ſale".toUpperCase() is "SALE".
  const verb = /^[A-Za-z]+$/.test(word) ? word.toUpperCase() : "";
  if (!isVerb(verb)) {
    return fail(
      word === ""
        ? "line starts with a space"
        : "unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO",
    );
  }
  const refText = fields[1];
  const orderRef =
    verb !== "ECHO" && refText !== undefined && validateRef(refText) === undefined ? refText : "";
  if (fields.includes("")) return fail("fields must be separated by single spaces", orderRef);
  const expected = FORMS[verb].split(" ").length;
  if (fields.length !== expected) {
    return fail(`${verb} needs ${expected} fields (${FORMS[verb]}), got ${fields.length}`, orderRef);
  }
  if (verb === "ECHO") return { ok: true, request: { type: "echo", seq: LINE_SEQ } };

  const refError = validateRef(refText as string, "orderRef");
  if (refError !== undefined) return fail(refError);
  const seq = LINE_SEQ;
  switch (verb) {
    case "QUERY":
      return { ok: true, request: { type: "query", seq, orderRef } };
    case "CANCEL":
      return { ok: true, request: { type: "cancel", seq, orderRef } };
    case "SALE": {
      const amount = parseAmountFen(fields[2] as string, maxAmountFen);
      if (!amount.ok) return fail(amount.message, orderRef);
      return { ok: true, request: { type: "sale", seq, orderRef, amountFen: amount.value } };
    }
    case "REFUND": {
      const refundRef = fields[2] as string;
      const refundError = validateRef(refundRef, "refundRef");
      if (refundError !== undefined) return fail(refundError, orderRef);
      const amount = parseAmountFen(fields[3] as string, maxAmountFen);
      if (!amount.ok) return fail(amount.message, orderRef);
      return { ok: true, request: { type: "refund", seq, orderRef, refundRef, amountFen: amount.value } };
    }
  }
}

const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A free-text field: control characters (CR, LF, …, U+2028/U+2029) become spaces; empty → `-`. */
function textField(text: string): string {
  return text === "" ? "-" : text.replace(CONTROLS, " ");
}

/** A one-token field: spaces and control characters become `_`; empty → `-`. */
function tokenField(text: string): string {
  return text === "" ? "-" : text.replace(CONTROLS, "_").replace(/\s/g, "_");
}

function digits(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer`);
  return String(value);
}

/** One answer line, ending in CR LF. Throws RangeError for an amountFen that is not a non-negative integer. */
export function encodeLineAnswer(answer: PosAnswer): string {
  switch (answer.type) {
    case "progress":
      return `PROGRESS ${tokenField(answer.orderRef)} ${answer.stage} ${textField(answer.text)}\r\n`;
    case "result":
      return `${[
        "RESULT",
        tokenField(answer.orderRef),
        answer.status,
        answer.amountFen === null ? "-" : digits(answer.amountFen, "amountFen"),
        answer.scheme ?? "-",
        tokenField(answer.channelTradeNo),
        textField(answer.text),
      ].join(" ")}\r\n`;
    case "echoReply":
      return `ECHO ${answer.brokerOnline ? "1" : "0"} ${tokenField(answer.laneState)}\r\n`;
  }
}

/** A request as a register would send it, ending in CR LF (mock register, round-trip tests). */
export function encodeLineRequest(request: PosRequest): string {
  switch (request.type) {
    case "sale":
      return `SALE ${request.orderRef} ${digits(request.amountFen, "amountFen")}\r\n`;
    case "query":
      return `QUERY ${request.orderRef}\r\n`;
    case "cancel":
      return `CANCEL ${request.orderRef}\r\n`;
    case "refund":
      return `REFUND ${request.orderRef} ${request.refundRef} ${digits(request.amountFen, "amountFen")}\r\n`;
    case "echo":
      return "ECHO\r\n";
  }
}
