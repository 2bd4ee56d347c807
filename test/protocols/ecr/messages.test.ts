import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex, utf8 } from "../../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import {
  cleanField,
  decodeEcrRequest,
  encodeEcrAnswer,
  encodeEcrRequest,
} from "../../../protocols/ecr/messages.js";
import type { PosRequest, ResultStatus } from "../../../protocols/pos/pos-messages.js";

const OPTS = { maxAmountFen: 10_000_000 };
const data = (text: string) => utf8(text);
const fields = (bytes: Uint8Array) => new TextDecoder().decode(bytes).split("\x1c");

describe("decodeEcrRequest", () => {
  it("decodes the spec's SA example DATA", () => {
    const frame = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
    expect(decodeEcrRequest(frame.slice(3, -2), OPTS)).toEqual({
      ok: true,
      request: { type: "sale", seq: "01", orderRef: "ORD123", amountFen: 1234 },
    });
  });

  it("decodes the spec's EC example DATA", () => {
    expect(decodeEcrRequest(fromHex("45 43 1c 30 37"), OPTS)).toEqual({
      ok: true,
      request: { type: "echo", seq: "07" },
    });
  });

  it("decodes QY, CA and RF", () => {
    expect(decodeEcrRequest(data("QY\x1c02\x1cORD123"), OPTS)).toEqual({
      ok: true,
      request: { type: "query", seq: "02", orderRef: "ORD123" },
    });
    expect(decodeEcrRequest(data("CA\x1c03\x1cORD123"), OPTS)).toEqual({
      ok: true,
      request: { type: "cancel", seq: "03", orderRef: "ORD123" },
    });
    expect(decodeEcrRequest(data("RF\x1c04\x1cORD123\x1cR-1\x1c500"), OPTS)).toEqual({
      ok: true,
      request: { type: "refund", seq: "04", orderRef: "ORD123", refundRef: "R-1", amountFen: 500 },
    });
  });

  it.each([
    ["0", /greater than 0/],
    ["-5", /sign/],
    ["12.34", /fen, integer only/],
    ["0100", /start with 0/],
    ["1234567890123", /13 digits/],
    ["10000001", /exceeds the maximum/],
  ])("rejects SA amount %j with PB_MSG_AMOUNT, echoing seq and orderRef", (amount, message) => {
    const result = decodeEcrRequest(data(`SA\x1c05\x1cORD123\x1c${amount}`), OPTS);
    expect(result).toMatchObject({ ok: false, seq: "05", orderRef: "ORD123", code: "PB_MSG_AMOUNT" });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it("rejects a bad RF amount", () => {
    const result = decodeEcrRequest(data("RF\x1c04\x1cORD123\x1cR1\x1c0"), OPTS);
    expect(result).toMatchObject({ ok: false, seq: "04", orderRef: "ORD123", code: "PB_MSG_AMOUNT" });
  });

  it("rejects an orderRef with a space, without echoing it", () => {
    const result = decodeEcrRequest(data("SA\x1c01\x1cORD 123\x1c1234"), OPTS);
    expect(result).toEqual({
      ok: false,
      seq: "01",
      orderRef: "",
      code: "PB_MSG_REF",
      message: "orderRef contains whitespace; only A-Z a-z 0-9 _ - allowed",
    });
  });

  it("rejects a 33-character orderRef", () => {
    const result = decodeEcrRequest(data(`QY\x1c01\x1c${"A".repeat(33)}`), OPTS);
    expect(result).toMatchObject({ ok: false, code: "PB_MSG_REF", orderRef: "" });
    if (!result.ok) expect(result.message).toMatch(/33 characters/);
  });

  it("rejects a bad refundRef by name, echoing the valid orderRef", () => {
    const result = decodeEcrRequest(data("RF\x1c04\x1cORD123\x1cR 1\x1c500"), OPTS);
    expect(result).toMatchObject({ ok: false, orderRef: "ORD123", code: "PB_MSG_REF" });
    if (!result.ok) expect(result.message).toMatch(/^refundRef/);
  });

  it("rejects an unknown code but still echoes the seq", () => {
    expect(decodeEcrRequest(data("ZZ\x1c09\x1cORD1"), OPTS)).toMatchObject({
      ok: false,
      seq: "09",
      orderRef: "ORD1",
      code: "PB_MSG_CODE",
    });
  });

  it("rejects empty DATA as a missing code with seq 00", () => {
    expect(decodeEcrRequest(new Uint8Array(0), OPTS)).toEqual({
      ok: false,
      seq: "00",
      orderRef: "",
      code: "PB_MSG_CODE",
      message: "message code is missing",
    });
  });

  it.each([["1"], ["123"], ["ab"], [""]])("rejects seq %j with PB_MSG_SEQ and seq 00", (seq) => {
    expect(decodeEcrRequest(data(`QY\x1c${seq}\x1cORD1`), OPTS)).toMatchObject({
      ok: false,
      seq: "00",
      code: "PB_MSG_SEQ",
    });
  });

  it("rejects a missing seq", () => {
    expect(decodeEcrRequest(data("EC"), OPTS)).toMatchObject({ ok: false, seq: "00", code: "PB_MSG_SEQ" });
  });

  it.each([
    ["SA\x1c01\x1cORD1", /SA needs 4 fields .*got 3/],
    ["SA\x1c01\x1cORD1\x1c100\x1cextra", /SA needs 4 fields .*got 5/],
    ["QY\x1c01", /QY needs 3 fields .*got 2/],
    ["EC\x1c01\x1c", /EC needs 2 fields .*got 3/],
    ["RF\x1c01\x1cORD1\x1c100", /RF needs 5 fields .*got 4/],
  ])("rejects wrong field counts: %j", (text, message) => {
    const result = decodeEcrRequest(data(text), OPTS);
    expect(result).toMatchObject({ ok: false, seq: "01", code: "PB_MSG_FIELDS" });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it("rejects invalid UTF-8, still echoing the readable seq", () => {
    const bytes = concatBytes(data("SA\x1c01\x1cORD1\x1c12"), fromHex("ff"));
    expect(decodeEcrRequest(bytes, OPTS)).toEqual({
      ok: false,
      seq: "01",
      orderRef: "ORD1",
      code: "PB_MSG_ENCODING",
      message: "field 4 is not valid UTF-8",
    });
  });
});

describe("encodeEcrAnswer", () => {
  it("encodes PR with seq 00", () => {
    const bytes = encodeEcrAnswer({
      type: "progress",
      orderRef: "ORD123",
      stage: "WAIT_SCAN",
      text: "请出示付款码 ¥12.34",
    });
    expect(fields(bytes)).toEqual(["PR", "00", "ORD123", "WAIT_SCAN", "请出示付款码 ¥12.34"]);
  });

  it("encodes the spec's paid RS", () => {
    const bytes = encodeEcrAnswer({
      type: "result",
      seq: "01",
      orderRef: "ORD123",
      status: "PAID",
      amountFen: 1234,
      scheme: "WECHAT",
      channelTradeNo: "4200001234",
      text: "支付成功",
    });
    expect(fields(bytes)).toEqual(["RS", "01", "ORD123", "00", "1234", "WECHAT", "4200001234", "支付成功"]);
  });

  it("encodes a rejection with empty amount and scheme", () => {
    const bytes = encodeEcrAnswer({
      type: "result",
      seq: "05",
      orderRef: "",
      status: "REJECTED",
      amountFen: null,
      scheme: null,
      channelTradeNo: "",
      text: "bad amount",
    });
    expect(toHex(bytes)).toBe(toHex(data("RS\x1c05\x1c\x1c40\x1c\x1c\x1c\x1cbad amount")));
  });

  it.each<[ResultStatus, string]>([
    ["PAID", "00"],
    ["CANCELLED", "20"],
    ["UNKNOWN", "30"],
    ["REJECTED", "40"],
    ["REFUNDED", "50"],
    ["REFUND_FAILED", "51"],
    ["PENDING", "60"],
  ])("encodes status %s as %s", (status, code) => {
    const bytes = encodeEcrAnswer({
      type: "result",
      seq: "01",
      orderRef: "O",
      status,
      amountFen: 1,
      scheme: null,
      channelTradeNo: "",
      text: "",
    });
    expect(fields(bytes)[3]).toBe(code);
  });

  it("encodes ES with brokerOnline 1/0", () => {
    expect(
      fields(encodeEcrAnswer({ type: "echoReply", seq: "07", brokerOnline: true, laneState: "idle" })),
    ).toEqual(["ES", "07", "1", "idle"]);
    expect(
      fields(encodeEcrAnswer({ type: "echoReply", seq: "07", brokerOnline: false, laneState: "sale" }))[2],
    ).toBe("0");
  });

  it("never puts FS or other control bytes inside a field", () => {
    const bytes = encodeEcrAnswer({
      type: "progress",
      orderRef: "ORD1",
      stage: "RETRY_SCAN",
      text: "a\x1cb\x02c\x03d\re\n",
    });
    expect(fields(bytes)).toEqual(["PR", "00", "ORD1", "RETRY_SCAN", "a b c d e "]);
    expect(bytes.filter((b) => b === 0x1c).length).toBe(4);
  });

  it("replaces control bytes a pluggable encoder might produce", () => {
    const bytes = encodeEcrAnswer({ type: "echoReply", seq: "07", brokerOnline: true, laneState: "x" }, () =>
      Uint8Array.of(0x41, 0x1c),
    );
    expect(toHex(bytes)).toBe("41 3f 1c 41 3f 1c 41 3f 1c 41 3f");
  });

  it("refuses a seq that is not 2 digits", () => {
    expect(() => encodeEcrAnswer({ type: "echoReply", seq: "7", brokerOnline: true, laneState: "" })).toThrow(
      RangeError,
    );
  });
});

describe("cleanField", () => {
  it("turns C0, DEL and C1 controls into spaces and leaves text alone", () => {
    expect(cleanField("支付\x1c成功\x7f\x85!")).toBe("支付 成功  !");
  });
});

describe("encodeEcrRequest", () => {
  it("frames the spec's SA example exactly", () => {
    const request: PosRequest = { type: "sale", seq: "01", orderRef: "ORD123", amountFen: 1234 };
    expect(toHex(encodeEcrFrame(encodeEcrRequest(request)))).toBe(
      "02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76",
    );
  });

  it.each<PosRequest>([
    { type: "sale", seq: "01", orderRef: "ORD123", amountFen: 1234 },
    { type: "query", seq: "02", orderRef: "A_b-3" },
    { type: "cancel", seq: "03", orderRef: "X" },
    { type: "refund", seq: "04", orderRef: "ORD123", refundRef: "R1", amountFen: 99 },
    { type: "echo", seq: "99" },
  ])("round-trips $type through decodeEcrRequest", (request) => {
    expect(decodeEcrRequest(encodeEcrRequest(request), OPTS)).toEqual({ ok: true, request });
  });
});
