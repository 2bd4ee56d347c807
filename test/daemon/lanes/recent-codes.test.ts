import { describe, expect, it } from "vitest";
import { RecentCodes } from "../../../daemon/lanes/recent-codes.js";

describe("RecentCodes", () => {
  it("recognises a code submitted within the window and forgets it after", () => {
    const codes = new RecentCodes(60_000);
    codes.remember("134567890123456789", 1000);
    expect(codes.seen("134567890123456789", 60_999)).toBe(true);
    expect(codes.seen("134567890123456780", 2000)).toBe(false);
    expect(codes.seen("134567890123456789", 61_000)).toBe(false);
    expect(codes.size).toBe(0);
  });

  it("a code submitted again is kept from its last submission; older codes behind it still expire", () => {
    const codes = new RecentCodes(60_000);
    codes.remember("134567890123456789", 0);
    codes.remember("134567890123456780", 10_000);
    codes.remember("134567890123456789", 30_000);
    expect(codes.seen("134567890123456780", 70_000)).toBe(false);
    expect(codes.seen("134567890123456789", 70_000)).toBe(true);
    expect(codes.size).toBe(1);
    expect(codes.seen("134567890123456789", 90_000)).toBe(false);
    expect(codes.size).toBe(0);
  });

  it("keeps no code in a form that can be read back", () => {
    const codes = new RecentCodes(60_000);
    codes.remember("0123456789012345678", 0);
    const dump = JSON.stringify([
      ...(codes as unknown as { submitted: Map<string, number> }).submitted.keys(),
    ]);
    expect(dump).not.toMatch(/\d{8,}/);
    expect(dump).not.toContain("0123456789012345678");
  });
});
