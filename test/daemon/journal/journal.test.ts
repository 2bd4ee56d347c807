// The sale journal on a real temp directory: durability order (write → fsync, tmp → rename →
// directory fsync), the fold, record validation (no payment code can be stored), torn and
// corrupt lines, truncation at random offsets, compaction and purge, and write failures.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { isBridgeError } from "../../../daemon/errors.js";
import {
  JOURNAL_FILE,
  Journal,
  type JournalOptions,
  type JournalSyscall,
  readJournal,
} from "../../../daemon/journal/journal.js";
import { crc32Hex } from "../../../protocols/core/crc32.js";
import {
  type AttemptRecord,
  type JournalRecord,
  type RefundRecord,
  recordKey,
  type SaleRecord,
} from "../../../protocols/sale/records.js";

const T0 = 1_760_000_000_000;
const DAY = 24 * 60 * 60 * 1000;
const silent = pino({ level: "silent" });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "posbridge-journal-"));
}

function sale(over: Partial<SaleRecord> = {}): SaleRecord {
  return {
    kind: "sale",
    laneId: "l1",
    orderRef: "O1",
    amountFen: 1234,
    seq: "01",
    openedAt: T0,
    status: "OPEN",
    answered: false,
    scheme: null,
    channelTradeNo: "",
    attemptId: null,
    attempts: 0,
    text: "",
    endedAt: null,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: T0,
    ...over,
  };
}

function attempt(over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    kind: "attempt",
    attemptId: "A1",
    laneId: "l1",
    orderRef: "O1",
    amountFen: 1234,
    scheme: "WECHAT",
    maskedCode: "WECHAT…6789",
    createdAt: T0,
    deadlineMs: T0 + 60_000,
    sentAt: T0,
    boot: "testboot",
    scannedMono: 0,
    sentMono: null,
    phase: "sent",
    reason: "",
    reasonCode: "",
    channelTradeNo: "",
    paidAmountFen: null,
    queries: 0,
    reversals: 0,
    latePaidAmountFen: null,
    lateTradeNo: "",
    latePaidAt: null,
    nextDueMono: T0 + 5000,
    training: false,
    updatedAt: T0,
    ...over,
  };
}

function refund(over: Partial<RefundRecord> = {}): RefundRecord {
  return {
    kind: "refund",
    refundId: "R1",
    refundRef: "RF1",
    laneId: "l1",
    orderRef: "O1",
    attemptId: "A1",
    amountFen: 100,
    seq: "02",
    phase: "requested",
    reasonCode: "",
    sends: 1,
    answered: false,
    requestedAt: T0,
    boot: "testboot",
    requestedMono: 0,
    nextDueMono: T0 + 5000,
    updatedAt: T0,
    ...over,
  };
}

const paidSale = (over: Partial<SaleRecord> = {}) =>
  sale({
    status: "PAID",
    answered: true,
    scheme: "WECHAT",
    channelTradeNo: "4200001234202601011234567890",
    attemptId: "A1",
    attempts: 1,
    text: "支付成功",
    endedAt: T0 + 3000,
    updatedAt: T0 + 3000,
    ...over,
  });

function open(dir: string, extra: Partial<JournalOptions> = {}): Journal {
  return Journal.open({ dir, clock: extra.clock ?? new ManualClock(T0), log: silent, ...extra });
}

function byKey(records: JournalRecord[]): Map<string, JournalRecord> {
  return new Map(records.map((r) => [recordKey(r), r]));
}

function journalBytes(dir: string): Buffer {
  return readFileSync(join(dir, JOURNAL_FILE));
}

function expectJournalError(fn: () => unknown, code: "PB_JOURNAL_WRITE" | "PB_JOURNAL_CORRUPT"): Error {
  try {
    fn();
  } catch (err) {
    expect(isBridgeError(err, code), String(err)).toBe(true);
    return err as Error;
  }
  throw new Error(`expected ${code}`);
}

