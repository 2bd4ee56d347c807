// stateDir: missing, not a directory, not writable (the doctor's own write, and judged for the
// service user), full and nearly full.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { stateDirCheck } from "../../../../daemon/diagnostics/checks/state-dir.js";
import { type FakeSystem, fakeSystem, STORE_PC_ACCOUNTS } from "../fake-system.js";
import { findingsOf, harness, lines, runningDaemon, testConfig } from "../doctor-harness.js";

const LANES = "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n";

describe("state-dir", () => {
  let sys: FakeSystem;
  let dir: string;
  const config = () => testConfig(LANES, `stateDir: ${dir}\n`);
  beforeEach(() => {
    sys = fakeSystem();
    dir = join(sys.roots.run, "state");
  });

  it("missing: a warning without the daemon (it creates it), an error while it runs", async () => {
    expect(lines(await findingsOf(stateDirCheck, harness(sys, { config: config() }).input))).toEqual([
      `warn stateDir: ${dir} does not exist`,
    ]);
    const running = await findingsOf(
      stateDirCheck,
      harness(sys, { config: config(), daemon: runningDaemon() }).input,
    );
    expect(running).toMatchObject([{ level: "error", code: "PB_JOURNAL_GONE" }]);
  });

  it("a file where the directory should be, or in its path", async () => {
    writeFileSync(dir, "not a directory");
    expect(await findingsOf(stateDirCheck, harness(sys, { config: config() }).input)).toMatchObject([
      { level: "error", code: "PB_JOURNAL_WRITE", title: `${dir} is not a directory` },
    ]);
    dir = join(dir, "posbridge");
    expect(lines(await findingsOf(stateDirCheck, harness(sys, { config: config() }).input))).toEqual([
      `error stateDir: ${dir} cannot be used: a part of the path is not a directory (ENOTDIR)`,
    ]);
  });

  it("writable, with room: one ok line and the free space", async () => {
    mkdirSync(dir);
    expect(lines(await findingsOf(stateDirCheck, harness(sys, { config: config() }).input))).toEqual([
      `ok stateDir: ${dir} is writable`,
      "ok stateDir: 19 GB free of 38 GB (50.0 %)",
    ]);
  });

  // Run as uid 998 (that very user), the doctor's own write decides instead.
  it.skipIf(process.getuid?.() === 998)(
    "judged for the service user when the doctor is someone else: a root-owned 0755 directory",
    async () => {
      sys.accounts(STORE_PC_ACCOUNTS.passwd, STORE_PC_ACCOUNTS.group);
      mkdirSync(dir);
      chmodSync(dir, 0o755);
      const f = await findingsOf(stateDirCheck, harness(sys, { config: config() }).input);
      expect(lines(f)).toEqual([
        `error stateDir: user posbridge cannot write ${dir} (owner root, group root, mode 0755)`,
        "ok stateDir: 19 GB free of 38 GB (50.0 %)",
      ]);
      expect(f[0]?.fix).toBe(
        `chown posbridge:posbridge ${dir} && chmod 0700 ${dir} (systemd's StateDirectory= does it when the unit starts)`,
      );
    },
  );

  it("full below 10 MB, nearly full below 100 MB or 5 %", async () => {
    mkdirSync(dir);
    const at = (bavail: number, blocks = 10_000_000) =>
      findingsOf(
        stateDirCheck,
        harness(sys, { config: config(), statfs: () => ({ bsize: 4096, blocks, bavail }) }).input,
      );
    expect(lines(await at(1000))).toEqual([
      `error stateDir: the filesystem of ${dir} is full: 4 MB free of 38 GB (0.0 %)`,
    ]);
    expect(lines(await at(20_000))).toEqual([
      `warn stateDir: the filesystem of ${dir} is nearly full: 78 MB free of 38 GB (0.2 %)`,
    ]);
    expect(lines(await at(400_000))).toEqual([
      `warn stateDir: the filesystem of ${dir} is nearly full: 1563 MB free of 38 GB (4.0 %)`,
    ]);
    expect((await at(400_000))[0]?.code).toBe("PB_JOURNAL_WRITE");
  });
});
