// Domain messages (protocols/cloud/cloud-messages.ts) ⇄ protobuf bytes (proto/posbridge/v1).
// Messages are built with fromObject (int64 as decimal strings: create() with a bigint silently
// encodes 0) and verified before encoding; decoding never throws: garbage, a missing body, an
// unspecified enum, an unsafe amount or a malformed id come back as a specific error. Error texts
// never quote payload bytes (a payload may carry a payment code).
import { posbridge } from "#proto";
import type {
  BridgeEventView,
  BridgeStatusView,
  CloudCommand,
  CloudRequest,
  CloudResponse,
  DeviceState,
  PaymentStatus,
  RefundStatus,
} from "../../protocols/cloud/cloud-messages.js";
import { SCHEMES, type Scheme } from "../../protocols/payment/scheme.js";
import { checkWireTypes, enumName, Invalid, long } from "./proto-guards.js";

const v1 = posbridge.v1;
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

const ATTEMPT_ID = /^[A-Za-z0-9_]{6,32}$/;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CONVERSION = { longs: String, enums: String, defaults: true, oneofs: true } as const;

type Obj = Record<string, unknown>;

function encodeWith<T>(
  type: { fromObject(o: Obj): T; encode(m: T): { finish(): Uint8Array }; verify(o: Obj): string | null },
  obj: Obj,
): Uint8Array {
  const message = type.fromObject(obj);
  const problem = type.verify(message as unknown as Obj);
  if (problem) throw new TypeError(`cannot encode: ${problem}`);
  return type.encode(message).finish();
}

function decodeWith<T>(
  type: { decode(b: Uint8Array): T; toObject(m: T, o: typeof CONVERSION): Obj },
  bytes: Uint8Array,
  name: string,
): Obj {
  if (bytes.length === 0) throw new Invalid(`empty ${name}`);
  let message: T;
  try {
    checkWireTypes(bytes, name);
    message = type.decode(bytes);
  } catch (err) {
    if (err instanceof Invalid) throw err;
    throw new Invalid(`not a ${name}: ${(err as Error).message.replace(/\d{6,}/g, "…")}`);
  }
  return type.toObject(message, CONVERSION);
}

function guard<T>(fn: () => T): Decoded<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    return { ok: false, error: `undecodable: ${(err as Error).message.replace(/\d{6,}/g, "…")}` };
  }
}

