import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../../protocols/core/bytes.js";
import { cd5220Lines } from "../../../protocols/display/cd5220.js";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import {
  ESCPOS_INIT,
  encodeEscPosView,
  escPosChineseLines,
} from "../../../protocols/display/escpos-display.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";

const gb18030 = textEncoder("gb18030");
const GB = { charset: "gb18030", encodeText: gb18030 } as const;
const ASCII = { charset: "ascii" } as const;

/**
 * A 2×20 ESC/POS display as device-protocols.md §2.2 describes it: FF clears and homes, US $ x y
 * moves the cursor (1-based), US 01 selects overwrite mode, ESC @ initialises; other bytes ≥ 20 are
 * drawn one per column, moving right and wrapping to the next row. Rows hold the bytes as latin1
 * characters so double-byte GB codes can be compared too.
 */
class EscPosScreen {
  rows: string[][] = [[], []];
  x = 0;
  y = 0;
  overwrite = false;

  constructor() {
    this.clear();
  }

  clear(): void {
    this.rows = [Array<string>(20).fill(" "), Array<string>(20).fill(" ")];
    this.x = 0;
    this.y = 0;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === 0x0c) this.clear();
      else if (b === 0x1b && bytes[i + 1] === 0x40) {
        this.clear();
        i += 1;
      } else if (b === 0x1f && bytes[i + 1] === 0x01) {
        this.overwrite = true;
        i += 1;
      } else if (b === 0x1f && bytes[i + 1] === 0x24) {
        const x = bytes[i + 2] as number;
        const y = bytes[i + 3] as number;
        expect(x >= 1 && x <= 20 && y >= 1 && y <= 2, "US $ 1-based").toBe(true);
        this.x = x - 1;
        this.y = y - 1;
        i += 3;
      } else if (b >= 0x20) {
        (this.rows[this.y] as string[])[this.x] = String.fromCharCode(b);
        this.x += 1;
        if (this.x === 20) {
          this.x = 0;
          this.y = (this.y + 1) % 2;
        }
      } else {
        throw new Error(`byte ${b.toString(16)} not modelled`);
      }
    }
  }

  text(): [string, string] {
    return [(this.rows[0] as string[]).join(""), (this.rows[1] as string[]).join("")];
  }
}

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

const VIEWS: DisplayView[] = [
  { type: "idle" },
  { type: "amountDue", amountFen: 1234 },
  { type: "processing", amountFen: 5 },
  { type: "confirmOnPhone", amountFen: 100 },
  { type: "rescan", amountFen: 1250, reason: "expired" },
  { type: "rescan", amountFen: 1250, reason: "funds" },
  { type: "rescan", amountFen: 1250, reason: "declined" },
  { type: "rescan", amountFen: 1250, reason: "invalidCode" },
  { type: "rescan", amountFen: 1250, reason: "notPayment" },
  { type: "paid", amountFen: 1250 },
  { type: "cancelled", amountFen: 1250 },
  { type: "unknown", amountFen: 1250 },
];

