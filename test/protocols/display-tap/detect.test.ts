// Auto-detection, on bytes as a port opened at each candidate setting would really read them:
// the register's bytes go through a simulated UART at the true setting and come back through one
// at the candidate setting (test/support/uart.ts), so a wrong baud rate or parity garbles them the
// way hardware does. The detector must pick the true setting and dialect.
import { describe, expect, it } from "vitest";
import { DETECT_SETTINGS, detectDisplay, scoreDialects } from "../../../protocols/display-tap/detect.js";
import type { DisplayDialect } from "../../../protocols/display-tap/dialects.js";
import { overTheWire, type UartSetting } from "../../support/uart.js";
import { bytesOf, fixture, prng } from "./tap-support.js";

/** A sample of a few sales: the capture three times over, as a listening port would gather it. */
function traffic(name: string): Uint8Array {
  const once = fixture(name).bytes;
  return Uint8Array.from([...once, ...once, ...once]);
}

function samplesFor(bytes: Uint8Array, truth: UartSetting, gapBits: number) {
  return DETECT_SETTINGS.map((setting) => ({
    setting,
    bytes: overTheWire(bytes, truth, setting as UartSetting, gapBits),
  }));
}

describe("the UART simulator (the detector's test bench) is faithful", () => {
  it("reads back exactly at the right setting, and garbles at a wrong one", () => {
    const bytes = bytesOf(`1b 73 32 1b 51 41 "12.50" 0d`);
    for (const setting of DETECT_SETTINGS as UartSetting[]) {
      expect(overTheWire(bytes, setting, setting, 0)).toEqual(bytes);
    }
    const sent: UartSetting = { baudRate: 2400, parity: "none" };
    expect(overTheWire(bytes, sent, { baudRate: 9600, parity: "none" })).not.toEqual(bytes);
    // Odd parity read as even: every byte fails its parity check and arrives as 00 (Linux, no IGNPAR).
    const odd: UartSetting = { baudRate: 9600, parity: "odd" };
    expect(overTheWire(bytes, odd, { baudRate: 9600, parity: "even" })).toEqual(new Uint8Array(bytes.length));
  });
});

describe("detectDisplay picks the setting and dialect", () => {
  const cases: [string, DisplayDialect, UartSetting, number][] = [
    // LED-8 displays: 2400 baud is typical (fastfd: "must be 2400").
    ["sedsy-checkout.hex", "led8-ascii", { baudRate: 2400, parity: "none" }, 2],
    ["wintec-cd110-thanks.hex", "led8-binary", { baudRate: 9600, parity: "none" }, 0],
    ["partner-checkout.hex", "led8-partner", { baudRate: 9600, parity: "none" }, 1],
    ["ejeton-checkout.hex", "led8-bare", { baudRate: 2400, parity: "none" }, 4],
    ["et112-value-only.hex", "led8-plain", { baudRate: 2400, parity: "none" }, 0],
    // Hisense VG210A runs 9600 odd; VC110 9600 none (and a PHP tool says even: autodetect).
    ["text-cash-sale.hex", "cd5220", { baudRate: 9600, parity: "odd" }, 0],
    ["text-chinese-tender.hex", "cd5220", { baudRate: 9600, parity: "even" }, 2],
    ["hisense-lc415-4row.hex", "cd5220-4row", { baudRate: 9600, parity: "none" }, 0],
    // Wintec CD320 drips a byte every 15 ms: at 9600 baud that is ~144 idle bit-times.
    ["wintec-cd320-total-drip.hex", "escpos", { baudRate: 9600, parity: "none" }, 144],
    ["escpos-gb18030.hex", "escpos", { baudRate: 19200, parity: "none" }, 0],
  ];
  it.each(cases)("%s sent as %s at %o", (name, dialect, truth, gapBits) => {
    const found = detectDisplay(samplesFor(traffic(name), truth, gapBits));
    expect(found.verdict).toBe("found");
    expect(found.best?.setting).toEqual(truth);
    expect(found.best?.dialect).toBe(dialect);
    expect(found.confidence).toBeGreaterThan(0.5);
    // Every wrong setting scores clearly lower.
    const wrong = found.ranking.filter((c) => c.setting !== found.best?.setting);
    expect(Math.max(...wrong.map((c) => c.score))).toBeLessThan((found.best?.score ?? 0) - 0.2);
  });

  it("a silent line says so", () => {
    const found = detectDisplay(DETECT_SETTINGS.map((setting) => ({ setting, bytes: new Uint8Array(0) })));
    expect(found).toMatchObject({ verdict: "nothing", best: null, confidence: 0 });
    expect(found.reason).toMatch(/silent/);
  });

  it("noise from something that is not a display is not taken for one", () => {
    const random = prng(3);
    const noise = Uint8Array.from({ length: 400 }, () => Math.floor(random() * 256));
    const found = detectDisplay(DETECT_SETTINGS.map((setting) => ({ setting, bytes: noise })));
    expect(found.verdict).toBe("nothing");
  });

  it("lamp forms that contradict each other are told apart by the shape of the bytes", () => {
    // 1B 73 03 01: Partner's 合计. The binary form reads 收款 and a stray 01; ASCII reads nothing.
    const scores = scoreDialects(bytesOf(`1b 73 03 01 1b 51 41 "12.50" 0d`), {
      dialects: ["led8-binary", "led8-partner", "led8-ascii"],
    });
    expect(scores.map((s) => s.dialect)).toEqual(["led8-partner", "led8-binary", "led8-ascii"]);
    expect(scores[0]?.clean).toBe(1);
    expect(scores[1]?.clean).toBeLessThan(1);
  });

  it("words on the display make it a text display: an LED shows no TOTAL", () => {
    // ESC Q A is both an LED number frame and a CD5220 line; only the label tells them apart.
    const found = detectDisplay([{ setting: "file", bytes: traffic("cd5220-lcdproc.hex") }]);
    expect(found.verdict).toBe("found");
    expect(found.best?.dialect).toBe("cd5220");
  });

  it("dialects that read a sample the same way are equivalent for it: found, not ambiguous", () => {
    // A number and nothing else: every LED form and the text displays read the same screens.
    const found = detectDisplay([{ setting: "file", bytes: traffic("et112-value-only.hex") }]);
    expect(found.verdict).toBe("found");
    expect(found.best?.dialect).toBe("led8-plain");
    expect(found.tied).toEqual(["led8-plain"]);
  });

  it("equally good readings that disagree are ambiguous, with the tied dialects and less confidence", () => {
    // Line writes both read alike, then 47 characters of text at the cursor: a 2-row display wraps
    // and overwrites TOTAL 12.50 with WELCOME, a 4-row one keeps it on row 1. Both read every byte
    // with plenty of structure; only the display itself knows which it is.
    const lines = `1b 51 41 "TOTAL 1.00" 0d 1b 51 42 "TOTAL 2.00" 0d 1b 51 41 "TOTAL 3.00" 0d`;
    const bytes = bytesOf(`${lines} 1b 40 "TOTAL 12.50${" ".repeat(29)}WELCOME"`);
    const found = detectDisplay([{ setting: "file", bytes }], { dialects: ["cd5220", "cd5220-4row"] });
    expect(found.verdict).toBe("ambiguous");
    expect(found.tied.sort()).toEqual(["cd5220", "cd5220-4row"]);
    expect(found.confidence).toBeLessThanOrEqual(0.5);
    expect(found.reason).toMatch(/equally well/);
  });
});
