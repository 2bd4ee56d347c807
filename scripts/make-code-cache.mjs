// Makes V8's code cache of build/dist/run.vm.js (bin/code-cache.js), run by scripts/bundle.mjs
// under the systemd unit's NODE_OPTIONS: V8 rejects a cache made under other flags.
//
// The cache holds the bytecode of every function compiled when it is made, so it is made after a
// start of the daemon itself, in this process: `posbridge run` on a throwaway config in a
// temporary directory (one lane whose devices do not exist, a broker address that refuses
// connections), taken once the control socket is up (the step before READY), then stopped.
// Module bodies (mqtt.js, pino, yaml, protobufjs, the daemon's), the config's parse and
// validation, the journal's open and the lanes' start are then in the cache, and a store's start
// compiles only what differs (its devices opening, the broker answering). Should that start fail,
// the cache is made from the module loads alone (what `posbridge run` imports), with a warning.
// Nothing of the throwaway start is kept. Progress goes to stderr; the daemon's log is dropped.
//
// `node scripts/make-code-cache.mjs --check` instead compiles run.vm.js with the cache and exits 1
// when V8 rejects it (the build checks the cache it made, in another process).
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cacheData,
  cacheFile,
  cacheFileBytes,
  compileRunBundle,
  nodeFlags,
  readRunBundle,
  runRunBundle,
} from "../bin/code-cache.js";

const file = cacheFile();
const name = file.replace(/.*\/build\//, "build/");

if (process.argv[2] === "--check") {
  const source = readRunBundle();
  const cache = cacheData(source, readFileSync(file));
  if (!cache) {
    console.error(`code cache: ${name} is damaged or not made from run.vm.js`);
    process.exit(1);
  }
  if (compileRunBundle(source, cache.data).cachedDataRejected) {
    console.error(`code cache: V8 rejects ${name} (NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ""})`);
    process.exit(1);
  }
  process.exit(0);
}

const source = readRunBundle();
const script = compileRunBundle(source, undefined);
const { main, loadCommand } = runRunBundle(script);
if (!(await loadCommand("run"))) throw new Error("code cache: run.vm.js has no 'run' command");

const dir = mkdtempSync(join(tmpdir(), "posbridge-code-cache-"));
const socket = join(dir, "control.sock");
const config = join(dir, "posbridge.yaml");
writeFileSync(
  config,
  `store: CACHE
bridge: BUILD
stateDir: ${join(dir, "state")}
log: { level: info, format: json }
mqtt: { url: "mqtt://127.0.0.1:1", reconnectMinMs: 60000 }
diagnostics: { socket: "${socket}" }
lanes:
  - id: lane1
    terminal: { path: ${join(dir, "register")}, profile: ecr }
    scanner: { path: ${join(dir, "scanner")}, type: serial, suffix: CR }
`,
);

let how = "a start of the daemon";
let running;
try {
  // Not the builder's systemd notify socket, config overrides (POSBRIDGE_…) or test hooks (PB_…).
  process.env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(POSBRIDGE_|PB_|NOTIFY_SOCKET$|WATCHDOG_)/.test(k)),
  );
  running = main(["run", "--config", config]);
  const exited = running.then((code) => {
    throw new Error(`posbridge run exited (${code}) before it was up`);
  });
  const up = (async () => {
    for (let waited = 0; !existsSync(socket); waited += 10) {
      if (waited > 20_000) throw new Error("posbridge run was not up within 20 s");
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  exited.catch(() => {}); // once stopped below
  await Promise.race([up, exited]);
} catch (err) {
  how = "the module loads only";
  console.error(`code cache: warning: made from ${how}: ${err?.message ?? err}`);
}
const data = script.createCachedData();
writeFileSync(`${file}.tmp`, cacheFileBytes(source, data, nodeFlags()), { mode: 0o644 });
renameSync(`${file}.tmp`, file);
console.error(`code cache: ${name}, ${(data.length / 1024).toFixed(0)} KiB, from ${how}`);
if (running) {
  process.kill(process.pid, "SIGTERM");
  await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
