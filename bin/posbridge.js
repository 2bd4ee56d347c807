#!/usr/bin/env node
// Entry point: the daemon bundled into build/dist/ (npm run build: scripts/bundle.mjs), or, where
// there is no bundle or PB_NO_BUNDLE=1, tsc's output in build/daemon/. Checks the Node.js version
// before anything is loaded, so an old Node says what to do instead of failing on a missing API.
import { existsSync } from "node:fs";

const major = Number(process.versions.node.split(".")[0]);
if (major < 20) {
  console.error(
    `posbridge needs Node.js 20 or later; ${process.execPath} is ${process.version}. ` +
      "Debian 12 ships Node.js 18: install Node.js 20 or later system-wide (NodeSource's apt " +
      "repository, or the official linux build in /usr/local) — see docs/deployment.md, 'Node.js'.",
  );
  process.exit(1);
}

const bundle = new URL("../build/dist/main.js", import.meta.url);
const { main } =
  process.env.PB_NO_BUNDLE !== "1" && existsSync(bundle)
    ? await import(bundle.href)
    : await import("../build/daemon/main.js");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
