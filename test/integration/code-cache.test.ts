// `posbridge run` from V8's code cache (bin/code-cache.js, docs/performance.md "Start and memory"):
// with the unit's V8 flags the cache the build made is taken and the daemon sells; whatever is
// wrong with the cache — none for this Node, damaged bytes, made from another run.vm.js, made under
// other V8 flags — the start falls back to the ES module bundle and the daemon starts all the same,
// its start log line saying why. The damaged cases run a copy of the built tree (bin/ and
// build/dist/, node_modules linked) so the checkout's cache is never touched.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheData, cacheFile, cacheFileBytes } from "../../bin/code-cache.js";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { startDaemon, UNIT_NODE_OPTIONS } from "../support/daemon-process.js";
import { paymentResult, type ScriptedCloud, startScriptedCloud } from "../support/scripted-cloud.js";

const ROOT = new URL("../..", import.meta.url).pathname;
/** The unit's node options one by one, as a cache file's header lists them. */
const UNIT_FLAGS = UNIT_NODE_OPTIONS.split(/\s+/).filter(Boolean);

describe("posbridge run with the unit's V8 flags", () => {
  let rig: BridgeRig;
  let cloud: ScriptedCloud;

  beforeAll(async () => {
    const prefix = `pbtest-cache-${Math.random().toString(36).slice(2, 8)}/v1`;
    cloud = await startScriptedCloud(TEST_BROKER, prefix);
    cloud.setPolicy(() => paymentResult({ amountFen: 880 }));
    rig = await startBridgeRig({
      name: "code-cache",
      prefix,
      logLevel: "info",
      env: { NODE_OPTIONS: UNIT_NODE_OPTIONS, PB_CODE_CACHE: "", PB_NO_BUNDLE: "" },
    });
  });
  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  it("runs from the code cache (V8 accepts it) and sells", async () => {
    const started = await rig.daemon.waitForLog((e) => e.msg === "posbridge started");
    expect(started.loaded).toBe("bundle, code cache");
    const rs = await rig.sell("CACHE-1", 880);
    expect(rs.status).toBe("PAID");
  });
});

