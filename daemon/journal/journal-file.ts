// The journal's file handle and the durable file operations the journal is built from: create a
// file with its header, append a line + fsync, write a whole file durably, fsync the directory.
// After every append's fsync (and on demand, verify()) it checks that the open file is still the
// one at its path. Why: after `rm -rf <stateDir>`, or a file copied over journal.log, the open fd
// writes to an inode nobody will ever read again, and those appends and fsyncs succeed; without
// the check every record written from then on is lost at the next start (docs/journal.md).
// Two ways to append: append() (writeSync + fsyncSync, for callers that must finish before they
// go on) and appendAsync() (for group commit: the fsync on libuv's threadpool, so the main
// thread never waits for the disk; the write into the page cache and the check stay on it).
// One append at a time: group-commit.ts serialises them, and close() during an asynchronous
// append closes the descriptor only once that append is done (a descriptor closed under a
// pending write could be reused by another file and written into).
// No fold, no records: journal.ts keeps those.
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncate,
  ftruncateSync,
  openSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import type { JournalFault } from "../../protocols/sale/sale-types.js";
import { BridgeError, isBridgeError } from "../errors.js";

export type JournalSyscall = "write" | "fsync" | "rename" | "fsyncDir";

/** Called with (op, path) after each such syscall succeeds (test seam: ordering, fault injection). */
export type SyscallHook = (op: JournalSyscall, path: string) => void;

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function writeError(what: string, path: string, err: unknown): BridgeError {
  return new BridgeError("PB_JOURNAL_WRITE", `journal: cannot ${what} ${path}: ${reason(err)}`, {
    context: { path, errno: (err as NodeJS.ErrnoException)?.code },
    cause: err,
  });
}

/**
 * Why a journal write failed, as the register is told it: ENOSPC/EDQUOT full; EROFS/EACCES/EPERM
 * read-only (not writable); PB_JOURNAL_GONE, or a path that no longer leads to a directory
 * (ENOENT, ENOTDIR, EEXIST from mkdir over a file) gone; anything else (EIO…) failed.
 */
