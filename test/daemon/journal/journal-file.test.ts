// The journal's file handle on a real temp directory: an append to a file that was unlinked,
// replaced, rewritten in place, or whose directory is gone succeeds at the syscall level, and
// must be refused (PB_JOURNAL_GONE); then the Journal's fault: writes refused at once, the fold
// kept, and check() writing the whole journal again once the directory can be created.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { BridgeError, isBridgeError } from "../../../daemon/errors.js";
import { JOURNAL_FILE, Journal, type JournalHealth, readJournal } from "../../../daemon/journal/journal.js";
import { JournalFile, type JournalSyscall, journalFaultOf } from "../../../daemon/journal/journal-file.js";
import { encodeLine } from "../../../daemon/journal/journal-line.js";
import type { SaleRecord } from "../../../protocols/sale/records.js";

const T0 = 1_760_000_000_000;
const silent = pino({ level: "silent" });
const none = () => {};

function tempDir(): string {
  return join(mkdtempSync(join(tmpdir(), "posbridge-jfile-")), "state");
}

function goneError(fn: () => unknown): BridgeError {
  try {
    fn();
  } catch (err) {
    expect(isBridgeError(err, "PB_JOURNAL_GONE"), String(err)).toBe(true);
    return err as BridgeError;
  }
  throw new Error("expected PB_JOURNAL_GONE");
}

const line = (n: number) => encodeLine({ n });

describe("JournalFile: is the open file still the one at its path?", () => {
  function setup() {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    const file = JournalFile.create(path, line(0), none);
    file.append(line(1));
    return { dir, path, file };
  }

  it("a healthy file: appends verify, and the byte count follows", () => {
    const { path, file } = setup();
    file.verify();
    expect(file.bytes).toBe(line(0).length + line(1).length);
    expect(fileSize(path)).toBe(file.bytes);
    file.close();
  });

  it("appendAsync: the bytes go to the file at once, only the fsync is waited for, then the check", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    const ops: JournalSyscall[] = [];
    const file = JournalFile.create(path, line(0), (op) => ops.push(op));
    ops.length = 0;
    const done = file.appendAsync(line(1));
    expect(ops).toEqual(["write"]); // in the page cache before appendAsync returned
    expect(fileSize(path)).toBe(line(0).length + line(1).length);
    expect(file.busy).toBe(true); // the fsync is pending: no other append, no verify()
    await done;
    expect(ops).toEqual(["write", "fsync"]);
    expect(file.bytes).toBe(line(0).length + line(1).length);
    // The identity check still follows the fsync: a file removed meanwhile is refused.
    const late = file.appendAsync(line(2));
    unlinkSync(path);
    await expect(late).rejects.toMatchObject({ code: "PB_JOURNAL_GONE" });
    file.close();
  });

  it("unlinked: the append and its fsync succeed on the dead inode, and are refused", () => {
    const { path, file } = setup();
    unlinkSync(path);
    const err = goneError(() => file.append(line(2)));
    expect(err.message).toContain(path);
    expect(err.message).toContain("no longer at its path");
    expect(err.context).toMatchObject({ openLinks: 0, pathIno: null });
    file.close();
  });

  it("the directory removed (rm -rf): refused the same way", () => {
    const { dir, file } = setup();
    rmSync(dir, { recursive: true, force: true });
    goneError(() => file.append(line(2)));
    goneError(() => file.verify());
    file.close();
  });

  it("another file renamed over it (a new inode at the path): refused", () => {
    const { dir, path, file } = setup();
    writeFileSync(join(dir, "other"), "old backup\n");
    renameSync(join(dir, "other"), path);
    const err = goneError(() => file.verify());
    expect(err.message).toContain("another file is at its path");
    goneError(() => file.append(line(2)));
    file.close();
  });

  it("rewritten in place (cp over it keeps the inode): refused by its size", () => {
    const { dir, path, file } = setup();
    writeFileSync(join(dir, "backup"), "x\n");
    copyFileSync(join(dir, "backup"), path); // truncates and writes the same inode
    const err = goneError(() => file.verify());
    expect(err.message).toContain("rewritten in place");
    file.close();
  });

  it("openAppend never creates a missing journal.log (an empty file would pass for a whole one)", () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    let err: unknown;
    try {
      JournalFile.openAppend(path, 0, none);
    } catch (e) {
      err = e;
    }
    expect(isBridgeError(err, "PB_JOURNAL_WRITE")).toBe(true);
    expect(journalFaultOf(err)).toBe("gone");
    expect(existsSync(path)).toBe(false);
  });

  it("names the fault the register is told from the errno", () => {
    const sys = (code: string) => Object.assign(new Error(code), { code });
    const bridge = (errno: string) => new BridgeError("PB_JOURNAL_WRITE", "x", { context: { errno } });
    expect(journalFaultOf(sys("ENOSPC"))).toBe("full");
    expect(journalFaultOf(bridge("EDQUOT"))).toBe("full");
    expect(journalFaultOf(bridge("EROFS"))).toBe("readOnly");
    expect(journalFaultOf(bridge("EACCES"))).toBe("readOnly");
    expect(journalFaultOf(sys("EPERM"))).toBe("readOnly");
    expect(journalFaultOf(new BridgeError("PB_JOURNAL_GONE", "x"))).toBe("gone");
    expect(journalFaultOf(bridge("ENOTDIR"))).toBe("gone");
    expect(journalFaultOf(bridge("EIO"))).toBe("failed");
    expect(journalFaultOf(new Error("?"))).toBe("failed");
  });
});

