// Bundles the compiled daemon (build/daemon, from tsc) into build/dist/ with esbuild: one file for
// what `posbridge run` loads, and one chunk per lazily loaded command or component (ESM code
// splitting keeps every `import()` of daemon/cli/commands.ts and of the diagnostics lazy). A start
// then compiles a few files instead of ~400 modules resolved one by one (docs/performance.md,
// "Start and memory"). bin/posbridge.js uses build/dist/main.js when it exists, build/daemon
// otherwise.
//
// Kept outside the bundle, loaded from node_modules when (and only when) they are used:
// - native modules: their .node binary is found relative to their own package;
// - iconv-lite: its encoding tables (~1 MB of CJK JSON) load on the first encode/decode, and
//   bundled they would be source text held by every start;
// - the demo's packages (devDependencies, absent from a production install).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const outdir = join(root, "build/dist");

export const EXTERNAL = [
  "@serialport/bindings-cpp",
  "node-hid",
  "usb",
  "better-sqlite3",
  "iconv-lite",
  "aedes",
  "pino-pretty",
  "@serialport/binding-mock",
];

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(root, "build/daemon/main.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  external: EXTERNAL,
  // The CommonJS dependencies (mqtt.js, pino, protobufjs…) call require() for Node's builtins;
  // an ESM file has none of its own.
  banner: {
    js: 'import { createRequire as __pbCreateRequire } from "node:module"; const require = __pbCreateRequire(import.meta.url);',
  },
  // mqtt.js and its streams test process.env.NODE_ENV / DEBUG at run time: leave them as they are.
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});
// Which sources went into which file: test/integration/lazy-modules.test.ts maps the files a
// start loaded back to the modules in them.
const inputsOf = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([file, o]) => [
    file.replace(/^build\/dist\//, ""),
    Object.keys(o.inputs),
  ]),
);
writeFileSync(join(outdir, "inputs.json"), `${JSON.stringify(inputsOf)}\n`);
const outputs = Object.entries(result.metafile.outputs);
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.log(`bundle: build/dist, ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB`);
