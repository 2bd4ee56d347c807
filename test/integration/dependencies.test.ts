// What a production install gets (issue 9, item 3): the demo's packages (aedes, pino-pretty, the
// mock serial binding) are development dependencies, so `npm prune --omit=dev` and `posbridge
// install` leave them out; and every dependency with an install script is covered by package.json
// "allowScripts" (denied: their prebuilt binaries load as shipped), so `npm ci` warns about none.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { productionPackages } from "../../daemon/cli/production-tree.js";

const root = new URL("../..", import.meta.url).pathname;
const DEMO_ONLY = ["aedes", "pino-pretty", "@serialport/binding-mock"];
const npm = (args: string[]) => spawnSync("npm", args, { cwd: root, encoding: "utf8", timeout: 60_000 });
const npmMajor = Number(npm(["--version"]).stdout.split(".")[0]);

describe("production dependencies", () => {
  it("npm ls --omit=dev lists no demo-only package, and the runtime ones", () => {
    const r = npm(["ls", "--omit=dev", "--all", "--parseable"]);
    const names = r.stdout
      .split("\n")
      .filter((l) => l.includes("/node_modules/"))
      .map((l) => l.slice(l.lastIndexOf("/node_modules/") + "/node_modules/".length));
    for (const pkg of DEMO_ONLY) expect(names, pkg).not.toContain(pkg);
    for (const pkg of ["mqtt", "pino", "protobufjs", "@serialport/bindings-cpp"])
      expect(names, pkg).toContain(pkg);
  });

  it("the install's own list (from package-lock.json) agrees with npm ls --omit=dev", () => {
    const fromNpm = npm(["ls", "--omit=dev", "--all", "--parseable"])
      .stdout.split("\n")
      .filter((l) => l.startsWith(`${root}node_modules/`))
      .map((l) => l.slice(root.length))
      .sort();
    expect(productionPackages(root)).toEqual([...new Set(fromNpm)]);
  });

  it("keeps the demo's packages in devDependencies", () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as Record<
      string,
      Record<string, string>
    >;
    for (const name of DEMO_ONLY) {
      expect(pkg.dependencies?.[name], name).toBeUndefined();
      expect(pkg.devDependencies?.[name], name).toBeDefined();
    }
  });
});

describe.skipIf(npmMajor < 11)("install scripts (npm >= 11 allowScripts)", () => {
  it("leaves no dependency's install script unreviewed, so npm ci prints no install-scripts warning", () => {
    const r = npm(["install-scripts", "ls", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ allowScripts: [] });
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
      allowScripts: Record<string, boolean>;
    };
    // Denied, not approved: nothing is compiled at install; the prebuilds load as they are.
    // better-sqlite3 is a devDependency of one bench (bench/sqlite-journal.ts, docs/journal.md);
    // esbuild (the build's bundler, scripts/bundle.mjs) loads its binary from the optional
    // @esbuild/<platform> package, so its postinstall is not needed.
    expect(pkg.allowScripts).toEqual({
      "@serialport/bindings-cpp": false,
      "better-sqlite3": false,
      esbuild: false,
      "node-hid": false,
    });
  });
});
