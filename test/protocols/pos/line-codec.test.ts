// The `line` profile of shared/spec/terminal-protocol.md ("The `line` profile"); field rules from
// its "DATA" section (orderRef 1–32 of [A-Za-z0-9_-], amountFen 1–12 digits, no sign, no leading
// zero, > 0, ≤ maximum).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_LINE_LENGTH,
  LINE_SEQ,
  type LineChunk,
  LineFramer,
  decodeLineRequest,
  encodeLineAnswer,
  encodeLineRequest,
  lineTooLongMessage,
} from "../../../protocols/pos/line-codec.js";
import type { PosAnswer, PosRequest } from "../../../protocols/pos/pos-messages.js";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const OPTS = { maxAmountFen: 1_000_000 }; // 10000.00 yuan

/** Feeds `input` cut at the given offsets and collects every chunk. */
function feed(framer: LineFramer, input: Uint8Array, cuts: readonly number[] = []): LineChunk[] {
  const out: LineChunk[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...framer.push(input.subarray(from, cut)));
    from = cut;
  }
  return out;
}

describe("LineFramer", () => {
  it("frames LF and CRLF terminated lines", () => {
    const framer = new LineFramer();
    expect(feed(framer, bytes("SALE ORD1 1234\r\nQUERY ORD1\nECHO\r\n"))).toEqual([
      { type: "line", text: "SALE ORD1 1234" },
      { type: "line", text: "QUERY ORD1" },
      { type: "line", text: "ECHO" },
    ]);
    expect(framer.bufferedLength).toBe(0);
  });

  it("gives the same lines for every split of the input, CRLF split between CR and LF included", () => {
    const input = bytes("SALE ORD1 1234\r\nCANCEL ORD1\nREFUND ORD1 RF1 100\r\n");
    const whole = feed(new LineFramer(), input);
    expect(whole).toHaveLength(3);
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b += 7) {
        expect(feed(new LineFramer(), input, [a, b])).toEqual(whole);
      }
    }
    // One byte at a time.
    expect(
      feed(
        new LineFramer(),
        input,
        Array.from({ length: input.length }, (_, i) => i),
      ),
    ).toEqual(whole);
  });

  it("holds a partial line until its terminator arrives", () => {
    const framer = new LineFramer();
    expect(framer.push(bytes("QUERY OR"))).toEqual([]);
    expect(framer.bufferedLength).toBe(8);
    expect(framer.push(bytes("D1\r"))).toEqual([]);
    expect(framer.push(bytes("\n"))).toEqual([{ type: "line", text: "QUERY ORD1" }]);
  });

  it("skips empty lines", () => {
    expect(feed(new LineFramer(), bytes("\r\n\n\r\nECHO\n\n"))).toEqual([{ type: "line", text: "ECHO" }]);
  });

  it("keeps a CR that is not right before LF in the line (decode refuses it)", () => {
    const chunks = feed(new LineFramer(), bytes("ECHO\rQUERY A\n"));
    expect(chunks).toEqual([{ type: "line", text: "ECHO\rQUERY A" }]);
    expect(decodeLineRequest("ECHO\rQUERY A", OPTS)).toEqual({
      ok: false,
      orderRef: "",
      message: "line contains a control character",
    });
  });

  it("decodes UTF-8 and turns bad bytes into U+FFFD", () => {
    const framer = new LineFramer();
    expect(framer.push(Uint8Array.of(0x51, 0xe6, 0x94, 0xaf, 0x0a))).toEqual([{ type: "line", text: "Q支" }]);
    expect(framer.push(Uint8Array.of(0x51, 0xff, 0x0a))).toEqual([{ type: "line", text: "Q\ufffd" }]);
  });

  it("accepts a line of exactly maxLineLength bytes, with LF or CRLF", () => {
    const line = `QUERY ${"A".repeat(DEFAULT_MAX_LINE_LENGTH - 6)}`;
    expect(line).toHaveLength(256);
    expect(feed(new LineFramer(), bytes(`${line}\n`))).toEqual([{ type: "line", text: line }]);
    expect(feed(new LineFramer(), bytes(`${line}\r\n`), [257])).toEqual([{ type: "line", text: line }]);
  });

  it("discards an overlong line whole, counts it, and never returns any of its bytes", () => {
    const framer = new LineFramer();
    const secret = "134567890123456789";
    const overlong = `SALE ${secret}${"X".repeat(300)}`;
    const input = bytes(`${overlong}\r\nECHO\r\n${"Y".repeat(257)}\nQUERY ORD1\n`);
    const chunks = feed(framer, input, [10, 100, 300, 321, 330]);
    expect(chunks).toEqual([
      { type: "discarded", length: overlong.length, reason: "overlong" },
      { type: "line", text: "ECHO" },
      { type: "discarded", length: 257, reason: "overlong" },
      { type: "line", text: "QUERY ORD1" },
    ]);
    expect(framer.discardedTotal).toBe(overlong.length + 257);
    expect(framer.overlongLines).toBe(2);
    expect(JSON.stringify(chunks)).not.toContain(secret);
    expect(framer.bufferedLength).toBe(0);
  });

  it("reset() drops a partial line by its length only", () => {
    const framer = new LineFramer();
    framer.push(bytes("SALE ORD1 12"));
    expect(framer.reset()).toEqual([{ type: "discarded", length: 12, reason: "incomplete" }]);
    expect(framer.reset()).toEqual([]);
    framer.push(bytes("Z".repeat(300)));
    expect(framer.reset()).toEqual([{ type: "discarded", length: 300, reason: "overlong" }]);
    expect(framer.discardedTotal).toBe(312);
    expect(framer.overlongLines).toBe(1);
    expect(framer.push(bytes("ECHO\n"))).toEqual([{ type: "line", text: "ECHO" }]);
  });

  it("honours a configured maxLineLength", () => {
    const framer = new LineFramer({ maxLineLength: 85 });
    expect(framer.maxLineLength).toBe(85);
    const longest = `REFUND ${"A".repeat(32)} ${"B".repeat(32)} ${"9".repeat(12)}`;
    expect(longest).toHaveLength(85); // the longest valid request
    expect(feed(framer, bytes(`${longest}\r\n${longest}9\r\n`))).toEqual([
      { type: "line", text: longest },
      { type: "discarded", length: 86, reason: "overlong" },
    ]);
    expect(lineTooLongMessage(85)).toBe("line is longer than 85 bytes");
  });

  it("throws TypeError on a maxLineLength that would refuse valid requests, or is not an integer", () => {
    for (const bad of [84, 0, 4097, 100.5, Number.NaN, "256" as never]) {
      expect(() => new LineFramer({ maxLineLength: bad })).toThrow(TypeError);
    }
    expect(new LineFramer({ maxLineLength: 4096 }).maxLineLength).toBe(4096);
  });
});

