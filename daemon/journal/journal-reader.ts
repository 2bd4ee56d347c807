// Reads journal.log: its lines in chunks from an offset (open, replay of the tail after a
// snapshot, the day report) and single lines back by offset (index rows: journal-fold.ts). Its own
// read-only descriptor, so a settled sale can still be read while the journal is in a fault: the
// inode outlives a removed or renamed-over path (docs/journal.md, "Memory"). PathSource reads
// the same lines by path, holding no descriptor between reads (a fault that is not "gone": the
// disk may be unmounted and checked meanwhile).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import type { LineSource } from "./journal-fold.js";

const CHUNK = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Bytes after the last newline (a write cut short) and where they start. */
export interface TornTail {
  offset: number;
  bytes: Uint8Array;
}

export class JournalReader implements LineSource {
  upgrade = false;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens `path` read-only; throws the fs error (ENOENT, EACCES…) for the caller to name. */
  static open(path: string): JournalReader {
    return new JournalReader(path, openSync(path, "r"));
  }

  get size(): number {
    return fstatSync(this.descriptor()).size;
  }

  read(offset: number, length: number): Uint8Array {
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.descriptor(), out, got, length - got, offset + got);
      if (n === 0) throw new Error(`journal: ${this.path} ends before ${offset + length}`);
      got += n;
    }
    return out;
  }

  /**
   * Calls `line(bytes, start, end, fileOffset)` for every newline-terminated line from `from` to
   * the size the file has now (`bytes[start, end)` is the line, newline included); returns the
   * torn tail, if any.
   */
  forEachLine(
    from: number,
    line: (bytes: Uint8Array, start: number, end: number, fileOffset: number) => void,
  ): TornTail | null {
    const size = this.size;
    let pos = from;
    let carry: Uint8Array | null = null;
    while (pos < size) {
      const chunk = this.read(pos, Math.min(CHUNK, size - pos));
      const buf: Uint8Array = carry ? Buffer.concat([carry, chunk]) : chunk;
      const base = pos - (carry?.length ?? 0);
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(NEWLINE, start);
        if (nl < 0) break;
        line(buf, start, nl + 1, base + start);
        start = nl + 1;
      }
      carry = start < buf.length ? buf.subarray(start) : null;
      pos += chunk.length;
    }
    return carry ? { offset: size - carry.length, bytes: Buffer.from(carry) } : null;
  }

  /** The file's first line (its header), newline included; empty when it has none. */
  firstLine(): Uint8Array {
    const head = this.read(0, Math.min(this.size, 4096));
    const nl = head.indexOf(NEWLINE);
    return nl < 0 ? new Uint8Array(0) : head.subarray(0, nl + 1);
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing left to release
    }
    this.fd = null;
  }

  private descriptor(): number {
    if (this.fd === null) throw new Error(`journal: ${this.path} is closed for reading`);
    return this.fd;
  }
}

/**
 * Lines of the journal at `path`, opened for each read and closed again, and only while the file
 * there is still the journal whose header line has CRC `headerCrc`; else a read throws.
 */
export class PathSource implements LineSource {
  readonly upgrade = false;

  constructor(
    private readonly path: string,
    private readonly headerCrc: number,
  ) {}

  /** The journal at the path, open, when it is still this one; else null. The caller closes it. */
  open(): JournalReader | null {
    let reader: JournalReader;
    try {
      reader = JournalReader.open(this.path);
    } catch {
      return null;
    }
    try {
      if (crc32(reader.firstLine()) === this.headerCrc) return reader;
    } catch {
      // unreadable: not this journal as far as we can tell
    }
    reader.close();
    return null;
  }

  read(offset: number, length: number): Uint8Array {
    const reader = this.open();
    if (!reader) throw new Error(`journal: ${this.path} is not the journal the index describes`);
    try {
      return reader.read(offset, length);
    } finally {
      reader.close();
    }
  }
}