describe("a code cache that cannot be used", () => {
  let tree: string;
  let dist: string;
  let cache: string;
  let good: Buffer;
  let config: string;

  beforeAll(() => {
    // A copy of what a start reads: bin/, build/dist/, package.json (the version), node_modules.
    tree = mkdtempSync(join(tmpdir(), "pb-code-cache-"));
    cpSync(join(ROOT, "bin"), join(tree, "bin"), { recursive: true });
    mkdirSync(join(tree, "build"));
    cpSync(join(ROOT, "build/dist"), join(tree, "build/dist"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(tree, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
    dist = join(tree, "build/dist");
    cache = join(dist, cacheFile().split("/").pop() as string);
    good = readFileSync(cache);
    config = join(tree, "posbridge.yaml");
    // No device present, a broker that answers: the daemon starts, READY, and keeps looking for
    // its devices.
    writeFileSync(
      config,
      `store: S1
bridge: PC1
stateDir: ${join(tree, "state")}
log: { level: info, format: json }
mqtt: { url: "${TEST_BROKER}", topicPrefix: "pbtest-cache-${Math.random().toString(36).slice(2, 8)}/v1" }
diagnostics: { socket: "${join(tree, "control.sock")}" }
lanes:
  - id: lane1
    terminal: { path: ${join(tree, "no-register")}, profile: ecr }
    scanner: { path: ${join(tree, "no-scanner")}, type: serial, suffix: CR }
`,
    );
  });
  afterAll(() => rmSync(tree, { recursive: true, force: true }));

  /** Starts the copy's bin/posbridge.js, waits for READY; the start log line's `loaded`. */
  async function start(nodeOptions = UNIT_NODE_OPTIONS): Promise<unknown> {
    const daemon = startDaemon(
      ["run", "--config", config],
      { NODE_OPTIONS: nodeOptions, PB_CODE_CACHE: "", PB_NO_BUNDLE: "" },
      { bin: join(tree, "bin/posbridge.js") },
    );
    try {
      const started = await daemon.waitForLog((e) => e.msg === "posbridge started", 20_000);
      // READY follows the control socket.
      for (let i = 0; i < 200 && !existsSync(join(tree, "control.sock")); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(join(tree, "control.sock"))).toBe(true);
      expect(daemon.proc.exitCode).toBe(null);
      return started.loaded;
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }

  it("the copy runs from its cache as it is (the cases below start from it)", async () => {
    writeFileSync(cache, good);
    expect(await start()).toBe("bundle, code cache");
  });

  it("damaged bytes: not given to V8 (it would crash on them), the ES module bundle runs", async () => {
    const damaged = Buffer.from(good);
    for (let i = 0; i < 50; i++) {
      const at = damaged.length - 100 - i * 997;
      damaged[at] = (damaged[at] ?? 0) ^ 0x55;
    }
    writeFileSync(cache, damaged);
    expect(await start()).toBe("bundle (code cache damaged or not made from this run.vm.js)");
    writeFileSync(cache, good.subarray(0, 1000));
    expect(await start()).toBe("bundle (code cache damaged or not made from this run.vm.js)");
  });

  it("a cache of another run.vm.js: not used", async () => {
    writeFileSync(cache, good);
    const source = readFileSync(join(dist, "run.vm.js"));
    try {
      writeFileSync(join(dist, "run.vm.js"), Buffer.concat([source, Buffer.from("\n// edited\n")]));
      expect(await start()).toBe("bundle (code cache damaged or not made from this run.vm.js)");
    } finally {
      writeFileSync(join(dist, "run.vm.js"), source);
    }
  });

  it("a cache made under other V8 flags: V8 rejects it, the ES module bundle runs", async () => {
    // Made by the copy's own code, with a semi-space size the unit does not set.
    execFileSync(
      process.execPath,
      [
        "--max-semi-space-size=4",
        "--input-type=module",
        "-e",
        `import { writeFileSync } from "node:fs";
         import { cacheFile, cacheFileBytes, compileRunBundle, readRunBundle } from ${JSON.stringify(join(tree, "bin/code-cache.js"))};
         const source = readRunBundle();
         // The header says the unit's flags: V8 itself must find the difference.
         const data = compileRunBundle(source).createCachedData();
         writeFileSync(cacheFile(), cacheFileBytes(source, data, ${JSON.stringify(UNIT_FLAGS)}));`,
      ],
      { env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(readFileSync(cache).equals(good)).toBe(false);
    expect(await start()).toBe("bundle (code cache rejected by V8 (other V8 flags))");
    // The checkout's own cache under node's defaults (a start by hand): not even compiled.
    writeFileSync(cache, good);
    expect(await start("")).toBe(`bundle (code cache made for other V8 flags (${UNIT_NODE_OPTIONS}))`);
  });

  it("a tree without bin/code-cache.js: the ES module bundle runs", async () => {
    writeFileSync(cache, good);
    const loader = join(tree, "bin/code-cache.js");
    const code = readFileSync(loader);
    rmSync(loader);
    try {
      expect(String(await start())).toMatch(/^bundle \(bin\/code-cache\.js: .*ERR_MODULE_NOT_FOUND/);
    } finally {
      writeFileSync(loader, code);
    }
  });

  it("no cache for this Node.js, or source maps on: the ES module bundle runs", async () => {
    rmSync(cache);
    expect(await start()).toBe("bundle (no code cache for this Node.js)");
    writeFileSync(cache, good);
    // Node maps stack traces only of what it loaded itself.
    expect(await start(`${UNIT_NODE_OPTIONS} --enable-source-maps`)).toBe("bundle");
  });
});

describe("the cache file's header (bin/code-cache.js)", () => {
  const source = Buffer.from("(function () {})");
  const data = Buffer.from("V8's data");

  it("gives V8's data back only for the source it was made from, undamaged", () => {
    const bytes = cacheFileBytes(source, data, ["--max-semi-space-size=2", "--stack-size=900"]);
    expect(cacheData(source, bytes)?.data.equals(data)).toBe(true);
    expect(cacheData(source, bytes)?.flags).toEqual(["--max-semi-space-size=2", "--stack-size=900"]);
    expect(cacheData(source, cacheFileBytes(source, data, []))?.flags).toEqual([]);
    expect(cacheData(Buffer.from("(function () { })"), bytes)).toBe(undefined);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    expect(cacheData(source, flipped)).toBe(undefined);
    expect(cacheData(source, bytes.subarray(0, bytes.length - 1))).toBe(undefined);
    expect(cacheData(source, Buffer.alloc(0))).toBe(undefined);
    expect(cacheData(source, data)).toBe(undefined);
  });

  it("the build's cache in build/dist is for this Node.js and this run.vm.js", () => {
    const names = readdirSync(join(ROOT, "build/dist")).filter((f) => f.endsWith(".cache"));
    expect(names).toEqual([cacheFile().split("/").pop()]);
    const bytes = readFileSync(cacheFile());
    // Made under the unit's NODE_OPTIONS (scripts/bundle.mjs reads them from the unit file).
    expect(cacheData(readFileSync(join(ROOT, "build/dist/run.vm.js")), bytes)?.flags).toEqual(UNIT_FLAGS);
  });
});
