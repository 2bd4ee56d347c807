// `posbridge run` from V8's code cache (docs/performance.md, "Start and memory"). Node 20 has no
// code cache for ES modules, so the build also bundles the daemon as one CommonJS file
// (build/dist/run.vm.js, scripts/bundle.mjs) and compiles it here with vm.Script and the bytecode
// V8 made of it at build time (build/dist/run.vm.js.<v8 version>.cache, scripts/make-code-cache.mjs,
// with the unit's V8 flags). Whatever goes wrong — no file, V8 rejects the cache (another V8
// version or other flags), a read or compile error — loadCachedDaemon() returns undefined with the
// reason, and bin/posbridge.js imports the ES module bundle as before: a cache never fails a start.
//
// The cache lives in the install prefix beside the code it was made from, written by the build
// and installed root-owned like every other file of the tree; the daemon never writes one (a cache
// the service user could write would be code it could make the next start run).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

export const RUN_BUNDLE = fileURLToPath(new URL("../build/dist/run.vm.js", import.meta.url));

/** The cache for this V8 (its version is in the name: another Node finds none and loses no time). */
export function cacheFile(v8 = process.versions.v8) {
  return `${RUN_BUNDLE}.${v8.replace(/[^0-9A-Za-z.-]/g, "_")}-${process.arch}.cache`;
}

/** run.vm.js compiled, with `cachedData` if given (script.cachedDataRejected says whether V8 took it). */
export function compileRunBundle(cachedData) {
  // One function expression (scripts/bundle.mjs), ASCII only: latin1 reads it as it is, into the
  // one-byte string V8 keeps as the script's source.
  return new vm.Script(readFileSync(RUN_BUNDLE, "latin1"), {
    filename: RUN_BUNDLE,
    cachedData,
  });
}

/** Runs the compiled bundle's module bodies; its exports: { main, loadCommand }. */
export function runRunBundle(script) {
  const module = { exports: {}, filename: RUN_BUNDLE, id: RUN_BUNDLE, loaded: false };
  const fn = script.runInThisContext();
  // The bundle's import()s call this one (scripts/bundle.mjs): package names, resolved from the
  // same node_modules.
  const importer = (specifier) => import(specifier);
  fn.call(
    module.exports,
    module.exports,
    createRequire(RUN_BUNDLE),
    module,
    RUN_BUNDLE,
    dirname(RUN_BUNDLE),
    importer,
  );
  module.loaded = true;
  return module.exports;
}

/**
 * The daemon's exports from run.vm.js and its code cache, or { why } when it cannot be used (the
 * caller then imports the ES module bundle). `why` is for the start log line.
 */
export function loadCachedDaemon() {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile());
  } catch (err) {
    return {
      why: err?.code === "ENOENT" ? "no code cache for this Node.js" : `code cache unreadable: ${err}`,
    };
  }
  let script;
  try {
    script = compileRunBundle(cachedData);
  } catch (err) {
    return { why: `run.vm.js does not compile: ${err}` };
  }
  // V8 checks its version, its flags, the source's length and the data's checksum.
  if (script.cachedDataRejected) return { why: "code cache rejected by V8 (other flags or version)" };
  try {
    return { daemon: runRunBundle(script) };
  } catch (err) {
    return { why: `run.vm.js failed to load: ${err}` };
  }
}
