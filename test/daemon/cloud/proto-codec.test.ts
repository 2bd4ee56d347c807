import { posbridge } from "#proto";
import { describe, expect, it } from "vitest";
import type { CloudRequest, CloudResponse, PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import type { Scheme } from "../../../protocols/payment/scheme.js";
import {
  decodeEvent,
  decodeRequest,
  decodeResponse,
  decodeStatus,
  encodeEvent,
  encodeRequest,
  encodeResponse,
  encodeStatus,
} from "../../../daemon/cloud/proto-codec.js";

const pay = (authCode: string, scheme: "WECHAT" | "ALIPAY" | "UNIONPAY" | "ECNY"): CloudRequest => ({
  requestId: "01JD0000000000000000000000",
  sentAtMs: 1_764_000_000_123,
  laneId: "lane1",
  command: {
    type: "pay",
    attemptId: "01JD00000000000000000000AT",
    orderRef: "ORD-1",
    amountFen: 1234,
    authCode,
    scheme,
    scannedAtMs: 1_764_000_000_000,
    deadlineMs: 1_764_000_060_000,
  },
});

describe("proto codec: requests", () => {
  it("round-trips an e-CNY code with its leading zero, as a string", () => {
    const req = pay("0123456789012345678", "ECNY");
    const back = decodeRequest(encodeRequest(req));
    expect(back).toEqual({ ok: true, value: req });
  });

  it("round-trips a 24-digit Alipay code exactly (beyond any JS number)", () => {
    const req = pay("280123456789012345678901", "ALIPAY");
    const back = decodeRequest(encodeRequest(req));
    expect(back.ok && back.value.command.type === "pay" && back.value.command.authCode).toBe(
      "280123456789012345678901",
    );
  });

  it("round-trips query, cancel and refund", () => {
    for (const command of [
      { type: "query", attemptId: "ATTEMPT_1" },
      { type: "cancel", attemptId: "ATTEMPT_1", reason: "cashier cancelled" },
      {
        type: "refund",
        attemptId: "ATTEMPT_1",
        refundId: "REFUND_1",
        amountFen: 500,
        reason: "returned goods",
      },
    ] as const) {
      const req: CloudRequest = { requestId: "R1", sentAtMs: 5, laneId: "l", command };
      expect(decodeRequest(encodeRequest(req))).toEqual({ ok: true, value: req });
    }
  });

  it("refuses a request without a body or with a malformed attempt id", () => {
    const bare = encodeRequest({
      requestId: "R1",
      sentAtMs: 1,
      laneId: "l",
      command: { type: "query", attemptId: "ATTEMPT_1" },
    });
    expect(decodeRequest(bare.subarray(0, 5))).toMatchObject({ ok: false });
    const bad = encodeRequest({
      requestId: "R1",
      sentAtMs: 1,
      laneId: "l",
      command: { type: "query", attemptId: "bad id!" },
    });
    expect(decodeRequest(bad)).toEqual({ ok: false, error: "attempt_id must be 6–32 of [A-Za-z0-9_]" });
  });
});

describe("proto codec: responses", () => {
  const paid: CloudResponse = {
    requestId: "R1",
    attemptId: "ATTEMPT_1",
    sentAtMs: 7,
    result: {
      type: "payment",
      status: "PAID",
      amountFen: 1234,
      scheme: "WECHAT",
      channelTradeNo: "4200001234567890",
      reasonCode: "",
      message: "ok",
      rescanAllowed: false,
    },
  };

  it("round-trips payment and refund results", () => {
    expect(decodeResponse(encodeResponse(paid))).toEqual({ ok: true, value: paid });
    const refund: CloudResponse = {
      requestId: "R2",
      attemptId: "ATTEMPT_1",
      sentAtMs: 8,
      result: {
        type: "refund",
        refundId: "REFUND_1",
        status: "UNKNOWN",
        amountFen: 100,
        reasonCode: "SYSTEMERROR",
        message: "",
      },
    };
    expect(decodeResponse(encodeResponse(refund))).toEqual({ ok: true, value: refund });
  });

  it("turns garbage into a specific error, never a throw", () => {
    expect(decodeResponse(new Uint8Array())).toEqual({ ok: false, error: "empty BridgeResponse" });
    const garbage = decodeResponse(new TextEncoder().encode("not a protobuf at all"));
    expect(garbage.ok).toBe(false);
    expect(decodeResponse(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff))).toMatchObject({ ok: false });
    const truncated = encodeResponse(paid);
    expect(decodeResponse(truncated.subarray(0, truncated.length - 3))).toMatchObject({ ok: false });
  });

  it("refuses a response with an unspecified status or no body", () => {
    const v1 = posbridge.v1;
    const unspecified = v1.BridgeResponse.encode(
      v1.BridgeResponse.fromObject({
        requestId: "R1",
        attemptId: "ATTEMPT_1",
        payment: { status: "PAYMENT_STATUS_UNSPECIFIED" },
      }),
    ).finish();
    expect(decodeResponse(unspecified)).toEqual({
      ok: false,
      error: "payment status unspecified or unknown",
    });
    const noBody = v1.BridgeResponse.encode(
      v1.BridgeResponse.fromObject({ requestId: "R1", attemptId: "ATTEMPT_1" }),
    ).finish();
    expect(decodeResponse(noBody)).toEqual({
      ok: false,
      error: "BridgeResponse has no body (payment or refund)",
    });
    const unknownRequest = v1.BridgeResponse.encode(
      v1.BridgeResponse.fromObject({ attemptId: "ATTEMPT_1", payment: { status: "PAID" } }),
    ).finish();
    expect(decodeResponse(unknownRequest)).toEqual({ ok: false, error: "request_id missing or malformed" });
  });
});

