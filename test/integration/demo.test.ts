// `posbridge demo` is the newcomer's first contact: it must play every sale path and pass.
import { describe, expect, it } from "vitest";
import { runDemo } from "../../daemon/demo/demo.js";

describe("posbridge demo", () => {
  it("plays every scripted sale path with the expected outcome and leaks no code", async () => {
    const lines: string[] = [];
    const code = await runDemo({ out: (l) => lines.push(l) });
    const text = lines.join("\n");
    expect(text).toContain("demo finished: every sale path behaved as expected");
    expect(code).toBe(0);
    for (const status of ["PAID", "CANCELLED", "REFUNDED", "REJECTED"])
      expect(text).toContain(` answered ${status}`);
    for (const stage of ["WAIT_SCAN", "SUBMITTED", "WAIT_CUSTOMER", "RETRY_SCAN", "QUERYING", "REVERSING"])
      expect(text).toContain(stage);
    expect(text).not.toContain("134567890123456789");
    expect(text).toContain("no payment code in any of them");
  }, 90_000);
});
