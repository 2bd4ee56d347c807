// `posbridge run` from V8's code cache (docs/performance.md, "Start and memory"). Node 20 has no
// code cache for ES modules, so the build also bundles the daemon as one CommonJS function
// (build/dist/run.vm.js, scripts/bundle.mjs), compiled here with vm.Script and the bytecode V8
// made of it at build time (build/dist/run.vm.js.<V8 version>-<arch>.cache,
// scripts/make-code-cache.mjs, under the unit's V8 flags). Whatever goes wrong — no cache for this
// V8, a cache damaged or not made from this run.vm.js, V8 rejecting it (other flags), a read or
// compile error — loadCachedDaemon() says why, and bin/posbridge.js imports the ES module bundle
// as before: a cache never fails a start.
//
// V8 checks a cache's version, flags and source length, but in a release build not its contents:
// damaged bytecode would crash the process (tried: a few bytes flipped abort Node in the
// deserializer). Hence the file's header: the node options it was made under, and a SHA-1 of
// run.vm.js, those options and the cache data, checked before V8 sees the data (~2 ms). It guards against damage and a stale pair, not an attacker:
// the cache lives in the install prefix beside the code it was made from, written by the build
// and installed root-owned like every other file of the tree. The daemon never writes one (a cache
// the service user could write would be code it could make the next start run).
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

export const RUN_BUNDLE = fileURLToPath(new URL("../build/dist/run.vm.js", import.meta.url));

/** The cache for this V8 (its version is in the name: another Node finds none and loses no time). */
export function cacheFile(v8 = process.versions.v8) {
  return `${RUN_BUNDLE}.${v8.replace(/[^0-9A-Za-z.-]/g, "_")}-${process.arch}.cache`;
}

const MAGIC = Buffer.from("posbridge-v8-cache-2\n");

function digest(source, flags, data) {
  return createHash("sha1").update(source).update(flags).update(data).digest();
}

/** The node options of this process: its command line's, then NODE_OPTIONS's (split on blanks). */
export function nodeFlags() {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].filter(Boolean);
}

/**
 * A cache file's bytes: the magic line, the node options it was made under (one line), the SHA-1
 * of the source, those options and the data, then V8's data.
 */
export function cacheFileBytes(source, data, flags) {
  const line = Buffer.from(`${flags.join(" ")}\n`);
  return Buffer.concat([MAGIC, line, digest(source, line, data), data]);
}

/** A cache file's parts — its options line, the options, the SHA-1, V8's data — or undefined. */
function cacheParts(bytes) {
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const end = bytes.indexOf(10, MAGIC.length);
  if (end < 0 || bytes.length <= end + 1 + 20) return undefined;
  const line = bytes.subarray(MAGIC.length, end + 1);
  return {
    line,
    flags: line.toString("latin1").split(/\s+/).filter(Boolean),
    sha1: bytes.subarray(end + 1, end + 1 + 20),
    data: bytes.subarray(end + 1 + 20),
  };
}

/** The node options a cache file says it was made under, or undefined when it has no header. */
export function cacheFlags(bytes) {
  return cacheParts(bytes)?.flags;
}

/**
 * { data, flags } from a cache file's bytes — V8's data and the node options it was made under —
 * or undefined when it is not the undamaged cache of `source`.
 */
export function cacheData(source, bytes) {
  const parts = cacheParts(bytes);
  if (!parts || !digest(source, parts.line, parts.data).equals(parts.sha1)) return undefined;
  return { data: parts.data, flags: parts.flags };
}

/** run.vm.js's bytes. */
export function readRunBundle() {
  return readFileSync(RUN_BUNDLE);
}

/** run.vm.js compiled, with `cachedData` if given (script.cachedDataRejected says whether V8 took it). */
export function compileRunBundle(source, cachedData) {
  // One function expression, ASCII only (scripts/bundle.mjs): as latin1 it becomes the one-byte
  // string V8 keeps as the script's source, held outside the heap.
  return new vm.Script(source.toString("latin1"), { filename: RUN_BUNDLE, cachedData });
}

/** Runs the compiled bundle's module bodies; its exports: { main, loadCommand }. */
export function runRunBundle(script) {
  const module = { exports: {}, filename: RUN_BUNDLE, id: RUN_BUNDLE, loaded: false };
  const fn = script.runInThisContext();
  // import() in a vm.Script needs an experimental flag: the bundle's import()s (of the native
  // modules, when a device needs one) call this one (scripts/bundle.mjs), which resolves a
  // package name from the same node_modules.
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
 * The daemon's exports ({ main }) from run.vm.js and its code cache, or { why } when they cannot
 * be used: the caller then imports the ES module bundle. `why` is for the start log line.
 */
export function loadCachedDaemon() {
  let bytes;
  try {
    const file = cacheFile();
    // V8 would reject it (its flags differ) after a compile of the whole file for nothing: a
    // start by hand without the unit's NODE_OPTIONS, a test. Seen first, from the header alone
    // (checked whole below); V8 still has the last word on flags added to these.
    const fd = openSync(file, "r");
    let head;
    try {
      head = Buffer.alloc(4096);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
    const flags = nodeFlags();
    const missing = (cacheFlags(head) ?? []).filter((f) => !flags.includes(f));
    if (missing.length > 0) return { why: `code cache made for other V8 flags (${missing.join(" ")})` };
    bytes = readFileSync(file);
  } catch (err) {
    return {
      why: err?.code === "ENOENT" ? "no code cache for this Node.js" : `code cache unreadable: ${err}`,
    };
  }
  let script;
  try {
    const source = readRunBundle();
    const cache = cacheData(source, bytes);
    if (!cache) return { why: "code cache damaged or not made from this run.vm.js" };
    script = compileRunBundle(source, cache.data);
  } catch (err) {
    return { why: `run.vm.js unreadable or does not compile: ${err}` };
  }
  if (script.cachedDataRejected) return { why: "code cache rejected by V8 (other V8 flags)" };
  try {
    return { daemon: runRunBundle(script) };
  } catch (err) {
    return { why: `run.vm.js failed to load: ${err}` };
  }
}
