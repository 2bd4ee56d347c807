import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";

describe("encodeEcrFrame", () => {
  it("reproduces the spec's SA worked example byte for byte", () => {
    const data = utf8("SA\x1c01\x1cORD123\x1c1234");
    expect(toHex(encodeEcrFrame(data))).toBe(
      "02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76",
    );
  });

  it("reproduces the spec's EC worked example byte for byte", () => {
    expect(toHex(encodeEcrFrame(utf8("EC\x1c07")))).toBe("02 00 05 45 43 1c 30 37 03 1b");
  });

  it("writes LEN as BCD, not binary, for lengths above 9", () => {
    const frame = encodeEcrFrame(new Uint8Array(1234).fill(0x41));
    expect(toHex(frame.subarray(0, 3))).toBe("02 12 34");
    expect(frame.length).toBe(1239);
    expect(frame[1237]).toBe(0x03);
  });

  it("frames empty DATA as STX 00 00 ETX with LRC 03", () => {
    expect(encodeEcrFrame(new Uint8Array(0))).toEqual(fromHex("02 00 00 03 03"));
  });

  it("refuses DATA longer than BCD LEN can express", () => {
    expect(() => encodeEcrFrame(new Uint8Array(10000))).toThrow(RangeError);
  });
});
