import { describe, expect, it } from "vitest";
import {
  type CodeClass,
  classifyCode,
  DEFAULT_SCHEME_RULES,
  hasGs1CheckDigit,
  normaliseCode,
  validateSchemeRules,
} from "../../../protocols/payment/classify-code.js";
import type { SchemeRule } from "../../../protocols/payment/scheme.js";

const digits = (prefix: string, length: number) =>
  (prefix + "3141592653589793238462643383279").slice(0, length);

function reasonOf(c: CodeClass): string {
  if (c.type === "payment") throw new Error("expected a rejection");
  return c.reason;
}

describe("classifyCode with the default table", () => {
  it("accepts 18-digit WeChat codes for every prefix 10..15 and keeps the string intact", () => {
    for (const p of ["10", "11", "12", "13", "14", "15"]) {
      const code = digits(p, 18);
      expect(classifyCode(code)).toEqual({ type: "payment", scheme: "WECHAT", code });
    }
  });

  it("rejects WeChat-like 17 and 19 digit codes and the prefixes 09 and 16", () => {
    expect(classifyCode(digits("13", 17))).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 17,

      reason: "17 digits starting 13 match no payment scheme",
    });
    expect(classifyCode(digits("13", 19))).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 19,

      reason: "19 digits starting 13 match no payment scheme",
    });
    expect(classifyCode(digits("09", 18)).type).toBe("invalid");
    expect(classifyCode(digits("16", 18)).type).toBe("invalid");
  });

  it("keeps a 19-digit WeChat-length code precisely, beyond Number's precision", () => {
    const code = "134567890123456789";
    const result = classifyCode(code);
    expect(result).toEqual({ type: "payment", scheme: "WECHAT", code: "134567890123456789" });
    expect(String(Number(code))).not.toBe(code); // the reason it must stay a string
  });

  it("accepts Alipay at 16 and 24 digits for prefixes 25..30 and rejects 15 and 25 digits", () => {
    for (const p of ["25", "26", "27", "28", "29", "30"]) {
      for (const n of [16, 20, 24])
        expect(classifyCode(digits(p, n))).toMatchObject({ type: "payment", scheme: "ALIPAY" });
    }
    expect(classifyCode(digits("28", 15))).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 15,

      reason: "15 digits starting 28 match no payment scheme",
    });
    expect(classifyCode(digits("28", 25))).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 25,

      reason: "25 digits starting 28 match no payment scheme",
    });
  });

  it("rejects a 16-digit code with prefix 16 or 24 or 31", () => {
    for (const p of ["16", "24", "31"]) expect(classifyCode(digits(p, 16)).type).toBe("invalid");
  });

  it("accepts UnionPay only at 19 digits with prefix 62", () => {
    expect(classifyCode(digits("62", 19))).toMatchObject({ type: "payment", scheme: "UNIONPAY" });
    expect(classifyCode(digits("62", 18)).type).toBe("invalid");
    expect(classifyCode(digits("62", 20)).type).toBe("invalid");
    expect(classifyCode(digits("63", 19)).type).toBe("invalid");
  });

  it("keeps the leading zero of an e-CNY code", () => {
    const code = "0123456789012345678";
    expect(classifyCode(code)).toEqual({ type: "payment", scheme: "ECNY", code: "0123456789012345678" });
    expect(classifyCode(digits("01", 18)).type).toBe("invalid");
  });

  it("names the length and first two digits of an unmatched long digit string", () => {
    expect(classifyCode(digits("99", 19))).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 19,

      reason: "19 digits starting 99 match no payment scheme",
    });
  });

  it("does not name the first digits of a short digit string", () => {
    expect(classifyCode("4711")).toEqual({
      type: "invalid",
      kind: "noScheme",
      length: 4,
      reason: "4 digits match no payment scheme",
    });
    expect(classifyCode("7")).toEqual({
      type: "invalid",
      kind: "noScheme",
      length: 1,
      reason: "1 digit match no payment scheme",
    });
  });
});

