import { describe, expect, it } from "vitest";
import { toHex } from "../../../protocols/core/bytes.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";

describe("textEncoder", () => {
  it("encodes UTF-8 by default", () => {
    expect(toHex(textEncoder("utf8")("支付"))).toBe("e6 94 af e4 bb 98");
  });

  it("encodes GB18030 for registers that expect it (GB2312 code points)", () => {
    expect(toHex(textEncoder("gb18030")("支付成功"))).toBe("d6 a7 b8 b6 b3 c9 b9 a6");
    // ¥ becomes the GB2312 full-width yuan sign A3 A4, not GB18030's four-byte 81 30 84 36.
    expect(toHex(textEncoder("gb18030")("OK ¥1"))).toBe("4f 4b 20 a3 a4 31");
  });
});
