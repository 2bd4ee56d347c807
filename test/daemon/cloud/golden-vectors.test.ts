// Golden vectors: protobuf text fixtures encoded by Google's own protoc must decode in posbridge
// to the expected domain values, and posbridge's bytes must decode in protoc to the same text
// (compared as text, not bytes: field order and packing may legitimately differ). This is what
// lets a cloud team in another language read our bytes the same.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type {
  BridgeEventView,
  BridgeStatusView,
  CloudRequest,
  CloudResponse,
} from "../../../protocols/cloud/cloud-messages.js";
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

const root = new URL("../../..", import.meta.url).pathname;
const fixture = (name: string) => readFileSync(`${root}test/fixtures/proto/${name}.txtpb`, "utf8");

function protoc(args: string[], input: Buffer | string): Buffer {
  try {
    return execFileSync("protoc", ["-I", `${root}proto`, ...args, "posbridge/v1/bridge.proto"], { input });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "protoc not found on PATH: install protobuf-compiler (apt-get install protobuf-compiler; CI installs it). The golden vectors never skip.",
      );
    }
    throw err;
  }
}
const normalise = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join("\n");

type Case<T> = {
  name: string;
  type: string;
  value: T;
  encode: (v: T) => Uint8Array;
  decode: (b: Uint8Array) => { ok: true; value: T } | { ok: false; error: string };
};

const req = (name: string, value: CloudRequest): Case<CloudRequest> => ({
  name,
  type: "BridgeRequest",
  value,
  encode: encodeRequest,
  decode: decodeRequest,
});
const res = (name: string, value: CloudResponse): Case<CloudResponse> => ({
  name,
  type: "BridgeResponse",
  value,
  encode: encodeResponse,
  decode: decodeResponse,
});
const payment = {
  type: "payment" as const,
  amountFen: 1234,
  scheme: "WECHAT" as const,
  channelTradeNo: "",
  reasonCode: "",
  message: "",
  rescanAllowed: false,
};
const envelope = {
  requestId: "01JD0000000000000000000001",
  attemptId: "01JD00000000000000000000A1",
  sentAtMs: 1764000001000,
};

const cases = [
  req("pay-ecny-leading-zero", {
    requestId: "01JD0000000000000000000001",
    sentAtMs: 1764000000123,
    laneId: "lane1",
    command: {
      type: "pay",
      attemptId: "01JD00000000000000000000A1",
      orderRef: "ORD-1",
      amountFen: 1234,
      authCode: "0123456789012345678",
      scheme: "ECNY",
      scannedAtMs: 1764000000000,
      deadlineMs: 1764000060000,
    },
  }),
  req("pay-alipay-24-digits", {
    requestId: "01JD0000000000000000000002",
    sentAtMs: 1764000000456,
    laneId: "lane-2",
    command: {
      type: "pay",
      attemptId: "01JD00000000000000000000A2",
      orderRef: "ORD_2",
      amountFen: 10_000_000_000,
      authCode: "280123456789012345678901",
      scheme: "ALIPAY",
      scannedAtMs: 1764000000400,
      deadlineMs: 1764000060400,
    },
  }),
  req("query", {
    requestId: "01JD0000000000000000000003",
    sentAtMs: 1764000005000,
    laneId: "lane1",
    command: { type: "query", attemptId: "01JD00000000000000000000A1" },
  }),
  req("cancel", {
    requestId: "01JD0000000000000000000004",
    sentAtMs: 1764000045000,
    laneId: "lane1",
    command: { type: "cancel", attemptId: "01JD00000000000000000000A1", reason: "cashier cancelled" },
  }),
  req("refund", {
    requestId: "01JD0000000000000000000005",
    sentAtMs: 1764000100000,
    laneId: "lane1",
    command: {
      type: "refund",
      attemptId: "01JD00000000000000000000A1",
      refundId: "RF_0001",
      amountFen: 500,
      reason: "returned goods",
    },
  }),
  res("result-paid", {
    ...envelope,
    result: {
      ...payment,
      status: "PAID",
      channelTradeNo: "4200001234202611250000000001",
      message: "支付成功",
    },
  }),
  res("result-waiting", {
    ...envelope,
    result: {
      ...payment,
      status: "WAITING_CUSTOMER",
      reasonCode: "USERPAYING",
      message: "需要用户输入支付密码",
    },
  }),
  res("result-failed-rescan", {
    ...envelope,
    result: {
      ...payment,
      status: "FAILED",
      reasonCode: "AUTHCODEEXPIRE",
      message: "付款码已过期",
      rescanAllowed: true,
    },
  }),
  res("refund-result", {
    requestId: "01JD0000000000000000000005",
    attemptId: "01JD00000000000000000000A1",
    sentAtMs: 1764000101000,
    result: {
      type: "refund",
      refundId: "RF_0001",
      status: "REFUNDED",
      amountFen: 500,
      reasonCode: "",
      message: "",
    },
  }),
  {
    name: "status",
    type: "BridgeStatus",
    value: {
      online: true,
      version: "0.1.0",
      sinceMs: 1764000000000,
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
      ],
      reason: "",
    },
    encode: encodeStatus,
    decode: decodeStatus,
  } satisfies Case<BridgeStatusView>,
  {
    name: "event",
    type: "BridgeEvent",
    value: { atMs: 1764000000789, laneId: "lane1", kind: "device_down", detail: "scanner: ABSENT" },
    encode: encodeEvent,
    decode: decodeEvent,
  } satisfies Case<BridgeEventView>,
] as Case<unknown>[];

describe("golden vectors against protoc", () => {
  for (const c of cases) {
    it(`${c.name}: protoc --encode bytes decode to the expected value`, () => {
      const bytes = protoc([`--encode=posbridge.v1.${c.type}`], fixture(c.name));
      expect(c.decode(new Uint8Array(bytes))).toEqual({ ok: true, value: c.value });
    });

    it(`${c.name}: our bytes decode in protoc to the fixture's text`, () => {
      const text = protoc([`--decode=posbridge.v1.${c.type}`], Buffer.from(c.encode(c.value))).toString(
        "utf8",
      );
      expect(normalise(unescapeOctal(text))).toBe(normalise(fixture(c.name)));
    });
  }

  it("protoc reads the payment code as the same string, leading zero and all", () => {
    const bytes = encodeRequest(cases[0]?.value as CloudRequest);
    const text = protoc(["--decode=posbridge.v1.BridgeRequest"], Buffer.from(bytes)).toString();
    expect(text).toContain('auth_code: "0123456789012345678"');
  });
});

/** protoc prints non-ASCII string bytes as octal escapes; turn them back into UTF-8 text. */
function unescapeOctal(text: string): string {
  return text.replace(/"((?:[^"\\]|\\.)*)"/g, (_m, body: string) => {
    const bytes: number[] = [];
    for (let i = 0; i < body.length; i++) {
      if (body[i] === "\\" && /[0-7]{3}/.test(body.slice(i + 1, i + 4))) {
        bytes.push(Number.parseInt(body.slice(i + 1, i + 4), 8));
        i += 3;
      } else bytes.push(...Buffer.from(body[i] as string));
    }
    return `"${Buffer.from(bytes).toString("utf8")}"`;
  });
}
