// `posbridge display decode -` as a technician runs it: the built CLI, a capture piped on stdin.
import { describe, expect, it } from "vitest";
import { startDaemon } from "../support/daemon-process.js";

describe("posbridge display decode (built CLI)", () => {
  it("decodes a raw capture from standard input", async () => {
    const d = startDaemon(["display", "decode", "--dialect", "led8-ascii", "-"], {}, { stdin: true });
    // ESC s '2', ESC Q A "12.50" CR: the Sedsy/Citaq total (scanbox-anchors.md §6), raw bytes.
    d.proc.stdin?.end(Buffer.from([0x1b, 0x73, 0x32, 0x1b, 0x51, 0x41, ...Buffer.from("12.50"), 0x0d]));
    expect(await d.exit).toBe(0);
    const json = d.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    expect(json.at(-2)).toMatchObject({ lamp: "total", lines: ["12.50"], amountFen: 1250, chargeable: true });
    expect(json.at(-1)).toEqual({ standingTotalFen: 1250 });
    expect(d.lines.join("\n")).toContain(
      "posbridge display: led8-ascii (given); 2 updates from 12 bytes, 0 discarded",
    );
  });

  it("decodes the capture text form from standard input, cash tender included: nothing to charge", async () => {
    const d = startDaemon(["display", "decode", "-"], {}, { stdin: true });
    d.proc.stdin?.end(`@0 1b 73 32 1b 51 41 "12.50" 0d\n@3000 1b 73 33 1b 51 41 "20.00" 0d\n`);
    expect(await d.exit).toBe(0);
    const json = d.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    expect(json.at(-1)).toEqual({ standingTotalFen: null });
  });
});
