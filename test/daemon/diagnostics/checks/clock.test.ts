// The clock checks: synchronised per timedatectl (or timesyncd's flag), and not earlier than this
// program's install or the journal's newest record.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clockSaneCheck } from "../../../../daemon/diagnostics/checks/clock-sane.js";
import { clockSkewCheck } from "../../../../daemon/diagnostics/checks/clock-skew.js";
import { clockSyncCheck } from "../../../../daemon/diagnostics/checks/clock-sync.js";
import { saleRecord, writeJournal } from "../../../support/journal-records.js";
import { fakeSystem } from "../fake-system.js";
import {
  findingsOf,
  harness,
  lines,
  NOT_RUNNING,
  NOW,
  runningDaemon,
  testConfig,
} from "../doctor-harness.js";

describe("clock-sync", () => {
  const sys = fakeSystem();
  const answer =
    (stdout: string, ok = true) =>
    async (file: string, args: string[]) => {
      expect([file, ...args]).toEqual(["timedatectl", "show", "-p", "NTPSynchronized", "--value"]);
      return { ok, stdout };
    };

  it("yes, no, and unknown", async () => {
    expect(
      lines(await findingsOf(clockSyncCheck, harness(sys, { runCommand: answer("yes\n") }).input)),
    ).toEqual(["ok clock: synchronised (timedatectl: NTPSynchronized=yes)"]);
    const no = await findingsOf(clockSyncCheck, harness(sys, { runCommand: answer("no\n") }).input);
    expect(no).toEqual([
      expect.objectContaining({
        level: "warn",
        code: "PB_CLOCK_WRONG",
        title: "not synchronised (timedatectl: NTPSynchronized=no)",
        fix: expect.stringContaining("timedatectl set-ntp true"),
      }),
    ]);
    expect(
      lines(await findingsOf(clockSyncCheck, harness(sys, { runCommand: answer("", false) }).input)),
    ).toEqual([
      "ok clock: synchronisation unknown: no answer from timedatectl and no systemd-timesyncd flag",
    ]);
  });

  it("without timedatectl, systemd-timesyncd's flag file says synchronised", async () => {
    mkdirSync(join(sys.roots.run, "systemd", "timesync"), { recursive: true });
    writeFileSync(join(sys.roots.run, "systemd", "timesync", "synchronized"), "");
    expect(
      lines(await findingsOf(clockSyncCheck, harness(sys, { runCommand: answer("", false) }).input)),
    ).toEqual(["ok clock: synchronised (systemd-timesyncd)"]);
  });
});

describe("clock-sane", () => {
  it("a clock earlier than this program's install is wrong", async () => {
    const sys = fakeSystem();
    const f = await findingsOf(clockSaneCheck, harness(sys, { programTimeMs: NOW + 3_600_000 }).input);
    expect(f).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_CLOCK_WRONG",
        title:
          "the clock says 2026-03-14T04:30:00Z, earlier than this program was installed (2026-03-14T05:30:00Z)",
      }),
    ]);
  });

  it("a clock earlier than the journal's newest record was set back; a few minutes of slack", async () => {
    const sys = fakeSystem();
    const stateDir = join(sys.roots.run, "state");
    const config = testConfig(
      "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n",
      `stateDir: ${stateDir}\n`,
    );
    writeJournal(stateDir, [saleRecord("O1", { updatedAt: NOW + 2 * 3_600_000 })]);
    const h = harness(sys, { config });
    expect(lines(await findingsOf(clockSaneCheck, h.input))).toEqual([
      "error clock: the clock says 2026-03-14T04:30:00Z, earlier than the journal's newest record (2026-03-14T06:30:00Z)",
    ]);
    h.clock.stepWall(2 * 3_600_000 - 60_000); // a minute behind the record: rounding, an NTP step
    expect(lines(await findingsOf(clockSaneCheck, h.input))).toEqual([
      "ok clock: 2026-03-14T06:29:00Z is after this program's install and the journal's newest record",
    ]);
  });
});

describe("clock-skew: this PC against the payment cloud, from the cloud's answers", () => {
  const sys = fakeSystem();
  const withSkew = async (cloudClockSkewMs: number | null, running = true) =>
    findingsOf(
      clockSkewCheck,
      harness(sys, { daemon: running ? runningDaemon({ cloudClockSkewMs }) : NOT_RUNNING }).input,
    );

  it("says nothing without the daemon, and 'not measured yet' before any answer", async () => {
    expect(await withSkew(0, false)).toEqual([]);
    expect(lines(await withSkew(null))).toEqual([
      "ok clock: skew against the payment cloud not measured yet: the daemon measures it from the cloud's answers",
    ]);
  });

  it("a few hundred ms is fine; seconds warn; half a minute is an error naming how far and which way", async () => {
    expect(lines(await withSkew(250))).toEqual([
      "ok clock: this PC's clock is 0.3 s behind the payment cloud's (from its answers)",
    ]);
    expect(await withSkew(-12_000)).toEqual([
      expect.objectContaining({
        level: "warn",
        code: "PB_CLOCK_WRONG",
        title: "this PC's clock is 12.0 s ahead of the payment cloud's (from its answers)",
      }),
    ]);
    expect(await withSkew(3_600_000)).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_CLOCK_WRONG",
        detail: expect.stringContaining("3600.0 s off"),
        fix: expect.stringContaining("timedatectl set-ntp true"),
      }),
    ]);
  });
});
