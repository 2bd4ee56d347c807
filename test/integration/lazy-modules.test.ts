// What `posbridge run` loads for a serial-only store (docs/performance.md, "Start and memory"):
// not the USB modules (node-hid, usb), not the demo's (aedes, pino-pretty), not Ajv's compiler
// (the config validator is compiled at build time), not the diagnostics' doctor. Seen through a
// module-load trace of the real daemon process (test/support/module-trace.mjs).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { type ScriptedCloud, paymentResult, startScriptedCloud } from "../support/scripted-cloud.js";

const TRACE_HOOK = pathToFileURL(join(import.meta.dirname, "../support/module-trace.mjs")).href;

describe("posbridge run with serial devices only", () => {
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
      env: { NODE_OPTIONS: `--import=${TRACE_HOOK}`, PB_MODULE_TRACE: trace },
    });
  });
  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  it("makes a sale without loading node-hid, usb, aedes, pino-pretty, Ajv's compiler or the doctor", async () => {
    const rs = await rig.sell("LAZY-1", 1234);
    expect(rs.status).toBe("PAID");
    const loaded = readFileSync(trace, "utf8").split("\n").filter(Boolean);
    // The trace works: the serial binding and the daemon's own modules are in it.
    expect(loaded.some((u) => u.includes("/node_modules/@serialport/bindings-cpp/"))).toBe(true);
    expect(loaded.some((u) => u.endsWith("/build/daemon/lanes/lane.js"))).toBe(true);
    const forbidden = [
      "/node_modules/node-hid/",
      "/node_modules/usb/",
      "/node_modules/aedes/",
      "/node_modules/pino-pretty/",
      "/node_modules/ajv/dist/ajv.js",
      "/build/daemon/demo/",
      "/build/daemon/cloud-sim/cloud-sim.js",
      "/build/daemon/diagnostics/doctor.js",
    ];
    expect(loaded.filter((u) => forbidden.some((f) => u.includes(f)))).toEqual([]);
  });
});
