// How bin/posbridge.js loaded the daemon's code: "bundle, code cache" (build/dist/run.vm.js with
// V8's code cache, bin/code-cache.js), "bundle (<why not the cache>)", "bundle" or "tsc output".
// The start log line says it, so a store's journal shows whether its starts use the cache.

const KEY = Symbol.for("posbridge.loaded");

export function loadedFrom(): string {
  const loaded = (globalThis as Record<symbol, unknown>)[KEY];
  return typeof loaded === "string" ? loaded : "not through bin/posbridge.js";
}
