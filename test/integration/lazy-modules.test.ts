// What `posbridge run` loads for a serial-only store (docs/performance.md, "Start and memory"):
// not the USB modules (node-hid, usb), not the demo's (aedes, pino-pretty), not Ajv's compiler
// (the config validator is compiled at build time), not the diagnostics' doctor. Seen through a
// module-load trace of the real daemon process (test/support/module-trace.mjs), for both ways
// bin/posbridge.js runs it: the bundle (build/dist, scripts/bundle.mjs: the trace names its files,
// mapped back to the sources in them through build/dist/inputs.json) and tsc's output
// (PB_NO_BUNDLE=1). Each makes a sale, so this is also the test that the bundled daemon sells.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { type ScriptedCloud, paymentResult, startScriptedCloud } from "../support/scripted-cloud.js";

const TRACE_HOOK = pathToFileURL(join(import.meta.dirname, "../support/module-trace.mjs")).href;
const ROOT = pathToFileURL(join(import.meta.dirname, "../..")).href;
const DIST = `${ROOT}/build/dist/`;

/** The trace's URLs, each file of the bundle replaced by the sources bundled into it. */
function loadedModules(trace: string[]): string[] {
  const inputs = JSON.parse(readFileSync(new URL("build/dist/inputs.json", `${ROOT}/`), "utf8")) as Record<
    string,
    string[]
  >;
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
  { mode: "bundle", env: {} },
  { mode: "tsc output", env: { PB_NO_BUNDLE: "1" } },
])("posbridge run with serial devices only ($mode)", ({ mode, env }) => {
  let rig: BridgeRig;
  let cloud: ScriptedCloud;
  let trace: string;

  beforeAll(async () => {
    const prefix = `pbtest-lazy-${Math.random().toString(36).slice(2, 8)}/v1`;
    cloud = await startScriptedCloud(process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883", prefix);
    cloud.setPolicy(() => paymentResult({ amountFen: 1234 }));
    trace = join(process.env.TMPDIR ?? "/tmp", `pb-module-trace-${process.pid}-${Date.now()}.txt`);
    rig = await startBridgeRig({
      name: "lazy-modules",
      prefix,
      logLevel: "info",
      env: { NODE_OPTIONS: `--import=${TRACE_HOOK}`, PB_MODULE_TRACE: trace, PB_NO_BUNDLE: "", ...env },
    });
  });
  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  it("makes a sale without loading node-hid, usb, aedes, pino-pretty, Ajv's compiler or the doctor", async () => {
    const rs = await rig.sell("LAZY-1", 1234);
    expect(rs.status).toBe("PAID");
    const trace_ = readFileSync(trace, "utf8").split("\n").filter(Boolean);
    const loaded = loadedModules(trace_);
    // The trace works: the serial binding (its binary is always outside the bundle) and the
    // daemon's own modules are in it.
    expect(loaded.some((u) => u.includes("/node_modules/@serialport/bindings-cpp/"))).toBe(true);
    expect(loaded.some((u) => u.endsWith("/build/daemon/lanes/lane.js"))).toBe(true);
    if (mode === "bundle") {
      // The bundle ran, not tsc's output beside it.
      expect(trace_).toContain(`${DIST}main.js`);
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
