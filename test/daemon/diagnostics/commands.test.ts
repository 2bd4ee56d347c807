// The two commands through their Io (no child process): usage errors, the config they find, the
// JSON they print and the exit code the doctor derives from its findings.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { devicesCommand } from "../../../daemon/cli/devices.js";
import { doctorCommand } from "../../../daemon/cli/doctor.js";
import type { Io } from "../../../daemon/cli/command.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { DevicesReport } from "../../../daemon/diagnostics/devices.js";
import type { DoctorReport } from "../../../daemon/diagnostics/doctor.js";
import { NOW } from "./doctor-harness.js";

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env, clock: new ManualClock(NOW) };
  return { io: value, out: () => out.join(""), err: () => err.join("") };
}

describe("devices and doctor commands", () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-cmd-"));

  it("an extra argument is bad usage (64), with the usage line", async () => {
    for (const cmd of [devicesCommand, doctorCommand]) {
      const t = io();
      expect(await cmd.run({ values: {}, positionals: ["extra"] }, t.io)).toBe(64);
      expect(t.err()).toBe(`posbridge ${cmd.name}: unexpected argument 'extra'\nusage: ${cmd.usage}\n`);
    }
  });

  it("find the config through --config, else $POSBRIDGE_CONFIG", async () => {
    const missing = join(dir, "from-env.yaml");
    const t = io({ POSBRIDGE_CONFIG: missing });
    expect(await devicesCommand.run({ values: { json: true }, positionals: [] }, t.io)).toBe(0);
    const r = JSON.parse(t.out()) as DevicesReport;
    expect(r.config).toEqual({
      path: missing,
      problem: `configuration file not found: ${missing} (PB_CONFIG_NOT_FOUND)`,
    });
    expect(r.daemon.running).toBe(false);
  });

  it("doctor: the report's exit code is the command's; the clock is the Io's", async () => {
    const config = join(dir, "bad.yaml");
    writeFileSync(config, "store: S1\nbridge: [not, an, id]\n");
    const t = io();
    const code = await doctorCommand.run(
      { values: { json: true, config, user: "root" }, positionals: [] },
      t.io,
    );
    const r = JSON.parse(t.out()) as DoctorReport;
    expect(code).toBe(2);
    expect(r.exitCode).toBe(2);
    expect(r.at).toBe(NOW);
    expect(r.findings.filter((f) => f.id === "config").map((f) => f.code)).toContain("PB_CONFIG_INVALID");
  });
});
