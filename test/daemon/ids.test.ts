import { describe, expect, it } from "vitest";
import { ulid } from "../../daemon/ids.js";

describe("ulid", () => {
  it("is 26 Crockford base32 chars, the first 10 the time", () => {
    const id = ulid(Date.UTC(2026, 10, 30));
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ulid(Date.UTC(2026, 10, 30)).slice(0, 10)).toBe(id.slice(0, 10));
    expect(ulid(Date.UTC(2026, 10, 30) + 1).slice(0, 10) > id.slice(0, 10)).toBe(true);
  });

  it("never repeats across many refills of its random pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) ids.add(ulid(0));
    expect(ids.size).toBe(5000);
  });
});