/** int64 as decimal string → a safe non-negative integer. */
function int(value: unknown, field: string, { positive = false } = {}): number {
  const text = String(value ?? "0");
  if (!/^-?\d+$/.test(text)) throw new Invalid(`${field} is not an integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Invalid(`${field} out of range`);
  if (positive && n === 0) throw new Invalid(`${field} must be > 0`);
  return n;
}

// Texts from the cloud travel on to the register, whose frames have a size limit, and into logs.
const TRADE_NO = /^[A-Za-z0-9_-]*$/;
const REASON_CODE = /^[A-Za-z0-9_.-]*$/;

function bounded(value: unknown, field: string, max: number, pattern?: RegExp): string {
  const text = str(value);
  if ([...text].length > max) throw new Invalid(`${field} longer than ${max} characters`);
  if (pattern && !pattern.test(text)) throw new Invalid(`${field} has characters outside ${pattern.source}`);
  return text;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function attemptId(value: unknown, field = "attempt_id"): string {
  const id = str(value);
  if (!ATTEMPT_ID.test(id)) throw new Invalid(`${field} must be 6–32 of [A-Za-z0-9_]`);
  return id;
}

function scheme(value: unknown, { required }: { required: boolean }): Scheme | null {
  if (SCHEMES.includes(value as Scheme)) return value as Scheme;
  if (!required && (value === "SCHEME_UNSPECIFIED" || value === undefined)) return null;
  throw new Invalid("scheme unspecified or unknown");
}

// ── requests ────────────────────────────────────────────────────────────────────────────────

export function encodeRequest(req: CloudRequest): Uint8Array {
  const envelope: Obj = {
    requestId: req.requestId,
    sentAtMs: long(req.sentAtMs, "sent_at_ms"),
    laneId: req.laneId,
  };
  const c = req.command;
  switch (c.type) {
    case "pay":
      envelope.pay = {
        attemptId: c.attemptId,
        orderRef: c.orderRef,
        amountFen: long(c.amountFen, "amount_fen"),
        currency: "CNY",
        authCode: c.authCode,
        scheme: enumName(c.scheme, SCHEMES, "scheme"),
        scannedAtMs: long(c.scannedAtMs, "scanned_at_ms"),
        deadlineMs: long(c.deadlineMs, "deadline_ms"),
      };
      break;
    case "query":
      envelope.query = { attemptId: c.attemptId };
      break;
    case "cancel":
      envelope.cancel = { attemptId: c.attemptId, reason: c.reason };
      break;
    case "refund":
      envelope.refund = {
        attemptId: c.attemptId,
        refundId: c.refundId,
        amountFen: long(c.amountFen, "amount_fen"),
        reason: c.reason,
      };
      break;
  }
  return encodeWith(v1.BridgeRequest, envelope);
}

export function decodeRequest(bytes: Uint8Array): Decoded<CloudRequest> {
  return guard(() => {
    const o = decodeWith(v1.BridgeRequest, bytes, "BridgeRequest");
    const requestId = str(o.requestId);
    if (!REQUEST_ID.test(requestId)) throw new Invalid("request_id missing or malformed");
    let command: CloudCommand;
    const body = o.body as string | undefined;
    const b = (o[body ?? ""] ?? {}) as Obj;
    switch (body) {
      case "pay": {
        const authCode = str(b.authCode);
        if (!/^[0-9]{8,64}$/.test(authCode)) throw new Invalid("auth_code must be 8–64 digits");
        if (str(b.currency) !== "CNY") throw new Invalid("currency must be CNY");
        command = {
          type: "pay",
          attemptId: attemptId(b.attemptId),
          orderRef: str(b.orderRef),
          amountFen: int(b.amountFen, "amount_fen", { positive: true }),
          authCode,
          scheme: scheme(b.scheme, { required: true }) as Scheme,
          scannedAtMs: int(b.scannedAtMs, "scanned_at_ms"),
          deadlineMs: int(b.deadlineMs, "deadline_ms", { positive: true }),
        };
        break;
      }
      case "query":
        command = { type: "query", attemptId: attemptId(b.attemptId) };
        break;
      case "cancel":
        command = { type: "cancel", attemptId: attemptId(b.attemptId), reason: str(b.reason) };
        break;
      case "refund":
        command = {
          type: "refund",
          attemptId: attemptId(b.attemptId),
          refundId: attemptId(b.refundId, "refund_id"),
          amountFen: int(b.amountFen, "amount_fen", { positive: true }),
          reason: str(b.reason),
        };
        break;
      default:
        throw new Invalid("BridgeRequest has no body (pay, query, cancel or refund)");
    }
    return { requestId, sentAtMs: int(o.sentAtMs, "sent_at_ms"), laneId: str(o.laneId), command };
  });
}

// ── responses ───────────────────────────────────────────────────────────────────────────────

const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  "PAID",
  "FAILED",
  "WAITING_CUSTOMER",
  "UNKNOWN",
  "CANCELLED",
];
// proto3 enum values share the package scope, so the contract's RefundStatus UNKNOWN is
// REFUND_UNKNOWN on the wire (PaymentStatus already owns UNKNOWN).
const REFUND_STATUS_NAMES: Record<RefundStatus, string> = {
  REFUNDED: "REFUNDED",
  REFUND_FAILED: "REFUND_FAILED",
  UNKNOWN: "REFUND_UNKNOWN",
};
const REFUND_STATUSES_BY_NAME: Record<string, RefundStatus> = {
  REFUNDED: "REFUNDED",
  REFUND_FAILED: "REFUND_FAILED",
  REFUND_UNKNOWN: "UNKNOWN",
};

export function encodeResponse(res: CloudResponse): Uint8Array {
  const envelope: Obj = {
    requestId: res.requestId,
    attemptId: res.attemptId,
    sentAtMs: long(res.sentAtMs, "sent_at_ms"),
  };
  const r = res.result;
  if (r.type === "payment") {
    envelope.payment = {
      status: enumName(r.status, PAYMENT_STATUSES, "status"),
      amountFen: long(r.amountFen, "amount_fen"),
      scheme: r.scheme === null ? "SCHEME_UNSPECIFIED" : enumName(r.scheme, SCHEMES, "scheme"),
      channelTradeNo: r.channelTradeNo,
      reasonCode: r.reasonCode,
      message: r.message,
      rescanAllowed: r.rescanAllowed,
    };
  } else {
    envelope.refund = {
      refundId: r.refundId,
      status: REFUND_STATUS_NAMES[r.status] ?? enumName(r.status, [], "refund status"),
      amountFen: long(r.amountFen, "amount_fen"),
      reasonCode: r.reasonCode,
      message: r.message,
    };
  }
  return encodeWith(v1.BridgeResponse, envelope);
}

export function decodeResponse(bytes: Uint8Array): Decoded<CloudResponse> {
  return guard(() => {
    const o = decodeWith(v1.BridgeResponse, bytes, "BridgeResponse");
    const requestId = str(o.requestId);
    if (!REQUEST_ID.test(requestId)) throw new Invalid("request_id missing or malformed");
    const envelope = {
      requestId,
      attemptId: attemptId(o.attemptId),
      sentAtMs: int(o.sentAtMs, "sent_at_ms"),
    };
    if (o.body === "payment") {
      const p = o.payment as Obj;
      const status = p.status as PaymentStatus;
      if (!PAYMENT_STATUSES.includes(status)) throw new Invalid("payment status unspecified or unknown");
      return {
        ...envelope,
        result: {
          type: "payment",
          status,
          amountFen: int(p.amountFen, "amount_fen"),
          scheme: scheme(p.scheme, { required: false }),
          channelTradeNo: bounded(p.channelTradeNo, "channel_trade_no", 64, TRADE_NO),
          reasonCode: bounded(p.reasonCode, "reason_code", 64, REASON_CODE),
          message: bounded(p.message, "message", 256),
          rescanAllowed: p.rescanAllowed === true,
        },
      };
    }
    if (o.body === "refund") {
      const r = o.refund as Obj;
      const status = REFUND_STATUSES_BY_NAME[str(r.status)];
      if (!status) throw new Invalid("refund status unspecified or unknown");
      return {
        ...envelope,
        result: {
          type: "refund",
          refundId: attemptId(r.refundId, "refund_id"),
          status,
          amountFen: int(r.amountFen, "amount_fen"),
          reasonCode: bounded(r.reasonCode, "reason_code", 64, REASON_CODE),
          message: bounded(r.message, "message", 256),
        },
      };
    }
    throw new Invalid("BridgeResponse has no body (payment or refund)");
  });
}

// ── status and events ───────────────────────────────────────────────────────────────────────

const DEVICE_STATES: readonly DeviceState[] = ["CONNECTED", "ABSENT", "FAULT"];

export function encodeStatus(s: BridgeStatusView): Uint8Array {
  return encodeWith(v1.BridgeStatus, {
    online: s.online,
    version: s.version,
    sinceMs: long(s.sinceMs, "since_ms"),
    lanes: s.lanes.map((l) => ({
      laneId: l.laneId,
      terminal: enumName(l.terminal, DEVICE_STATES, "terminal"),
      scanner: enumName(l.scanner, DEVICE_STATES, "scanner"),
      display: enumName(l.display, DEVICE_STATES, "display"),
      lastError: l.lastError,
      pendingAttempts: l.pendingAttempts,
      pendingRefunds: l.pendingRefunds,
    })),
    reason: s.reason,
  });
}

function deviceState(value: unknown): DeviceState {
  if (!DEVICE_STATES.includes(value as DeviceState)) throw new Invalid("device state unspecified or unknown");
  return value as DeviceState;
}

export function decodeStatus(bytes: Uint8Array): Decoded<BridgeStatusView> {
  return guard(() => {
    const o = decodeWith(v1.BridgeStatus, bytes, "BridgeStatus");
    return {
      online: o.online === true,
      version: str(o.version),
      sinceMs: int(o.sinceMs, "since_ms"),
      lanes: ((o.lanes as Obj[]) ?? []).map((l) => ({
        laneId: str(l.laneId),
        terminal: deviceState(l.terminal),
        scanner: deviceState(l.scanner),
        display: deviceState(l.display),
        lastError: str(l.lastError),
        pendingAttempts: int(l.pendingAttempts ?? 0, "pending_attempts"),
        pendingRefunds: int(l.pendingRefunds ?? 0, "pending_refunds"),
      })),
      reason: str(o.reason),
    };
  });
}

export function encodeEvent(e: BridgeEventView): Uint8Array {
  return encodeWith(v1.BridgeEvent, {
    atMs: long(e.atMs, "at_ms"),
    laneId: e.laneId,
    kind: e.kind,
    detail: e.detail,
  });
}

export function decodeEvent(bytes: Uint8Array): Decoded<BridgeEventView> {
  return guard(() => {
    const o = decodeWith(v1.BridgeEvent, bytes, "BridgeEvent");
    if (!str(o.kind)) throw new Invalid("event kind missing");
    return { atMs: int(o.atMs, "at_ms"), laneId: str(o.laneId), kind: str(o.kind), detail: str(o.detail) };
  });
}
