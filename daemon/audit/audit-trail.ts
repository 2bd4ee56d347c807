// The audit trail's writer (format: audit-file.ts; what goes in: audit-entry.ts). Append-only,
// apart from the journal (compaction and journal.retentionDays never touch it), rotated by size
// (audit.maxFileBytes) or when the active file's first line is 30 days old, rotated files deleted
// after audit.retentionDays.
//
// Durability: every line is fsync'd before append() returns, and the lane writes it after the
// journal record it follows and before the register, the display or the cloud hear of the step:
// a power cut never leaves an act done without its line. Affordable because entries are rare
// (refunds, cancels, reversals, alarms, starts: not ordinary sales); one fsync, a few ms, on
// those steps only. Each append opens, writes, fsyncs and closes the file: nothing is held open
// that a removed directory could swallow (it is made again), and rotation is a rename.
//
// The trail never stops a sale: a line that cannot be written is logged with PB_AUDIT_WRITE
// (with the entry's text, so journald keeps it), once per change of fault, and onFault tells
// the fleet; the next append tries again.
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { type AuditEntry, type AuditLine, describeEntry, maskAuditText } from "./audit-entry.js";
import { AUDIT_FILE, auditFiles, chainHash, parseAuditLine, rotatedAt, rotatedName } from "./audit-file.js";

const DAY_MS = 86_400_000;
/** The active file is rotated once its first line is this old, so retention can delete by file. */
export const ROTATE_AFTER_MS = 30 * DAY_MS;

export interface AuditTrailOptions {
  /** `<stateDir>/audit`. */
  dir: string;
  /** Rotated files whose rotation is older than this are deleted. */
  retentionMs: number;
  maxFileBytes: number;
  clock: Clock;
  log: Logger;
  /** The trail cannot be written (the error), or can again (null): once per change. */
  onFault?: (error: BridgeError | null) => void;
}

export interface AuditStats {
  /** Lines written since open. */
  appended: number;
  /** Entries that could not be written since open. */
  failed: number;
  rotations: number;
  deletedFiles: number;
  seq: number;
}

export class AuditTrail {
  /** There were lines before this open (a trail without a journal means the state was lost). */
  readonly hadEntries: boolean;
  private readonly path: string;
  private seq = 0;
  private prev = "";
  private size = 0;
  /** Wall ms of the active file's first line; null while it is empty or missing. */
  private firstAt: number | null = null;
  /** The active file ends without a newline (a write torn by a power cut): start a new line. */
  private torn = false;
  private fault: BridgeError | null = null;
  private readonly counters = { appended: 0, failed: 0, rotations: 0, deletedFiles: 0 };

  private constructor(private readonly o: AuditTrailOptions) {
    this.path = join(o.dir, AUDIT_FILE);
    try {
      mkdirSync(o.dir, { recursive: true, mode: 0o700 });
      this.resume();
      this.deleteExpired();
    } catch (err) {
      this.setFault(auditError("open", this.path, err));
    }
    this.hadEntries = this.seq > 0;
  }

  /**
   * Makes the directory (0700) if needed, finds where the chain stands (the last good line) and
   * deletes rotated files past retention. Never throws: a trail that cannot be opened is in a
   * fault, logged, and every append tries again.
   */
  static open(options: AuditTrailOptions): AuditTrail {
    return new AuditTrail(options);
  }

  /** Appends `entry` as one fsync'd line; false (logged, never thrown) when it cannot. */
  append(entry: AuditEntry): boolean {
    const at = this.o.clock.wallNow();
    try {
      this.rotateIfDue(at);
      this.write(at, entry);
      this.setFault(null);
      return true;
    } catch (err) {
      this.counters.failed++;
      const error = auditError("write to", this.path, err);
      this.setFault(error);
      this.o.log.warn(
        { errCode: error.code, entry: entry.type },
        `audit entry not written: ${describeEntry(entry)}`,
      );
      return false;
    }
  }

  stats(): AuditStats {
    return { ...this.counters, seq: this.seq };
  }