export function journalFaultOf(err: unknown): JournalFault {
  if (isBridgeError(err, "PB_JOURNAL_GONE")) return "gone";
  const errno = isBridgeError(err) ? err.context?.errno : (err as NodeJS.ErrnoException | undefined)?.code;
  switch (errno) {
    case "ENOSPC":
    case "EDQUOT":
      return "full";
    case "EROFS":
    case "EACCES":
    case "EPERM":
      return "readOnly";
    case "ENOENT":
    case "ENOTDIR":
    case "EEXIST":
      return "gone";
    default:
      return "failed";
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

const fsyncAsync = promisify(fsync);
const ftruncateAsync = promisify(ftruncate);

/** The open journal file: appends are durable (fsync) and checked to land in the file at `path`. */
export class JournalFile {
  /** A failed append may have left bytes past `size` that could not be cut yet. */
  private dirty = false;
  private fd: number | null;
  /** An appendAsync() is running: no other append, no verify(), and close() waits for it. */
  private inFlight = false;
  /** close() was called during an asynchronous append: the descriptor closes when it ends. */
  private closing = false;

  private constructor(
    readonly path: string,
    fd: number,
    /** Length of the file up to its last good line; a failed append is cut back to it. */
    private size: number,
    private readonly onSyscall: SyscallHook,
  ) {
    this.fd = fd;
  }

  /**
   * A new file holding `header`, fsync'd, then its directory fsync'd so the entry survives a power
   * cut. O_EXCL: never truncates a file that appeared meanwhile. O_APPEND: see append().
   */
  static create(path: string, header: Uint8Array, onSyscall: SyscallHook): JournalFile {
    let fd: number;
    try {
      fd = openSync(path, "ax", 0o600);
    } catch (err) {
      throw writeError("create", path, err);
    }
    const file = new JournalFile(path, fd, 0, onSyscall);
    try {
      writeAll(fd, header);
      onSyscall("write", path);
      fsyncSync(fd);
      onSyscall("fsync", path);
    } catch (err) {
      file.close();
      throw writeError("write the header of", path, err);
    }
    file.size = header.length;
    try {
      fsyncDir(dirname(path), onSyscall);
    } catch (err) {
      file.close();
      throw err;
    }
    return file;
  }

  /** The existing file at `path`, `size` bytes of whole lines, opened for appending. */
  static openAppend(path: string, size: number, onSyscall: SyscallHook): JournalFile {
    try {
      // Never O_CREAT: a journal.log that vanished must not come back empty, without its header
      // and records, and be appended to as if it were whole (ENOENT: the journal is gone).
      return new JournalFile(path, openSync(path, constants.O_WRONLY | constants.O_APPEND), size, onSyscall);
    } catch (err) {
      throw writeError("open for appending", path, err);
    }
  }

  get bytes(): number {
    return this.size;
  }

  /** An asynchronous append is running (the file may be longer than `bytes` meanwhile). */
  get busy(): boolean {
    return this.inFlight;
  }

  /**
   * Appends `line` and fsyncs it; then verify(). A write or fsync that fails is cut off the file
   * again (PB_JOURNAL_WRITE); a file no longer at its path throws PB_JOURNAL_GONE (the line is in
   * the file, but that file is gone: the caller must not count it as durable).
   */
  append(line: Uint8Array): void {
    const fd = this.openFd();
    this.notBusy();
    if (this.dirty) {
      try {
        ftruncateSync(fd, this.size);
        this.dirty = false;
      } catch (err) {
        throw writeError("cut a failed append off", this.path, err);
      }
    }
    try {
      writeAll(fd, line);
      this.onSyscall("write", this.path);
      fsyncSync(fd);
      this.onSyscall("fsync", this.path);
    } catch (err) {
      this.cutBack(fd);
      throw writeError("append to", this.path, err);
    }
    this.size += line.length;
    this.verify();
  }

  /**
   * append() without waiting for the disk on the main thread: the write (all of `bytes`, whole
   * lines) goes into the page cache at once, the fsync runs on libuv's threadpool, and the
   * identity check (two stats of cached inodes) follows on the main thread. Only the fsync waits
   * for the disk, so only it is worth a threadpool hand-off: each hand-off is a thread wake-up and
   * an event-loop wake-up, and on a busy machine each can wait for a core (docs/performance.md,
   * "Where the single-lane latency goes"). Resolves once `bytes` are durable in the file at
   * `path`; the same errors as append(), and a failed write or fsync is cut off again.
   */
  async appendAsync(bytes: Uint8Array): Promise<void> {
    const fd = this.openFd();
    this.notBusy();
    this.inFlight = true;
    try {
      if (this.dirty) {
        try {
          await ftruncateAsync(fd, this.size);
          this.dirty = false;
        } catch (err) {
          throw writeError("cut a failed append off", this.path, err);
        }
      }
      try {
        writeAll(fd, bytes);
        this.onSyscall("write", this.path);
        await fsyncAsync(fd);
        this.onSyscall("fsync", this.path);
      } catch (err) {
        try {
          await ftruncateAsync(fd, this.size);
        } catch {
          this.dirty = true;
        }
        throw writeError("append to", this.path, err);
      }
      this.size += bytes.length;
      this.checkIdentity(fd);
    } finally {
      this.inFlight = false;
      if (this.closing) this.close();
    }
  }

  /**
   * Throws PB_JOURNAL_GONE unless the open file is the one at `path`: same device and inode, and
   * still linked. Removed (`rm`, `rm -rf` of the directory) or replaced (a file moved or copied
   * over it, another filesystem mounted over the directory) both end the journal's use of it.
   */
  verify(): void {
    const fd = this.openFd();
    this.notBusy();
    this.checkIdentity(fd);
  }

  /** verify()'s check: the stats of the open file and of the path, then judge(). */
  private checkIdentity(fd: number): void {
    let open: Stats;
    try {
      open = fstatSync(fd);
    } catch (err) {
      throw writeError("check the open file of", this.path, err);
    }
    let atPath: Stats | undefined;
    try {
      atPath = statSync(this.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw writeError("check", this.path, err);
    }
    this.judge(open, atPath);
  }

  /** The identity check of verify() on the stats of the open file and of the path. */
  private judge(open: Stats, atPath: Stats | undefined): void {
    // Only this handle writes the file: another size means it was rewritten in place (`cp` over
    // it keeps the inode). A failed append not cut back yet may leave it longer.
    const sizeOk = this.dirty ? open.size >= this.size : open.size === this.size;
    const problem = !atPath
      ? "it is no longer at its path (file or directory removed)"
      : atPath.dev !== open.dev || atPath.ino !== open.ino
        ? "another file is at its path (replaced, or a filesystem mounted over the directory)"
        : open.nlink === 0
          ? "it was unlinked"
          : !sizeOk
            ? `it was rewritten in place (${open.size} bytes, the journal wrote ${this.size})`
            : undefined;
    if (problem === undefined) return;
    throw new BridgeError(
      "PB_JOURNAL_GONE",
      `journal ${this.path} was removed or replaced while open: ${problem}; what is written to it now would be lost at the next start`,
      {
        context: {
          path: this.path,
          openDev: open.dev,
          openIno: open.ino,
          openLinks: open.nlink,
          openSize: open.size,
          expectedSize: this.size,
          pathDev: atPath?.dev ?? null,
          pathIno: atPath?.ino ?? null,
        },
      },
    );
  }

  /** Closes the descriptor; during an asynchronous append, once that append has ended. */
  close(): void {
    if (this.fd === null) return;
    if (this.inFlight) {
      this.closing = true;
      return;
    }
    const fd = this.fd;
    this.fd = null;
    this.closing = false;
    try {
      closeSync(fd);
    } catch {
      // already unusable; nothing more to lose
    }
  }

  private openFd(): number {
    if (this.fd === null || this.closing)
      throw new BridgeError("PB_JOURNAL_WRITE", `journal ${this.path} is closed`);
    return this.fd;
  }

  /** Appends and checks never overlap (group-commit.ts runs one at a time): a bug otherwise. */
  private notBusy(): void {
    if (this.inFlight) throw new Error(`journal ${this.path}: an asynchronous append is still running`);
  }

  /** After a failed append: remove what part of the line may have reached the file. */
  private cutBack(fd: number): void {
    try {
      ftruncateSync(fd, this.size);
    } catch {
      this.dirty = true;
    }
  }
}

/** Writes `bytes` to a new (or truncated) file at `path` and fsyncs it; removes it on failure. */
export function writeFileDurably(path: string, bytes: Uint8Array, onSyscall: SyscallHook): void {
  let fd: number;
  try {
    fd = openSync(path, "w", 0o600);
  } catch (err) {
    throw writeError("create", path, err);
  }
  try {
    writeAll(fd, bytes);
    onSyscall("write", path);
    fsyncSync(fd);
    onSyscall("fsync", path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already unusable
    }
    unlinkQuietly(path);
    throw writeError("write", path, err);
  }
  closeSync(fd);
}

/** Writes `bytes` to a file that must not exist yet (O_EXCL) and fsyncs it. */
export function writeNewFileDurably(path: string, bytes: Uint8Array, onSyscall: SyscallHook): void {
  const fd = openSync(path, "wx", 0o600); // the caller handles EEXIST (it picks another name)
  try {
    writeAll(fd, bytes);
    onSyscall("write", path);
    fsyncSync(fd);
    onSyscall("fsync", path);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory so the entries created or renamed in it survive a power cut. */
export function fsyncDir(dir: string, onSyscall: SyscallHook): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw writeError("fsync the directory", dir, err);
  }
  onSyscall("fsyncDir", dir);
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // none, or not removable: best effort
  }
}