describe("decodeLineRequest", () => {
  const ok = (request: PosRequest) => ({ ok: true, request });
  const bad = (message: string, orderRef = "") => ({ ok: false, orderRef, message });

  it.each<[string, PosRequest]>([
    ["SALE ORD123 1234", { type: "sale", seq: "00", orderRef: "ORD123", amountFen: 1234 }],
    ["QUERY ORD123", { type: "query", seq: "00", orderRef: "ORD123" }],
    ["CANCEL ORD123", { type: "cancel", seq: "00", orderRef: "ORD123" }],
    [
      "REFUND ORD123 RF-1_a 500",
      { type: "refund", seq: "00", orderRef: "ORD123", refundRef: "RF-1_a", amountFen: 500 },
    ],
    ["ECHO", { type: "echo", seq: "00" }],
    ["sale a 1", { type: "sale", seq: "00", orderRef: "a", amountFen: 1 }],
    ["Query ORD123", { type: "query", seq: "00", orderRef: "ORD123" }],
    ["cAnCeL ORD123", { type: "cancel", seq: "00", orderRef: "ORD123" }],
    [
      "refund o r 1000000",
      { type: "refund", seq: "00", orderRef: "o", refundRef: "r", amountFen: 1_000_000 },
    ],
    ["echo", { type: "echo", seq: "00" }],
    [`QUERY ${"Z".repeat(32)}`, { type: "query", seq: "00", orderRef: "Z".repeat(32) }],
    ["SALE ORD1 999999", { type: "sale", seq: "00", orderRef: "ORD1", amountFen: 999_999 }],
  ])("%s", (line, request) => {
    expect(decodeLineRequest(line, OPTS)).toEqual(ok(request));
  });

  it("gives every request the seq LINE_SEQ", () => {
    expect(LINE_SEQ).toBe("00");
  });

  it.each([
    ["", "line is empty"],
    [" ECHO", "line starts with a space"],
    ["PAY ORD1 100", "unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO"],
    ["SA ORD1 100", "unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO"],
    ["SALES ORD1 100", "unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO"],
    ["\u017fALE ORD1 100", "unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO"], // ſ uppercases to S
    ["ECHO\t", "line contains a control character"],
    ["SALE ORD1 100\r", "line contains a control character"],
    ["SALE\u0085ORD1 100", "line contains a control character"],
    ["SALE", "SALE needs 3 fields (SALE orderRef amountFen), got 1"],
    ["QUERY", "QUERY needs 2 fields (QUERY orderRef), got 1"],
    ["CANCEL", "CANCEL needs 2 fields (CANCEL orderRef), got 1"],
    ["ECHO now", "ECHO needs 1 fields (ECHO), got 2"],
    ["SALE ORD#1 100", "orderRef contains a character outside A-Z a-z 0-9 _ -"],
    [`QUERY ${"Z".repeat(33)}`, "orderRef is 33 characters long; at most 32 allowed"],
    ["QUERY 订单1", "orderRef contains a character outside A-Z a-z 0-9 _ -"],
    ["SALE  100", "fields must be separated by single spaces"],
  ])("refuses %j: %s", (line, message) => {
    expect(decodeLineRequest(line, OPTS)).toEqual(bad(message));
  });

  it.each([
    ["SALE ORD1 0", "amount must be greater than 0"],
    ["SALE ORD1 000", "amount must be greater than 0"],
    ["SALE ORD1 0100", "amount must not start with 0"],
    ["SALE ORD1 1234567890123", "amount has 13 digits; at most 12 allowed"],
    ["SALE ORD1 12.34", "amount has a decimal point; amount is in fen, integer only (12.34 yuan = 1234)"],
    ["SALE ORD1 12,34", "amount has a decimal point; amount is in fen, integer only (12.34 yuan = 1234)"],
    ["SALE ORD1 1000001", "amount 10000.01 exceeds the maximum of 10000.00 yuan"],
    ["SALE ORD1 -5", "amount must not carry a sign; send digits only"],
    ["SALE ORD1 +5", "amount must not carry a sign; send digits only"],
    ["SALE ORD1 1e3", "amount must be decimal digits 0-9 only"],
    ["SALE ORD1 ０１", "amount must be decimal digits 0-9 only"],
    ["REFUND ORD1 RF1 0", "amount must be greater than 0"],
    ["REFUND ORD1 RF1 999999999999", "amount 9999999999.99 exceeds the maximum of 10000.00 yuan"],
    ["REFUND ORD1 RF!1 100", "refundRef contains a character outside A-Z a-z 0-9 _ -"],
    ["SALE ORD1 100 ", "fields must be separated by single spaces"],
    ["CANCEL ORD1  ", "fields must be separated by single spaces"],
    ["CANCEL ORD1 ORD2", "CANCEL needs 2 fields (CANCEL orderRef), got 3"],
    ["SALE ORD1 1 2", "SALE needs 3 fields (SALE orderRef amountFen), got 4"],
    ["SALE ORD1", "SALE needs 3 fields (SALE orderRef amountFen), got 2"],
    ["REFUND ORD1 100", "REFUND needs 4 fields (REFUND orderRef refundRef amountFen), got 3"],
  ])("refuses %j naming its valid orderRef: %s", (line, message) => {
    expect(decodeLineRequest(line, OPTS)).toEqual(bad(message, "ORD1"));
  });

  it("never quotes the line in a message", () => {
    const code = "134567890123456789";
    for (const line of [code, `SALE ${code}! 1`, `SALE ORD1 ${code}`, `PAY ${code}`]) {
      const result = decodeLineRequest(line, OPTS);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).not.toContain(code);
    }
  });

  it("throws TypeError on a bad maxAmountFen, whatever the line", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => decodeLineRequest("ECHO", { maxAmountFen: bad })).toThrow(TypeError);
    }
  });

  it("round-trips every request form through encodeLineRequest and the framer", () => {
    const requests: PosRequest[] = [
      { type: "sale", seq: "00", orderRef: "ORD123", amountFen: 1234 },
      { type: "query", seq: "00", orderRef: "ORD123" },
      { type: "cancel", seq: "00", orderRef: "ORD123" },
      { type: "refund", seq: "00", orderRef: "ORD123", refundRef: "RF1", amountFen: 1 },
      { type: "echo", seq: "00" },
    ];
    const wire = requests.map(encodeLineRequest).join("");
    expect(wire).toBe("SALE ORD123 1234\r\nQUERY ORD123\r\nCANCEL ORD123\r\nREFUND ORD123 RF1 1\r\nECHO\r\n");
    const lines = feed(new LineFramer(), bytes(wire)).map((c) => (c.type === "line" ? c.text : "?"));
    expect(lines.map((line) => decodeLineRequest(line, OPTS))).toEqual(requests.map(ok));
  });
});

