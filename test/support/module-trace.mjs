// `node --import <this file>`: writes the URL of every module the process loads (ESM, and the
// entry of each CommonJS package reached through import) to $PB_MODULE_TRACE, one per line, so a
// test can see what a command loaded. Node's module hooks (module.register) run on their own
// thread; the file is appended to from there.
import { appendFileSync } from "node:fs";
import { register } from "node:module";

const out = process.env.PB_MODULE_TRACE;
if (out) register(import.meta.url, { data: { out } });

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