/** mulberry32: a small seeded PRNG, so every run truncates at the same offsets. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("crc32", () => {
  it("is the IEEE CRC-32 of zlib", () => {
    expect(crc32Hex(new TextEncoder().encode("123456789"))).toBe("cbf43926");
    expect(crc32Hex(new Uint8Array())).toBe("00000000");
  });
});

describe("Journal file format", () => {
  it("starts a new file with a CRC'd header line, then one CRC'd JSON line per record", () => {
    const dir = join(tempDir(), "state");
    const j = open(dir);
    j.write(sale());
    j.close();
    const lines = journalBytes(dir).toString("utf8").split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    for (const line of lines.slice(0, 2)) {
      const [crc, json] = line.split("\t") as [string, string];
      expect(crc).toMatch(/^[0-9a-f]{8}$/);
      expect(crc).toBe(crc32Hex(Buffer.from(json, "utf8")));
    }
    expect(JSON.parse(lines[0]!.split("\t")[1]!)).toEqual({
      journal: "posbridge",
      version: 4,
      createdAt: T0,
    });
    expect(JSON.parse(lines[1]!.split("\t")[1]!)).toEqual(sale());
  });

  it("keeps a display-tap sale's amount provenance (optional fields) and refuses a malformed one", () => {
    const dir = tempDir();
    const j = open(dir);
    const tapSale = sale({
      orderRef: "TAP1",
      amountSource: "displayTap",
      tapSeq: 3,
      tapEvidence: "0123456789abcdef",
    });
    j.write(tapSale);
    j.write(sale()); // a register's sale: none of the fields
    expect(() =>
      j.write(sale({ orderRef: "TAP2", amountSource: "displayTap", tapSeq: 3, tapEvidence: "XYZ" })),
    ).toThrow(/tapEvidence must be 16 lowercase hex digits/);
    j.close();
    const again = open(dir);
    expect(again.sale("l1", "TAP1")).toEqual(tapSale);
    expect(again.sale("l1", "O1")).toEqual(sale());
    expect(again.sale("l1", "O1")).not.toHaveProperty("amountSource");
    expect(again.loadReport.discardedLines).toBe(0);
  });

  it("round-trips records through close and open, folding last write wins", () => {
    const dir = tempDir();
    const j = open(dir);
    j.write(sale());
    j.write(attempt());
    j.write(sale({ status: "PENDING", attemptId: "A1", attempts: 1, updatedAt: T0 + 1 }));
    j.write(attempt({ phase: "paid", paidAmountFen: 1234, nextDueMono: null, updatedAt: T0 + 2 }));
    j.write(paidSale());
    j.write(refund());
    expect(j.stats()).toMatchObject({ appends: 6, liveRecords: 3 });
    j.close();

    const again = open(dir);
    expect(again.loadReport).toEqual({
      lines: 7,
      records: 3,
      discardedLines: 0,
      discardedBytes: 0,
      tornTail: false,
      savedTo: null,
      missing: false,
    });
    expect(again.sale("l1", "O1")).toEqual(paidSale());
    expect(again.attempt("A1")).toEqual(
      attempt({ phase: "paid", paidAmountFen: 1234, nextDueMono: null, updatedAt: T0 + 2 }),
    );
    expect(again.refund("R1")).toEqual(refund());
    expect(again.records()).toHaveLength(3);
    expect(again.sale("l1", "O2")).toBeUndefined();
    again.close();
  });

  it("answers the lookups: per order oldest first, open attempts and refunds, unsettled sales, per lane", () => {
    const j = open(tempDir());
    j.write(sale());
    j.write(attempt({ attemptId: "A2", createdAt: T0 + 10, phase: "unknown" }));
    j.write(attempt({ attemptId: "A1", phase: "failed", reason: "declinedRescan", nextDueMono: null }));
    j.write(sale({ laneId: "l2", orderRef: "O9", status: "UNKNOWN" }));
    j.write(attempt({ attemptId: "B1", laneId: "l2", orderRef: "O9", phase: "unresolved" }));
    j.write(paidSale({ laneId: "l2", orderRef: "O8" }));
    j.write(refund({ refundId: "R2", requestedAt: T0 + 5, phase: "unknown" }));
    j.write(refund({ refundId: "R1", phase: "refunded", nextDueMono: null }));

    expect(j.attemptsOf("l1", "O1").map((a) => a.attemptId)).toEqual(["A1", "A2"]);
    expect(j.refundsOf("l1", "O1").map((r) => r.refundId)).toEqual(["R1", "R2"]);
    expect(j.attemptsOf("l1", "nope")).toEqual([]);
    expect(j.openAttempts().map((a) => a.attemptId)).toEqual(["B1", "A2"]);
    expect(j.openAttempts("l1").map((a) => a.attemptId)).toEqual(["A2"]);
    expect(j.openRefunds().map((r) => r.refundId)).toEqual(["R2"]);
    expect(j.openRefunds("l2")).toEqual([]);
    expect(j.unsettledSales().map((s) => `${s.laneId}/${s.orderRef}`)).toEqual(["l1/O1", "l2/O9"]);
    expect(j.unsettledSales("l2").map((s) => s.status)).toEqual(["UNKNOWN"]);
  });

  it("hands out copies: changing a returned record does not change the journal", () => {
    const j = open(tempDir());
    const s = sale();
    j.write(s);
    s.status = "PAID";
    const got = j.sale("l1", "O1")!;
    got.status = "CANCELLED";
    expect(j.sale("l1", "O1")!.status).toBe("OPEN");
  });
});

describe("Journal durability order", () => {
  it("creates the file with header write → fsync → directory fsync, then write → fsync per record", () => {
    const dir = tempDir();
    const path = join(dir, JOURNAL_FILE);
    const calls: [JournalSyscall, string][] = [];
    const j = open(dir, { onSyscall: (op, p) => calls.push([op, p]) });
    expect(calls).toEqual([
      ["write", path],
      ["fsync", path],
      ["fsyncDir", dir],
    ]);
    calls.length = 0;
    j.write(sale());
    j.write(attempt());
    expect(calls).toEqual([
      ["write", path],
      ["fsync", path],
      ["write", path],
      ["fsync", path],
    ]);
    expect(j.stats().fsyncs).toBe(4);
  });

  it("compacts through journal.log.tmp: write → fsync → rename → directory fsync", () => {
    const dir = tempDir();
    const path = join(dir, JOURNAL_FILE);
    const calls: [JournalSyscall, string][] = [];
    const j = open(dir, { onSyscall: (op, p) => calls.push([op, p]) });
    j.write(sale());
    j.write(sale({ updatedAt: T0 + 1 }));
    calls.length = 0;
    const result = j.compact();
    expect(calls).toEqual([
      ["write", `${path}.tmp`],
      ["fsync", `${path}.tmp`],
      ["rename", path],
      ["fsyncDir", dir],
    ]);
    expect(result).toMatchObject({ kept: 1, purged: 0 });
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
    expect(result.bytesAfter).toBe(journalBytes(dir).length);
    expect(readdirSync(dir)).toEqual([JOURNAL_FILE]);
    j.write(sale({ updatedAt: T0 + 2 }));
    j.close();
    expect(open(dir).sale("l1", "O1")!.updatedAt).toBe(T0 + 2);
  });
});

describe("Journal record validation", () => {
  const refused: [string, JournalRecord][] = [
    ["an extra authCode field", { ...attempt(), authCode: "134567890123456789" } as unknown as JournalRecord],
    ["an 18-digit run in text", sale({ text: "code 134567890123456789" })],
    ["a full-width digit run in text", sale({ text: "１３４５６７８９０１２３４５６７８９" })],
    ["an 18-digit run in reasonCode", attempt({ reasonCode: "X134567890123456789" })],
    ["an orderRef with a space", sale({ orderRef: "O 1" })],
    ["a maskedCode with the whole code", attempt({ maskedCode: "WECHAT…134567890123456789" })],
    ["a maskedCode that is the code", attempt({ maskedCode: "134567890123456789" })],
    ["a maskedCode with 5 digits", attempt({ maskedCode: "code…56789" })],
    ["a fraction amount", sale({ amountFen: 12.5 })],
    ["a negative amount", sale({ amountFen: -1 })],
    ["an unsafe integer amount", sale({ amountFen: 2 ** 53 })],
    ["NaN time", attempt({ createdAt: Number.NaN })],
    ["a missing field", (({ text: _t, ...rest }) => rest)(sale()) as unknown as JournalRecord],
    ["an unknown kind", { ...sale(), kind: "payment" } as unknown as JournalRecord],
    ["an unknown status", sale({ status: "DONE" as SaleRecord["status"] })],
    ["a null where the type has none", attempt({ scheme: null as unknown as "WECHAT" })],
    ["an id with a slash", refund({ refundId: "R/1" })],
    ["a string amount", sale({ amountFen: "1234" as unknown as number })],
  ];

  it.each(refused)("refuses %s with PB_JOURNAL_WRITE and writes nothing", (_what, record) => {
    const dir = tempDir();
    const j = open(dir);
    const before = journalBytes(dir);
    const err = expectJournalError(() => j.write(record), "PB_JOURNAL_WRITE");
    expect(err.message).not.toMatch(/\d{12,}|[０-９]{5,}/);
    expect(journalBytes(dir)).toEqual(before);
    expect(j.records()).toEqual([]);
    expect(j.stats().appends).toBe(0);
  });

  it("accepts the masked forms, nulls where the type allows them, and long channel trade numbers", () => {
    const j = open(tempDir());
    for (const maskedCode of ["WECHAT…6789", "ALIPAY…", "UNIONPAY…0001", "ECNY…1234", "code…", "code…9999"])
      j.write(attempt({ maskedCode }));
    j.write(attempt({ channelTradeNo: "4200001234202601011234567890", sentAt: null, nextDueMono: null }));
    j.write(sale({ scheme: "ALIPAY", text: "请出示付款码 ¥12.34", endedAt: null, attemptId: null }));
    // Registers number orders with digits: a protocol-valid orderRef is journaled as it is.
    j.write(sale({ orderRef: "20260314000123456789" }));
    expect(j.records()).toHaveLength(3);
  });
});

describe("Journal damaged files", () => {
  function writeSome(dir: string): { ends: number[] } {
    const j = open(dir);
    const ends: number[] = [];
    j.write(sale());
    ends.push(j.stats().fileBytes);
    j.write(attempt());
    ends.push(j.stats().fileBytes);
    j.write(paidSale());
    ends.push(j.stats().fileBytes);
    j.close();
    return { ends };
  }

  it("a torn tail: reports it, keeps every earlier record, saves the tail, and appends cleanly after", () => {
    const dir = tempDir();
    const { ends } = writeSome(dir);
    const bytes = journalBytes(dir);
    const cut = ends[1]! + 20; // in the middle of the PAID sale's line
    writeFileSync(join(dir, JOURNAL_FILE), bytes.subarray(0, cut));

    const logged: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => logged.push(s) });
    const j = open(dir, { log });
    expect(j.loadReport).toMatchObject({
      lines: 3,
      records: 2,
      discardedLines: 0,
      discardedBytes: 20,
      tornTail: true,
    });
    expect(j.sale("l1", "O1")!.status).toBe("OPEN");
    expect(j.attempt("A1")).toEqual(attempt());
    expect(readFileSync(j.loadReport.savedTo!)).toEqual(bytes.subarray(ends[1]!, cut));
    const warning = logged.map((l) => JSON.parse(l)).find((e) => e.level === 40);
    expect(warning).toMatchObject({ discardedBytes: 20, tornTail: true });
    expect(JSON.stringify(warning)).not.toContain("PAID");

    j.write(paidSale());
    j.close();
    const again = open(dir);
    expect(again.loadReport).toMatchObject({
      discardedLines: 0,
      discardedBytes: 0,
      tornTail: false,
      savedTo: null,
      missing: false,
    });
    expect(again.sale("l1", "O1")).toEqual(paidSale());
    expect(again.attempt("A1")).toEqual(attempt());
  });

  it("a corrupted byte in a middle line: that line is discarded and saved, the others kept", () => {
    const dir = tempDir();
    const { ends } = writeSome(dir);
    const bytes = Buffer.from(journalBytes(dir));
    const at = ends[0]! + 30; // inside the attempt's JSON
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(join(dir, JOURNAL_FILE), bytes);

    const j = open(dir, { clock: new ManualClock(T0 + 777) });
    expect(j.loadReport).toMatchObject({
      lines: 4,
      records: 1,
      discardedLines: 1,
      discardedBytes: ends[1]! - ends[0]!,
      tornTail: false,
    });
    expect(j.loadReport.savedTo).toBe(join(dir, `${JOURNAL_FILE}.corrupt-${T0 + 777}`));
    expect(readFileSync(j.loadReport.savedTo!)).toEqual(bytes.subarray(ends[0]!, ends[1]!));
    expect(j.sale("l1", "O1")).toEqual(paidSale());
    expect(j.attempt("A1")).toBeUndefined();
    j.close();
    // Rewritten clean: the next open discards nothing.
    expect(open(dir).loadReport.discardedLines).toBe(0);
  });

  it("a valid JSON line of an unknown shape is discarded like a bad CRC", () => {
    const dir = tempDir();
    writeSome(dir);
    const json = JSON.stringify({ ...attempt({ attemptId: "A7" }), authCode: "134567890123456789" });
    const line = `${crc32Hex(Buffer.from(json))}\t${json}\n`;
    writeFileSync(join(dir, JOURNAL_FILE), Buffer.concat([journalBytes(dir), Buffer.from(line)]));
    const j = open(dir);
    expect(j.loadReport).toMatchObject({ discardedLines: 1, records: 2 });
    expect(j.attempt("A7")).toBeUndefined();
    j.close();
    expect(journalBytes(dir).toString()).not.toContain("134567890123456789");
  });

  it("truncated at 50 random offsets: never throws, loads exactly the records whose lines survived", () => {
    const rand = prng(20260314);
    const dir = tempDir();
    const j = open(dir);
    const written: { record: JournalRecord; end: number }[] = [];
    const put = (r: JournalRecord) => {
      j.write(r);
      written.push({ record: r, end: j.stats().fileBytes });
    };
    const headerEnd = j.stats().fileBytes;
    for (let n = 0; n < 8; n++) {
      const orderRef = `O${n}`;
      const attemptId = `A${n}`;
      const t = T0 + n * 1000;
      put(sale({ orderRef, openedAt: t, updatedAt: t }));
      put(attempt({ attemptId, orderRef, createdAt: t + 1, updatedAt: t + 1 }));
      const paid = rand() < 0.6;
      put(
        attempt({
          attemptId,
          orderRef,
          phase: paid ? "paid" : "failed",
          nextDueMono: null,
          updatedAt: t + 2,
        }),
      );
      put(
        paid
          ? paidSale({ orderRef, attemptId, openedAt: t, endedAt: t + 3, updatedAt: t + 3 })
          : sale({ orderRef, status: "CANCELLED", openedAt: t, endedAt: t + 3, updatedAt: t + 3 }),
      );
      if (paid && rand() < 0.5) put(refund({ refundId: `R${n}`, orderRef, attemptId, requestedAt: t + 4 }));
    }
    j.close();
    expect(written.some((w) => w.record.kind === "sale" && w.record.status === "PAID")).toBe(true);
    const full = journalBytes(dir);

    for (let i = 0; i < 50; i++) {
      const off = Math.floor(rand() * (full.length + 1));
      const d = tempDir();
      writeFileSync(join(d, JOURNAL_FILE), full.subarray(0, off));
      const loaded = open(d);
      const survived = written.filter((w) => w.end <= off);
      const expected = byKey(survived.map((w) => w.record));
      expect(byKey(loaded.records()), `offset ${off}`).toEqual(expected);
      for (const r of loaded.records()) {
        expect(written.map((w) => w.record)).toContainEqual(r);
        if (r.kind === "sale" && r.status === "PAID") {
          expect(
            survived.some(
              (w) =>
                w.record.kind === "sale" && w.record.orderRef === r.orderRef && w.record.status === "PAID",
            ),
          ).toBe(true);
        }
      }
      const lastEnd = Math.max(off >= headerEnd ? headerEnd : 0, ...survived.map((w) => w.end));
      expect(loaded.loadReport.tornTail).toBe(off > lastEnd);
      expect(loaded.loadReport.discardedBytes).toBe(off - lastEnd);
      expect(loaded.loadReport.discardedLines).toBe(0);
      loaded.write(sale({ orderRef: "AFTER" }));
      loaded.close();
      const again = readJournal(join(d, JOURNAL_FILE));
      expect(again.report).toMatchObject({ discardedLines: 0, tornTail: false });
      expect(again.records).toHaveLength(expected.size + 1);
    }
  });

  it("an empty file (crash right after creation) gets its header and works", () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOURNAL_FILE), "");
    const j = open(dir);
    j.write(sale());
    j.close();
    expect(journalBytes(dir).toString()).toMatch(/^[0-9a-f]{8}\t\{"journal":"posbridge"/);
    expect(open(dir).records()).toHaveLength(1);
  });

  it("refuses a journal of another format version with PB_JOURNAL_CORRUPT and leaves it alone", () => {
    const dir = tempDir();
    const json = JSON.stringify({ journal: "posbridge", version: 5, createdAt: T0 });
    const text = `${crc32Hex(Buffer.from(json))}\t${json}\n`;
    writeFileSync(join(dir, JOURNAL_FILE), text);
    const err = expectJournalError(() => open(dir), "PB_JOURNAL_CORRUPT");
    expect(err.message).toContain("version 5");
    expect(journalBytes(dir).toString()).toBe(text);
  });

  it("reads a version-1 journal (wall-clock due times), upgrades its records and rewrites it as the current version", () => {
    const dir = tempDir();
    const line = (v: unknown) => {
      const json = JSON.stringify(v);
      return `${crc32Hex(Buffer.from(json))}\t${json}\n`;
    };
    // Version 1 records: `nextAt` on the wall clock, no boot and no monotonic times.
    const v1 = (r: Record<string, unknown>, drop: string[]) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r))
        if (!drop.includes(k)) out[k === "nextDueMono" ? "nextAt" : k] = v;
      return out;
    };
    const a = attempt({ phase: "unknown", nextDueMono: T0 + 5000 });
    const r = refund();
    writeFileSync(
      join(dir, JOURNAL_FILE),
      line({ journal: "posbridge", version: 1, createdAt: T0 }) +
        line(v1(sale() as unknown as Record<string, unknown>, ["attention", "attentionAt", "training"])) +
        line(
          v1(a as unknown as Record<string, unknown>, [
            "training",
            "boot",
            "scannedMono",
            "sentMono",
            "latePaidAmountFen",
            "lateTradeNo",
            "latePaidAt",
          ]),
        ) +
        line(v1(r as unknown as Record<string, unknown>, ["boot", "requestedMono"])),
    );
    const logged: string[] = [];
    const j = Journal.open({
      dir,
      clock: new ManualClock(T0),
      log: pino({ level: "info" }, { write: (l: string) => logged.push(l) }),
    });
    expect(j.loadReport).toMatchObject({ records: 3, discardedLines: 0 });
    expect(j.attempt("A1")).toEqual({ ...a, boot: "", scannedMono: 0, sentMono: null, nextDueMono: null });
    // Version 1 knew no late claims: no sale needs attention, no attempt has a late PAID.
    expect(j.sale("l1", "O1")).toEqual(sale());
    expect(j.attempt("A1")).toMatchObject({ latePaidAmountFen: null, lateTradeNo: "", latePaidAt: null });
    expect(j.refund("R1")).toEqual({ ...r, boot: "", requestedMono: 0, nextDueMono: null });
    expect(logged.some((l) => l.includes("journal upgraded to the current format"))).toBe(true);
    j.close();
    const header = journalBytes(dir).toString("utf8").split("\n")[0]?.split("\t")[1] ?? "";
    expect(JSON.parse(header)).toMatchObject({ version: 4 });
    const again = open(dir);
    expect(again.records()).toHaveLength(3);
  });

  it("reads a version-2 journal (no training field): every sale and attempt was real; rewrites it as the current version", () => {
    const dir = tempDir();
    const line = (v: unknown) => {
      const json = JSON.stringify(v);
      return `${crc32Hex(Buffer.from(json))}\t${json}\n`;
    };
    const without = (r: object) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "training"));
    writeFileSync(
      join(dir, JOURNAL_FILE),
      line({ journal: "posbridge", version: 2, createdAt: T0 }) +
        line(without(sale())) +
        line(without(attempt({ phase: "unknown" }))) +
        line(refund()),
    );
    const j = open(dir);
    expect(j.loadReport).toMatchObject({ records: 3, discardedLines: 0 });
    expect(j.sale("l1", "O1")).toEqual(sale());
    expect(j.attempt("A1")).toEqual(attempt({ phase: "unknown" }));
    expect(j.sale("l1", "O1")?.training).toBe(false);
    j.close();
    const header = journalBytes(dir).toString("utf8").split("\n")[0]?.split("\t")[1] ?? "";
    expect(JSON.parse(header)).toMatchObject({ version: 4 });
    // Written back with the field: read again in the current version, nothing discarded.
    expect(open(dir).loadReport).toMatchObject({ records: 3, discardedLines: 0 });
  });

  it("refuses a training flag that is not true or false", () => {
    const j = open(tempDir());
    expect(() => j.write({ ...sale(), training: "yes" } as unknown as SaleRecord)).toThrow(
      /sale\.training must be true or false/,
    );
  });
});

describe("Journal compaction", () => {
  it("purges settled records older than the retention, keeps UNKNOWN and open ones at any age", () => {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    const j = open(dir, { clock, retentionMs: 30 * DAY });
    // Settled and old: goes, with its attempt.
    j.write(attempt({ phase: "paid", paidAmountFen: 1234, nextDueMono: null }));
    j.write(paidSale());
    // UNKNOWN with an unresolved attempt: stays forever.
    j.write(sale({ orderRef: "O2", status: "UNKNOWN", attemptId: "A2", endedAt: T0 }));
    j.write(attempt({ attemptId: "A2", orderRef: "O2", phase: "unresolved" }));
    // Paid, but a refund whose outcome is unknown: stays, with the refund.
    j.write(paidSale({ orderRef: "O3", attemptId: "A3" }));
    j.write(attempt({ attemptId: "A3", orderRef: "O3", phase: "paid", nextDueMono: null }));
    j.write(refund({ refundId: "R3", orderRef: "O3", attemptId: "A3", phase: "unknown" }));
    // A settled attempt without a sale: goes. An open refund without a sale: stays.
    j.write(attempt({ attemptId: "A9", orderRef: "O9", phase: "cancelled", nextDueMono: null }));
    j.write(refund({ refundId: "R9", orderRef: "O9", attemptId: "A9" }));

    clock.advance(30 * DAY); // the cutoff equals the records' times: not older yet
    expect(j.compact()).toMatchObject({ kept: 9, purged: 0 });

    clock.advance(DAY);
    // Settled and old, but refunded yesterday: the recent refund keeps the sale and its attempt.
    j.write(paidSale({ orderRef: "O4", attemptId: "A4" }));
    j.write(attempt({ attemptId: "A4", orderRef: "O4", phase: "paid", nextDueMono: null }));
    j.write(
      refund({
        refundId: "R4",
        orderRef: "O4",
        attemptId: "A4",
        phase: "refunded",
        updatedAt: clock.wallNow(),
      }),
    );
    // Cancelled a minute ago: recent, stays.
    j.write(sale({ orderRef: "O5", status: "CANCELLED", endedAt: clock.wallNow() - 60_000 }));

    const result = j.compact();
    expect(result).toMatchObject({ kept: 10, purged: 3 });
    expect(j.sale("l1", "O1")).toBeUndefined();
    expect(j.attempt("A1")).toBeUndefined();
    expect(j.attempt("A9")).toBeUndefined();
    const keys = (records: JournalRecord[]) => records.map(recordKey).sort();
    const expected = [
      "attempt/A2",
      "attempt/A3",
      "attempt/A4",
      "refund/R3",
      "refund/R4",
      "refund/R9",
      "sale/l1/O2",
      "sale/l1/O3",
      "sale/l1/O4",
      "sale/l1/O5",
    ];
    expect(keys(j.records())).toEqual(expected);
    j.close();
    expect(keys(open(dir, { clock }).records())).toEqual(expected);
  });

  it("maybeCompact purges what is past retention even when the file is small (a quiet store)", () => {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    const j = open(dir, { clock, retentionMs: 30 * DAY });
    j.write(attempt({ phase: "paid", paidAmountFen: 1234, nextDueMono: null }));
    j.write(paidSale());
    clock.advance(30 * DAY);
    expect(j.maybeCompact()).toBe(false); // not older than the cutoff yet, and the file is tiny
    clock.advance(DAY);
    expect(j.maybeCompact()).toBe(true);
    expect(j.records()).toEqual([]);
    expect(journalBytes(dir).toString("utf8")).not.toContain('"orderRef":"O1"');
  });

  it("maybeCompact compacts once the file outgrows max(compactMinBytes, 2 × live bytes)", () => {
    const dir = tempDir();
    const j = open(dir, { compactMinBytes: 4096 });
    let compacted = 0;
    for (let i = 0; i < 40; i++) {
      j.write(sale({ updatedAt: T0 + i }));
      if (j.maybeCompact()) {
        compacted++;
        expect(j.stats().fileBytes).toBeLessThan(1024);
        expect(journalBytes(dir).length).toBe(j.stats().fileBytes);
      }
      expect(j.stats().fileBytes).toBeLessThanOrEqual(4096 + 400);
    }
    expect(compacted).toBeGreaterThan(0);
    expect(j.stats().compactions).toBe(compacted);
    expect(j.sale("l1", "O1")!.updatedAt).toBe(T0 + 39);

    // Many live records: the file may grow to twice their size before compaction.
    const k = open(tempDir(), { compactMinBytes: 100 });
    for (let i = 0; i < 20; i++) k.write(sale({ orderRef: `O${i}` }));
    expect(k.maybeCompact()).toBe(false);
    for (let i = 0; i < 20; i++) k.write(sale({ orderRef: `O${i}`, updatedAt: T0 + 1 }));
    expect(k.maybeCompact()).toBe(false); // 2 × (live + header) is not exceeded yet
    k.write(sale({ orderRef: "O0", updatedAt: T0 + 2 }));
    expect(k.maybeCompact()).toBe(true);
    expect(k.records()).toHaveLength(20);
  });
});

describe("Journal write failures", () => {
  const root = process.getuid?.() === 0;

  it("a directory that cannot be created: PB_JOURNAL_WRITE naming the path and the OS reason", () => {
    const base = tempDir();
    const file = join(base, "plain-file");
    writeFileSync(file, "x");
    const dir = join(file, "sub");
    const err = expectJournalError(() => open(dir), "PB_JOURNAL_WRITE");
    expect(err.message).toContain(join(dir, JOURNAL_FILE));
    expect(err.message).toContain("ENOTDIR");
  });

  it.skipIf(root)("a read-only directory: PB_JOURNAL_WRITE naming the path", () => {
    const dir = join(tempDir(), "ro");
    mkdirSync(dir, { mode: 0o500 });
    try {
      const err = expectJournalError(() => open(dir), "PB_JOURNAL_WRITE");
      expect(err.message).toContain(join(dir, JOURNAL_FILE));
      expect(err.message).toContain("EACCES");
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it("a closed journal refuses writes with PB_JOURNAL_WRITE", () => {
    const j = open(tempDir());
    j.close();
    expectJournalError(() => j.write(sale()), "PB_JOURNAL_WRITE");
  });

  it("a failing fsync: PB_JOURNAL_WRITE, the fold unchanged, the line cut off the file; writes refused until restored", () => {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    let failFsync = false;
    const j = open(dir, {
      clock,
      checkIntervalMs: 1000,
      onSyscall: (op) => {
        if (op === "write" && failFsync)
          throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
      },
    });
    j.write(sale());
    const before = journalBytes(dir);
    failFsync = true;
    const err = expectJournalError(() => j.write(paidSale()), "PB_JOURNAL_WRITE");
    expect(err.message).toContain("EIO");
    expect(j.health()).toMatchObject({ fault: "failed" });
    expect(j.sale("l1", "O1")!.status).toBe("OPEN");
    expect(journalBytes(dir)).toEqual(before);
    failFsync = false;
    // The file is not trusted after an I/O error: refused at once until check() rewrites it.
    expectJournalError(() => j.write(paidSale()), "PB_JOURNAL_WRITE");
    expect(journalBytes(dir)).toEqual(before);
    j.check(); // not before the fault has lasted checkIntervalMs
    expect(j.health()).not.toBeNull();
    clock.advance(1000);
    j.check();
    expect(j.health()).toBeNull();
    j.write(paidSale());
    j.close();
    const again = open(dir);
    expect(again.loadReport.discardedLines).toBe(0);
    expect(again.sale("l1", "O1")!.status).toBe("PAID");
  });
});

describe("readJournal", () => {
  it("a missing file is an empty journal", () => {
    expect(readJournal(join(tempDir(), "nope", JOURNAL_FILE))).toEqual({
      records: [],
      report: {
        lines: 0,
        records: 0,
        discardedLines: 0,
        discardedBytes: 0,
        tornTail: false,
        savedTo: null,
        missing: true,
      },
    });
  });

  it("reads a journal being appended: ignores the torn tail and never writes", () => {
    const dir = tempDir();
    const j = open(dir);
    j.write(sale());
    j.write(paidSale());
    j.close();
    const path = join(dir, JOURNAL_FILE);
    const torn = Buffer.concat([journalBytes(dir), Buffer.from('0badc0de\t{"kind":"sa')]);
    writeFileSync(path, torn);
    const { records, report } = readJournal(path);
    expect(records).toEqual([paidSale()]);
    expect(report).toMatchObject({ lines: 3, records: 1, tornTail: true, discardedBytes: 20, savedTo: null });
    expect(readFileSync(path)).toEqual(torn);
    expect(readdirSync(dir)).toEqual([JOURNAL_FILE]);
  });

  it("an unreadable path: PB_JOURNAL_CORRUPT", () => {
    const dir = tempDir();
    mkdirSync(join(dir, JOURNAL_FILE));
    expectJournalError(() => readJournal(join(dir, JOURNAL_FILE)), "PB_JOURNAL_CORRUPT");
  });
});