describe("normalisation (payment-domain.md §7 rule 2)", () => {
  const code = digits("13", 18);

  it("strips a trailing CR, LF, CRLF or TAB and surrounding ASCII spaces", () => {
    for (const raw of [
      `${code}\r`,
      `${code}\n`,
      `${code}\r\n`,
      `${code}\t`,
      `  ${code}  `,
      ` ${code} \r\n`,
    ]) {
      expect(classifyCode(raw)).toEqual({ type: "payment", scheme: "WECHAT", code });
    }
  });

  it("does not strip leading terminators or other whitespace", () => {
    expect(normaliseCode(`\n${code}`)).toBe(`\n${code}`);
    expect(classifyCode(`\n${code}`).type).toBe("invalid");
    expect(classifyCode(`\u3000${code}`).type).not.toBe("payment");
    expect(classifyCode(`${code}\u00a0`).type).not.toBe("payment");
  });

  it("treats an empty or blank read as invalid", () => {
    expect(classifyCode("")).toEqual({ type: "invalid", kind: "empty", length: 0, reason: "empty read" });
    expect(classifyCode(" \r\n")).toEqual({
      type: "invalid",
      kind: "empty",
      length: 0,
      reason: "empty read",
    });
  });
});

describe("not a payment code vs unreadable (rule 4)", () => {
  it("classifies EAN-13 5901234123457 as a product barcode", () => {
    expect(classifyCode("5901234123457")).toEqual({
      type: "notPayment",
      kind: "ean13",
      length: 13,
      reason: "13-digit product barcode (EAN-13), not a payment code",
    });
  });

  it("classifies EAN-8 and UPC-A with valid check digits as product barcodes", () => {
    expect(classifyCode("96385074")).toMatchObject({ type: "notPayment", kind: "ean8" });
    expect(classifyCode("036000291452")).toMatchObject({ type: "notPayment", kind: "upc" });
  });

  it("treats 13, 12 and 8 digits with a wrong check digit as unreadable", () => {
    expect(classifyCode("5901234123458")).toEqual({
      type: "invalid",

      kind: "noScheme",

      length: 13,

      reason: "13 digits starting 59 match no payment scheme",
    });
    expect(classifyCode("036000291453").type).toBe("invalid");
    expect(classifyCode("96385075").type).toBe("invalid");
  });

  it("classifies http and https URLs as not a payment code", () => {
    for (const url of [
      "https://qr.alipay.com/abc123",
      "http://weixin.qq.com/r/xyz",
      "HTTPS://EXAMPLE.COM/p?id=1",
    ]) {
      expect(classifyCode(url)).toMatchObject({ type: "notPayment", kind: "url" });
    }
  });

  it("classifies other text as not a payment code", () => {
    expect(classifyCode("fp0123456789abcdefghijklmnopqrstuvw")).toMatchObject({
      type: "notPayment",
      kind: "text",
    });
    expect(classifyCode("weixin://wxpay/bizpayurl?pr=abc")).toMatchObject({
      type: "notPayment",
      kind: "text",
    });
  });

  it("treats full-width digits as unreadable", () => {
    const result = classifyCode("１３４５６７８９０１２３４５６７８９");
    expect(result.type).toBe("invalid");
    expect(reasonOf(result)).toMatch(/full-width/);
    expect(classifyCode("13456789０123456789").type).toBe("invalid");
  });

  it("treats spaces inside the digits as unreadable", () => {
    expect(classifyCode("1345 6789 0123 4567 89")).toEqual({
      type: "invalid",
      kind: "spaces",
      length: 22,
      reason: "22 characters with spaces inside the digits, payment code unreadable",
    });
  });

  it("treats digits behind an AIM identifier as unreadable", () => {
    expect(reasonOf(classifyCode(`]Q1${digits("13", 18)}`))).toMatch(/AIM/);
    expect(classifyCode("]E05901234123457").type).toBe("invalid");
  });

  it("treats control characters inside a read as unreadable", () => {
    expect(classifyCode(`1345678\r9012345678`).type).toBe("invalid");
  });

  it("never puts the read itself into a reason", () => {
    const reads = [
      "5901234123457",
      "96385074",
      "036000291452",
      "https://qr.alipay.com/abc123",
      "fp0123456789abcdefghijklmnopqrstuvw",
      "１３４５６７８９０１２３４５６７８９",
      "1345 6789 0123 4567 89",
      `]Q1${digits("13", 18)}`,
      digits("99", 19),
      digits("13", 17),
      "4711",
      "hello world",
      `1345678\r9012345678`,
    ];
    for (const raw of reads) {
      const result = classifyCode(raw);
      const reason = reasonOf(result);
      expect(reason).not.toContain(raw.trim());
      // Nor any 5-digit window of it: a partial code is still a leak.
      const onlyDigits = raw.replace(/\D/g, "");
      for (let i = 0; i + 5 <= onlyDigits.length; i++)
        expect(reason).not.toContain(onlyDigits.slice(i, i + 5));
    }
  });
});

