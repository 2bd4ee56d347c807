// The audit trail on a real temp directory: one fsync'd JSON line per entry, a hash chain across
// restarts and rotations, rotation by size and age, deletion after retention, tampering and torn
// writes found by the reader, a removed or unwritable directory survived without a throw, and no
// payment code ever written.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../../daemon/audit/audit-entry.js";
import { AUDIT_FILE, auditFiles, readAuditTrail } from "../../../daemon/audit/audit-file.js";
import { AuditTrail, type AuditTrailOptions, ROTATE_AFTER_MS } from "../../../daemon/audit/audit-trail.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { BridgeError } from "../../../daemon/errors.js";

const DAY = 86_400_000;
const silent = pino({ level: "silent" });

function setup(over: Partial<AuditTrailOptions> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), "posbridge-audit-")), "audit");
  const clock = new ManualClock(1_760_000_000_000);
  const faults: (string | null)[] = [];
  const options: AuditTrailOptions = {
    dir,
    retentionMs: 365 * DAY,
    maxFileBytes: 1 << 20,
    clock,
    log: silent,
    onFault: (e: BridgeError | null) => faults.push(e ? e.code : null),
    ...over,
  };
  return { dir, clock, faults, options, open: () => AuditTrail.open(options) };
}

const alarm = (detail: string): AuditEntry => ({ type: "alarm", laneId: "lane1", detail });
const refund: AuditEntry = {
  type: "refundRequested",
  laneId: "lane1",
  orderRef: "O-1",
  refundRef: "RF-1",
  refundId: "01JREFUND",
  attemptId: "01JATTEMPT",
  amountFen: 500,
  again: false,
};

