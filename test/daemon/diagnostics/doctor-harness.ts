// Runs doctor checks against a fake machine with everything outside it injected: a ManualClock,
// the daemon's view, the broker probe, timedatectl, statfs and the native-module importer. Each
// test states only what its check reads.
import { join } from "node:path";
import { ManualClock } from "../../../daemon/clock.js";
import type { Config } from "../../../daemon/config/config-types.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import type { BrokerProbe } from "../../../daemon/diagnostics/broker-probe.js";
import type { DaemonFacts, DaemonView } from "../../../daemon/diagnostics/daemon-facts.js";
import { type Check, type DoctorInput, type Finding, runDoctor } from "../../../daemon/diagnostics/doctor.js";
import type { FakeSystem } from "./fake-system.js";

export const NOW = Date.parse("2026-03-14T12:30:00+08:00");

export const NOT_RUNNING: DaemonView = {
  running: false,
  reason: "no control socket at /run/posbridge/control.sock",
};

export function runningDaemon(over: Partial<DaemonFacts> = {}): DaemonView {
  return {
    running: true,
    facts: {
      link: { state: "online", reason: "" },
      lanes: [],
      journal: { fault: null },
      eventLoopDelayMs: 2,
      cloudClockSkewMs: null,
      ...over,
    },
  };
}

export function testConfig(lanesYaml: string, extra = "", mqtt = '{ url: "mqtt://127.0.0.1:1883" }'): Config {
  const yaml = `store: S1\nbridge: PC1\nmqtt: ${mqtt}\n${extra}lanes:\n${lanesYaml}`;
  return loadConfig({ path: "test.yaml", env: {}, readFile: () => yaml });
}

export const GRANTED: BrokerProbe = {
  url: "mqtt://127.0.0.1:1883",
  clientId: "posbridge-S1-PC1-doctor",
  skipped: "",
  connected: true,
  subscription: "granted",
  resTopic: "posbridge/v1/S1/PC1/res",
  elapsedMs: 4,
};

/** A module namespace that every native loader accepts. */
export async function fakeImporter(specifier: string): Promise<unknown> {
  if (specifier === "node-hid")
    return {
      devices: () => [],
      devicesAsync: async () => [],
      HIDAsync: { open: async () => ({}) },
      getHidapiVersion: () => "0.15.0",
    };
  if (specifier === "usb") return { usb: { getDevices: async () => [] } };
  return { autoDetect: () => ({}) };
}

export interface Harness {
  input: DoctorInput;
  clock: ManualClock;
}

export function harness(sys: FakeSystem, over: Partial<DoctorInput> = {}): Harness {
  const clock = new ManualClock(NOW);
  return {
    clock,
    input: {
      configPath: join(sys.roots.etc, "posbridge", "posbridge.yaml"),
      env: {},
      clock,
      daemon: NOT_RUNNING,
      roots: sys.roots,
      runCommand: async () => ({ ok: false, stdout: "" }),
      statfs: () => ({ bsize: 4096, blocks: 10_000_000, bavail: 5_000_000 }),
      probeBroker: async () => GRANTED,
      importer: fakeImporter,
      programTimeMs: NOW - 86_400_000,
      ...over,
    },
  };
}

/** The findings of `checks` alone. */
export async function findingsOf(checks: Check | Check[], input: DoctorInput): Promise<Finding[]> {
  return (await runDoctor({ ...input, checks: Array.isArray(checks) ? checks : [checks] })).findings;
}

/** "LEVEL subject: title" per finding: what most assertions look at. */
export function lines(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.level} ${f.subject}: ${f.title}`);
}
