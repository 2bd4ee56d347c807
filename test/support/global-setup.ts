// Runs once before any test file (vitest globalSetup). The code imports `#proto`, which resolves to
// build/gen/posbridge.js (package.json "imports"): generated from proto/, never committed. On a
// fresh clone `npm run test:unit` would fail to import it, so generate it when it is missing
// (`npm run gen`, protobufjs-cli from devDependencies). The integration tests still need the whole
// build (`npm run build`, which npm test runs first).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export default function setup(): void {
  const root = new URL("../..", import.meta.url).pathname;
  if (existsSync(join(root, "build/gen/posbridge.js"))) return;
  console.log("build/gen is missing: generating the protobuf code (npm run gen)");
  execFileSync(process.execPath, [join(root, "scripts/gen-proto.mjs")], { stdio: "inherit" });
}
