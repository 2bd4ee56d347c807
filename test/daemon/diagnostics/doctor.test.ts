// The doctor's runner: exit codes from the worst finding, a check that throws, the one-line text
// form, the JSON report, and the adapter from the daemon's status answer to DaemonFacts.
import { describe, expect, it } from "vitest";
import type { Check } from "../../../daemon/diagnostics/checks/check.js";
import { finding } from "../../../daemon/diagnostics/checks/check.js";
import { daemonFacts, type SnapshotView } from "../../../daemon/diagnostics/daemon-facts.js";
import { DOCTOR_CHECKS, DOCTOR_EXIT, formatDoctor, runDoctor } from "../../../daemon/diagnostics/doctor.js";
import { fakeSystem } from "./fake-system.js";
import { harness, NOW } from "./doctor-harness.js";

const sys = fakeSystem();
const says = (level: "ok" | "warn" | "error"): Check => ({
  id: `says-${level}`,
  title: `it says ${level}`,
  run: () => [
    finding(`says-${level}`, level, "test", `a ${level} finding`, level === "ok" ? {} : { fix: "do it" }),
  ],
});

describe("runDoctor", () => {
  it("exit 0 with only ok findings, 1 with warnings, 2 with an error", async () => {
    const exit = async (checks: Check[]) => (await runDoctor({ ...harness(sys).input, checks })).exitCode;
    expect(await exit([says("ok")])).toBe(DOCTOR_EXIT.ok);
    expect(await exit([says("ok"), says("warn")])).toBe(DOCTOR_EXIT.warnings);
    expect(await exit([says("warn"), says("error"), says("ok")])).toBe(DOCTOR_EXIT.errors);
    expect(DOCTOR_EXIT).toEqual({ ok: 0, warnings: 1, errors: 2, failed: 3 });
  });

  it("a check that throws is a warning of its own; the others still report", async () => {
    const broken: Check = {
      id: "broken",
      title: "the thing works",
      run: () => {
        throw new Error("EIO reading /proc");
      },
    };
    const r = await runDoctor({ ...harness(sys).input, checks: [broken, says("ok")] });
    expect(r.findings).toEqual([
      {
        id: "broken",
        level: "warn",
        subject: "doctor",
        title: "could not check that the thing works: EIO reading /proc",
        detail: "",
        fix: "report it with this line",
      },
      expect.objectContaining({ id: "says-ok" }),
    ]);
    expect(r.exitCode).toBe(1);
  });

  it("the report: when, which config, the daemon, whose access, the counts; text: one line per finding", async () => {
    const r = await runDoctor({ ...harness(sys).input, checks: [says("ok"), says("error")] });
    expect(r).toMatchObject({
      version: 1,
      at: NOW,
      daemon: { running: false, reason: "no control socket at /run/posbridge/control.sock" },
      summary: { ok: 1, warn: 0, error: 1 },
      exitCode: 2,
    });
    r.findings[1] = { ...r.findings[1], code: "PB_PORT_OPEN", detail: "mode 0600" } as (typeof r.findings)[1];
    expect(formatDoctor(r)).toBe(
      "OK    test: a ok finding\nERROR test: a error finding [PB_PORT_OPEN] (mode 0600) — fix: do it\n1 error, 0 warnings, 1 ok (exit 2)\n",
    );
  });

  it("every check has a distinct id and a title", () => {
    const ids = DOCTOR_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of DOCTOR_CHECKS) expect(c.title.length).toBeGreaterThan(10);
  });
});

describe("daemonFacts", () => {
  it("takes exactly what the checks read from the daemon's status answer", () => {
    const snapshot: SnapshotView & { extra: unknown } = {
      pid: 4711,
      link: {
        state: "refused",
        code: "PB_MQTT_REFUSED",
        reason: "subscription to P/res refused: 0x87 not authorized",
      },
      lanes: [
        {
          id: "lane-1",
          devices: {
            terminal: { state: "CONNECTED", error: "", identity: { node: "/dev/ttyUSB0" } },
            scanner: { state: "FAULT", error: "EACCES", identity: { node: null } },
            display: null,
          },
        },
      ],
      journal: { fault: { fault: "readOnly" } },
      process: { eventLoopDelayMs: { maxLastMinute: 12.5 } },
      rpc: { cloudClockSkewMs: -4200 },
      extra: { ignored: true },
    };
    expect(daemonFacts(snapshot)).toEqual({
      pid: 4711,
      link: {
        state: "refused",
        code: "PB_MQTT_REFUSED",
        reason: "subscription to P/res refused: 0x87 not authorized",
      },
      lanes: [
        {
          id: "lane-1",
          devices: {
            terminal: { state: "CONNECTED", error: "", node: "/dev/ttyUSB0" },
            scanner: { state: "FAULT", error: "EACCES" },
          },
        },
      ],
      journal: { fault: "readOnly" },
      eventLoopDelayMs: 12.5,
      cloudClockSkewMs: -4200,
    });
  });
});
