// The sale journal: `<stateDir>/journal.log`, append-only, one CRC'd JSON snapshot per line
// (journal-line.ts), folded last-write-wins by recordKey (journal-fold.ts). Two write paths, both
// durable before they return: write() (synchronous, one line, one fsync) and commit() (group
// commit, group-commit.ts: the records of every lane that commit meanwhile go in one write and
// one fsync on libuv's threadpool, and each caller's promise resolves once its own records are
// durable), so a caller that journals before it publishes or answers never acts on something a
// crash could forget. A record enters the fold only once it is durable. Damaged lines found at
// open are saved to a sidecar file and the journal is rewritten clean, so an append never follows
// garbage. Compaction rewrites live records to journal.log.tmp, fsyncs, renames it over
// journal.log and fsyncs the directory. The file handle and its checks (is the open file still
// the one at the path?) are in journal-file.ts. A write that fails puts the journal in a fault
// (full, read-only, gone, failed): writes fail fast, the fold keeps what it had, and check()
// (run every checkIntervalMs) rewrites the whole journal from memory once it can. Design and
// format: docs/journal.md.
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "../../protocols/sale/records.js";
import type { JournalFault } from "../../protocols/sale/sale-types.js";
import type { Clock } from "../clock.js";
import type { JournalSnapshot } from "../diagnostics/snapshot.js";
import { BridgeError, isBridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import {
  fsyncDir,
  JournalFile,
  type JournalSyscall,
  journalFaultOf,
  type SyscallHook,
  unlinkQuietly,
  writeError,
  writeNewFileDurably,
} from "./journal-file.js";
import { writeCompaction } from "./journal-compaction.js";
import { DEFAULT_RECENT_SALES, JournalFold } from "./journal-fold.js";
import { GroupCommit, type GroupCommitStats } from "./group-commit.js";
import { decodeLine, encodeLine } from "./journal-line.js";
import { JournalReader, PathSource } from "./journal-reader.js";
import {
  encodeSnapshot,
  locsOf,
  readSnapshot,
  removeSnapshot,
  snapshotPath,
  TAIL_CHECK_BYTES,
  writeSnapshot,
} from "./journal-snapshot.js";
import {
  canonicalRecord,
  checkHeader,
  checkRecord,
  JOURNAL_MAGIC,
  JOURNAL_VERSION,
  type JournalHeader,
  READABLE_JOURNAL_VERSIONS,
  upgradeRecord,
} from "./record-shape.js";

export const JOURNAL_FILE = "journal.log";
const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const DEFAULT_COMPACT_MIN_BYTES = 1024 * 1024;
const DEFAULT_SNAPSHOT_MIN_BYTES = 1024 * 1024;

export const DEFAULT_JOURNAL_CHECK_MS = 5_000;

export type { JournalSyscall };

/** The journal cannot be written: why, the error that said so, and since when (monotonic). */
export interface JournalHealth {
  fault: JournalFault;
  error: BridgeError;
  sinceMono: number;
}

export interface JournalOptions {
  dir: string;
  /**
   * Settled records (isSettled) whose time (sale: endedAt, attempt/refund: updatedAt) is older
   * than now - retentionMs are purged at compaction. A sale is only purged with its attempts and
   * refunds all settled (and older than the cutoff too). Default 30 days.
   */
  retentionMs?: number;
  clock: Clock;
  log: Logger;
  /** Compact when the file exceeds max(compactMinBytes, 2 × bytes of the live records). Default 1 MiB. */
  compactMinBytes?: number;
  /** Test seam: called with (op, path) after each such syscall succeeds, so tests can assert ordering. */
  onSyscall?: SyscallHook;
  /**
   * How long a fault must have lasted before check() tries to restore the journal (default 5 s):
   * whoever removed the directory has finished (an `rm -rf` still walking the tree would remove
   * the restored file too), and a flapping disk does not make the journal flap with it.
   */
  checkIntervalMs?: number;
  /** The journal went into a fault (health) or out of it (null). Called once per change. */
  onHealth?: (health: JournalHealth | null) => void;
  /**
   * Settled sales kept in memory in full (the most recent to settle); older ones are index rows
   * read back from the file when asked for (docs/journal.md, "Memory"). Default 1024.
   */
  recentSales?: number;
  /**
   * A snapshot (journal.snapshot) is written at compaction and close once the journal is this
   * big, and by maintain() when the lines after the last one reach it. Default 1 MiB.
   */
  snapshotMinBytes?: number;
}

export interface JournalLoadReport {
  /** Newline-terminated lines read (incl. header); a torn tail is not counted here. */
  lines: number;
  /** Live records after the fold. */
  records: number;
  /** Bad CRC / bad JSON / not a known record shape (or a header where a record belongs). */
  discardedLines: number;
  /** Bytes of those lines plus a torn (no newline) tail. */
  discardedBytes: number;
  tornTail: boolean;
  /** Where the discarded bytes were saved for forensics (`journal.log.corrupt-<ms>`), or null. */
  savedTo: string | null;
  /** There was no journal file (open: a new one was created; readJournal: nothing to read). */
  missing: boolean;
  /** Open read journal.snapshot, covering the file up to this byte, and only the lines after it. */
  snapshot?: number;
}

export interface CompactResult {
  kept: number;
  purged: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface JournalStats {
  fileBytes: number;
  liveRecords: number;
  /** Records appended by write() since open. */
  appends: number;
  /** fsync calls since open (file, temporary file, sidecar and directory). */
  fsyncs: number;
  compactions: number;
  /** Writes refused (failed, or refused at once while in a fault) since open. */
  failedWrites: number;
  /** Whole journals rewritten from memory after a fault. */
  restores: number;
}

/** A record of a commit(), encoded, waiting for its batch (group-commit.ts). */
interface Staged {
  record: JournalRecord;
  line: Buffer;
}

interface Scan {
  fold: JournalFold;
  report: JournalLoadReport;
  /** The discarded lines and torn tail, in file order (for the sidecar). */
  bad: Uint8Array[];
  /** The first line is a valid header of a version this posbridge reads. */
  headerOk: boolean;
  /** The header's version (null without a valid header). */
  version: number | null;
  /** Where the last whole line ends. */
  end: number;
  /** Read from journal.snapshot (covering the journal up to here) and the lines after it. */
  snapshotOffset?: number;
}

/**
 * Reads journal.log's lines from `from` (0: the whole file, header first; else the tail after a
 * snapshot, of `version`): verify each line, fold the records, count what was discarded.
 */
function scan(reader: JournalReader, path: string, fold: JournalFold, from = 0, knownVersion?: number): Scan {
  const bad: Uint8Array[] = [];
  let discardedBytes = 0;
  let headerOk = from > 0;
  let version: number | null = knownVersion ?? null;
  let lines = 0;
  reader.upgrade = version !== JOURNAL_VERSION;
  fold.source = reader;
  let torn: ReturnType<JournalReader["forEachLine"]>;
  try {
    torn = reader.forEachLine(from, (bytes, start, end, fileOffset) => {
      const first = from === 0 && lines === 0;
      lines++;
      const decoded = decodeLine(bytes, { start, end });
      if (decoded.ok && first && checkHeader(decoded.value) === undefined) {
        version = (decoded.value as JournalHeader).version;
        if (!READABLE_JOURNAL_VERSIONS.includes(version)) {
          throw new BridgeError(
            "PB_JOURNAL_CORRUPT",
            `journal ${path} has format version ${version}; this posbridge reads versions ${READABLE_JOURNAL_VERSIONS.join(", ")}`,
            { context: { path, version } },
          );
        }
        headerOk = true;
        reader.upgrade = version !== JOURNAL_VERSION;
        return;
      }
      // An older journal (or one whose header was lost) holds records of an older shape.
      if (decoded.ok) {
        const value = version === JOURNAL_VERSION ? decoded.value : upgradeRecord(decoded.value);
        if (checkRecord(value) === undefined) {
          fold.put(canonicalRecord(value as JournalRecord), fileOffset, end - start);
          return;
        }
      }
      bad.push(Buffer.from(bytes.subarray(start, end)));
      discardedBytes += end - start;
    });
  } catch (err) {
    throw isBridgeError(err) ? err : readError(path, err);
  }
  if (torn) {
    bad.push(torn.bytes);
    discardedBytes += torn.bytes.length;
  }
  return {
    fold,
    bad,
    headerOk,
    version,
    end: torn ? torn.offset : reader.size,
    report: {
      lines,
      records: fold.size,
      discardedLines: bad.length - (torn ? 1 : 0),
      discardedBytes,
      tornTail: torn !== null,
      savedTo: null,
      missing: false,
    },
  };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const EMPTY_REPORT: JournalLoadReport = {
  lines: 0,
  records: 0,
  discardedLines: 0,
  discardedBytes: 0,
  tornTail: false,
  savedTo: null,
  missing: true,
};

export class Journal {
  readonly loadReport: JournalLoadReport;
  private readonly path: string;
  private readonly tmpPath: string;
  private readonly dir: string;
  private readonly retentionMs: number;
  private readonly compactMinBytes: number;
  private readonly checkIntervalMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly repeats: RepeatLimiter;
  private readonly onSyscall: SyscallHook;
  private readonly onHealth: (health: JournalHealth | null) => void;
  private readonly fold: JournalFold;
  private readonly snapshotMinBytes: number;
  /** Reads lines back for the fold's index (its own descriptor on the file the index describes). */
  private reader: JournalReader | null = null;
  /** journal.log bytes covered by journal.snapshot as it is on disk (0: none). */
  private snapshotOffset = 0;
  /** Lines journal.log had when appends was this (for the snapshot's load report). */
  private linesAt = { lines: 0, appends: 0 };
  /** The open file; null before open, after close, after a fault, and while a compaction swaps it. */
  private file: JournalFile | null = null;
  /** Length of journal.log up to its last good line (the file's own count while it is open). */
  private fileBytes = 0;
  private fault: JournalHealth | null = null;
  private closed = false;
  private appends = 0;
  private fsyncs = 0;
  private compactions = 0;
  private failedWrites = 0;
  private restores = 0;
  private lastFsyncAt: number | null = null;
  /** Wall ms the current fault began (for diagnostics; the fault's own clock is monotonic). */
  private faultSinceWall = 0;
  /** commit()'s batches: one write and one fsync for the records of every lane (group-commit.ts). */
  private readonly group = new GroupCommit<Staged>((batch) => this.flush(batch));
  /** maybeCompact() came while a batch was being written: it runs once that batch is done. */
  private compactAfterFlush = false;
  /** Monotonic ms the batch being written started, or null (commitInFlightMs). */
  private flushSinceMono: number | null = null;

  private constructor(options: JournalOptions, fold: JournalFold, report: JournalLoadReport) {
    this.dir = options.dir;
    this.path = join(options.dir, JOURNAL_FILE);
    this.tmpPath = `${this.path}.tmp`;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.compactMinBytes = options.compactMinBytes ?? DEFAULT_COMPACT_MIN_BYTES;
    this.snapshotMinBytes = options.snapshotMinBytes ?? DEFAULT_SNAPSHOT_MIN_BYTES;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_JOURNAL_CHECK_MS;
    this.clock = options.clock;
    this.log = options.log;
    this.repeats = new RepeatLimiter(options.log, options.clock);
    const hook = options.onSyscall ?? (() => {});
    this.onSyscall = (op, path) => {
      if (op === "fsync" || op === "fsyncDir") {
        this.fsyncs++;
        this.lastFsyncAt = this.clock.wallNow();
      }
      hook(op, path);
    };
    this.onHealth = options.onHealth ?? (() => {});
    this.fold = fold;
    this.loadReport = report;
    this.linesAt = { lines: report.lines, appends: 0 };
  }

  /**
   * Creates the directory (mode 0o700) and file if needed, reads, verifies and folds the journal:
   * from journal.snapshot and the lines after it when the snapshot matches the journal, else the
   * whole file (a snapshot that does not match is logged and ignored).
   * Damaged lines or a torn tail: their bytes are saved to `journal.log.corrupt-<ms>`, the journal
   * is rewritten clean (compact), and a warning with the counts is logged.
   * Throws PB_JOURNAL_WRITE when the directory or file cannot be created or written,
   * PB_JOURNAL_UNREADABLE when permissions forbid reading the file, PB_JOURNAL_CORRUPT when it
   * cannot be read otherwise or has another format version.
   */
  static open(options: JournalOptions): Journal {
    const path = join(options.dir, JOURNAL_FILE);
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw writeError("create the directory of", path, err);
    }
    unlinkQuietly(`${path}.tmp`); // left by a compaction cut short: journal.log is still whole
    const reader = openReader(path);
    const newFold = () => new JournalFold({ recentSales: options.recentSales ?? DEFAULT_RECENT_SALES });
    if (!reader) {
      removeSnapshot(options.dir); // it described a journal that is gone
      const journal = new Journal(options, newFold(), { ...EMPTY_REPORT });
      journal.create();
      return journal;
    }
    let loaded: Scan | undefined;
    try {
      const snap = loadSnapshot(options.dir, reader, newFold, path);
      if (typeof snap === "string") {
        options.log.warn(
          { journal: path, snapshot: snapshotPath(options.dir), problem: snap },
          `journal snapshot not used (${snap}): reading the whole journal`,
        );
      } else if (snap) {
        loaded = snap;
      }
      loaded ??= scan(reader, path, newFold());
    } catch (err) {
      reader.close();
      throw isBridgeError(err) ? err : readError(path, err);
    }
    const report = loaded.report;
    const journal = new Journal(options, loaded.fold, report);
    journal.reader = reader;
    // The snapshot on disk still covers the journal's first bytes; the next one is due a tail later.
    journal.snapshotOffset = loaded.snapshotOffset ?? 0;
    if (loaded.bad.length > 0) {
      report.savedTo = journal.saveSidecar(loaded.bad);
      journal.fileBytes = reader.size;
      journal.compact();
      options.log.warn(
        { journal: path, ...report },
        "journal: damaged lines discarded; saved for support and the journal rewritten",
      );
    } else if (!loaded.headerOk) {
      journal.fileBytes = reader.size;
      journal.compact();
    } else if (loaded.version !== JOURNAL_VERSION) {
      journal.fileBytes = reader.size;
      journal.compact();
      options.log.info(
        { journal: path, from: loaded.version, to: JOURNAL_VERSION },
        "journal upgraded to the current format",
      );
    } else {
      journal.fileBytes = loaded.end;
      journal.file = JournalFile.openAppend(path, loaded.end, journal.onSyscall);
      journal.maybeCompact();
    }
    return journal;
  }

  /**
   * Appends `record` and returns once it is fsync'd in the file at the journal's path. Throws
   * PB_JOURNAL_WRITE (the line was cut off again) or PB_JOURNAL_GONE (the file was removed or
   * replaced: the line is not durable); either puts the journal in a fault, and while it lasts
   * every write throws that error at once, touching nothing, until check() restores the journal.
   * The fold changes only after a durable write.
   */
  write(record: JournalRecord): void {
    if (this.closed) throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    const problem = checkRecord(record);
    if (problem !== undefined) {
      throw new BridgeError("PB_JOURNAL_WRITE", `journal record refused: ${problem}`, {
        context: { path: this.path, kind: (record as { kind?: unknown })?.kind, refused: true },
      });
    }
    if (this.fault) {
      this.failedWrites++;
      throw this.fault.error;
    }
    // Mixing the two paths is a bug of the caller, not a fault of the storage.
    if (this.file?.busy)
      throw new Error(`journal ${this.path}: write() while a commit() batch is being written`);
    const copy = canonicalRecord(record);
    const line = encodeLine(copy);
    try {
      this.appendFile().append(line);
    } catch (err) {
      this.failedWrites++;
      throw this.fail(err);
    }
    this.fileBytes += line.length;
    this.appends++;
    this.fold.put(copy, this.fileBytes - line.length, line.length);
  }

  /**
   * Group commit: queues `records` (kept together and in order) for the next batch and resolves
   * once they are fsync'd in the file at the journal's path, with the records every other caller
   * committed meanwhile, in one write and one fsync (group-commit.ts). Rejects as write() throws:
   * a refused record refuses the whole call at once, queuing nothing; a batch that fails
   * (PB_JOURNAL_WRITE, cut off again, or PB_JOURNAL_GONE) rejects every commit in it and puts
   * the journal in a fault, and while it lasts every commit is rejected with that error. The fold
   * changes only once the batch is durable: until then no reader sees these records. Do not mix
   * with write() while a commit is pending.
   */
  commit(records: readonly JournalRecord[]): Promise<void> {
    if (this.closed)
      return Promise.reject(new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`));
    for (const record of records) {
      const problem = checkRecord(record);
      if (problem !== undefined)
        return Promise.reject(
          new BridgeError("PB_JOURNAL_WRITE", `journal record refused: ${problem}`, {
            context: { path: this.path, kind: (record as { kind?: unknown })?.kind, refused: true },
          }),
        );
    }
    if (this.fault) {
      this.failedWrites += records.length;
      return Promise.reject(this.fault.error);
    }
    if (records.length === 0) return Promise.resolve();
    const staged = records.map((r) => {
      const record = canonicalRecord(r);
      return { record, line: encodeLine(record) };
    });
    return this.group.commit(staged);
  }

  /** Batches written by commit() so far (group-commit.ts). */
  commitStats(): GroupCommitStats {
    return this.group.stats();
  }

  /**
   * How long the batch being written has been at it (0 when none): an fsync stuck on a dying disk
   * no longer holds the event loop up, so the watchdog's verdict reads it here (health.ts).
   */
  commitInFlightMs(): number {
    return this.flushSinceMono === null ? 0 : this.clock.monoNow() - this.flushSinceMono;
  }

  /** One batch of commit(): one write, one fsync, the identity check; then the fold takes it. */
  private async flush(batch: Staged[]): Promise<void> {
    if (this.closed) throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    if (this.fault) {
      this.failedWrites += batch.length;
      throw this.fault.error; // it began after these records were queued
    }
    const bytes = Buffer.concat(batch.map((s) => s.line));
    this.flushSinceMono = this.clock.monoNow();
    try {
      await this.appendFile().appendAsync(bytes);
    } catch (err) {
      this.failedWrites += batch.length;
      throw this.closed && !this.fault ? err : this.fail(err);
    } finally {
      this.flushSinceMono = null;
    }
    let offset = this.fileBytes;
    this.fileBytes += bytes.length;
    this.appends += batch.length;
    for (const s of batch) {
      this.fold.put(s.record, offset, s.line.length);
      offset += s.line.length;
    }
    if (this.compactAfterFlush) {
      this.compactAfterFlush = false;
      try {
        this.maybeCompact();
      } catch (err) {
        this.log.warn({ journal: this.path, err: reason(err) }, "journal compaction failed");
      }
    }
  }

  /** The fault the journal is in (writes refused), or null when it can be written. */
  health(): JournalHealth | null {
    return this.fault;
  }

  /**
   * Run every checkIntervalMs. Healthy: checks that the open file is still the one at the path
   * (a removed directory is noticed even when nothing is being written). In a fault that has
   * lasted checkIntervalMs: recreates the directory if needed and writes the whole journal again
   * from memory (header + every live record, through the compaction path), which ends the fault.
   */
  check(): void {
    if (this.closed) return;
    // A batch being written checks the file itself once it is fsync'd.
    if (this.file?.busy) return;
    if (!this.fault) {
      try {
        this.appendFile().verify();
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    if (this.clock.monoNow() - this.fault.sinceMono < this.checkIntervalMs) return;
    this.restore();
  }

  sale(laneId: string, orderRef: string): SaleRecord | undefined {
    return copyOf(this.fold.sale(laneId, orderRef));
  }

  attempt(attemptId: string): AttemptRecord | undefined {
    return copyOf(this.fold.attempt(attemptId));
  }

  refund(refundId: string): RefundRecord | undefined {
    return copyOf(this.fold.refund(refundId));
  }

  /** Oldest first (createdAt). */
  attemptsOf(laneId: string, orderRef: string): AttemptRecord[] {
    return this.fold.attemptsOf(laneId, orderRef).map(copy);
  }

  /** Oldest first (requestedAt). */
  refundsOf(laneId: string, orderRef: string): RefundRecord[] {
    return this.fold.refundsOf(laneId, orderRef).map(copy);
  }

  /** Attempts not final (isFinalAttempt false), optionally for one lane; oldest first. */
  openAttempts(laneId?: string): AttemptRecord[] {
    return this.fold.openAttempts(laneId).map(copy);
  }

  /** Refunds in phase requested/unknown; oldest first. */
  openRefunds(laneId?: string): RefundRecord[] {
    return this.fold.openRefunds(laneId).map(copy);
  }

  /** Sales with status OPEN or PENDING or UNKNOWN; oldest first. */
  unsettledSales(laneId?: string): SaleRecord[] {
    return this.fold.unsettledSales(laneId).map(copy);
  }

  records(): JournalRecord[] {
    return this.fold.records().map(copy);
  }

  /**
   * Rewrites the live records (minus those past retention) through journal.log.tmp: write →
   * fsync → rename over journal.log → fsync the directory. A failure leaves journal.log as it was;
   * one that finds the file gone puts the journal in that fault.
   */
  compact(): CompactResult {
    if (this.closed) throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    // The rename would swap the file under the batch being appended (maybeCompact() waits for it).
    if (this.file?.busy) throw new Error(`journal ${this.path}: compact() while a batch is being written`);
    try {
      return this.rewrite();
    } catch (err) {
      if (!this.fault) this.check(); // the directory may be gone: say so now, not at the next append
      throw err;
    }
  }

  /**
   * Compacts when the file outgrew max(compactMinBytes, 2 × live bytes), or when a record is past
   * retention: journal.retentionDays is a promise about what the PC keeps (docs/privacy.md), so a
   * quiet store's small journal is purged on time too, not once it happens to grow.
   */
  maybeCompact(): boolean {
    if (this.fault) return false; // check() rewrites the whole journal when it can
    if (this.file?.busy) {
      this.compactAfterFlush = true; // the file is being appended to: after that batch
      return false;
    }
    if (!this.outgrown() && !this.fold.hasPurgeable(this.clock.wallNow() - this.retentionMs)) return false;
    this.compact();
    return true;
  }

  /**
   * Run every checkIntervalMs (cheap: no walk over the records). Compacts once the file outgrew
   * max(compactMinBytes, 2 × live bytes), so a busy day does not wait for the hourly
   * maybeCompact(); else writes a snapshot when the lines after the last one reach
   * max(snapshotMinBytes, 1/64 of the file), so a restart after a crash replays at most that much. Retention is
   * maybeCompact()'s: purging every few seconds would rewrite a large journal every few seconds.
   */
  maintain(): "compacted" | "snapshot" | null {
    if (this.fault || this.closed) return null;
    if (this.outgrown()) {
      if (this.file?.busy) {
        // A batch is being appended (group-commit.ts): compact right after it (flush()).
        this.compactAfterFlush = true;
        return null;
      }
      this.compact();
      return "compacted";
    }
    if (
      // A 1/64 of the file at most is replayed after a crash; a large journal's snapshot (18 bytes
      // per index row) is not rewritten for every MiB appended.
      this.fileBytes - this.snapshotOffset >= Math.max(this.snapshotMinBytes, this.fileBytes / 64, 1) &&
      this.fileBytes >= this.snapshotMinBytes
    ) {
      return this.snapshot() ? "snapshot" : null;
    }
    return null;
  }

  /** How much of the journal is in memory and how much is index rows (for the bench and diagnostics). */
  memory(): { hotRecords: number; indexRows: number; indexBytes: number; badReads: number } {
    return {
      hotRecords: this.fold.hotRecords,
      indexRows: this.fold.index.liveRows,
      indexBytes: this.fold.index.memoryBytes,
      badReads: this.fold.badReads,
    };
  }

  stats(): JournalStats {
    return {
      fileBytes: this.fileBytes,
      liveRecords: this.fold.size,
      appends: this.appends,
      fsyncs: this.fsyncs,
      compactions: this.compactions,
      failedWrites: this.failedWrites,
      restores: this.restores,
    };
  }

  /** For diagnostics (daemon/diagnostics/snapshot.ts). */
  describe(): JournalSnapshot {
    const f = this.fault;
    const r = this.loadReport;
    return {
      path: this.path,
      ...this.stats(),
      lastFsyncAt: this.lastFsyncAt,
      groupCommit: this.group.stats(),
      fault: f
        ? { fault: f.fault, code: f.error.code, message: f.error.message, since: this.faultSinceWall }
        : null,
      loaded: {
        records: r.records,
        discardedLines: r.discardedLines,
        tornTail: r.tornTail,
        missing: r.missing,
      },
    };
  }

  /** Writes journal.snapshot if the journal is big enough to need one (a clean close opens fast), then closes. */
  close(): void {
    if (this.closed) return;
    if (!this.fault && this.fileBytes >= this.snapshotMinBytes && this.fileBytes !== this.snapshotOffset) {
      this.snapshot();
    }
    this.closed = true;
    this.closeFile();
    this.reader?.close();
    this.reader = null;
    this.fold.source = null;
  }

  private rewrite(): CompactResult {
    const bytesBefore = this.fileBytes;
    // Retention is a calendar matter: records carry wall-clock times, and so does the cutoff.
    const plan = this.fold.plan(this.clock.wallNow() - this.retentionMs);
    const header = this.headerLine();
    // Released in a fault: read the index's lines through one descriptor for the copy, when the
    // file at the path is still this journal (else those lines are lost, and counted).
    const byPath = this.fold.source instanceof PathSource ? this.fold.source.open() : null;
    const source = this.fold.source;
    if (byPath) this.fold.source = byPath;
    let written: ReturnType<typeof writeCompaction>;
    try {
      written = writeCompaction(this.tmpPath, header, this.fold, plan, this.onSyscall);
    } finally {
      if (byPath) {
        byPath.close();
        this.fold.source = source;
      }
    }
    // The index will describe the new file: read it through a descriptor of that very inode.
    let reader: JournalReader;
    try {
      reader = JournalReader.open(this.tmpPath);
    } catch (err) {
      unlinkQuietly(this.tmpPath);
      throw writeError("open for reading", this.tmpPath, err);
    }
    // The snapshot describes the file about to be replaced: it goes first, for good, so that a
    // crash right after the rename never pairs it with the new file.
    if (this.removeSnapshot()) {
      try {
        fsyncDir(this.dir, this.onSyscall);
      } catch (err) {
        reader.close();
        unlinkQuietly(this.tmpPath);
        throw err;
      }
    }
    try {
      renameSync(this.tmpPath, this.path);
    } catch (err) {
      reader.close();
      unlinkQuietly(this.tmpPath);
      throw writeError("rename the compacted journal over", this.path, err);
    }
    this.onSyscall("rename", this.path);
    // journal.log is now the new file: memory follows it before anything else can fail.
    this.fold.afterCompaction(plan, written.hotLocs, written.cold);
    this.reader?.close();
    this.reader = reader;
    this.fold.source = reader;
    this.fileBytes = written.bytes;
    this.linesAt = { lines: 1 + plan.hot.length + written.cold.liveRows, appends: this.appends };
    this.compactions++;
    this.closeFile();
    fsyncDir(this.dir, this.onSyscall);
    this.file = JournalFile.openAppend(this.path, written.bytes, this.onSyscall);
    this.file.verify();
    const result = {
      kept: plan.hot.length + written.cold.liveRows,
      purged: plan.purged,
      bytesBefore,
      bytesAfter: written.bytes,
    };
    if (written.dropped > 0) {
      this.log.error(
        { journal: this.path, dropped: written.dropped },
        "journal compaction: settled records could not be read back from the journal file and are lost",
      );
    }
    this.log.info({ journal: this.path, ...result }, "journal compacted");
    if (written.bytes >= this.snapshotMinBytes) this.snapshot();
    return result;
  }

  /**
   * Writes journal.snapshot for the journal as it is now (docs/journal.md, "Snapshot"). Best
   * effort: a failure is logged and leaves no snapshot, and the next open reads the whole journal.
   */
  private snapshot(): boolean {
    if (this.fault || !this.reader) return false;
    try {
      const headerCrc = crc32(this.reader.firstLine());
      const from = Math.max(0, this.fileBytes - TAIL_CHECK_BYTES);
      const tailCrc = crc32(this.reader.read(from, this.fileBytes - from));
      const bytes = encodeSnapshot(
        {
          journalVersion: JOURNAL_VERSION,
          offset: this.fileBytes,
          lines: this.linesAt.lines + this.appends - this.linesAt.appends,
          headerCrc,
          tailCrc,
          hot: this.fold.hotLocs().map((l) => [l.offset, l.length]),
          writtenAt: this.clock.wallNow(),
        },
        this.fold.index,
      );
      writeSnapshot(this.dir, bytes, this.onSyscall);
      this.snapshotOffset = this.fileBytes;
      return true;
    } catch (err) {
      this.removeSnapshot();
      this.log.warn(
        { journal: this.path, err: reason(err) },
        "journal snapshot not written: the next start reads the whole journal",
      );
      return false;
    }
  }

  /** Removes journal.snapshot (and a left-over temporary one); true when there was one. */
  private removeSnapshot(): boolean {
    const had = this.snapshotOffset > 0 || existsSync(snapshotPath(this.dir));
    removeSnapshot(this.dir);
    this.snapshotOffset = 0;
    return had;
  }

  /** The file outgrew max(compactMinBytes, 2 × the bytes of the live records). */
  private outgrown(): boolean {
    const live = this.fold.liveBytes + this.headerLine().length;
    return this.fileBytes > Math.max(this.compactMinBytes, 2 * live);
  }

  /** Puts the journal in the fault `err` names (once per change of fault) and returns the error. */
  private fail(err: unknown): BridgeError {
    const error = isBridgeError(err) ? err : writeError("write", this.path, err);
    const fault = journalFaultOf(error);
    // The file is no longer trusted: restore() writes a new one; nothing is appended to this one.
    this.closeFile();
    // Gone (removed, replaced): the open inode is the only copy of the old settled sales' lines,
    // keep reading it. Otherwise the file is still at its path, and a technician may unmount the
    // disk to check it: hold no descriptor, read by path while it is still this journal.
    if (fault !== "gone") this.releaseReader();
    if (this.fault?.fault === fault) {
      this.fault = { ...this.fault, error };
      return error;
    }
    if (!this.fault) this.faultSinceWall = this.clock.wallNow();
    this.fault = { fault, error, sinceMono: this.fault?.sinceMono ?? this.clock.monoNow() };
    this.log.error(
      { errCode: error.code, fault, journal: this.path, errno: error.context?.errno },
      `journal cannot be written (${fault}): sales stop until it is restored; ${error.message}`,
    );
    this.onHealth(this.fault);
    return error;
  }

  /** Closes the read descriptor; the index's lines are then read by path (PathSource). */
  private releaseReader(): void {
    if (!this.reader) return;
    let headerCrc: number;
    try {
      headerCrc = crc32(this.reader.firstLine());
    } catch {
      return; // cannot tell which file it is: keep the descriptor, it is the only way to the lines
    }
    this.reader.close();
    this.reader = null;
    this.fold.source = new PathSource(this.path, headerCrc);
  }

  /** The whole journal written again from memory; ends the fault. False when it still fails. */
  private restore(): boolean {
    const was = this.fault;
    if (!was) return true;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.repeats.warn("restore", { journal: this.path, fault: was.fault }, "journal not restored yet");
      this.fail(writeError("create the directory of", this.path, err));
      return false;
    }
    let result: CompactResult;
    try {
      result = this.rewrite();
    } catch (err) {
      this.repeats.warn("restore", { journal: this.path, fault: was.fault }, "journal not restored yet");
      this.fail(err);
      return false;
    }
    this.fault = null;
    this.restores++;
    this.repeats.clear("restore");
    this.log.warn(
      {
        journal: this.path,
        fault: was.fault,
        errCode: was.error.code,
        records: result.kept,
        downForMs: this.clock.monoNow() - was.sinceMono,
      },
      "journal restored: written again from memory with every live record; sales resume",
    );
    this.onHealth(null);
    return true;
  }

  private headerLine(): Buffer {
    const header: JournalHeader = {
      journal: JOURNAL_MAGIC,
      version: JOURNAL_VERSION,
      createdAt: this.clock.wallNow(),
    };
    return encodeLine(header);
  }

  /** A new journal: the header line, fsync'd, then the directory fsync'd so the file's entry persists. */
  private create(): void {
    this.file = JournalFile.create(this.path, this.headerLine(), this.onSyscall);
    this.fileBytes = this.file.bytes;
    this.linesAt = { lines: 1, appends: this.appends };
    try {
      this.reader = JournalReader.open(this.path);
    } catch (err) {
      this.closeFile();
      throw writeError("open for reading", this.path, err);
    }
    this.fold.source = this.reader;
  }

  /** The open file, reopened after a compaction that failed before it could reopen it. */
  private appendFile(): JournalFile {
    if (this.file === null) this.file = JournalFile.openAppend(this.path, this.fileBytes, this.onSyscall);
    return this.file;
  }

  private closeFile(): void {
    this.file?.close();
    this.file = null;
  }

  /** Saves discarded bytes next to the journal before the rewrite drops them; returns the path. */
  private saveSidecar(bad: Uint8Array[]): string {
    const base = `${this.path}.corrupt-${this.clock.wallNow()}`;
    for (let n = 0; ; n++) {
      const path = n === 0 ? base : `${base}-${n}`;
      try {
        writeNewFileDurably(path, Buffer.concat(bad), this.onSyscall);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST" && n < 100) continue;
        throw writeError("save damaged journal lines to", path, err);
      }
      return path;
    }
  }
}

/** journal.log opened for reading, or null when there is none. */
function openReader(path: string): JournalReader | null {
  let reader: JournalReader;
  try {
    reader = JournalReader.open(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw readError(path, err);
  }
  return reader;
}

/** Why journal.log cannot be read, as the bridge and the day report say it. */
function readError(path: string, err: unknown): BridgeError {
  const errno = (err as NodeJS.ErrnoException).code;
  // Permissions are not damage: say which, so nobody "repairs" a journal that is whole.
  if (errno === "EACCES" || errno === "EPERM")
    return new BridgeError(
      "PB_JOURNAL_UNREADABLE",
      `journal: permission denied reading ${path}: it belongs to the service user; run this as root or as that user (sudo -u posbridge …)`,
      { context: { path, errno }, cause: err },
    );
  return new BridgeError("PB_JOURNAL_CORRUPT", `journal: cannot read ${path}: ${reason(err)}`, {
    context: { path, errno },
    cause: err,
  });
}

/**
 * The fold from journal.snapshot plus the lines after it: a Scan when the snapshot matches the
 * journal, null when there is none, else why it does not match (the caller reads the whole file).
 */
function loadSnapshot(
  dir: string,
  reader: JournalReader,
  newFold: () => JournalFold,
  path: string,
): Scan | string | null {
  const snap = readSnapshot(dir);
  if ("missing" in snap) return null;
  if ("problem" in snap) return snap.problem;
  const { meta } = snap;
  if (meta.journalVersion !== JOURNAL_VERSION) return `it is of journal format ${meta.journalVersion}`;
  const size = reader.size;
  if (meta.offset > size) return "it covers more than the journal holds";
  if (crc32(reader.firstLine()) !== meta.headerCrc) return "the journal is another one (its header changed)";
  const from = Math.max(0, meta.offset - TAIL_CHECK_BYTES);
  if (crc32(reader.read(from, meta.offset - from)) !== meta.tailCrc)
    return "the journal's bytes before the offset changed";
  const fold = newFold();
  reader.upgrade = false;
  fold.source = reader;
  fold.adoptIndex(snap.index);
  const hot: [JournalRecord, { offset: number; length: number }][] = [];
  for (const loc of locsOf(meta)) {
    if (loc.offset + loc.length > meta.offset) return "a record it points to is past its offset";
    const r = fold.decode(reader.read(loc.offset, loc.length));
    if (!r) return "a record it points to is damaged";
    hot.push([r, loc]);
  }
  fold.load(hot);
  const tail = scan(reader, path, fold, meta.offset, JOURNAL_VERSION);
  tail.report.lines += meta.lines;
  tail.report.snapshot = meta.offset;
  tail.snapshotOffset = meta.offset;
  return tail;
}

function copy<R extends JournalRecord>(r: R): R {
  return { ...r };
}

function copyOf<R extends JournalRecord>(r: R | undefined): R | undefined {
  return r === undefined ? undefined : { ...r };
}

/**
 * The record itself was refused (a field of the wrong shape: a bug, or cloud text that slipped
 * past its guards), not the storage: the journal is healthy and stays so; retrying cannot help.
 */
export function isRefusedRecord(err: unknown): boolean {
  return isBridgeError(err, "PB_JOURNAL_WRITE") && err.context?.refused === true;
}

/**
 * Read-only load for tools (the day report): never writes, never truncates; a torn tail (a line
 * being appended right now) is ignored and reported. A missing file is an empty journal.
 * Throws PB_JOURNAL_UNREADABLE when permissions forbid reading it, PB_JOURNAL_CORRUPT when it
 * cannot be read otherwise or has another format version.
 */
export function readJournal(path: string): { records: JournalRecord[]; report: JournalLoadReport } {
  const reader = openReader(path);
  if (!reader) return { records: [], report: { ...EMPTY_REPORT } };
  try {
    // Everything in memory: a tool reads the whole journal once and exits.
    const { fold, report } = scan(reader, path, new JournalFold({ recentSales: Number.POSITIVE_INFINITY }));
    return { records: fold.records(), report };
  } finally {
    reader.close();
  }
}
