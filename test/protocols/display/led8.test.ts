import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../../protocols/core/bytes.js";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import {
  LED8_INIT,
  LED8_LAMP_BYTE,
  LED8_MAX_FEN,
  type Led8Lamp,
  encodeLed8View,
  led8Reading,
} from "../../../protocols/display/led8.js";

describe("LED-8 price display encoder", () => {
  it("initialises (clears) with ESC @, as in device-protocols.md test vector 21", () => {
    expect(toHex(LED8_INIT)).toBe("1b 40");
  });

  it("lamp bytes are ASCII '0'..'4' (device-protocols.md §2.3)", () => {
    expect(LED8_LAMP_BYTE).toEqual({ off: 0x30, price: 0x31, total: 0x32, collect: 0x33, change: 0x34 });
  });

  it("amount due 12.50 is scanbox-anchors.md §6's Sedsy/Citaq vector: total lamp, then the number", () => {
    const sedsy = fromHex("1B 73 32 1B 51 41 31 32 2E 35 30 0D");
    expect(toHex(encodeLed8View({ type: "amountDue", amountFen: 1250 }))).toBe(toHex(sedsy));
  });

  it("sends the two commands of device-protocols.md test vector 21, lamp first", () => {
    const vector21 = fromHex("1B 51 41 31 32 2E 35 30 0D 1B 73 32");
    const number = vector21.subarray(0, 9);
    const lamp = vector21.subarray(9);
    expect(toHex(encodeLed8View({ type: "amountDue", amountFen: 1250 }))).toBe(
      toHex(concatBytes(lamp, number)),
    );
  });

  it("lamps off is vector 21's `1B 73 30`, with the cleared 0.00", () => {
    expect(toHex(encodeLed8View({ type: "idle" }))).toBe("1b 73 30 1b 51 41 30 2e 30 30 0d");
  });

  const readings: [DisplayView, Led8Lamp, number][] = [
    [{ type: "idle" }, "off", 0],
    [{ type: "amountDue", amountFen: 1250 }, "total", 1250],
    [{ type: "processing", amountFen: 1250 }, "total", 1250],
    [{ type: "confirmOnPhone", amountFen: 1250 }, "total", 1250],
    [{ type: "rescan", amountFen: 1250, reason: "expired" }, "total", 1250],
    [{ type: "rescan", amountFen: 1250, reason: "notPayment" }, "total", 1250],
    [{ type: "paid", amountFen: 1250 }, "collect", 1250],
    [{ type: "cancelled", amountFen: 1250 }, "off", 0],
    [{ type: "unknown", amountFen: 1250 }, "off", 0],
  ];

  it.each(readings)("maps %j to lamp %s and %i fen", (view, lamp, amountFen) => {
    expect(led8Reading(view)).toEqual({ lamp, amountFen });
  });

  it.each([
    [5, "30 2e 30 35"], // 0.05
    [100, "31 2e 30 30"], // 1.00
    [123_60, "31 32 33 2e 36 30"], // 123.60, the "%.02f" example of §2.3
    [LED8_MAX_FEN, "39 39 39 39 39 39 2e 39 39"], // 999999.99: all 8 digits
  ])("formats %i fen with two decimals, without floating point", (fen, digits) => {
    expect(toHex(encodeLed8View({ type: "processing", amountFen: fen }))).toBe(
      `1b 73 32 1b 51 41 ${digits} 0d`,
    );
  });

  it("never cuts an amount the 8 digits cannot show: clears the digits, keeps the lamp", () => {
    expect(toHex(encodeLed8View({ type: "amountDue", amountFen: LED8_MAX_FEN + 1 }))).toBe("1b 40 1b 73 32");
    expect(toHex(encodeLed8View({ type: "paid", amountFen: 999_999_999_999 }))).toBe("1b 40 1b 73 33");
    expect(toHex(encodeLed8View({ type: "amountDue", amountFen: -1 }))).toBe("1b 40 1b 73 32");
  });

  it("refuses an amount that is not a safe integer, even where it is not shown", () => {
    expect(() => encodeLed8View({ type: "amountDue", amountFen: 12.5 })).toThrow(RangeError);
    expect(() => encodeLed8View({ type: "cancelled", amountFen: Number.NaN })).toThrow(RangeError);
    expect(() => encodeLed8View({ type: "paid", amountFen: 2 ** 53 })).toThrow(RangeError);
  });

  it("only ever sends ESC s, ESC Q A … CR and ESC @, with digits and '.' in the number", () => {
    for (const [view] of readings) {
      const text = String.fromCharCode(...encodeLed8View(view));
      expect(text).toMatch(/^\x1bs[0-4]\x1bQA\d+\.\d\d\r$/);
    }
  });
});