describe("AuditTrail", () => {
  it("writes one JSON line per entry, chained, and a restart goes on with the same chain", () => {
    const t = setup();
    const trail = t.open();
    expect(trail.hadEntries).toBe(false);
    expect(trail.append(refund)).toBe(true);
    t.clock.advance(1000);
    expect(trail.append(alarm("journal full: ENOSPC (PB_JOURNAL_WRITE)"))).toBe(true);
    const again = t.open(); // a restart
    expect(again.hadEntries).toBe(true);
    again.append({ type: "clockJump", detail: "wall clock stepped +3600.0 s" });

    const lines = readFileSync(join(t.dir, AUDIT_FILE), "utf8").trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      seq: 1,
      at: 1_760_000_000_000,
      ...refund,
      prev: "",
    });
    const read = readAuditTrail(t.dir);
    expect(read.breaks).toEqual([]);
    expect(read.damaged).toEqual([]);
    expect(read.startsMidway).toBe(false);
    expect(read.lines.map((l) => l.type)).toEqual(["refundRequested", "alarm", "clockJump"]);
  });

  it("an edited, removed or inserted line breaks the chain, and the reader says where", () => {
    const t = setup();
    const trail = t.open();
    for (let i = 0; i < 5; i++) trail.append(alarm(`alarm ${i}`));
    const path = join(t.dir, AUDIT_FILE);
    const original = readFileSync(path, "utf8");
    const lines = original.trimEnd().split("\n");

    writeFileSync(path, `${original.replace('"alarm 2"', '"alarm two"')}`);
    expect(readAuditTrail(t.dir).breaks).toEqual([
      { file: AUDIT_FILE, line: 4, seq: 4, why: "does not follow the line before it" },
    ]);
    writeFileSync(path, `${lines.filter((_, i) => i !== 1).join("\n")}\n`);
    expect(readAuditTrail(t.dir).breaks.map((b) => b.line)).toEqual([2]);
    writeFileSync(path, `${[lines[0], lines[0], ...lines.slice(1)].join("\n")}\n`);
    expect(readAuditTrail(t.dir).breaks.length).toBeGreaterThan(0);
    writeFileSync(path, original);
    expect(readAuditTrail(t.dir).breaks).toEqual([]);
  });

  it("a torn last line (power cut) is reported, and the next entry starts a new line and keeps the chain", () => {
    const t = setup();
    t.open().append(alarm("one"));
    const path = join(t.dir, AUDIT_FILE);
    writeFileSync(path, `${readFileSync(path, "utf8")}{"seq":2,"at":17600`, { flag: "w" });
    const trail = t.open();
    expect(trail.append(alarm("two"))).toBe(true);
    const read = readAuditTrail(t.dir);
    expect(read.damaged).toEqual([{ file: AUDIT_FILE, line: 2 }]);
    expect(read.breaks).toEqual([]);
    expect(read.lines.map((l) => [l.seq, l.type === "alarm" && l.detail])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
  });

  it("rotates by size and by age; the chain runs across files; rotated files past retention are deleted", () => {
    const t = setup({ maxFileBytes: 600, retentionMs: 200 * DAY });
    const trail = t.open();
    for (let i = 0; i < 12; i++) {
      trail.append(alarm(`size ${i}`));
      t.clock.advance(60_000);
    }
    const bySize = auditFiles(t.dir);
    expect(bySize.length).toBeGreaterThan(2);
    expect(bySize.at(-1)).toBe(AUDIT_FILE);
    expect(readAuditTrail(t.dir).breaks).toEqual([]);
    expect(trail.stats().rotations).toBe(bySize.length - 1);

    // Age: the active file's first line is 30 days old → rotated even though it is small.
    const big = setup({ retentionMs: 200 * DAY });
    const slow = big.open();
    slow.append(alarm("first"));
    big.clock.advance(ROTATE_AFTER_MS - 1000);
    slow.append(alarm("not yet"));
    expect(auditFiles(big.dir)).toEqual([AUDIT_FILE]);
    big.clock.advance(2000);
    slow.append(alarm("a month on"));
    expect(auditFiles(big.dir)).toHaveLength(2);

    // Retention: 200 days on, the next rotation (or open) deletes what was rotated before.
    big.clock.advance(201 * DAY);
    slow.append(alarm("much later"));
    const left = auditFiles(big.dir);
    expect(left).toHaveLength(2); // the rotation just now, and the active file
    const read = readAuditTrail(big.dir);
    expect(read.startsMidway).toBe(true);
    expect(read.breaks).toEqual([]);
    expect(read.lines.map((l) => l.type === "alarm" && l.detail)).toEqual(["a month on", "much later"]);
    expect(slow.stats().deletedFiles).toBe(1);
  });

  it("never writes a payment code: digit runs in free text are masked, ids and amounts kept", () => {
    const t = setup();
    const code = "134567890123456789";
    const fullWidth = "１３４５６７８９０１２３４５６７８９";
    t.open().append(alarm(`broker said ${code} and ${fullWidth}`));
    t.open().append({
      type: "refundEnded",
      laneId: "lane1",
      orderRef: "O-1",
      refundRef: "RF-1",
      refundId: "01JREFUND",
      amountFen: 500,
      phase: "failed",
      reasonCode: `X${code}`,
    });
    const text = readFileSync(join(t.dir, AUDIT_FILE), "utf8");
    expect(text).not.toContain(code);
    expect(text).not.toContain(fullWidth);
    expect(text.replace(/"at":\d+/g, "")).not.toMatch(/\d{12,}/); // `at` is epoch ms
    expect(text).toContain("…6789");
    expect(text).toContain('"amountFen":500');
  });

  it("a removed directory is made again; an unwritable one is one fault, logged, never thrown, and cleared", () => {
    const t = setup();
    const trail = t.open();
    trail.append(alarm("before"));
    rmSync(t.dir, { recursive: true, force: true });
    expect(trail.append(alarm("after rm -rf"))).toBe(true);
    expect(readAuditTrail(t.dir).lines.map((l) => l.seq)).toEqual([2]); // the chain goes on
    expect(t.faults).toEqual([]);

    // A file where the directory should be: every write fails (ENOTDIR/EEXIST), even as root.
    rmSync(t.dir, { recursive: true, force: true });
    writeFileSync(t.dir, "not a directory");
    expect(trail.append(alarm("lost 1"))).toBe(false);
    expect(trail.append(alarm("lost 2"))).toBe(false);
    expect(t.faults).toEqual(["PB_AUDIT_WRITE"]);
    expect(trail.stats().failed).toBe(2);
    rmSync(t.dir);
    mkdirSync(t.dir);
    expect(trail.append(alarm("back"))).toBe(true);
    expect(t.faults).toEqual(["PB_AUDIT_WRITE", null]);
    expect(readdirSync(t.dir)).toEqual([AUDIT_FILE]);
  });

  it("opening over an unusable directory does not throw: the trail is in a fault until it can write", () => {
    const base = mkdtempSync(join(tmpdir(), "posbridge-audit-"));
    writeFileSync(join(base, "audit"), "a file");
    const t = setup({ dir: join(base, "audit") });
    const trail = t.open();
    expect(t.faults).toEqual(["PB_AUDIT_WRITE"]);
    expect(trail.append(alarm("x"))).toBe(false);
  });
});
