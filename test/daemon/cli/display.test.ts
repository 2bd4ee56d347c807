// `posbridge display decode`, run through main() with a test Io on the fixtures.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "../../../daemon/cli/command.js";
import { ManualClock } from "../../../daemon/clock.js";
import { main } from "../../../daemon/main.js";
import { bytesOf, FIXTURES } from "../../protocols/display-tap/tap-support.js";

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env: {},
    clock: new ManualClock(),
  };
  return { io, out, err: () => err.join("\n") };
}

async function decode(...args: string[]) {
  const t = fakeIo();
  const code = await main(["display", "decode", ...args], t.io);
  return { code, lines: t.out.map((l) => JSON.parse(l) as Record<string, unknown>), err: t.err() };
}

const dir = mkdtempSync(join(tmpdir(), "pb-display-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("posbridge display decode", () => {
  it("prints one JSON object per display update, then what a scan at the end would charge", async () => {
    const r = await decode(join(FIXTURES, "cash-tender.hex"));
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([
      {
        lamp: "total",
        lines: [""],
        amountFen: null,
        chargeable: false,
        kind: "blank",
        basis: "lamp total, no number",
      },
      {
        lamp: "total",
        lines: ["12.50"],
        amountFen: 1250,
        chargeable: true,
        kind: "total",
        basis: "lamp total",
      },
      {
        lamp: "collect",
        lines: ["12.50"],
        amountFen: 1250,
        chargeable: false,
        kind: "tender",
        basis: "lamp collect",
      },
      {
        lamp: "collect",
        lines: ["20.00"],
        amountFen: 2000,
        chargeable: false,
        kind: "tender",
        basis: "lamp collect",
      },
      {
        lamp: "change",
        lines: ["20.00"],
        amountFen: 2000,
        chargeable: false,
        kind: "tender",
        basis: "lamp change",
      },
      {
        lamp: "change",
        lines: ["7.50"],
        amountFen: 750,
        chargeable: false,
        kind: "tender",
        basis: "lamp change",
      },
      { standingTotalFen: null },
    ]);
    expect(r.err).toMatch(
      /^posbridge display: led8-ascii \(detected, confidence [01]\.\d\d\); 6 updates from 35 bytes, 0 discarded$/,
    );
  });

  it("decodes GB2312 text and finds the total by its label", async () => {
    const r = await decode("--dialect", "cd5220-4row", join(FIXTURES, "hisense-lc415-4row.hex"));
    expect(r.code).toBe(0);
    expect(r.lines.at(-2)).toEqual({
      lamp: null,
      lines: ["欢迎光临", "合计", "12.50", ""],
      amountFen: 1250,
      chargeable: true,
      kind: "total",
      basis: "label 合计",
    });
    expect(r.lines.at(-1)).toEqual({ standingTotalFen: 1250 });
    expect(r.err).toContain("cd5220-4row (given)");
  });

  it("reads a raw binary capture too, and --format binary forces it", async () => {
    const path = join(dir, "sale.bin");
    writeFileSync(path, bytesOf(`32 1b 51 41 "12.50" 0d`));
    const r = await decode("--dialect", "led8-bare", path);
    expect(r.lines.at(-1)).toEqual({ standingTotalFen: 1250 });
    // A text file forced to binary is just bytes nobody reads: decoded, nothing to charge.
    const forced = await decode(
      "--dialect",
      "led8-ascii",
      "--format",
      "binary",
      join(FIXTURES, "sedsy-ascii-lamp.hex"),
    );
    expect(forced.code).toBe(0);
    expect(forced.lines).toEqual([{ standingTotalFen: null }]);
  });

  it("the dialect decides what the same bytes mean", async () => {
    const path = join(FIXTURES, "partner-4byte-lamp.hex");
    expect((await decode("--dialect", "led8-partner", path)).lines.at(-1)).toEqual({
      standingTotalFen: 1250,
    });
    // Read as the binary form, Partner's 合计 is 收款 and a stray byte: nothing to charge.
    expect((await decode("--dialect", "led8-binary", path)).lines.at(-1)).toEqual({ standingTotalFen: null });
  });

  it("labels and whole numbers are options", async () => {
    const path = join(dir, "own-label.hex");
    writeFileSync(path, `1b 51 41 "DUE 12" 0d\n`);
    expect((await decode("--dialect", "cd5220", path)).lines.at(-1)).toEqual({ standingTotalFen: null });
    const r = await decode("--dialect", "cd5220", "--total-labels", "DUE", "--whole-numbers", "yuan", path);
    expect(r.lines.at(-1)).toEqual({ standingTotalFen: 1200 });
  });

  it("a timed capture uses its times: a total that stood 2 s and was replaced by a tender is not charged", async () => {
    const r = await decode("--dialect", "led8-ascii", join(FIXTURES, "sedsy-checkout.hex"));
    expect(r.lines.at(-1)).toEqual({ standingTotalFen: null });
    // The lamp comes before its number: for a moment 合计 is lit over the last price (9.00). That
    // screen is chargeable as shown, but it never stands: only 12.50 was accepted (fixtures.test.ts).
    expect(r.lines.filter((l) => l.chargeable === true).map((l) => l.amountFen)).toEqual([900, 1250]);
  });

  it("bad input is refused with where and why, and exit 1", async () => {
    const bad = join(dir, "bad.hex");
    writeFileSync(bad, `# a capture\n1b 51 41\nzz 0d\n`);
    const r = await decode(bad);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`posbridge display: ${bad}, line 3: 'zz' is not a hex byte, "text" or @ms`);
    const missing = await decode(join(dir, "nope.hex"));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^posbridge display: cannot read .*nope\.hex: ENOENT/);
    const noise = join(dir, "noise.bin");
    writeFileSync(
      noise,
      Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 7),
    );
    const none = await decode(noise);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no dialect reads this capture/);
  });

  it("bad usage is exit 64 naming the problem", async () => {
    for (const [args, message] of [
      [["display"], "what? (decode)"],
      [["display", "encode", "x"], "unknown subcommand 'encode'"],
      [["display", "decode"], "decode takes one FILE"],
      [["display", "decode", "--dialect", "vfd", "x"], "--dialect must be auto or one of"],
      [["display", "decode", "--format", "pcap", "x"], "--format must be"],
      [["display", "decode", "--encoding", "big5", "x"], "--encoding must be"],
      [["display", "decode", "--idle-ms", "5", "x"], "--idle-ms must be"],
      [["display", "decode", "--stable-ms", "abc", "x"], "--stable-ms must be"],
      [["display", "decode", "--whole-numbers", "cents", "x"], "--whole-numbers must be"],
      [
        ["display", "decode", "--total-labels", "合计1", "x"],
        "--total-labels: total labels must not contain digits",
      ],
    ] as const) {
      const t = fakeIo();
      expect(await main([...args], t.io), args.join(" ")).toBe(64);
      expect(t.err()).toContain(message);
      expect(t.err()).toContain("Try 'posbridge display --help'.");
    }
  });
});