describe("proto codec: status and events", () => {
  it("round-trips a status with lanes and an event", () => {
    const status = {
      online: true,
      version: "0.1.0",
      sinceMs: 123,
      reason: "",
      lanes: [
        {
          laneId: "lane1",
          terminal: "CONNECTED",
          scanner: "ABSENT",
          display: "FAULT",
          lastError: "ENOENT",
          pendingAttempts: 2,
          pendingRefunds: 1,
        },
      ] as const,
    };
    expect(decodeStatus(encodeStatus({ ...status, lanes: [...status.lanes] }))).toEqual({
      ok: true,
      value: { ...status, lanes: [...status.lanes] },
    });
    const event = { atMs: 9, laneId: "lane1", kind: "device_down", detail: "scanner: ABSENT" };
    expect(decodeEvent(encodeEvent(event))).toEqual({ ok: true, value: event });
  });

  it("an offline status (the Last Will) decodes as online=false, with its reason", () => {
    const value = { online: false, version: "x", sinceMs: 1, lanes: [], reason: "stopped" };
    expect(decodeStatus(encodeStatus(value))).toEqual({ ok: true, value });
  });
});

describe("proto codec: what it refuses, and how it says so", () => {
  const v1 = posbridge.v1;
  const CODE = "0123456789012345678";
  const rawRequest = (payOverrides: Record<string, unknown>, envelope: Record<string, unknown> = {}) =>
    v1.BridgeRequest.encode(
      v1.BridgeRequest.fromObject({
        requestId: "R1",
        sentAtMs: "5",
        laneId: "l",
        pay: {
          attemptId: "ATTEMPT_1",
          amountFen: "100",
          currency: "CNY",
          authCode: CODE,
          scheme: "ECNY",
          scannedAtMs: "1",
          deadlineMs: "2",
          ...payOverrides,
        },
        ...envelope,
      }),
    ).finish();
  const errorOf = (d: { ok: boolean; error?: string }) => (d.ok ? "decoded" : d.error);

  it("names an empty buffer, garbage and a truncated request", () => {
    expect(decodeRequest(new Uint8Array())).toEqual({ ok: false, error: "empty BridgeRequest" });
    expect(errorOf(decodeRequest(new TextEncoder().encode("hello, not protobuf")))).toMatch(
      /^not a BridgeRequest: /,
    );
    expect(errorOf(decodeRequest(Uint8Array.of(0xff, 0xff, 0xff)))).toMatch(/^not a BridgeRequest: /);
    const whole = encodeRequest(pay(CODE, "ECNY"));
    for (const cut of [1, 4, 20, whole.length - 1]) {
      expect(errorOf(decodeRequest(whole.subarray(0, cut)))).toMatch(
        /^not a BridgeRequest|request_id|no body/,
      );
    }
  });

  it("tells a message of another type from the one it expects", () => {
    const request = encodeRequest(pay(CODE, "ECNY"));
    const response = encodeResponse({
      requestId: "R1",
      attemptId: "ATTEMPT_1",
      sentAtMs: 1,
      result: {
        type: "payment",
        status: "PAID",
        amountFen: 100,
        scheme: "ECNY",
        channelTradeNo: "",
        reasonCode: "",
        message: "",
        rescanAllowed: false,
      },
    });
    const status = encodeStatus({ online: true, version: "1", sinceMs: 1, lanes: [], reason: "" });
    const event = encodeEvent({ atMs: 1, laneId: "l", kind: "device_up", detail: "" });
    expect(errorOf(decodeRequest(response))).toBe("not a BridgeRequest: field 2 has wire type 2, expected 0");
    expect(errorOf(decodeResponse(request))).toBe(
      "not a BridgeResponse: field 2 has wire type 0, expected 2",
    );
    expect(errorOf(decodeRequest(status))).toMatch(/^not a BridgeRequest: field 1 has wire type 0/);
    expect(errorOf(decodeRequest(event))).toMatch(/^not a BridgeRequest: field 1 has wire type 0/);
    // Without the wire-type check these two "decode": a request read as a status is online=false.
    expect(errorOf(decodeStatus(request))).toMatch(/^not a BridgeStatus: field 1 has wire type 2/);
    expect(errorOf(decodeEvent(request))).toMatch(/^not a BridgeEvent: field 1 has wire type 2/);
    expect(errorOf(decodeEvent(status))).toMatch(/^not a BridgeEvent: /);
    expect(errorOf(decodeStatus(event))).toMatch(/^not a BridgeStatus: /);
  });

  it("accepts fields it does not know yet (the contract only adds fields)", () => {
    const known = encodeRequest(pay(CODE, "ECNY"));
    const withExtra = new Uint8Array([...known, 0xa0, 0x06, 0x01]); // field 100, varint 1
    expect(decodeRequest(withExtra)).toEqual({ ok: true, value: pay(CODE, "ECNY") });
  });

  it("refuses a request with no body", () => {
    const bare = v1.BridgeRequest.encode(v1.BridgeRequest.fromObject({ requestId: "R1" })).finish();
    expect(errorOf(decodeRequest(bare))).toBe("BridgeRequest has no body (pay, query, cancel or refund)");
  });

  it("refuses amounts that are zero, negative or beyond a safe integer", () => {
    expect(errorOf(decodeRequest(rawRequest({ amountFen: "0" })))).toBe("amount_fen must be > 0");
    expect(errorOf(decodeRequest(rawRequest({ amountFen: "-100" })))).toBe("amount_fen out of range");
    expect(errorOf(decodeRequest(rawRequest({ amountFen: "9007199254740993" })))).toBe(
      "amount_fen out of range",
    );
    expect(errorOf(decodeRequest(rawRequest({ amountFen: String(Number.MAX_SAFE_INTEGER) })))).toBe(
      "decoded",
    );
  });

  it("refuses an unspecified scheme, a wrong currency, a malformed code or id", () => {
    expect(errorOf(decodeRequest(rawRequest({ scheme: "SCHEME_UNSPECIFIED" })))).toBe(
      "scheme unspecified or unknown",
    );
    expect(errorOf(decodeRequest(rawRequest({ scheme: 9 })))).toBe("scheme unspecified or unknown");
    expect(errorOf(decodeRequest(rawRequest({ currency: "USD" })))).toBe("currency must be CNY");
    expect(errorOf(decodeRequest(rawRequest({ authCode: "" })))).toBe("auth_code must be 8–64 digits");
    expect(errorOf(decodeRequest(rawRequest({ authCode: "01234567890123456x" })))).toBe(
      "auth_code must be 8–64 digits",
    );
    for (const id of ["ABCDE", "A".repeat(33), "ATT-01", "ATTEMPT 1", "尝试尝试尝试"]) {
      expect(errorOf(decodeRequest(rawRequest({ attemptId: id })))).toBe(
        "attempt_id must be 6–32 of [A-Za-z0-9_]",
      );
    }
    expect(errorOf(decodeRequest(rawRequest({ attemptId: "A".repeat(32) })))).toBe("decoded");
    expect(errorOf(decodeRequest(rawRequest({}, { requestId: "" })))).toBe("request_id missing or malformed");
  });

  it("never quotes the payment code or payload bytes in an error", () => {
    const failures = [
      rawRequest({ currency: "USD" }),
      rawRequest({ scheme: 0 }),
      rawRequest({ attemptId: `${CODE}!` }),
      rawRequest({ authCode: `${CODE}x` }),
      rawRequest({}).subarray(0, 40),
    ].map((b) => decodeRequest(b));
    for (const f of failures) {
      expect(f, JSON.stringify(f)).toMatchObject({ ok: false });
      expect(JSON.stringify(f)).not.toContain(CODE.slice(-8));
    }
  });

  it("refuses an unspecified refund status or device state", () => {
    const refund = v1.BridgeResponse.encode(
      v1.BridgeResponse.fromObject({
        requestId: "R1",
        attemptId: "ATTEMPT_1",
        refund: { refundId: "RF_001" },
      }),
    ).finish();
    expect(errorOf(decodeResponse(refund))).toBe("refund status unspecified or unknown");
    const status = v1.BridgeStatus.encode(
      v1.BridgeStatus.fromObject({ online: true, lanes: [{ laneId: "l", terminal: "CONNECTED" }] }),
    ).finish();
    expect(errorOf(decodeStatus(status))).toBe("device state unspecified or unknown");
  });

  it("refuses to encode an amount that protobufjs would silently turn into another number", () => {
    const withAmount = (amountFen: number) => ({
      ...pay(CODE, "ECNY"),
      command: { ...(pay(CODE, "ECNY").command as PayCommand), amountFen },
    });
    for (const bad of [Number.NaN, 12.5, -1, 2 ** 53]) {
      expect(() => encodeRequest(withAmount(bad))).toThrow(/amount_fen must be a safe integer/);
    }
    expect(() =>
      encodeRequest({
        ...pay(CODE, "ECNY"),
        command: { ...(pay(CODE, "ECNY").command as PayCommand), scheme: "VISA" as Scheme },
      }),
    ).toThrow(/scheme is not one of/);
  });
});

