// Which of the modules bundled into build/dist/run.vm.js (the daemon `posbridge run` compiles with
// V8's code cache, bin/code-cache.js) a process loaded. They are all read with the file, so a
// module-load trace cannot tell; esbuild's own structure can. A module imported lazily (import())
// or a CommonJS module is a function of its own in the file, named after the module's path
// (`__esm({ "build/daemon/x.js"() {…} })`, `__commonJS({ "node_modules/p/i.js"(exports, module)
// {…} })`), called on its first import or require: it was loaded iff V8's coverage of the process
// (NODE_V8_COVERAGE) counts a call of that function. Any other module is part of the file's top
// level, which runs when the file loads.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { count: number }[] }[];
}

/**
 * The modules of `inputs` (paths relative to the root, as build/dist/inputs.json names them) that
 * ran in the process whose coverage is in `coverageDir`. Throws if that coverage has no entry for
 * `file`, or none of its functions is named after a module (not esbuild's layout any more).
 */
export function modulesThatRan(file: string, coverageDir: string, inputs: readonly string[]): string[] {
  const calls = new Map<string, number>();
  let seen = false;
  for (const name of readdirSync(coverageDir).filter((f) => f.endsWith(".json"))) {
    const { result } = JSON.parse(readFileSync(join(coverageDir, name), "utf8")) as {
      result: ScriptCoverage[];
    };
    for (const script of result) {
      const path = script.url.startsWith("file:") ? fileURLToPath(script.url) : script.url;
      if (path !== file) continue;
      seen = true;
      for (const f of script.functions)
        calls.set(f.functionName, (calls.get(f.functionName) ?? 0) + (f.ranges[0]?.count ?? 0));
    }
  }
  if (!seen) throw new Error(`no coverage of ${file} in ${coverageDir}`);
  const wrapped = inputs.filter((m) => calls.has(m));
  if (wrapped.length === 0) throw new Error(`no function of ${file} is named after one of its modules`);
  return inputs.filter((m) => !calls.has(m) || (calls.get(m) ?? 0) > 0);
}
