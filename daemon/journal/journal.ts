// The sale journal: `<stateDir>/journal.log`, append-only, one CRC'd JSON snapshot per line
// (journal-line.ts), folded last-write-wins by recordKey (journal-fold.ts). Synchronous on
// purpose: write() returns only once the line is fsync'd, so a caller that journals before it
// publishes or answers never acts on something a crash could forget. Damaged lines found at
// open are saved to a sidecar file and the journal is rewritten clean, so an append never follows
// garbage. Compaction rewrites live records to journal.log.tmp, fsyncs, renames it over
// journal.log and fsyncs the directory. Design and format: docs/journal.md.
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "../../protocols/sale/records.js";
import type { Clock } from "../clock.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { JournalFold } from "./journal-fold.js";
import { decodeLine, encodeLine, splitLines } from "./journal-line.js";
import {
  canonicalRecord,
  checkHeader,
  checkRecord,
  JOURNAL_MAGIC,
  JOURNAL_VERSION,
  type JournalHeader,
  READABLE_JOURNAL_VERSIONS,
  upgradeV1Record,
} from "./record-shape.js";

export const JOURNAL_FILE = "journal.log";
const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const DEFAULT_COMPACT_MIN_BYTES = 1024 * 1024;

export type JournalSyscall = "write" | "fsync" | "rename" | "fsyncDir";

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
  onSyscall?: (op: JournalSyscall, path: string) => void;
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
}

