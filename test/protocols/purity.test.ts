// protocols/ holds pure codecs and state machines: no I/O, no real timers, no clock, and no
// dependency on anything outside protocols/ (dependencies point daemon → protocols → nothing).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../protocols", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("protocols/ purity", () => {
  const files = sources(root);

  it("has sources to check", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const file of files) {
    it(`${relative(root, file)} imports only from protocols/ and uses no clock or timer`, () => {
      const text = readFileSync(file, "utf8");
      const imports = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1] as string);
      for (const spec of imports) {
        expect(spec.startsWith("."), `${spec} is not a relative import`).toBe(true);
        const target = join(file, "..", spec);
        expect(target.startsWith(root), `${spec} leaves protocols/`).toBe(true);
      }
      const code = text.replace(/\/\/.*$/gm, "");
      expect(code).not.toMatch(/\bDate\.now\(|new Date\(|setTimeout\(|setInterval\(|process\.|require\(/);
    });
  }
});
