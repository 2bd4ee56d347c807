// journal.snapshot (docs/journal.md, "Snapshot"): open reads it and only the lines after it, and
// gets the same state as reading the whole journal; every way it can stop matching the journal
// makes open read the whole journal instead, with a warning, never a wrong answer.
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { JOURNAL_FILE, Journal, type JournalOptions, readJournal } from "../../../daemon/journal/journal.js";
import { SNAPSHOT_FILE } from "../../../daemon/journal/journal-snapshot.js";
import { JOURNAL_VERSION } from "../../../daemon/journal/record-shape.js";
import { type JournalRecord, recordKey } from "../../../protocols/sale/records.js";
import { attemptRecord, RECORD_NOON, refundRecord, saleRecord } from "../../support/journal-records.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "posbridge-journal-snap-"));
}

function logger(): { log: pino.Logger; lines: { msg: string; problem?: string }[] } {
  const lines: { msg: string; problem?: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

function open(dir: string, extra: Partial<JournalOptions> = {}): Journal {
  return Journal.open({
    dir,
    clock: new ManualClock(RECORD_NOON),
    log: pino({ level: "silent" }),
    recentSales: 3,
    snapshotMinBytes: 0,
    ...extra,
  });
}

const byKey = (records: JournalRecord[]) =>
  Object.fromEntries(
    records.map((r) => [recordKey(r), r]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );

/** A journal of `n` paid sales, one open sale and a refund of an old sale still requested. */
function fill(j: Journal, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    j.write(attemptRecord(`O${i}`));
    j.write(saleRecord(`O${i}`, { amountFen: 100 + i }));
  }
  j.write(saleRecord(`OPEN${from}`, { status: "PENDING", endedAt: null, text: "" }));
  j.write(attemptRecord(`OPEN${from}`, { phase: "sent", paidAmountFen: null, channelTradeNo: "" }));
  j.write(refundRecord(`R${from}`, `O${from}`, { phase: "requested", answered: false, nextDueMono: 1 }));
}

function wholeFile(dir: string) {
  return byKey(readJournal(join(dir, JOURNAL_FILE)).records);
}

/** A closed journal with a snapshot, and what reading the whole file gives. */
function closedWithSnapshot() {
  const dir = tempDir();
  const j = open(dir);
  fill(j, 20);
  j.close();
  expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(true);
  return { dir, expected: wholeFile(dir) };
}

/** Opens `dir`, expects the snapshot to have been refused for `problem`, and the whole journal read. */
function expectFallback(dir: string, problem: RegExp, expected: Record<string, JournalRecord>): Journal {
  const { log, lines } = logger();
  const j = open(dir, { log });
  const warning = lines.find((l) => l.msg.startsWith("journal snapshot not used"));
  expect(warning?.problem).toMatch(problem);
  expect(j.loadReport.snapshot).toBeUndefined();
  expect(byKey(j.records())).toEqual(expected);
  return j;
}

describe("Journal snapshot", () => {
  it("a clean close writes it; open reads it and the lines after it, and knows what a whole read knows", () => {
    const { dir, expected } = closedWithSnapshot();
    const size = statSync(join(dir, JOURNAL_FILE)).size;
    const j = open(dir);
    expect(j.loadReport).toMatchObject({
      snapshot: size,
      discardedLines: 0,
      tornTail: false,
      records: 43,
      lines: 44,
    });
    expect(byKey(j.records())).toEqual(expected);
    expect(j.sale("l1", "O2")).toEqual(saleRecord("O2", { amountFen: 102 }));
    expect(j.openRefunds().map((r) => r.refundId)).toEqual(["R0"]);
    expect(j.unsettledSales().map((s) => s.orderRef)).toEqual(["OPEN0"]);

    // Written to after the snapshot, then cut off by a crash (no close): the tail is replayed.
    fill(j, 5, 100);
    j.write(refundRecord("R0", "O0"));
    const after = byKey(j.records());
    const crashed = open(dir);
    expect(crashed.loadReport.snapshot).toBe(size);
    expect(byKey(crashed.records())).toEqual(after);
    expect(after).toEqual(wholeFile(dir));
    expect(crashed.openRefunds().map((r) => r.refundId)).toEqual(["R100"]);
  });

  it("compaction writes a new one (and never leaves the old one beside the new file)", () => {
    const dir = tempDir();
    const j = open(dir);
    fill(j, 10);
    j.compact();
    const size = statSync(join(dir, JOURNAL_FILE)).size;
    const again = open(dir);
    expect(again.loadReport.snapshot).toBe(size);
    expect(byKey(again.records())).toEqual(wholeFile(dir));

    // Too small to need one: compaction removes the old one and writes none.
    const small = open(dir, { snapshotMinBytes: 1 << 30 });
    small.compact();
    expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(false);
  });

  it("maintain() writes a new one once the lines after the last one reach snapshotMinBytes", () => {
    const dir = tempDir();
    const j = open(dir, { snapshotMinBytes: 8000 });
    fill(j, 3);
    expect(j.maintain()).toBeNull(); // under 8000 bytes of journal
    fill(j, 10, 10);
    expect(j.maintain()).toBe("snapshot");
    const covered = statSync(join(dir, JOURNAL_FILE)).size;
    expect(j.maintain()).toBeNull(); // nothing new since
    j.write(saleRecord("LATE", { amountFen: 7 }));
    const after = byKey(j.records());
    // A crash: no close, so the snapshot on disk is the one maintain() wrote.
    const again = open(dir, { snapshotMinBytes: 8000 });
    expect(again.loadReport.snapshot).toBe(covered);
    expect(byKey(again.records())).toEqual(after);
  });

  it("missing: the whole journal is read, without a warning", () => {
    const dir = tempDir();
    const j = open(dir, { snapshotMinBytes: 1 << 30 });
    fill(j, 5);
    j.close();
    const { log, lines } = logger();
    const again = open(dir, { log });
    expect(again.loadReport.snapshot).toBeUndefined();
    expect(lines.filter((l) => l.msg.includes("snapshot"))).toEqual([]);
    expect(byKey(again.records())).toEqual(wholeFile(dir));
  });

  it("damaged (a byte flipped): CRC mismatch, the whole journal is read", () => {
    const { dir, expected } = closedWithSnapshot();
    const path = join(dir, SNAPSHOT_FILE);
    const bytes = readFileSync(path);
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] as number) ^ 0xff;
    writeFileSync(path, bytes);
    expectFallback(dir, /CRC mismatch/, expected);
  });

  it("cut short or not a snapshot at all: the whole journal is read", () => {
    const { dir, expected } = closedWithSnapshot();
    const path = join(dir, SNAPSHOT_FILE);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 100));
    expectFallback(dir, /CRC mismatch/, expected).close();
    writeFileSync(path, "hello");
    expectFallback(dir, /not a snapshot/, expected);
  });

  it("covers more than the journal holds (the journal was cut short): the whole journal is read", () => {
    const { dir } = closedWithSnapshot();
    const path = join(dir, JOURNAL_FILE);
    truncateSync(path, statSync(path).size - 300);
    const expected = wholeFile(dir);
    const j = expectFallback(dir, /covers more than the journal holds/, expected);
    expect(j.loadReport.tornTail).toBe(true);
  });

  it("another journal put in its place (a restore of an older copy): the whole journal is read", () => {
    const { dir } = closedWithSnapshot();
    const other = tempDir();
    const o = open(other, { clock: new ManualClock(RECORD_NOON + 1), snapshotMinBytes: 1 << 30 });
    fill(o, 30, 500);
    o.close();
    copyFileSync(join(other, JOURNAL_FILE), join(dir, JOURNAL_FILE));
    expectFallback(dir, /another one/, wholeFile(other));
  });

  it("the bytes it covers changed (same header, same length): the whole journal is read", () => {
    const { dir } = closedWithSnapshot();
    const path = join(dir, JOURNAL_FILE);
    const bytes = readFileSync(path);
    const at = bytes.lastIndexOf('"amountFen":119');
    bytes.write('"amountFen":118', at, "latin1");
    writeFileSync(path, bytes);
    const j = expectFallback(dir, /bytes before the offset changed/, wholeFile(dir));
    expect(j.loadReport.discardedLines).toBe(1); // the edited line fails its CRC
  });

  it("of another journal format: the whole journal is read", () => {
    const { dir, expected } = closedWithSnapshot();
    const path = join(dir, SNAPSHOT_FILE);
    const bytes = readFileSync(path);
    const text = bytes
      .toString("latin1")
      .replace(`"journalVersion":${JOURNAL_VERSION}`, '"journalVersion":9');
    const patched = Buffer.from(text, "latin1");
    // Re-seal it so that only the format is wrong.
    patched.writeUInt32LE(crc32(patched.subarray(0, patched.length - 4)), patched.length - 4);
    writeFileSync(path, patched);
    expectFallback(dir, /journal format 9/, expected);
  });
});