describe("Journal: a file that is gone, and the directory back", () => {
  function sale(orderRef: string, status: SaleRecord["status"] = "PAID"): SaleRecord {
    return {
      kind: "sale",
      laneId: "l1",
      orderRef,
      amountFen: 100,
      seq: "01",
      openedAt: T0,
      status,
      answered: true,
      scheme: null,
      channelTradeNo: "",
      attemptId: null,
      attempts: 0,
      text: "",
      endedAt: status === "OPEN" ? null : T0,
      attention: "",
      attentionAt: null,
      training: false,
      updatedAt: T0,
    };
  }

  function setup() {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    const health: (JournalHealth | null)[] = [];
    const syscalls: JournalSyscall[] = [];
    const journal = Journal.open({
      dir,
      clock,
      log: silent,
      checkIntervalMs: 1000,
      onHealth: (h) => health.push(h),
      onSyscall: (op) => syscalls.push(op),
    });
    journal.write(sale("P1"));
    journal.write(sale("P2"));
    return { dir, clock, health, syscalls, journal };
  }

  it("dir gone: the write is refused (PB_JOURNAL_GONE), the fold keeps what it had, later writes fail at once", () => {
    const { dir, health, syscalls, journal } = setup();
    rmSync(dir, { recursive: true, force: true });
    goneError(() => journal.write(sale("P3")));
    expect(journal.sale("l1", "P3")).toBeUndefined();
    expect(journal.sale("l1", "P1")?.status).toBe("PAID");
    expect(journal.sale("l1", "P2")?.status).toBe("PAID");
    expect(health).toEqual([expect.objectContaining({ fault: "gone" })]);
    const before = syscalls.length;
    goneError(() => journal.write(sale("P4")));
    expect(syscalls.length).toBe(before); // refused without touching the disk
    expect(health).toHaveLength(1); // one alarm per change, not per write
    expect(journal.stats().failedWrites).toBe(2);
  });

  it("check() notices a removed directory when nothing is written", () => {
    const { dir, health, journal } = setup();
    journal.check();
    expect(health).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
    journal.check();
    expect(health).toEqual([expect.objectContaining({ fault: "gone" })]);
  });

  it("dir back: after checkIntervalMs the whole journal is written again from memory, and writes work", () => {
    const { dir, clock, health, journal } = setup();
    rmSync(dir, { recursive: true, force: true });
    journal.check();
    journal.check(); // the fault is younger than checkIntervalMs: whoever removed it may not be done
    expect(existsSync(dir)).toBe(false);
    clock.advance(1000);
    journal.check();
    expect(health).toEqual([expect.objectContaining({ fault: "gone" }), null]);
    expect(journal.stats().restores).toBe(1);
    const { records, report } = readJournal(join(dir, JOURNAL_FILE));
    expect(records.map((r) => (r as SaleRecord).orderRef).sort()).toEqual(["P1", "P2"]);
    expect(report.discardedLines).toBe(0);
    expect(readdirSync(dir)).toEqual([JOURNAL_FILE]);
    journal.write(sale("P3"));
    journal.close();
    const again = Journal.open({ dir, clock, log: silent });
    expect(again.sale("l1", "P3")?.status).toBe("PAID");
    expect(again.records()).toHaveLength(3);
    again.close();
  });

  it("a directory that cannot be created yet: stays down, and is restored once it can be", () => {
    const { dir, clock, health, journal } = setup();
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, "a file where the state directory was");
    clock.advance(1000);
    journal.check(); // detects: the path no longer leads to the file
    clock.advance(1000);
    journal.check(); // mkdir over a file fails: still gone
    expect(journal.health()?.fault).toBe("gone");
    expect(health.filter((h) => h === null)).toEqual([]);
    unlinkSync(dir);
    clock.advance(1000);
    journal.check();
    expect(journal.health()).toBeNull();
    expect(readJournal(join(dir, JOURNAL_FILE)).records).toHaveLength(2);
  });

  it("a compaction into a vanished directory fails and puts the journal in the gone fault", () => {
    const { dir, health, journal } = setup();
    rmSync(dir, { recursive: true, force: true });
    expect(() => journal.compact()).toThrow();
    expect(health).toEqual([expect.objectContaining({ fault: "gone" })]);
    expect(journal.maybeCompact()).toBe(false); // nothing more is tried until check() restores
  });

  it("a journal.log replaced by an old copy is written again from memory, not appended to", () => {
    const { dir, clock, journal } = setup();
    const path = join(dir, JOURNAL_FILE);
    const old = join(dir, "..", "old.log");
    copyFileSync(path, old);
    journal.write(sale("P3"));
    renameSync(old, path); // a backup restored over the live file
    goneError(() => journal.write(sale("P4")));
    clock.advance(1000);
    journal.check();
    expect(
      readJournal(path)
        .records.map((r) => (r as SaleRecord).orderRef)
        .sort(),
    ).toEqual(["P1", "P2", "P3"]);
  });

  it("open reports a missing journal (a new one is created)", () => {
    const dir = tempDir();
    const j = Journal.open({ dir, clock: new ManualClock(T0), log: silent });
    expect(j.loadReport.missing).toBe(true);
    j.close();
    const again = Journal.open({ dir, clock: new ManualClock(T0), log: silent });
    expect(again.loadReport.missing).toBe(false);
    again.close();
  });
});

function fileSize(path: string): number {
  return statSync(path).size;
}
