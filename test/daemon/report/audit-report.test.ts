// `posbridge report audit`: what --since accepts, which entries it reports (every file, rotated
// ones included), the text and JSON forms, and what it says about a broken chain.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AUDIT_FILE, auditFiles, readAuditTrail } from "../../../daemon/audit/audit-file.js";
import { AuditTrail } from "../../../daemon/audit/audit-trail.js";
import { ManualClock } from "../../../daemon/clock.js";
import { auditReport, formatAuditReport, parseSince } from "../../../daemon/report/audit-report.js";

const NOW = Date.parse("2026-03-14T12:00:00Z");
const H = 3_600_000;

describe("parseSince", () => {
  it("takes a duration back from now, a local date, or an ISO time with a zone; nothing else", () => {
    expect(parseSince("90m", NOW)).toBe(NOW - 90 * 60_000);
    expect(parseSince("24h", NOW)).toBe(NOW - 24 * H);
    expect(parseSince("30d", NOW)).toBe(NOW - 30 * 24 * H);
    expect(parseSince("2026-03-01", NOW)).toBe(new Date(2026, 2, 1).getTime());
    expect(parseSince("2026-03-14T09:00:00+08:00", NOW)).toBe(Date.parse("2026-03-14T01:00:00Z"));
    for (const bad of ["", "yesterday", "7", "7w", "2026-02-30", "2026-03-14T09:00:00", "-1d"])
      expect(parseSince(bad, NOW), bad).toBeUndefined();
  });
});

describe("auditReport", () => {
  function trail(maxFileBytes = 1 << 20) {
    const dir = join(mkdtempSync(join(tmpdir(), "posbridge-audit-report-")), "audit");
    const clock = new ManualClock(NOW - 48 * H);
    const t = AuditTrail.open({
      dir,
      retentionMs: 365 * 24 * H,
      maxFileBytes,
      clock,
      log: pino({ level: "silent" }),
    });
    return { dir, clock, t };
  }

  it("reports the entries since the moment, across rotated files, oldest first", () => {
    const { dir, clock, t } = trail(400);
    for (let i = 0; i < 8; i++) {
      t.append({ type: "alarm", laneId: "lane1", detail: `alarm ${i}` });
      clock.advance(6 * H);
    }
    expect(auditFiles(dir).length).toBeGreaterThan(1);
    const report = auditReport(readAuditTrail(dir), dir, "24h", NOW - 24 * H);
    expect(report.entries.map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(report.entries[0]).toMatchObject({ type: "alarm", text: "alarm: alarm 4" });
    expect(report.chain).toEqual({ ok: true, breaks: [], startsMidway: false });
    const text = formatAuditReport(report);
    expect(text.split("\n")[0]).toMatch(/4 entries, \d+ file\(s\)/);
    expect(text).toContain("#5 [lane1]  alarm: alarm 4");
    expect(text).toContain("chain: intact from the first line");
  });

  it("says where the chain breaks and which lines are damaged", () => {
    const { dir, t } = trail();
    for (let i = 0; i < 4; i++) t.append({ type: "clockJump", detail: `step ${i}` });
    const path = join(dir, AUDIT_FILE);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    writeFileSync(path, `${[lines[0], lines[2], lines[3]].join("\n")}\n{"torn`);
    const text = formatAuditReport(auditReport(readAuditTrail(dir), dir, "30d", 0));
    expect(text).toContain(`warning: the chain breaks at ${AUDIT_FILE}:2 (seq 3)`);
    expect(text).toContain(
      `warning: 1 damaged line(s) (a write cut by a power cut, or damage): ${AUDIT_FILE}:4`,
    );
    expect(text).not.toContain("chain: intact");
  });
});