describe("ESC/POS customer display encoder", () => {
  it("initialises with ESC @ (device-protocols.md §2.2)", () => {
    expect(toHex(ESCPOS_INIT)).toBe("1b 40");
  });

  it("the screen model reads device-protocols.md test vector 20 as 12.50 on row 2", () => {
    const screen = new EscPosScreen();
    screen.push(fromHex("0C 1F 24 01 02 31 32 2E 35 30"));
    expect(screen.text()).toEqual([" ".repeat(20), `12.50${" ".repeat(15)}`]);
  });

  it("uses vector 20's clear and cursor-to-row-2 bytes, and US $ 1 1 for row 1", () => {
    const bytes = encodeEscPosView({ type: "amountDue", amountFen: 1250 }, ASCII);
    expect(toHex(bytes.subarray(0, 7))).toBe("1f 01 0c 1f 24 01 01");
    expect(toHex(bytes.subarray(27, 31))).toBe("1f 24 01 02");
    expect(bytes).toHaveLength(2 + 1 + 4 + 20 + 4 + 20);
  });

  it.each(VIEWS)("ASCII: shows the CD5220's two lines for %j", (view) => {
    const screen = new EscPosScreen();
    screen.push(concatBytes(ESCPOS_INIT, encodeEscPosView(view, ASCII)));
    expect(screen.text()).toEqual(cd5220Lines(view));
    expect(screen.overwrite).toBe(true);
  });

  it("repaints over a previous view without leaving a tail behind", () => {
    const screen = new EscPosScreen();
    screen.push(encodeEscPosView({ type: "amountDue", amountFen: 1234 }, ASCII));
    screen.push(encodeEscPosView({ type: "idle" }, ASCII));
    expect(screen.text()).toEqual([`WELCOME${" ".repeat(13)}`, " ".repeat(20)]);
  });

  it.each(VIEWS)("GB18030: 20 bytes per line, the Chinese layout encoded, for %j", (view) => {
    const screen = new EscPosScreen();
    screen.push(encodeEscPosView(view, GB));
    const [upper, lower] = escPosChineseLines(view);
    expect(screen.text()).toEqual([latin1(gb18030(upper)), latin1(gb18030(lower))]);
  });

  it("GB18030: amount line hex for 12.34 (合计 = GB2312 BA CF BC C6)", () => {
    const bytes = encodeEscPosView({ type: "amountDue", amountFen: 1234 }, GB);
    expect(toHex(bytes.subarray(7, 27))).toBe("ba cf bc c6 20 20 20 20 20 20 20 20 20 20 20 31 32 2e 33 34");
  });

  it("GB18030: cuts the label by whole characters, never the amount", () => {
    const big = encodeEscPosView({ type: "amountDue", amountFen: 10_000_000_000 }, GB);
    // 合计 + 4 spaces + 100000000.00
    expect(toHex(big.subarray(7, 27))).toBe("ba cf bc c6 20 20 20 20 31 30 30 30 30 30 30 30 30 2e 30 30");
    // 16-character amount leaves 3 columns: 已 (2) fits, 支 (2 more) does not, and half of it is never sent.
    const odd = encodeEscPosView({ type: "paid", amountFen: 100_000_000_000_000 }, GB);
    expect(toHex(odd.subarray(7, 27))).toBe("d2 d1 20 20 31 30 30 30 30 30 30 30 30 30 30 30 30 2e 30 30");
    const widest = encodeEscPosView({ type: "paid", amountFen: Number.MAX_SAFE_INTEGER }, GB);
    // 已 + one space + 90071992547409.91
    expect(toHex(widest.subarray(7, 27))).toBe("d2 d1 20 39 30 30 37 31 39 39 32 35 34 37 34 30 39 2e 39 31");
  });

  it("falls back to the ASCII layout when the injected encoder is not GB (UTF-8: 3 bytes a character)", () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    for (const view of VIEWS) {
      expect(toHex(encodeEscPosView(view, { charset: "gb18030", encodeText: utf8 }))).toBe(
        toHex(encodeEscPosView(view, ASCII)),
      );
    }
  });

  it("falls back to ASCII when the encoder yields control bytes", () => {
    const controls = () => new Uint8Array(20).fill(0x0a); // right length, but LF bytes
    const view: DisplayView = { type: "paid", amountFen: 1 };
    expect(toHex(encodeEscPosView(view, { charset: "gb18030", encodeText: controls }))).toBe(
      toHex(encodeEscPosView(view, ASCII)),
    );
  });

  it("throws TypeError on bad options", () => {
    const view: DisplayView = { type: "idle" };
    expect(() => encodeEscPosView(view, { charset: "big5" } as never)).toThrow(TypeError);
    expect(() => encodeEscPosView(view, { charset: "gb18030" } as never)).toThrow(TypeError);
    expect(() => encodeEscPosView(view, undefined as never)).toThrow(TypeError);
  });

  it("refuses an amount that is not a safe integer", () => {
    expect(() => encodeEscPosView({ type: "amountDue", amountFen: 12.5 }, ASCII)).toThrow(RangeError);
    expect(() => encodeEscPosView({ type: "paid", amountFen: Number.NaN }, GB)).toThrow(RangeError);
  });
});
