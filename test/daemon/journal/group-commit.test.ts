// Group commit (daemon/journal/group-commit.ts, Journal.commit): the records of every caller that
// commits meanwhile go in one write and one fsync; each caller's promise resolves only once its
// own records are durable, and no reader sees them before; a batch that fails fails every commit
// in it and leaves the file and the fold as they were; the file is never swapped under a batch.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { isBridgeError } from "../../../daemon/errors.js";
import { GroupCommit } from "../../../daemon/journal/group-commit.js";
import { JOURNAL_FILE, Journal, type JournalSyscall, readJournal } from "../../../daemon/journal/journal.js";
import { attemptRecord, saleRecord } from "../../support/journal-records.js";

const silent = pino({ level: "silent" });

function open(over: { onSyscall?: (op: JournalSyscall, path: string) => void } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pb-group-"));
  const syscalls: string[] = [];
  const journal = Journal.open({
    dir,
    clock: new ManualClock(),
    log: silent,
    onSyscall: (op, path) => {
      over.onSyscall?.(op, path);
      if (path.endsWith(JOURNAL_FILE)) syscalls.push(op);
    },
  });
  syscalls.length = 0; // the header's
  return { dir, journal, syscalls, path: join(dir, JOURNAL_FILE) };
}

/** What a caller sees of its commit: resolved, rejected (with the error) or still pending. */
function watch(p: Promise<void>) {
  const state: { done: boolean; err: unknown } = { done: false, err: undefined };
  p.then(
    () => {
      state.done = true;
    },
    (err: unknown) => {
      state.done = true;
      state.err = err;
    },
  );
  return state;
}

describe("GroupCommit", () => {
  it("takes every commit made while a flush runs into the next flush, whole and in order", async () => {
    const flushes: string[][] = [];
    const gates: (() => void)[] = [];
    const group = new GroupCommit<string>((items) => {
      flushes.push(items);
      return new Promise<void>((resolve) => gates.push(resolve));
    });
    const a = watch(group.commit(["a1", "a2"]));
    await new Promise((r) => setImmediate(r));
    expect(flushes).toEqual([["a1", "a2"]]); // an idle group flushes once the committing code ran
    const b = watch(group.commit(["b1"]));
    const c = watch(group.commit(["c1", "c2"]));
    await new Promise((r) => setImmediate(r));
    expect(flushes).toHaveLength(1); // one flush at a time: b and c wait for a's
    expect(group.waiting).toBe(2);
    gates[0]?.();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r)); // the next flush starts at the turn after
    expect(a.done).toBe(true);
    expect([b.done, c.done]).toEqual([false, false]); // not before their own flush
    expect(flushes).toEqual([
      ["a1", "a2"],
      ["b1", "c1", "c2"],
    ]);
    gates[1]?.();
    await new Promise((r) => setImmediate(r));
    expect([b.done, c.done]).toEqual([true, true]);
    expect(group.stats()).toEqual({ flushes: 2, commits: 3, largestBatch: 2 });
  });

  it("an idle group starts its flush once the committing code has run, not a loop turn later", async () => {
    const flushes: string[][] = [];
    const turns: string[] = [];
    const group = new GroupCommit<string>(async (items) => {
      flushes.push(items);
    });
    setImmediate(() => turns.push("next turn"));
    const a = watch(group.commit(["a1"]));
    const b = watch(group.commit(["b1", "b2"]));
    expect(flushes).toEqual([]); // never inside the committing code: what it commits together joins
    await new Promise((r) => process.nextTick(r));
    expect(flushes).toEqual([["a1", "b1", "b2"]]);
    expect(turns).toEqual([]); // before the event loop turned
    await new Promise((r) => setImmediate(r));
    expect([a.done, b.done]).toEqual([true, true]);
  });

  it("a failed flush rejects every commit of its batch with its error, and only those", async () => {
    let fail = true;
    const group = new GroupCommit<string>(async () => {
      if (fail) throw new Error("EIO");
    });
    const a = group.commit(["a"]);
    const b = group.commit(["b"]);
    await expect(a).rejects.toThrow("EIO");
    await expect(b).rejects.toThrow("EIO");
    fail = false;
    await expect(group.commit(["c"])).resolves.toBeUndefined();
  });
});

