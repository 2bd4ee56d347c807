// `posbridge report day` as a child process (built bin/posbridge.js) against a journal written
// with Journal, in TZ=Asia/Shanghai: the JSON shape and figures, the text form, usage errors (64)
// and a bad config (78). The report only reads: the journal is byte-for-byte the same afterwards.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { JOURNAL_FILE, Journal } from "../../../daemon/journal/journal.js";
import type { DayReport } from "../../../daemon/report/day-report.js";
import { assertBuilt, BIN } from "../../support/daemon-process.js";
import { attemptRecord as attempt, saleRecord as sale } from "../../support/journal-records.js";

const at = (iso: string) => Date.parse(iso);
const NOON = at("2026-03-14T12:00:00+08:00");
const dir = mkdtempSync(join(tmpdir(), "posbridge-report-"));
const stateDir = join(dir, "state");
const config = join(dir, "posbridge.yaml");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, TZ: "Asia/Shanghai" },
    encoding: "utf8",
    timeout: 15_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  assertBuilt();
  writeFileSync(
    config,
    `store: S1\nbridge: B1\nstateDir: ${stateDir}\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null, profile: ecr }\n    scanner: { path: /dev/zero, type: serial }\n`,
  );
  const j = Journal.open({ dir: stateDir, clock: new ManualClock(NOON), log: pino({ level: "silent" }) });
  j.write(sale("P1", { status: "OPEN", endedAt: null })); // superseded below: last write wins
  j.write(attempt("P1", { amountFen: 1234, paidAmountFen: 1234 }));
  j.write(sale("P1", { amountFen: 1234 }));
  j.write(attempt("P2", { scheme: "ALIPAY", maskedCode: "ALIPAY…1111" }));
  j.write(sale("P2", { scheme: "ALIPAY", amountFen: 5000 }));
  // 00:30 Shanghai is still the 13th in UTC: counted on the 14th.
  j.write(
    sale("C1", {
      status: "CANCELLED",
      scheme: null,
      attemptId: null,
      openedAt: at("2026-03-14T00:30:00+08:00"),
    }),
  );
  j.write(attempt("U1", { phase: "unresolved", maskedCode: "WECHAT…4242", paidAmountFen: null }));
  j.write(sale("U1", { status: "UNKNOWN", amountFen: 777, channelTradeNo: "" }));
  j.write(sale("Y1", { openedAt: at("2026-03-13T23:59:00+08:00") })); // the day before
  j.write({
    kind: "refund",
    refundId: "R1",
    refundRef: "RF1",
    laneId: "l1",
    orderRef: "P2",
    attemptId: "AP2",
    amountFen: 1000,
    seq: "02",
    phase: "refunded",
    reasonCode: "",
    sends: 1,
    answered: true,
    requestedAt: NOON + 60_000,
    boot: "testboot",
    requestedMono: 0,
    nextDueMono: null,
    updatedAt: NOON + 60_000,
  });
  j.close();
});

