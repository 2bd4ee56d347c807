// Bundles the compiled daemon (build/daemon, from tsc) into build/dist/ with esbuild: one file for
// what `posbridge run` loads, and one chunk per lazily loaded command or component (ESM code
// splitting keeps every `import()` of daemon/cli/commands.ts and of the diagnostics lazy). A start
// then compiles a few files instead of ~400 modules resolved one by one (docs/performance.md,
// "Start and memory"). bin/posbridge.js uses build/dist/main.js when it exists and PB_NO_BUNDLE
// is not 1, build/daemon otherwise. For `posbridge run`, the same daemon is also bundled as one
// CommonJS function (build/dist/run.vm.js) with V8's code cache of it, made under the unit's
// NODE_OPTIONS by scripts/make-code-cache.mjs (bin/code-cache.js; "V8's code cache" there).
//
// Kept outside the bundle, loaded from node_modules when (and only when) they are used:
// - native modules: their .node binary is found relative to their own package (but for
//   @serialport/bindings-cpp, whose ~30 CommonJS files are bundled and its binary found through
//   node-gyp-build from the package's directory, resolved at run time: LAZY_REQUIRES);
// - iconv-lite: its encoding tables (~1 MB of CJK JSON) load on the first encode/decode, and
//   bundled they would be source text held by every start;
// - the demo's packages (devDependencies, absent from a production install);
// - what a serial store's daemon never runs: ws (mqtt.js over ws:// and wss://), socks (a SOCKS
//   proxy, $MQTTJS_SOCKS_PROXY), worker-timers (mqtt.js in a browser), thread-stream (pino's
//   worker transports, unused: daemon/log/logger.ts writes to a stream in-process).
//
// mqtt.js and pino `require` those at load time whether used or not; LAZY_REQUIRES below turns
// each of those requires into one made on first use, so a start neither loads them nor the Node
// builtins they pull in (http, https, zlib, dns…). Each patch must match the pinned version's code
// exactly once, or the build fails: an upgrade of mqtt or pino is checked here, not in a store.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
// tsc has run (npm run build): the unit file is read as `posbridge install` and the bench read it.
import { unitEnvironment } from "../build/daemon/cli/install-layout.js";

const root = new URL("..", import.meta.url).pathname;
const outdir = join(root, "build/dist");

export const EXTERNAL = [
  "node-gyp-build",
  "node-hid",
  "usb",
  "better-sqlite3",
  "iconv-lite",
  "aedes",
  "pino-pretty",
  "@serialport/binding-mock",
  "ws",
  "socks",
  "worker-timers",
  "thread-stream",
];

/** [file under node_modules, [code, its lazy replacement]…]. */
const LAZY_REQUIRES = [
  [
    "@serialport/bindings-cpp/dist/serialport-bindings.js",
    [
      "(0, path_1.join)(__dirname, '../')",
      "(0, path_1.dirname)(require.resolve('@serialport/bindings-cpp/package.json'))",
    ],
  ],
  [
    "mqtt/build/lib/connect/index.js",
    [
      "protocols.ws = require('./ws').streamBuilder;",
      "protocols.ws = (client, opts) => require('./ws').streamBuilder(client, opts);",
    ],
    [
      "protocols.wss = require('./ws').streamBuilder;",
      "protocols.wss = (client, opts) => require('./ws').streamBuilder(client, opts);",
    ],
  ],
  ...["tcp", "tls"].map((name) => [
    `mqtt/build/lib/connect/${name}.js`,
    [
      'const socks_1 = __importDefault(require("./socks"));',
      'const socks_1 = { get default() { return __importDefault(require("./socks")).default; } };',
    ],
  ]),
  [
    "mqtt/build/lib/get-timer.js",
    ['const worker_timers_1 = require("worker-timers");', ""],
    [
      "set: worker_timers_1.setInterval,\n    clear: worker_timers_1.clearInterval,",
      'set: (func, time) => require("worker-timers").setInterval(func, time),\n    clear: (id) => require("worker-timers").clearInterval(id),',
    ],
  ],
  [
    "pino/pino.js",
    [
      "module.exports.transport = require('./lib/transport')",
      "Object.defineProperty(module.exports, 'transport', { enumerable: true, get: () => require('./lib/transport') })",
    ],
  ],
  [
    "pino/lib/tools.js",
    ["const transport = require('./transport')", "const transport = (opts) => require('./transport')(opts)"],
  ],
];

