import { describe, expect, it } from "vitest";
import { maskCode, maskDigitsInText } from "../../../protocols/payment/mask.js";

describe("maskCode", () => {
  it("shows the scheme and the last 4 digits", () => {
    expect(maskCode("134567890123456789", "WECHAT")).toBe("WECHAT…6789");
    expect(maskCode("0123456789012345678", "ECNY")).toBe("ECNY…5678");
  });

  it("says 'code' without a scheme", () => {
    expect(maskCode("134567890123456789")).toBe("code…6789");
    expect(maskCode("134567890123456789", null)).toBe("code…6789");
  });

  it("shows no digits for a code shorter than 8 characters", () => {
    expect(maskCode("1234567", "WECHAT")).toBe("WECHAT…");
    expect(maskCode("", "ALIPAY")).toBe("ALIPAY…");
    expect(maskCode("12345678", "ALIPAY")).toBe("ALIPAY…5678");
  });

  it("ignores a trailing terminator of a raw read", () => {
    expect(maskCode("134567890123456789\r\n", "WECHAT")).toBe("WECHAT…6789");
    expect(maskCode("1234567\r\n")).toBe("code…");
  });

  it("shows no characters of a read that does not end in digits", () => {
    expect(maskCode("https://qr.alipay.com/abcd")).toBe("code…");
    expect(maskCode("13456789012345678X")).toBe("code…");
  });

  it("never shows more than 4 characters of the code", () => {
    const code = "134567890123456789";
    const masked = maskCode(code, "WECHAT");
    expect(masked.replace(/\D/g, "")).toHaveLength(4);
    expect(masked).not.toContain(code.slice(-5));
  });
});

describe("maskDigitsInText", () => {
  it("replaces every run of 8 or more digits with its last 4", () => {
    expect(maskDigitsInText("scan 134567890123456789 then 28761234567890123")).toBe("scan …6789 then …0123");
  });

  it("leaves runs of 7 digits or fewer alone", () => {
    expect(maskDigitsInText("amount 1234567 fen, lane 2")).toBe("amount 1234567 fen, lane 2");
    expect(maskDigitsInText("12345678")).toBe("…5678");
  });

  it("masks full-width digit runs too", () => {
    expect(maskDigitsInText("x１３４５６７８９０１２y")).toBe("x…９０１２y");
  });

  it("leaves text without digits unchanged", () => {
    expect(maskDigitsInText("")).toBe("");
    expect(maskDigitsInText("no digits here")).toBe("no digits here");
  });
});
