// Bounded memory (docs/journal.md, "Memory"): beyond the most recent settled sales, a settled sale
// and its attempts and refunds leave memory for index rows and are read back from the file when
// asked for; written to again, they come back. Compaction moves them, retention purges them, a
// fault's restore still writes them.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { Journal, type JournalOptions, readJournal } from "../../../daemon/journal/journal.js";
import { type JournalRecord, recordKey } from "../../../protocols/sale/records.js";
import { attemptRecord, RECORD_NOON, refundRecord, saleRecord } from "../../support/journal-records.js";

const DAY = 24 * 60 * 60 * 1000;
const silent = pino({ level: "silent" });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "posbridge-journal-mem-"));
}

function open(dir: string, extra: Partial<JournalOptions> = {}): Journal {
  return Journal.open({ dir, clock: new ManualClock(RECORD_NOON), log: silent, recentSales: 2, ...extra });
}

const byKey = (records: JournalRecord[]) =>
  Object.fromEntries(
    records.map((r) => [recordKey(r), r]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );

/** Ten paid sales (each: the attempt, then the sale), then one still open. */
function tenPaidAndOneOpen(j: Journal): JournalRecord[] {
  const written: JournalRecord[] = [];
  for (let i = 0; i < 10; i++) {
    const a = attemptRecord(`O${i}`);
    const s = saleRecord(`O${i}`, { amountFen: 100 + i });
    j.write(a);
    j.write(s);
    written.push(a, s);
  }
  const open = saleRecord("OPEN1", { status: "PENDING", endedAt: null, text: "" });
  const sent = attemptRecord("OPEN1", { phase: "sent", paidAmountFen: null, channelTradeNo: "" });
  j.write(open);
  j.write(sent);
  return [...written, open, sent];
}

describe("Journal memory: settled sales beyond the recent ones are index rows", () => {
  it("keeps only the recent and unsettled in memory, and answers for the others from the file", () => {
    const j = open(tempDir());
    const written = tenPaidAndOneOpen(j);
    const mem = j.memory();
    expect(mem.indexRows).toBe(16); // 8 old sales × (sale + attempt)
    expect(mem.hotRecords).toBe(6); // 2 recent paid + the open one, each with its attempt
    expect(j.stats().liveRecords).toBe(22);

    expect(j.sale("l1", "O0")).toEqual(saleRecord("O0", { amountFen: 100 }));
    expect(j.attempt("AO3")).toEqual(attemptRecord("O3"));
    expect(j.attemptsOf("l1", "O3")).toEqual([attemptRecord("O3")]);
    expect(j.refundsOf("l1", "O3")).toEqual([]);
    expect(j.sale("l1", "NOPE")).toBeUndefined();
    expect(j.attempt("ANOPE")).toBeUndefined();
    expect(j.attemptsOf("l1", "NOPE")).toEqual([]);
    expect(byKey(j.records())).toEqual(byKey(written));

    // What the sale path asks for never includes the settled ones.
    expect(j.unsettledSales().map((s) => s.orderRef)).toEqual(["OPEN1"]);
    expect(j.openAttempts().map((a) => a.attemptId)).toEqual(["AOPEN1"]);
    expect(j.openRefunds()).toEqual([]);
    expect(j.memory().badReads).toBe(0);
  });

  it("a write to an old sale takes it back into memory; settled again, it becomes a row again later", () => {
    const dir = tempDir();
    const j = open(dir);
    tenPaidAndOneOpen(j);
    const requested = refundRecord("R1", "O0", { phase: "requested", answered: false, nextDueMono: 5 });
    j.write(requested);
    expect(j.openRefunds()).toEqual([requested]);
    expect(j.sale("l1", "O0")).toEqual(saleRecord("O0", { amountFen: 100 }));
    expect(j.refundsOf("l1", "O0")).toEqual([requested]);
    expect(j.memory().indexRows).toBe(14);

    const refunded = refundRecord("R1", "O0");
    j.write(refunded);
    expect(j.openRefunds()).toEqual([]);
    for (let i = 10; i < 13; i++) j.write(saleRecord(`O${i}`, { attemptId: null, attempts: 0 }));
    // Three more settled sales push O8, O9, O0 (now with its refund: 3 rows) and O10 out.
    expect(j.memory().indexRows).toBe(14 + 2 + 2 + 3 + 1);
    expect(j.refundsOf("l1", "O0")).toEqual([refunded]);
    expect(j.refund("R1")).toEqual(refunded);
    j.close();
    const again = open(dir);
    expect(again.refundsOf("l1", "O0")).toEqual([refunded]);
    expect(byKey(again.records())).toEqual(byKey(readJournal(join(dir, "journal.log")).records));
  });

  it("compaction moves the rows with their lines and purges old ones by retention", () => {
    const dir = tempDir();
    const clock = new ManualClock(RECORD_NOON);
    const j = open(dir, { clock, retentionMs: 30 * DAY });
    const written = tenPaidAndOneOpen(j);
    for (let i = 0; i < 10; i++) j.write(saleRecord(`O${i}`, { amountFen: 100 + i, text: "again" }));
    const latest = byKey(j.records());
    expect(j.compact()).toMatchObject({ kept: 22, purged: 0 });
    expect(byKey(j.records())).toEqual(latest);
    expect(j.sale("l1", "O4")?.text).toBe("again");
    expect(j.memory().badReads).toBe(0);

    clock.advance(31 * DAY);
    expect(j.maybeCompact()).toBe(true);
    // Only the open sale and its attempt are left; nothing unsettled is purged.
    expect(Object.keys(byKey(j.records()))).toEqual(["attempt/AOPEN1", "sale/l1/OPEN1"]);
    expect(j.sale("l1", "O0")).toBeUndefined();
    j.close();
    expect(Object.keys(byKey(open(dir, { clock }).records()))).toEqual(["attempt/AOPEN1", "sale/l1/OPEN1"]);
    expect(written).toHaveLength(22);
  });

  it("maintain() compacts once the file outgrew its live records, without waiting for the hourly check", () => {
    const j = open(tempDir(), { compactMinBytes: 4096 });
    let compactions = 0;
    for (let i = 0; i < 60; i++) {
      j.write(saleRecord("O1", { updatedAt: RECORD_NOON + i }));
      if (j.maintain() === "compacted") compactions++;
      expect(j.stats().fileBytes).toBeLessThanOrEqual(4096 + 600);
    }
    expect(compactions).toBeGreaterThan(0);
    expect(j.sale("l1", "O1")?.updatedAt).toBe(RECORD_NOON + 59);
  });

  it("a removed state directory: restore writes the rows back too, read through the old file", () => {
    const dir = tempDir();
    const clock = new ManualClock(RECORD_NOON);
    const j = open(dir, { clock, checkIntervalMs: 1000 });
    const written = tenPaidAndOneOpen(j);
    rmSync(dir, { recursive: true, force: true });
    j.check();
    expect(j.health()?.fault).toBe("gone");
    expect(j.sale("l1", "O0")).toEqual(saleRecord("O0", { amountFen: 100 }));
    clock.advance(1000);
    j.check();
    expect(j.health()).toBeNull();
    j.close();
    expect(byKey(open(dir).records())).toEqual(byKey(written));
  });

  it("a fault that is not 'gone' holds no descriptor on the file (a technician may unmount it), reads by path, restores", () => {
    const dir = tempDir();
    const clock = new ManualClock(RECORD_NOON);
    let failWrite = false;
    const j = open(dir, {
      clock,
      checkIntervalMs: 1000,
      onSyscall: (op) => {
        if (op === "write" && failWrite)
          throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
      },
    });
    const written = tenPaidAndOneOpen(j);
    const path = join(dir, "journal.log");
    const descriptorsOnJournal = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false;
        }
      }).length;
    expect(descriptorsOnJournal()).toBe(2); // appending, and reading the index's lines
    failWrite = true;
    expect(() => j.write(saleRecord("X1"))).toThrow();
    expect(j.health()?.fault).toBe("failed");
    expect(descriptorsOnJournal()).toBe(0);
    // Old sales are still answered, read by path.
    expect(j.sale("l1", "O0")).toEqual(saleRecord("O0", { amountFen: 100 }));
    failWrite = false;
    clock.advance(1000);
    j.check();
    expect(j.health()).toBeNull();
    expect(j.memory().badReads).toBe(0);
    j.close();
    expect(byKey(open(dir).records())).toEqual(byKey(written));
  });
});
