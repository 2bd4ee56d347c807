import { posbridge } from "#proto";
import { describe, expect, it } from "vitest";
import type { CloudRequest, CloudResponse } from "../../../protocols/cloud/cloud-messages.js";
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
      lanes: [
        { laneId: "lane1", terminal: "CONNECTED", scanner: "ABSENT", display: "FAULT", lastError: "ENOENT" },
      ] as const,
    };
    expect(decodeStatus(encodeStatus({ ...status, lanes: [...status.lanes] }))).toEqual({
      ok: true,
      value: { ...status, lanes: [...status.lanes] },
    });
    const event = { atMs: 9, laneId: "lane1", kind: "device_down", detail: "scanner: ABSENT" };
    expect(decodeEvent(encodeEvent(event))).toEqual({ ok: true, value: event });
  });

  it("an offline status (the Last Will) decodes as online=false", () => {
    const will = decodeStatus(encodeStatus({ online: false, version: "x", sinceMs: 1, lanes: [] }));
    expect(will).toEqual({ ok: true, value: { online: false, version: "x", sinceMs: 1, lanes: [] } });
  });
});
