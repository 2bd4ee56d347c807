// What `posbridge run` loads for a serial-only store (docs/performance.md, "Start and memory"):
// not the USB modules (node-hid, usb), not the demo's (aedes, pino-pretty), not Ajv's compiler
// (the config validator is compiled at build time), not the diagnostics' doctor. Seen through a
// module-load trace of the real daemon process (test/support/module-trace.mjs), for the three ways
// bin/posbridge.js runs it:
// - the code cache (the unit's V8 flags): build/dist/run.vm.js, one file holding every module,
//   compiled by bin/code-cache.js outside Node's module loaders. The trace then shows only what
//   it loads from node_modules; which of its bundled modules ran comes from V8's coverage of the
//   process (test/support/coverage-sources.ts: a lazily loaded module is a function esbuild calls
//   on its first import);
// - the ES module bundle (build/dist, scripts/bundle.mjs; other V8 flags, so V8 rejects the
//   cache): the trace names its files, mapped back to the sources in them through
//   build/dist/inputs.json;
// - tsc's output (PB_NO_BUNDLE=1).
// Each makes a sale, so this is also the test that each sells.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { modulesThatRan } from "../support/coverage-sources.js";
import { UNIT_NODE_OPTIONS } from "../support/daemon-process.js";
import { type ScriptedCloud, paymentResult, startScriptedCloud } from "../support/scripted-cloud.js";

const TRACE_HOOK = pathToFileURL(join(import.meta.dirname, "../support/module-trace.mjs")).href;
const ROOT = pathToFileURL(join(import.meta.dirname, "../..")).href;
const DIST = `${ROOT}/build/dist/`;

const inputsOf = (): Record<string, string[]> =>
  JSON.parse(readFileSync(new URL("build/dist/inputs.json", `${ROOT}/`), "utf8")) as Record<string, string[]>;

/** The trace's URLs, each file of the bundle replaced by the sources bundled into it. */
function loadedModules(trace: string[]): string[] {
  const inputs = inputsOf();
  return trace.flatMap((url) => {
    if (!url.startsWith(DIST)) return [url];
    const sources = inputs[url.slice(DIST.length)];
    if (!sources) throw new Error(`${url} is not a file of the bundle (stale build/dist/inputs.json?)`);
    return [url, ...sources.map((s) => `${ROOT}/${s}`)];
  });
}

const FORBIDDEN = [
  "/node_modules/node-hid/",
  "/node_modules/usb/",
  "/node_modules/aedes/",
  "/node_modules/pino-pretty/",
  "/node_modules/ajv/dist/ajv.js",
  "/node_modules/ajv/dist/compile/",
  "/build/daemon/demo/",
  "/build/daemon/cloud-sim/cloud-sim.js",
  "/build/daemon/diagnostics/doctor.js",
  "/build/daemon/cli/install.js",
];

describe.each([
  { mode: "code cache", flags: UNIT_NODE_OPTIONS, env: {} },
  { mode: "bundle", flags: "", env: {} },
  { mode: "tsc output", flags: "", env: { PB_NO_BUNDLE: "1" } },
])("posbridge run with serial devices only ($mode)", ({ mode, flags, env }) => {
  let rig: BridgeRig;
  let cloud: ScriptedCloud;
  let trace: string;
  const coverage = mkdtempSync(join(tmpdir(), "pb-lazy-coverage-"));

  beforeAll(async () => {
    const prefix = `pbtest-lazy-${Math.random().toString(36).slice(2, 8)}/v1`;
    cloud = await startScriptedCloud(process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883", prefix);
    cloud.setPolicy(() => paymentResult({ amountFen: 1234 }));
    trace = join(process.env.TMPDIR ?? "/tmp", `pb-module-trace-${process.pid}-${Date.now()}.txt`);
    rig = await startBridgeRig({
      name: "lazy-modules",
      prefix,
      logLevel: "info",
      env: {
        NODE_OPTIONS: `${flags} --import=${TRACE_HOOK}`,
        PB_MODULE_TRACE: trace,
        PB_NO_BUNDLE: "",
        PB_CODE_CACHE: "",
        ...(mode === "code cache" ? { NODE_V8_COVERAGE: coverage } : {}),
        ...env,
      },
    });
  });
  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  it("makes a sale without loading node-hid, usb, aedes, pino-pretty, Ajv's compiler or the doctor", async () => {
    const rs = await rig.sell("LAZY-1", 1234);
    expect(rs.status).toBe("PAID");
    const started = await rig.daemon.waitForLog((e) => e.msg === "posbridge started");
    const trace_ = readFileSync(trace, "utf8").split("\n").filter(Boolean);
    let loaded: string[];
    if (mode === "code cache") {
      expect(started.loaded).toBe("bundle, code cache");
      // Neither of the bundle's ES module files: run.vm.js is not loaded through Node's loaders.
      expect(trace_.filter((u) => u.startsWith(DIST) || u.startsWith(`${ROOT}/build/daemon/`))).toEqual([]);
      // V8 writes the coverage when the process exits.
      await rig.daemon.stop();
      const ran = modulesThatRan(
        `${DIST.slice("file://".length)}run.vm.js`,
        coverage,
        inputsOf()["run.vm.js"] ?? [],
      );
      loaded = [...trace_, ...ran.map((m) => `${ROOT}/${m}`)];
    } else {
      expect(started.loaded).toBe(
        mode === "tsc output"
          ? "tsc output"
          : `bundle (code cache made for other V8 flags (${UNIT_NODE_OPTIONS}))`,
      );
      loaded = loadedModules(trace_);
    }
    // The trace works: the serial binding (its binary is always outside the bundle) and the
    // daemon's own modules are in it.
    expect(loaded.some((u) => u.includes("/node_modules/@serialport/bindings-cpp/"))).toBe(true);
    expect(loaded.some((u) => u.endsWith("/build/daemon/lanes/lane.js"))).toBe(true);
    if (mode !== "tsc output") {
      if (mode === "bundle") expect(trace_).toContain(`${DIST}main.js`);
      // The bundle ran, not tsc's output beside it.
      expect(trace_.filter((u) => u.startsWith(`${ROOT}/build/daemon/`))).toEqual([]);
      // What mqtt.js and pino require whether used or not is required on first use in the bundle
      // (scripts/bundle.mjs, LAZY_REQUIRES): an mqtt:// bridge without a SOCKS proxy loads none.
      const unused = [
        "/node_modules/ws/",
        "/node_modules/socks/",
        "/node_modules/worker-timers/",
        "/node_modules/thread-stream/",
      ];
      expect(loaded.filter((u) => unused.some((f) => u.includes(f)))).toEqual([]);
    } else {
      expect(trace_.filter((u) => u.startsWith(DIST))).toEqual([]);
    }
    expect(loaded.filter((u) => FORBIDDEN.some((f) => u.includes(f)))).toEqual([]);
  });
});