/**
 * CommonJS modules the daemon `import()`s, with the names it takes from them. Bundled, such an
 * import would yield only a default export (module.exports); this plugin puts a small ESM module
 * in between that names them, so the daemon's code is the same bundled or not.
 */
const CJS_NAMED_EXPORTS = {
  "@serialport/bindings-cpp": ["autoDetect"],
  "@serialport/bindings-cpp/dist/unix-read.js": ["unixRead"],
  "@serialport/bindings-cpp/dist/unix-write.js": ["unixWrite"],
};

/** esbuild plugin: applies CJS_NAMED_EXPORTS to the daemon's own imports. */
const cjsNamedExports = {
  name: "cjs-named-exports",
  setup(b) {
    const daemon = join(root, "build/");
    b.onResolve({ filter: /^@serialport\/bindings-cpp/ }, (args) =>
      args.importer.startsWith(daemon) && CJS_NAMED_EXPORTS[args.path]
        ? { path: args.path, namespace: "cjs-named" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "cjs-named" }, (args) => ({
      contents: [
        `import * as m from ${JSON.stringify(args.path)};`,
        ...CJS_NAMED_EXPORTS[args.path].map(
          (name) => `export const ${name} = m.${name} ?? m.default?.${name};`,
        ),
        "export default m.default ?? m;",
      ].join("\n"),
      resolveDir: root,
      loader: "js",
    }));
  },
};