describe("proto codec: texts from the cloud are bounded", () => {
  const base: CloudResponse = {
    requestId: "R1",
    attemptId: "ATTEMPT_1",
    sentAtMs: 1,
    result: {
      type: "payment",
      status: "PAID",
      amountFen: 1,
      scheme: "WECHAT",
      channelTradeNo: "4200",
      reasonCode: "",
      message: "",
      rescanAllowed: false,
    },
  };
  const withResult = (patch: object): CloudResponse => ({
    ...base,
    result: { ...base.result, ...patch } as CloudResponse["result"],
  });

  it("refuses an over-long message, trade number or reason code, naming the field", () => {
    expect(decodeResponse(encodeResponse(withResult({ message: "x".repeat(257) })))).toEqual({
      ok: false,
      error: "message longer than 256 characters",
    });
    expect(decodeResponse(encodeResponse(withResult({ channelTradeNo: "4".repeat(65) })))).toEqual({
      ok: false,
      error: "channel_trade_no longer than 64 characters",
    });
    expect(decodeResponse(encodeResponse(withResult({ reasonCode: "R".repeat(65) })))).toEqual({
      ok: false,
      error: "reason_code longer than 64 characters",
    });
  });

  it("refuses a trade number with characters that do not belong in one", () => {
    const r = decodeResponse(encodeResponse(withResult({ channelTradeNo: "42 00\u001c" })));
    expect(r.ok).toBe(false);
  });

  it("accepts a 256-character Chinese message", () => {
    expect(decodeResponse(encodeResponse(withResult({ message: "支".repeat(256) }))).ok).toBe(true);
  });
});
