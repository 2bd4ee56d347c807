// Runs once before any test file (vitest globalSetup), so `npm run test:unit` works on a fresh
// clone (`npm ci` and nothing else): the code imports `#proto` and `#config-validator`, which
// resolve to build/gen/posbridge.js and build/gen/config-validator.js (package.json "imports",
// generated from proto/ and schema/, never committed), and a
// few unit tests run the built CLI (bin/posbridge.js: the bundle in build/dist, made from build/daemon).
// Whatever of the build is missing is made here (`npm run build`: the protobuf and validator
// generation, tsc, the bundle), and a bundle older than tsc's output is made again, so that a
// test never runs a stale bundle after `tsc` alone. Otherwise a build that exists is left alone:
// after a code change, `npm run build` (npm test runs it) is still what refreshes it.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export default function setup(): void {
  const root = new URL("../..", import.meta.url).pathname;
  const run = (what: string, args: string[]) => {
    console.log(`test setup: ${what}`);
    execFileSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  };
  if (!existsSync(join(root, "build/gen/posbridge.js"))) {
    run("build/gen is missing: generating the protobuf code", [join(root, "scripts/gen-proto.mjs")]);
  }
  if (!existsSync(join(root, "build/gen/config-validator.js"))) {
    run("build/gen is missing the config validator: generating it", [
      join(root, "scripts/gen-config-validator.mjs"),
    ]);
  }
  if (!existsSync(join(root, "build/daemon/main.js"))) {
    run("build/daemon is missing: compiling (tsc)", [
      join(root, "node_modules/typescript/bin/tsc"),
      "-p",
      join(root, "tsconfig.json"),
    ]);
  }
  const bundle = join(root, "build/dist/main.js");
  if (
    !existsSync(bundle) ||
    statSync(bundle).mtimeMs < statSync(join(root, "build/daemon/main.js")).mtimeMs
  ) {
    run("build/dist is missing or older than build/daemon: bundling", [join(root, "scripts/bundle.mjs")]);
  }
}