/** Reads a journal's bytes: verify each line, fold the records, count what was discarded. */
function scan(bytes: Uint8Array, path: string): Scan {
  const fold = new JournalFold();
  const { lines, tornTail } = splitLines(bytes);
  const bad: Uint8Array[] = [];
  let discardedBytes = 0;
  let headerOk = false;
  let version: number | null = null;
  lines.forEach((span, i) => {
    const decoded = decodeLine(bytes, span);
    if (decoded.ok && i === 0 && checkHeader(decoded.value) === undefined) {
      version = (decoded.value as JournalHeader).version;
      if (!READABLE_JOURNAL_VERSIONS.includes(version)) {
        throw new BridgeError(
          "PB_JOURNAL_CORRUPT",
          `journal ${path} has format version ${version}; this posbridge reads versions ${READABLE_JOURNAL_VERSIONS.join(" and ")}`,
          { context: { path, version } },
        );
      }
      headerOk = true;
      return;
    }
    // A version-1 journal (or one whose header was lost) holds records of the older shape.
    if (decoded.ok) {
      const value = version === JOURNAL_VERSION ? decoded.value : upgradeV1Record(decoded.value);
      if (checkRecord(value) === undefined) {
        fold.put(canonicalRecord(value as JournalRecord), span.end - span.start);
        return;
      }
    }
    bad.push(bytes.subarray(span.start, span.end));
    discardedBytes += span.end - span.start;
  });
  if (tornTail) {
    bad.push(bytes.subarray(tornTail.start, tornTail.end));
    discardedBytes += tornTail.end - tornTail.start;
  }
  return {
    fold,
    bad,
    headerOk,
    version,
    report: {
      lines: lines.length,
      records: fold.size,
      discardedLines: bad.length - (tornTail ? 1 : 0),
      discardedBytes,
      tornTail: tornTail !== null,
      savedTo: null,
    },
  };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function writeError(what: string, path: string, err: unknown): BridgeError {
  return new BridgeError("PB_JOURNAL_WRITE", `journal: cannot ${what} ${path}: ${reason(err)}`, {
    context: { path, errno: (err as NodeJS.ErrnoException)?.code },
    cause: err,
  });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

export class Journal {
  readonly loadReport: JournalLoadReport;
  private readonly path: string;
  private readonly tmpPath: string;
  private readonly dir: string;
  private readonly retentionMs: number;
  private readonly compactMinBytes: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly onSyscall: (op: JournalSyscall, path: string) => void;
  private readonly fold: JournalFold;
  private fd: number | null = null;
  /** Length of the file up to its last good line; a failed append is cut back to it. */
  private fileBytes = 0;
  /** A failed append may have left bytes past fileBytes that could not be cut yet. */
  private dirty = false;
  private closed = false;
  private appends = 0;
  private fsyncs = 0;
  private compactions = 0;

  private constructor(options: JournalOptions, fold: JournalFold, report: JournalLoadReport) {
    this.dir = options.dir;
    this.path = join(options.dir, JOURNAL_FILE);
    this.tmpPath = `${this.path}.tmp`;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.compactMinBytes = options.compactMinBytes ?? DEFAULT_COMPACT_MIN_BYTES;
    this.clock = options.clock;
    this.log = options.log;
    this.onSyscall = options.onSyscall ?? (() => {});
    this.fold = fold;
    this.loadReport = report;
  }

  /**
   * Creates the directory (mode 0o700) and file if needed, reads, verifies and folds the journal.
   * Damaged lines or a torn tail: their bytes are saved to `journal.log.corrupt-<ms>`, the journal
   * is rewritten clean (compact), and a warning with the counts is logged.
   * Throws PB_JOURNAL_WRITE when the directory or file cannot be created or written,
   * PB_JOURNAL_CORRUPT when the file cannot be read or has another format version.
   */
  static open(options: JournalOptions): Journal {
    const path = join(options.dir, JOURNAL_FILE);
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw writeError("create the directory of", path, err);
    }
    try {
      unlinkSync(`${path}.tmp`); // left by a compaction cut short: journal.log is still whole
    } catch {
      // none, or not removable: compaction truncates it anyway
    }
    const bytes = readOrNull(path);
    const loaded = bytes ? scan(bytes, path) : undefined;
    const report: JournalLoadReport = loaded?.report ?? {
      lines: 0,
      records: 0,
      discardedLines: 0,
      discardedBytes: 0,
      tornTail: false,
      savedTo: null,
    };
    const journal = new Journal(options, loaded?.fold ?? new JournalFold(), report);
    if (!bytes) {
      journal.create();
    } else if (loaded && loaded.bad.length > 0) {
      report.savedTo = journal.saveSidecar(loaded.bad);
      journal.fileBytes = bytes.length;
      journal.compact();
      options.log.warn(
        { journal: path, ...report },
        "journal: damaged lines discarded; saved for support and the journal rewritten",
      );
    } else if (!loaded?.headerOk) {
      journal.fileBytes = bytes.length;
      journal.compact();
    } else if (loaded.version !== JOURNAL_VERSION) {
      journal.fileBytes = bytes.length;
      journal.compact();
      options.log.info(
        { journal: path, from: loaded.version, to: JOURNAL_VERSION },
        "journal upgraded to the current format",
      );
    } else {
      journal.fileBytes = bytes.length;
      journal.openAppend();
      journal.maybeCompact();
    }
    return journal;
  }

  write(record: JournalRecord): void {
    if (this.closed) throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    const problem = checkRecord(record);
    if (problem !== undefined) {
      throw new BridgeError("PB_JOURNAL_WRITE", `journal record refused: ${problem}`, {
        context: { path: this.path, kind: (record as { kind?: unknown })?.kind },
      });
    }
    const copy = canonicalRecord(record);
    const line = encodeLine(copy);
    const fd = this.appendFd();
    try {
      writeAll(fd, line);
      this.onSyscall("write", this.path);
      fsyncSync(fd);
      this.fsyncs++;
      this.onSyscall("fsync", this.path);
    } catch (err) {
      this.cutBack(fd);
      throw writeError("append to", this.path, err);
    }
    this.fileBytes += line.length;
    this.appends++;
    this.fold.put(copy, line.length);
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

  compact(): CompactResult {
    if (this.closed) throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    const bytesBefore = this.fileBytes;
    // Retention is a calendar matter: records carry wall-clock times, and so does the cutoff.
    const purge = this.fold.purgeable(this.clock.wallNow() - this.retentionMs);
    const purgeKeys = new Set(purge);
    const kept = this.fold.records().filter((r) => !purgeKeys.has(r));
    const body = Buffer.concat([this.headerLine(), ...kept.map((r) => encodeLine(r))]);
    this.writeFileDurably(this.tmpPath, body);
    try {
      renameSync(this.tmpPath, this.path);
    } catch (err) {
      try {
        unlinkSync(this.tmpPath);
      } catch {
        // best effort
      }
      throw writeError("rename the compacted journal over", this.path, err);
    }
    this.onSyscall("rename", this.path);
    // journal.log is now the new file: memory follows it before anything else can fail.
    for (const r of purge) this.fold.delete(r);
    this.fileBytes = body.length;
    this.dirty = false;
    this.compactions++;
    this.closeFd();
    this.fsyncDir();
    this.openAppend();
    const result = { kept: kept.length, purged: purge.length, bytesBefore, bytesAfter: body.length };
    this.log.info({ journal: this.path, ...result }, "journal compacted");
    return result;
  }

  maybeCompact(): boolean {
    const live = this.fold.liveBytes + this.headerLine().length;
    if (this.fileBytes <= Math.max(this.compactMinBytes, 2 * live)) return false;
    this.compact();
    return true;
  }

  stats(): JournalStats {
    return {
      fileBytes: this.fileBytes,
      liveRecords: this.fold.size,
      appends: this.appends,
      fsyncs: this.fsyncs,
      compactions: this.compactions,
    };
  }

  close(): void {
    this.closed = true;
    this.closeFd();
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
    const header = this.headerLine();
    let fd: number;
    try {
      fd = openSync(this.path, "ax", 0o600); // O_APPEND: a failed append is cut back with ftruncate
    } catch (err) {
      throw writeError("create", this.path, err);
    }
    this.fd = fd;
    try {
      writeAll(fd, header);
      this.onSyscall("write", this.path);
      fsyncSync(fd);
      this.fsyncs++;
      this.onSyscall("fsync", this.path);
    } catch (err) {
      this.closeFd();
      throw writeError("write the header of", this.path, err);
    }
    this.fileBytes = header.length;
    this.fsyncDir();
  }

  private openAppend(): void {
    try {
      this.fd = openSync(this.path, "a", 0o600);
    } catch (err) {
      throw writeError("open for appending", this.path, err);
    }
  }

  /** The append fd, reopened after a failed compaction and cut back after a failed append. */
  private appendFd(): number {
    if (this.fd === null) this.openAppend();
    const fd = this.fd as number;
    if (this.dirty) {
      try {
        ftruncateSync(fd, this.fileBytes);
        this.dirty = false;
      } catch (err) {
        throw writeError("cut a failed append off", this.path, err);
      }
    }
    return fd;
  }

  /** After a failed append: remove what part of the line may have reached the file. */
  private cutBack(fd: number): void {
    try {
      ftruncateSync(fd, this.fileBytes);
    } catch {
      this.dirty = true;
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable; nothing more to lose
    }
    this.fd = null;
  }

  private writeFileDurably(path: string, bytes: Uint8Array): void {
    let fd: number;
    try {
      fd = openSync(path, "w", 0o600);
    } catch (err) {
      throw writeError("create", path, err);
    }
    try {
      writeAll(fd, bytes);
      this.onSyscall("write", path);
      fsyncSync(fd);
      this.fsyncs++;
      this.onSyscall("fsync", path);
    } catch (err) {
      try {
        closeSync(fd);
        unlinkSync(path);
      } catch {
        // best effort
      }
      throw writeError("write", path, err);
    }
    closeSync(fd);
  }

  private fsyncDir(): void {
    try {
      const fd = openSync(this.dir, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw writeError("fsync the directory of", this.path, err);
    }
    this.fsyncs++;
    this.onSyscall("fsyncDir", this.dir);
  }

  /** Saves discarded bytes next to the journal before the rewrite drops them; returns the path. */
  private saveSidecar(bad: Uint8Array[]): string {
    const base = `${this.path}.corrupt-${this.clock.wallNow()}`;
    for (let n = 0; ; n++) {
      const path = n === 0 ? base : `${base}-${n}`;
      let fd: number;
      try {
        fd = openSync(path, "wx", 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST" && n < 100) continue;
        throw writeError("save damaged journal lines to", path, err);
      }
      try {
        writeAll(fd, Buffer.concat(bad));
        this.onSyscall("write", path);
        fsyncSync(fd);
        this.fsyncs++;
        this.onSyscall("fsync", path);
      } catch (err) {
        throw writeError("save damaged journal lines to", path, err);
      } finally {
        closeSync(fd);
      }
      return path;
    }
  }
}

function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new BridgeError("PB_JOURNAL_CORRUPT", `journal: cannot read ${path}: ${reason(err)}`, {
      context: { path, errno: (err as NodeJS.ErrnoException).code },
      cause: err,
    });
  }
}

function copy<R extends JournalRecord>(r: R): R {
  return { ...r };
}

function copyOf<R extends JournalRecord>(r: R | undefined): R | undefined {
  return r === undefined ? undefined : { ...r };
}

/**
 * Read-only load for tools (the day report): never writes, never truncates; a torn tail (a line
 * being appended right now) is ignored and reported. A missing file is an empty journal.
 * Throws PB_JOURNAL_CORRUPT only when the file cannot be read (or has another format version).
 */
export function readJournal(path: string): { records: JournalRecord[]; report: JournalLoadReport } {
  const bytes = readOrNull(path);
  if (!bytes) {
    return {
      records: [],
      report: { lines: 0, records: 0, discardedLines: 0, discardedBytes: 0, tornTail: false, savedTo: null },
    };
  }
  const { fold, report } = scan(bytes, path);
  return { records: fold.records(), report };
}