describe("posbridge report day", () => {
  it("--json prints the day's figures in integer fen, by local date, and leaves the journal as it was", () => {
    const before = readFileSync(join(stateDir, JOURNAL_FILE));
    const { code, stdout, stderr } = run(["report", "day", "--date", "2026-03-14", "--json", "-c", config]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as DayReport;
    expect(r).toMatchObject({
      date: "2026-03-14",
      timeZone: "Asia/Shanghai",
      from: at("2026-03-14T00:00:00+08:00"),
    });
    const row = (s: string) => r.schemes.find((x) => x.scheme === s)!;
    expect(row("WECHAT").sales.PAID).toEqual({ count: 1, amountFen: 1234 });
    expect(row("WECHAT").sales.UNKNOWN).toEqual({ count: 1, amountFen: 777 });
    expect(row("ALIPAY").sales.PAID).toEqual({ count: 1, amountFen: 5000 });
    expect(row("ALIPAY").refunds.refunded).toEqual({ count: 1, amountFen: 1000 });
    expect(row("ALIPAY").netFen).toBe(4000);
    expect(row("none").sales.CANCELLED).toEqual({ count: 1, amountFen: 100 });
    expect(r.totals.sales.PAID).toEqual({ count: 2, amountFen: 6234 });
    expect(r.totals.netFen).toBe(5234);
    expect(r.needsAttention).toEqual([
      {
        laneId: "l1",
        orderRef: "U1",
        attemptId: "AU1",
        scheme: "WECHAT",
        maskedCode: "WECHAT…4242",
        amountFen: 777,
        openedAt: NOON,
        reason: "unknown",
        status: "UNKNOWN",
        claimedAmountFen: null,
        attentionAt: null,
      },
    ]);
    expect(r.journal).toMatchObject({
      path: join(stateDir, JOURNAL_FILE),
      discardedLines: 0,
      tornTail: false,
    });
    expect(readFileSync(join(stateDir, JOURNAL_FILE))).toEqual(before);

    const dayBefore = JSON.parse(
      run(["report", "day", "--date", "2026-03-13", "--json", "-c", config]).stdout,
    );
    expect(dayBefore.totals.sales.PAID).toEqual({ count: 1, amountFen: 100 });
  });

  it("prints a table in yuan with the UNKNOWN sale to check", () => {
    const { code, stdout } = run(["report", "day", "--date", "2026-03-14", "-c", config]);
    expect(code).toBe(0);
    expect(stdout).toContain("posbridge day report 2026-03-14 (Asia/Shanghai)");
    expect(stdout).toMatch(/^total\s+2\s+62\.34\s+1\s+1\.00\s+1\s+7\.77\s+0\s+0\.00$/m);
    expect(stdout).toContain("lane l1  order U1  attempt AU1  WECHAT…4242  7.77 yuan");
    expect(stdout).not.toMatch(/\d{12,}/);
  });

  it("says when the journal had damaged lines", () => {
    const damaged = join(dir, "damaged");
    const cfg = join(dir, "damaged.yaml");
    writeFileSync(cfg, readFileSync(config, "utf8").replace(stateDir, damaged));
    const j = Journal.open({ dir: damaged, clock: new ManualClock(NOON), log: pino({ level: "silent" }) });
    j.write(sale("P1"));
    j.close();
    const path = join(damaged, JOURNAL_FILE);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from("deadbeef\t{}\n")]));
    const json = JSON.parse(run(["report", "day", "--date", "2026-03-14", "--json", "-c", cfg]).stdout);
    expect(json.journal).toMatchObject({ discardedLines: 1, discardedBytes: 12, records: 1 });
    expect(run(["report", "day", "--date", "2026-03-14", "-c", cfg]).stdout).toMatch(
      /WARNING: 1 damaged journal line/,
    );
  });

  it("an empty state directory is an empty report", () => {
    const cfg = join(dir, "empty.yaml");
    writeFileSync(cfg, readFileSync(config, "utf8").replace(stateDir, join(dir, "none")));
    const { code, stdout } = run(["report", "day", "--date", "2026-03-14", "-c", cfg]);
    expect(code).toBe(0);
    expect(stdout).toContain("No sales and no refunds on this day.");
  });

  it("exits 64 on a bad --date or an unknown report, 78 on a bad config", () => {
    const bad = run(["report", "day", "--date", "2026-13-01", "-c", config]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--date must be a calendar date YYYY-MM-DD.*2026-13-01/);
    expect(bad.stdout).toBe("");
    const week = run(["report", "week", "-c", config]);
    expect(week.code).toBe(64);
    expect(week.stderr).toContain("unknown report 'week'");
    expect(run(["report", "-c", config]).code).toBe(64);
    const missing = run(["report", "day", "-c", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain("nope.yaml");
  });

  it("is listed in --help, and report --help gives its own options", () => {
    const { code, stdout } = run(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}report +report day/m);
    const own = run(["report", "--help"]);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/^Usage: posbridge report day/);
    expect(own.stdout).toContain("--date");
    expect(own.stdout).toContain("--json");
    expect(own.stdout).not.toContain("cloud-sim");
  });

  it("warns on stderr when there is no journal at all, in text and in JSON", () => {
    const cfg = join(dir, "nojournal.yaml");
    writeFileSync(cfg, readFileSync(config, "utf8").replace(stateDir, join(dir, "never-ran")));
    for (const args of [[], ["--json"]]) {
      const r = run(["report", "day", "--date", "2026-03-14", ...args, "-c", cfg]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/warning: there is no journal at \S+never-ran\/journal\.log/);
    }
  });

  it("tells a permission problem (PB_JOURNAL_UNREADABLE) from a corrupt journal (PB_JOURNAL_CORRUPT)", () => {
    // As an ordinary user (nobody), as a technician without sudo would: the config is readable,
    // stateDir is 0700 and not theirs.
    chmodSync(dir, 0o755);
    const r = spawnSync(process.execPath, [BIN, "report", "day", "--date", "2026-03-14", "-c", config], {
      env: { ...process.env, TZ: "Asia/Shanghai" },
      encoding: "utf8",
      timeout: 15_000,
      uid: 65534,
      gid: 65534,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /permission denied reading \S+journal\.log.*sudo -u posbridge.*\(PB_JOURNAL_UNREADABLE\)/,
    );
    expect(r.stderr).not.toContain("PB_JOURNAL_CORRUPT");

    const broken = join(dir, "broken");
    mkdirSync(join(broken, JOURNAL_FILE), { recursive: true }); // journal.log is a directory: unreadable, not a permission
    const cfg = join(dir, "broken.yaml");
    writeFileSync(cfg, readFileSync(config, "utf8").replace(stateDir, broken));
    const corrupt = run(["report", "day", "--date", "2026-03-14", "-c", cfg]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain("(PB_JOURNAL_CORRUPT)");
  });
});
