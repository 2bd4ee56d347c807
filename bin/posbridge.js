#!/usr/bin/env node
// Entry point: the daemon bundled into build/dist/ (npm run build: scripts/bundle.mjs), `run` from
// its CommonJS form and V8's code cache when they fit this Node (bin/code-cache.js), or, where
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

const argv = process.argv.slice(2);
const bundle = new URL("../build/dist/main.js", import.meta.url);
/** How the daemon's code was loaded: the start log line says it (daemon/load-info.ts). */
let loaded;
let daemon;
if (process.env.PB_NO_BUNDLE === "1" || !existsSync(bundle)) {
  loaded = "tsc output";
  daemon = await import("../build/daemon/main.js");
} else {
  // The daemon (`run`, or no command) from the CommonJS bundle and V8's code cache, unless turned
  // off (PB_CODE_CACHE=0) or source maps are on (Node maps only what it loaded itself).
  const first = argv[0];
  const runs =
    first === undefined ||
    first === "run" ||
    (first.startsWith("-") && !["-h", "--help", "-v", "--version"].includes(first));
  const sourceMaps =
    process.sourceMapsEnabled ||
    `${process.execArgv} ${process.env.NODE_OPTIONS}`.includes("--enable-source-maps");
  if (runs && process.env.PB_CODE_CACHE !== "0" && !sourceMaps) {
    // loadCachedDaemon() catches what goes wrong; this, a tree without bin/code-cache.js.
    const cached = await import("./code-cache.js").then(
      (m) => m.loadCachedDaemon(),
      (err) => ({ why: `bin/code-cache.js: ${err}` }),
    );
    daemon = cached.daemon;
    loaded = daemon ? "bundle, code cache" : `bundle (${cached.why})`;
  } else loaded = "bundle";
  daemon ??= await import(bundle.href);
}
globalThis[Symbol.for("posbridge.loaded")] = loaded;
const { main } = daemon;
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
