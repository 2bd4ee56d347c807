import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../../protocols/core/bytes.js";
import { CD5220_INIT, cd5220Lines, encodeCd5220 } from "../../../protocols/display/cd5220.js";
import type { DisplayView } from "../../../protocols/display/display-view.js";

const hexOf = (text: string) => toHex(Uint8Array.from(text, (c) => c.charCodeAt(0)));

/** The frame a two-line view must produce: CLR, ESC Q A upper CR, ESC Q B lower CR. */
function frame(upper: string, lower: string): string {
  expect(upper).toHaveLength(20);
  expect(lower).toHaveLength(20);
  return `0c 1b 51 41 ${hexOf(upper)} 0d 1b 51 42 ${hexOf(lower)} 0d`;
}

describe("CD5220 encoder", () => {
  it("initialises with ESC @", () => {
    expect(toHex(CD5220_INIT)).toBe("1b 40");
  });

  it("matches device-protocols.md test vector 19 for TOTAL 12.50", () => {
    const vector19 = fromHex(
      "1B 40 0C 1B 51 41 54 4F 54 41 4C 20 20 20 20 20 20 20 20 20 20 31 32 2E 35 30 0D",
    );
    const sent = concatBytes(CD5220_INIT, encodeCd5220({ type: "amountDue", amountFen: 1250 }));
    expect(toHex(sent.subarray(0, vector19.length))).toBe(toHex(vector19));
  });

  const cases: [DisplayView, string, string][] = [
    [{ type: "idle" }, "WELCOME             ", "                    "],
    [{ type: "amountDue", amountFen: 1234 }, "TOTAL          12.34", "PLEASE SHOW PAY CODE"],
    [{ type: "processing", amountFen: 5 }, "TOTAL           0.05", "PROCESSING...       "],
    [{ type: "confirmOnPhone", amountFen: 100 }, "TOTAL           1.00", "CONFIRM ON PHONE    "],
    [{ type: "rescan", amountFen: 1250, reason: "expired" }, "TOTAL          12.50", "CODE EXPIRED-RESCAN "],
    [{ type: "rescan", amountFen: 1250, reason: "funds" }, "TOTAL          12.50", "LOW BALANCE-RESCAN  "],
    [{ type: "rescan", amountFen: 1250, reason: "declined" }, "TOTAL          12.50", "DECLINED - RESCAN   "],
    [
      { type: "rescan", amountFen: 1250, reason: "invalidCode" },
      "TOTAL          12.50",
      "UNREADABLE - RESCAN ",
    ],
    [
      { type: "rescan", amountFen: 1250, reason: "notPayment" },
      "TOTAL          12.50",
      "NOT A PAY CODE      ",
    ],
    [{ type: "paid", amountFen: 1250 }, "PAID           12.50", "THANK YOU           "],
    [{ type: "cancelled", amountFen: 1250 }, "CANCELLED      12.50", "                    "],
    [{ type: "unknown", amountFen: 1250 }, "RESULT UNKNOWN      ", "DO NOT PAY AGAIN    "],
  ];

  it.each(cases)("encodes %j byte for byte", (view, upper, lower) => {
    expect(cd5220Lines(view)).toEqual([upper, lower]);
    expect(toHex(encodeCd5220(view))).toBe(frame(upper, lower));
  });

  it("sends only printable ASCII and 20 columns per line for every view", () => {
    for (const [view] of cases) {
      const bytes = encodeCd5220(view);
      expect(bytes).toHaveLength(1 + 3 + 20 + 1 + 3 + 20 + 1);
      for (const b of [...bytes.subarray(4, 24), ...bytes.subarray(28, 48)]) {
        expect(b >= 0x20 && b <= 0x7e).toBe(true);
      }
    }
  });

  it("cuts the label, never the amount, when both do not fit", () => {
    expect(cd5220Lines({ type: "cancelled", amountFen: 10_000_000_000 })[0]).toBe("CANCELL 100000000.00");
    expect(cd5220Lines({ type: "amountDue", amountFen: 10_000_000_000 })[0]).toBe("TOTAL   100000000.00");
    const widest = cd5220Lines({ type: "paid", amountFen: Number.MAX_SAFE_INTEGER })[0];
    expect(widest).toBe("PA 90071992547409.91");
    expect(widest).toHaveLength(20);
  });

  it("refuses an amount that is not a safe integer", () => {
    expect(() => encodeCd5220({ type: "amountDue", amountFen: 12.5 })).toThrow(RangeError);
  });
});
