import { describe, expect, it } from "vitest";
import { formatYuan, parseAmountFen } from "../../../protocols/payment/amount.js";

const MAX = 10_000_000; // 100 000.00 yuan

describe("parseAmountFen", () => {
  it("accepts plain fen digits", () => {
    expect(parseAmountFen("1234", MAX)).toEqual({ ok: true, value: 1234 });
    expect(parseAmountFen("1", MAX)).toEqual({ ok: true, value: 1 });
    expect(parseAmountFen(String(MAX), MAX)).toEqual({ ok: true, value: MAX });
  });

  it("accepts 12 digits exactly when the maximum allows", () => {
    expect(parseAmountFen("999999999999", 999_999_999_999)).toEqual({ ok: true, value: 999_999_999_999 });
  });

  it.each([
    ["0", "zero", /greater than 0/],
    ["000", "zero", /greater than 0/],
    ["-5", "sign", /sign/],
    ["+5", "sign", /sign/],
    ["12.34", "decimalPoint", /fen, integer only/],
    ["12,34", "decimalPoint", /fen, integer only/],
    ["0100", "leadingZero", /start with 0/],
    ["1234567890123", "tooLong", /13 digits; at most 12/],
    ["", "empty", /empty/],
    ["1e3", "notDigits", /digits/],
    [" 12", "notDigits", /digits/],
    ["12 ", "notDigits", /digits/],
    ["0x10", "notDigits", /digits/],
    ["１２", "notDigits", /digits/],
  ])("rejects %j with code %s", (text, code, message) => {
    const result = parseAmountFen(text, MAX);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(code);
    expect(result.message).toMatch(message);
  });

  it("rejects an amount above the maximum, naming the maximum in yuan", () => {
    const result = parseAmountFen("10000001", MAX);
    expect(result).toEqual({
      ok: false,
      code: "tooLarge",
      message: "amount 100000.01 exceeds the maximum of 100000.00 yuan",
    });
  });

  it("refuses a nonsensical maximum", () => {
    expect(() => parseAmountFen("1", 0)).toThrow(TypeError);
    expect(() => parseAmountFen("1", 1.5)).toThrow(TypeError);
  });
});

describe("formatYuan", () => {
  it.each([
    [1234, "12.34"],
    [5, "0.05"],
    [100000, "1000.00"],
    [0, "0.00"],
    [10, "0.10"],
    [-1234, "-12.34"],
    // The largest safe integer: the cents come from % 100, never from a rounded quotient.
    [9007199254740991, "90071992547409.91"],
    [999999999999, "9999999999.99"],
  ])("formats %d fen as %s", (fen, text) => {
    expect(formatYuan(fen)).toBe(text);
  });

  it("refuses non-integers", () => {
    expect(() => formatYuan(12.5)).toThrow(RangeError);
    expect(() => formatYuan(Number.NaN)).toThrow(RangeError);
  });
});