describe("encodeLineAnswer", () => {
  const result = (over: Partial<Extract<PosAnswer, { type: "result" }>>): PosAnswer => ({
    type: "result",
    seq: "01",
    orderRef: "ORD123",
    status: "PAID",
    amountFen: 1234,
    scheme: "WECHAT",
    channelTradeNo: "4200001234",
    text: "支付成功",
    ...over,
  });

  it.each<[PosAnswer, string]>([
    [
      { type: "progress", orderRef: "ORD123", stage: "WAIT_SCAN", text: "请出示付款码 ¥12.34" },
      "PROGRESS ORD123 WAIT_SCAN 请出示付款码 ¥12.34\r\n",
    ],
    [
      { type: "progress", orderRef: "ORD123", stage: "RETRY_SCAN", text: "line1\r\nline2\tend" },
      "PROGRESS ORD123 RETRY_SCAN line1  line2 end\r\n",
    ],
    [
      { type: "progress", orderRef: "ORD123", stage: "SUBMITTED", text: "" },
      "PROGRESS ORD123 SUBMITTED -\r\n",
    ],
    [result({}), "RESULT ORD123 PAID 1234 WECHAT 4200001234 支付成功\r\n"],
    [
      result({ status: "CANCELLED", scheme: null, channelTradeNo: "", text: "交易已取消" }),
      "RESULT ORD123 CANCELLED 1234 - - 交易已取消\r\n",
    ],
    [
      result({ status: "UNKNOWN", scheme: "ALIPAY", channelTradeNo: "", text: "支付结果未知，请勿重复收款" }),
      "RESULT ORD123 UNKNOWN 1234 ALIPAY - 支付结果未知，请勿重复收款\r\n",
    ],
    [
      result({ status: "REFUNDED", amountFen: 500, scheme: "UNIONPAY", channelTradeNo: "R9" }),
      "RESULT ORD123 REFUNDED 500 UNIONPAY R9 支付成功\r\n",
    ],
    [
      result({ status: "REFUND_FAILED", scheme: "ECNY", channelTradeNo: "", text: "本版本不支持退款" }),
      "RESULT ORD123 REFUND_FAILED 1234 ECNY - 本版本不支持退款\r\n",
    ],
    [
      result({ status: "PENDING", scheme: null, channelTradeNo: "", text: "交易进行中" }),
      "RESULT ORD123 PENDING 1234 - - 交易进行中\r\n",
    ],
    [
      result({ status: "REJECTED", amountFen: null, scheme: null, channelTradeNo: "", text: "未知订单" }),
      "RESULT ORD123 REJECTED - - - 未知订单\r\n",
    ],
    [result({ text: "" }), "RESULT ORD123 PAID 1234 WECHAT 4200001234 -\r\n"],
    [result({ amountFen: 0 }), "RESULT ORD123 PAID 0 WECHAT 4200001234 支付成功\r\n"],
    [
      result({ channelTradeNo: "42 00\n01", text: "a\u2028b\u0000c\u007fd\u0085e" }),
      "RESULT ORD123 PAID 1234 WECHAT 42_00_01 a b c d e\r\n",
    ],
    [{ type: "echoReply", seq: "00", brokerOnline: true, laneState: "IDLE" }, "ECHO 1 IDLE\r\n"],
    [{ type: "echoReply", seq: "00", brokerOnline: false, laneState: "WAIT_SCAN" }, "ECHO 0 WAIT_SCAN\r\n"],
    [{ type: "echoReply", seq: "00", brokerOnline: false, laneState: "" }, "ECHO 0 -\r\n"],
  ])("%j", (answer, line) => {
    expect(encodeLineAnswer(answer)).toBe(line);
  });

  it("answers a line it could not understand with RESULT - REJECTED - - - <message>", () => {
    const decoded = decodeLineRequest("PAY 100", OPTS);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    const answer: PosAnswer = {
      type: "result",
      seq: LINE_SEQ,
      orderRef: decoded.orderRef,
      status: "REJECTED",
      amountFen: null,
      scheme: null,
      channelTradeNo: "",
      text: decoded.message,
    };
    expect(encodeLineAnswer(answer)).toBe(
      "RESULT - REJECTED - - - unknown command; expected SALE, QUERY, CANCEL, REFUND or ECHO\r\n",
    );
    expect(encodeLineAnswer({ ...answer, text: lineTooLongMessage(256) })).toBe(
      "RESULT - REJECTED - - - line is longer than 256 bytes\r\n",
    );
  });

  it("names a valid orderRef when only another field is bad", () => {
    const decoded = decodeLineRequest("SALE ORD1 0", OPTS);
    if (decoded.ok) throw new Error("expected a failure");
    const answer: PosAnswer = {
      type: "result",
      seq: LINE_SEQ,
      orderRef: decoded.orderRef,
      status: "REJECTED",
      amountFen: null,
      scheme: null,
      channelTradeNo: "",
      text: decoded.message,
    };
    expect(encodeLineAnswer(answer)).toBe("RESULT ORD1 REJECTED - - - amount must be greater than 0\r\n");
  });

  it("ends every answer with exactly one CR LF and holds no other CR or LF", () => {
    const answers: PosAnswer[] = [
      { type: "progress", orderRef: "O\r\n", stage: "QUERYING", text: "\n\r\n" },
      result({ orderRef: "a\nb", channelTradeNo: "\r", text: "x\r\ny" }),
      { type: "echoReply", seq: "00", brokerOnline: true, laneState: "A\r\nB" },
    ];
    for (const answer of answers) {
      const line = encodeLineAnswer(answer);
      expect(line.endsWith("\r\n")).toBe(true);
      expect(line.slice(0, -2)).not.toMatch(/[\r\n]/);
    }
  });

  it("refuses an amountFen that is not a non-negative integer", () => {
    expect(() => encodeLineAnswer(result({ amountFen: 12.5 }))).toThrow(RangeError);
    expect(() => encodeLineAnswer(result({ amountFen: -1 }))).toThrow(RangeError);
    expect(() =>
      encodeLineRequest({ type: "sale", seq: "00", orderRef: "A", amountFen: Number.NaN }),
    ).toThrow(RangeError);
  });
});
