import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BRIDGE_ERROR_CODES,
  BridgeError,
  EX_CONFIG,
  exitCodeFor,
  isBridgeError,
} from "../../daemon/errors.js";

const table = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

/** Codes in the first column of the docs/errors.md table. */
function documentedCodes(): string[] {
  return [...table.matchAll(/^\|\s*`(PB_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string);
}

describe("BridgeError", () => {
  it("puts the code in the message suffix and keeps context and cause", () => {
    const cause = new Error("low level");
    const e = new BridgeError("PB_PORT_OPEN", "cannot open /dev/ttyUSB0", {
      context: { path: "/dev/ttyUSB0" },
      cause,
    });
    expect(e.message).toBe("cannot open /dev/ttyUSB0 (PB_PORT_OPEN)");
    expect(e.code).toBe("PB_PORT_OPEN");
    expect(e.context).toEqual({ path: "/dev/ttyUSB0" });
    expect(e.cause).toBe(cause);
    expect(e.name).toBe("BridgeError");
    expect(e).toBeInstanceOf(Error);
  });

  it("is recognised by the guard, with and without a code", () => {
    const e = new BridgeError("PB_MQTT_CONNECT", "refused");
    expect(isBridgeError(e)).toBe(true);
    expect(isBridgeError(e, "PB_MQTT_CONNECT")).toBe(true);
    expect(isBridgeError(e, "PB_MQTT_DECODE")).toBe(false);
    expect(isBridgeError(new Error("x (PB_MQTT_CONNECT)"))).toBe(false);
    expect(isBridgeError(undefined)).toBe(false);
  });

  it("maps PB_CONFIG_* to exit code 78 and everything else to 1", () => {
    expect(EX_CONFIG).toBe(78);
    expect(exitCodeFor(new BridgeError("PB_CONFIG_PARSE", "x"))).toBe(78);
    expect(exitCodeFor(new BridgeError("PB_PORT_OPEN", "x"))).toBe(1);
    expect(exitCodeFor(new Error("x"))).toBe(1);
  });
});

describe("docs/errors.md", () => {
  it("documents every code exactly once, and no code that does not exist", () => {
    const documented = documentedCodes();
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...BRIDGE_ERROR_CODES].sort());
  });

  it("gives every code a meaning and a fix", () => {
    for (const line of table.split("\n").filter((l) => /^\|\s*`PB_/.test(l))) {
      const cells = line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      expect(cells, line).toHaveLength(3);
      expect(cells[1]?.length, line).toBeGreaterThan(10);
      expect(cells[2]?.length, line).toBeGreaterThan(10);
    }
  });
});

describe("every documented code is raised or logged somewhere", () => {
  it("appears as a string in the daemon's source outside errors.ts (a code nobody logs cannot be grepped for)", () => {
    const root = new URL("../..", import.meta.url).pathname;
    const files = ["daemon", "protocols"]
      .flatMap((dir) =>
        readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).map((f) => `${dir}/${f}`),
      )
      .filter((f) => f.endsWith(".ts") && f !== "daemon/errors.ts");
    const source = files.map((f) => readFileSync(new URL(`../../${f}`, import.meta.url), "utf8")).join("\n");
    const silent = BRIDGE_ERROR_CODES.filter((code) => !source.includes(`"${code}"`));
    expect(silent).toEqual([]);
  });
});

describe("docs/errors.md links", () => {
  const docs = new URL("../../docs/", import.meta.url);
  const root = new URL("../../", import.meta.url);

  it("names only pages that exist (no 'operations guide' or other page that was never written)", () => {
    expect(table).not.toMatch(/operations guide/i);
    const pages = new Set([...table.matchAll(/([A-Za-z0-9_./-]+\.md)\b/g)].map((m) => m[1] as string));
    expect(pages.size).toBeGreaterThan(0);
    for (const page of pages) {
      const found = page.includes("/") ? existsSync(new URL(page, root)) : existsSync(new URL(page, docs));
      expect(found, `${page} is named in docs/errors.md but does not exist`).toBe(true);
    }
  });

  it('points into sections that exist: docs/<page>.md, "<heading>"', () => {
    const refs = [...table.matchAll(/(docs\/[a-z-]+\.md), "([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, page, section] of refs) {
      const headings = readFileSync(new URL(page as string, root), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("#"))
        .map((l) => l.replace(/^#+\s*/, ""));
      expect(
        headings.some((h) => h.startsWith(section as string)),
        `${page} has no section "${section}"`,
      ).toBe(true);
    }
  });
});