describe("classifyCode with a custom table", () => {
  it("uses the given rules instead of the default", () => {
    const rules: SchemeRule[] = [{ scheme: "WECHAT", minLength: 18, maxLength: 19, prefixes: ["16"] }];
    expect(classifyCode(digits("16", 19), rules)).toMatchObject({ type: "payment", scheme: "WECHAT" });
    expect(classifyCode(digits("13", 18), rules).type).toBe("invalid");
  });

  it("lets a rule claim a 13-digit length before the EAN check", () => {
    const rules: SchemeRule[] = [{ scheme: "ALIPAY", minLength: 13, maxLength: 13, prefixes: ["59"] }];
    expect(classifyCode("5901234123457", rules)).toMatchObject({ type: "payment", scheme: "ALIPAY" });
  });
});

describe("hasGs1CheckDigit", () => {
  it("checks the GS1 mod-10 digit", () => {
    expect(hasGs1CheckDigit("5901234123457")).toBe(true);
    expect(hasGs1CheckDigit("4006381333931")).toBe(true);
    expect(hasGs1CheckDigit("4006381333932")).toBe(false);
  });
});

describe("validateSchemeRules", () => {
  const rule = (r: Partial<SchemeRule>): SchemeRule => ({
    scheme: "WECHAT",
    minLength: 18,
    maxLength: 18,
    prefixes: ["10"],
    ...r,
  });

  it("accepts the default table", () => {
    expect(validateSchemeRules(DEFAULT_SCHEME_RULES)).toBeUndefined();
  });

  it("refuses an empty table", () => {
    expect(validateSchemeRules([])).toMatch(/empty/);
  });

  it("refuses empty or non-digit prefixes", () => {
    expect(validateSchemeRules([rule({ prefixes: [] })])).toBe("schemes[0] (WECHAT): prefixes is empty");
    expect(validateSchemeRules([rule({ prefixes: ["1a"] })])).toBe(
      'schemes[0] (WECHAT): prefix "1a" is not ASCII digits',
    );
    expect(validateSchemeRules([rule({ prefixes: [""] })])).toMatch(/not ASCII digits/);
    expect(validateSchemeRules([rule({ prefixes: ["１０"] })])).toMatch(/not ASCII digits/);
  });

  it("refuses min > max and lengths outside 1..128", () => {
    expect(validateSchemeRules([rule({ minLength: 19, maxLength: 18 })])).toBe(
      "schemes[0] (WECHAT): minLength 19 > maxLength 18",
    );
    expect(validateSchemeRules([rule({ minLength: 0 })])).toMatch(/minLength must be an integer/);
    expect(validateSchemeRules([rule({ maxLength: 129 })])).toMatch(/maxLength must be an integer/);
    expect(validateSchemeRules([rule({ minLength: 1.5 })])).toMatch(/minLength must be an integer/);
  });

  it("refuses a prefix longer than the shortest code", () => {
    expect(validateSchemeRules([rule({ minLength: 1, maxLength: 18, prefixes: ["10"] })])).toMatch(
      /longer than minLength/,
    );
  });

  it("refuses an unknown scheme", () => {
    expect(validateSchemeRules([rule({ scheme: "PAYPAL" as never })])).toMatch(/unknown scheme/);
  });

  it("refuses rules of two schemes that a code could match both", () => {
    const error = validateSchemeRules([
      rule({ scheme: "UNIONPAY", minLength: 19, maxLength: 19, prefixes: ["62"] }),
      rule({ scheme: "ECNY", minLength: 16, maxLength: 19, prefixes: ["6"] }),
    ]);
    expect(error).toBe(
      'schemes[0] (UNIONPAY) and schemes[1] (ECNY) overlap: prefixes "62"/"6" with lengths 19..19 would match both',
    );
  });

  it("accepts the same prefix at lengths that do not intersect, and overlapping rows of one scheme", () => {
    expect(
      validateSchemeRules([
        rule({ scheme: "UNIONPAY", minLength: 19, maxLength: 19, prefixes: ["62"] }),
        rule({ scheme: "ECNY", minLength: 20, maxLength: 21, prefixes: ["62"] }),
      ]),
    ).toBeUndefined();
    expect(
      validateSchemeRules([
        rule({ prefixes: ["1"] }),
        rule({ minLength: 18, maxLength: 19, prefixes: ["16"] }),
      ]),
    ).toBeUndefined();
  });
});
