import { describe, expect, it } from "vitest";
import { validateRef } from "../../../protocols/pos/refs.js";

describe("validateRef", () => {
  it("accepts 1 to 32 of A-Z a-z 0-9 _ -", () => {
    expect(validateRef("ORD123")).toBeUndefined();
    expect(validateRef("a")).toBeUndefined();
    expect(validateRef("Az09_-".padEnd(32, "x"))).toBeUndefined();
  });

  it("rejects 33 characters", () => {
    expect(validateRef("A".repeat(33))).toBe("orderRef is 33 characters long; at most 32 allowed");
  });

  it("rejects spaces with a message about whitespace", () => {
    expect(validateRef("ORD 123")).toBe("orderRef contains whitespace; only A-Z a-z 0-9 _ - allowed");
    expect(validateRef("ORD123 ")).toMatch(/whitespace/);
  });

  it("rejects an empty reference", () => {
    expect(validateRef("")).toMatch(/orderRef is empty/);
  });

  it("rejects other characters, including non-ASCII letters", () => {
    expect(validateRef("ORD/123")).toMatch(/outside A-Z a-z 0-9 _ -/);
    expect(validateRef("订单1")).toMatch(/outside/);
    expect(validateRef("ORD\x1c1")).toMatch(/outside/);
  });

  it("names the field it checks", () => {
    expect(validateRef("R 1", "refundRef")).toMatch(/^refundRef /);
  });
});