describe("Journal.commit", () => {
  it("writes the records of 32 concurrent callers in one write and one fsync, each whole and in order", async () => {
    const { journal, syscalls, path } = open();
    const commits = Array.from({ length: 32 }, (_, i) =>
      journal.commit([attemptRecord(`O${i}`, { phase: "sent" }), saleRecord(`O${i}`, { status: "PENDING" })]),
    );
    await Promise.all(commits);
    expect(syscalls).toEqual(["write", "fsync"]);
    const records = readJournal(path).records;
    expect(records).toHaveLength(64);
    const lines = readFileSync(path, "utf8").trim().split("\n").slice(1);
    // Each caller's records are together, in the order of the calls.
    for (let i = 0; i < 32; i++) {
      expect(lines[2 * i]).toContain(`"attemptId":"AO${i}"`);
      expect(lines[2 * i + 1]).toContain(`"orderRef":"O${i}"`);
    }
    expect(journal.stats()).toMatchObject({ appends: 64, liveRecords: 64 });
    expect(journal.commitStats()).toMatchObject({ flushes: 1, commits: 32 });
    expect(journal.describe().groupCommit).toEqual({ flushes: 1, commits: 32, largestBatch: 32 });
    journal.close();
  });

  it("says how long the batch being written has been at it (the watchdog reads it), 0 once it is done", async () => {
    const clock = new ManualClock();
    const journal = Journal.open({ dir: mkdtempSync(join(tmpdir(), "pb-group-")), clock, log: silent });
    expect(journal.commitInFlightMs()).toBe(0);
    const p = journal.commit([saleRecord("O1")]);
    await new Promise((r) => setImmediate(r)); // the batch is being written now
    clock.advance(7_000);
    expect(journal.commitInFlightMs()).toBe(7_000);
    await p;
    expect(journal.commitInFlightMs()).toBe(0);
    journal.close();
  });

  it("no reader sees a record before its commit has resolved", async () => {
    const { journal } = open();
    const p = journal.commit([saleRecord("O1", { status: "PAID" })]);
    expect(journal.sale("l1", "O1")).toBeUndefined();
    await p;
    expect(journal.sale("l1", "O1")?.status).toBe("PAID");
    journal.close();
  });

  it("a batch whose write fails (ENOSPC) fails every commit in it: cut off the file, out of the fold, the journal in a fault", async () => {
    let failing = false;
    const { journal, path } = open({
      onSyscall: (op, p) => {
        if (failing && op === "write" && p.endsWith(JOURNAL_FILE))
          throw Object.assign(new Error("ENOSPC: injected"), { code: "ENOSPC" });
      },
    });
    await journal.commit([saleRecord("KEEP")]);
    const size = readFileSync(path).length;
    failing = true;
    const results = await Promise.allSettled([
      journal.commit([saleRecord("A1"), attemptRecord("A1")]),
      journal.commit([saleRecord("B1")]),
    ]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(isBridgeError((r as PromiseRejectedResult).reason, "PB_JOURNAL_WRITE")).toBe(true);
    }
    expect(readFileSync(path).length).toBe(size); // the batch's bytes were cut off again
    expect(readJournal(path).records.map((r) => r.kind === "sale" && r.orderRef)).toEqual(["KEEP"]);
    expect(journal.sale("l1", "A1")).toBeUndefined();
    expect(journal.sale("l1", "B1")).toBeUndefined();
    expect(journal.health()?.fault).toBe("full");
    // While the fault lasts a commit is refused at once, touching nothing.
    failing = false;
    await expect(journal.commit([saleRecord("C1")])).rejects.toMatchObject({ code: "PB_JOURNAL_WRITE" });
    expect(journal.stats().failedWrites).toBe(4);
    journal.close();
  });

  it("a file removed under the journal: the batch is PB_JOURNAL_GONE and not durable, whatever write and fsync said", async () => {
    const { journal, dir } = open();
    await journal.commit([saleRecord("KEEP")]);
    rmSync(dir, { recursive: true, force: true });
    const results = await Promise.allSettled([
      journal.commit([saleRecord("A1")]),
      journal.commit([saleRecord("B1")]),
    ]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(isBridgeError((r as PromiseRejectedResult).reason, "PB_JOURNAL_GONE")).toBe(true);
    }
    expect(journal.sale("l1", "A1")).toBeUndefined();
    expect(journal.sale("l1", "KEEP")).toBeDefined();
    expect(journal.health()?.fault).toBe("gone");
    journal.close();
  });

  it("a record refused for its content refuses the whole call at once and queues nothing", async () => {
    const { journal, syscalls } = open();
    const bad = { ...attemptRecord("X"), authCode: "134567890123456789" };
    await expect(journal.commit([saleRecord("X"), bad as never])).rejects.toMatchObject({
      code: "PB_JOURNAL_WRITE",
      context: { refused: true },
    });
    await new Promise((r) => setImmediate(r));
    expect(syscalls).toEqual([]);
    expect(journal.sale("l1", "X")).toBeUndefined();
    expect(journal.health()).toBeNull();
    journal.close();
  });

  it("never swaps the file under a batch being written: maybeCompact waits for it, check() leaves it alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-group-"));
    const journal = Journal.open({ dir, clock: new ManualClock(), log: silent, compactMinBytes: 1 });
    for (let i = 0; i < 5; i++) journal.write(saleRecord("SAME", { seq: String(10 + i) }));
    const p = journal.commit([saleRecord("SAME", { seq: "99" })]);
    await new Promise((r) => setImmediate(r)); // the batch is being written now
    expect(journal.maybeCompact()).toBe(false);
    expect(() => journal.compact()).toThrow(/while a batch is being written/);
    journal.check();
    expect(journal.health()).toBeNull();
    await p;
    // The compaction asked for ran once the batch was durable: one line per live record.
    expect(journal.stats().compactions).toBe(1);
    const lines = readFileSync(join(dir, JOURNAL_FILE), "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('"seq":"99"');
    expect(journal.sale("l1", "SAME")?.seq).toBe("99");
    journal.close();
  });
});