  private write(at: number, entry: AuditEntry): void {
    // seq and at first, prev last: the order people read a line in.
    const value = { seq: this.seq + 1, at, ...masked(entry), prev: this.prev } as AuditLine;
    const line = JSON.stringify(value);
    const bytes = Buffer.from(`${this.torn ? "\n" : ""}${line}\n`, "utf8");
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    } catch (err) {
      // The directory was removed (rm -rf stateDir/audit): make it again; the chain goes on.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
      fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    }
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.size === 0) fsyncDirectory(this.o.dir); // a new file: its name must survive too
    this.seq++;
    this.prev = chainHash(line);
    this.size += bytes.length;
    this.firstAt ??= at;
    this.torn = false;
    this.counters.appended++;
  }

  /** Where the chain stands: the last good line of the newest file (after a restart or a rotation). */
  private resume(): void {
    const files = auditFiles(this.o.dir);
    for (const file of [...files].reverse()) {
      const text = readFileSync(join(this.o.dir, file), "utf8");
      const rows = text.split("\n");
      if (file === AUDIT_FILE) {
        this.size = Buffer.byteLength(text, "utf8");
        this.torn = text.length > 0 && !text.endsWith("\n");
        const first = rows.map((r) => parseAuditLine(r)).find((p) => p !== null);
        this.firstAt = first ? first.line.at : null;
      }
      for (let i = rows.length - 1; i >= 0; i--) {
        const parsed = parseAuditLine(rows[i] ?? "");
        if (!parsed) continue;
        this.seq = parsed.line.seq;
        this.prev = chainHash(parsed.json);
        return;
      }
    }
  }

  private rotateIfDue(at: number): void {
    if (this.size === 0) return;
    const full = this.size >= this.o.maxFileBytes;
    const old = this.firstAt !== null && at - this.firstAt >= ROTATE_AFTER_MS;
    if (!full && !old) return;
    let target = join(this.o.dir, rotatedName(at));
    for (let n = 1; exists(target); n++)
      target = join(this.o.dir, rotatedName(at).replace(/\.log$/, `-${n}.log`));
    try {
      renameSync(this.path, target);
    } catch (err) {
      // Gone with its directory: the next line starts a new file, and the chain goes on.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    fsyncDirectory(this.o.dir);
    this.size = 0;
    this.firstAt = null;
    this.torn = false;
    this.counters.rotations++;
    this.o.log.info({ file: target, reason: full ? "size" : "age" }, "audit trail rotated");
    this.deleteExpired();
  }

  /** Rotated files rotated more than retentionMs ago: every line in them is older than that. */
  private deleteExpired(): void {
    const cutoff = this.o.clock.wallNow() - this.o.retentionMs;
    for (const file of auditFiles(this.o.dir)) {
      const t = rotatedAt(file);
      if (t === undefined || t >= cutoff) continue;
      unlinkSync(join(this.o.dir, file));
      this.counters.deletedFiles++;
      this.o.log.info(
        { file, rotatedAt: new Date(t).toISOString() },
        "audit file past audit.retentionDays deleted",
      );
    }
  }

  private setFault(error: BridgeError | null): void {
    const was = this.fault;
    this.fault = error;
    if ((was === null) === (error === null)) return; // no change of state: said already
    if (error)
      this.o.log.error(
        { errCode: error.code, audit: this.path },
        `audit trail cannot be written: ${error.message}; sales go on, the entries are logged here`,
      );
    else this.o.log.warn({ audit: this.path }, "audit trail written again");
    this.o.onFault?.(error);
  }
}

/** Free text masked (maskAuditText); ids and amounts as the journal holds them. */
function masked(entry: AuditEntry): AuditEntry {
  const e: Record<string, unknown> = { ...entry };
  for (const key of ["detail", "outcome", "reasonCode"])
    if (typeof e[key] === "string") e[key] = maskAuditText(e[key] as string);
  return e as AuditEntry;
}

function auditError(what: string, path: string, err: unknown): BridgeError {
  return new BridgeError(
    "PB_AUDIT_WRITE",
    `audit: cannot ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`,
    { context: { path, errno: (err as NodeJS.ErrnoException)?.code }, cause: err },
  );
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