/** esbuild plugin: applies LAZY_REQUIRES. */
/** The LAZY_REQUIRES files the build met (each must be, or the patch list is stale). */
const patched = new Set();
const lazyRequires = {
  name: "lazy-requires",
  setup(b) {
    for (const [file, ...patches] of LAZY_REQUIRES) {
      // By the path's end: node_modules may be a symbolic link, which esbuild resolves.
      const filter = new RegExp(`/node_modules/${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
      b.onLoad({ filter }, (args) => {
        patched.add(file);
        let code = readFileSync(args.path, "utf8");
        for (const [from, to] of patches) {
          const count = code.split(from).length - 1;
          if (count !== 1) throw new Error(`bundle: ${file}: expected once, found ${count} times: ${from}`);
          code = code.replace(from, () => to);
        }
        return { contents: code, loader: "js" };
      });
    }
  },
};

/** What both builds below share: the same dependencies inside and out, patched the same way. */
const COMMON = {
  bundle: true,
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  plugins: [cjsNamedExports, lazyRequires],
  // mqtt.js and its streams test process.env.NODE_ENV / DEBUG at run time: leave them as they are.
  legalComments: "none",
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
  metafile: true,
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  ...COMMON,
  entryPoints: { main: join(root, "build/daemon/main.js") },
  splitting: true,
  format: "esm",
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  // The CommonJS dependencies (mqtt.js, pino, protobufjs…) call require() for Node's builtins;
  // an ESM file has none of its own.
  banner: {
    js: 'import { createRequire as __pbCreateRequire } from "node:module"; const require = __pbCreateRequire(import.meta.url);',
  },
  // Stack traces name the chunk and its line; with NODE_OPTIONS=--enable-source-maps (slower
  // start) they name daemon/…/*.ts instead, through the linked maps (tsc's maps chained; no
  // sources copied into them).
});
// The same daemon as one CommonJS file, for `posbridge run` with V8's code cache (Node 20 has
// none for ES modules): bin/code-cache.js compiles it with vm.Script and the cache made below.
// Everything is in it (CommonJS has no code splitting); a lazily loaded module stays lazy — its
// body runs, and is compiled, on its first import() — but its source is read with the rest.
const cjs = await build({
  stdin: {
    contents: [
      'export { main } from "./build/daemon/main.js";',
      // For scripts/make-code-cache.mjs: the run command's modules, loaded without running it.
      'export { loadCommand } from "./build/daemon/cli/commands.js";',
    ].join("\n"),
    resolveDir: root,
    sourcefile: "run-entry.js",
    loader: "js",
  },
  ...COMMON,
  format: "cjs",
  outfile: join(outdir, "run.vm.js"),
  // The file is one function expression, compiled by bin/code-cache.js with vm.Script and called
  // with require, module, __filename… as Node's CommonJS wrapper would (in the file, not added at
  // run time: a concatenated source would be a second copy of it in the heap). Strict, as the ES
  // module bundle is (every module of it, the bundled CommonJS packages included).
  define: { "import.meta.url": "__pbImportMetaUrl" },
  banner: {
    js: '(function (exports, require, module, __filename, __dirname, __pbImport) {\n"use strict";\nvar __pbImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
  },
  footer: { js: "})" },
  // Its source map is not used by Node (it maps only what it loaded itself: with
  // --enable-source-maps, bin/posbridge.js loads the ES module bundle instead), kept to map a
  // stack trace by hand.
  // The serial binding's package.json, resolved at run time (LAZY_REQUIRES), as in the ESM build.
  logOverride: { "require-resolve-not-external": "silent" },
});
// ASCII only: V8 holds a source with any other character as two bytes per character (5 MB
// instead of 2.5 MB of heap for as long as the daemon runs). What esbuild leaves unescaped are
// comments and regular expression literals, where a \uXXXX escape means the same character.
const vmFile = join(outdir, "run.vm.js");
const vmSource = readFileSync(vmFile, "utf8");
if (/\\[^\x00-\x7f]/.test(vmSource)) throw new Error("bundle: run.vm.js has an escaped non-ASCII character");
// import() in a vm.Script needs --experimental-vm-modules, or an experimental constant of vm that
// warns on stderr at its first use: the import()s esbuild left (of the native modules, loaded when
// a device needs them) call __pbImport instead, bin/code-cache.js's import(), which resolves a
// package name from the same node_modules.
writeFileSync(
  vmFile,
  vmSource
    .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/(?<![\w.$])import\(/g, "__pbImport("),
);
const unmet = LAZY_REQUIRES.map(([file]) => file).filter((file) => !patched.has(file));
if (unmet.length > 0)
  throw new Error(`bundle: LAZY_REQUIRES names files the bundle no longer has: ${unmet.join(", ")}`);
// Which sources went into which file: test/integration/lazy-modules.test.ts maps the files a
// start loaded back to the modules in them.
const inputsOf = Object.fromEntries(
  [...Object.entries(result.metafile.outputs), ...Object.entries(cjs.metafile.outputs)]
    .filter(([file]) => !file.endsWith(".map"))
    .map(([file, o]) => [file.replace(/^build\/dist\//, ""), Object.keys(o.inputs)]),
);
writeFileSync(join(outdir, "inputs.json"), `${JSON.stringify(inputsOf)}\n`);
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith(".map"));
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.log(
  `bundle: build/dist, ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB (and their source maps)`,
);

// V8's code cache of run.vm.js, made and then checked under the unit's V8 flags (its NODE_OPTIONS):
// a cache made under other flags is rejected by V8, and the start falls back to the ES modules.
const unit = readFileSync(join(root, "systemd/posbridge.service"), "utf8");
const env = { ...process.env, NODE_OPTIONS: unitEnvironment(unit).NODE_OPTIONS ?? "" };
const maker = join(root, "scripts/make-code-cache.mjs");
// Without a cache the daemon still runs (from the ES module bundle, more CPU to READY), so a
// failure here warns instead of failing the build; test/integration/code-cache.test.ts fails
// when the build has no cache for this Node.
try {
  // (Its throwaway start of the daemon logs to stdout: dropped.)
  execFileSync(process.execPath, [maker], { env, stdio: ["ignore", "ignore", "inherit"] });
  execFileSync(process.execPath, [maker, "--check"], { env, stdio: "inherit" });
} catch (err) {
  for (const f of readdirSync(outdir).filter((f) => f.endsWith(".cache"))) rmSync(join(outdir, f));
  console.warn(`bundle: WARNING: no code cache (posbridge run will start without it): ${err.message}`);
}
