// `node --import <this file>`: writes the URL of every module the process loads to
// $PB_MODULE_TRACE, one per line, so a test can see what a command loaded: ESM modules (and the
// entry of each CommonJS package reached through import) through Node's module hooks
// (module.register, which run on their own thread and append from there), and every CommonJS
// file `require`d, builtins apart, through Module._load on the main thread (the bundle's
// dependencies require their externals: ws, socks…).
import { appendFileSync } from "node:fs";
import Module, { isBuiltin, register } from "node:module";
import { pathToFileURL } from "node:url";

const out = process.env.PB_MODULE_TRACE;
if (out) {
  register(import.meta.url, { data: { out } });
  const load = Module._load;
  Module._load = function traced(request, parent, isMain) {
    if (!isBuiltin(request)) {
      try {
        appendFileSync(out, `${pathToFileURL(Module._resolveFilename(request, parent, isMain)).href}\n`);
      } catch {
        // Not resolvable: the load below throws its own error.
      }
    }
    return load.call(this, request, parent, isMain);
  };
}

let file;
/** Hook thread: where to write. */
export function initialize(data) {
  file = data.out;
}

/** Hook thread: every module load. */
export async function load(url, context, next) {
  if (file) appendFileSync(file, `${url}\n`);
  return next(url, context);
}
