// Writes a compacted journal to its temporary file, streaming: the header, the records held in
// memory (encoded again), then each settled sale of the index with its attempts and refunds, one
// after another, copied line by line from journal.log (or encoded again when the file is of an
// older format). Returns where every line went so the fold can follow the rename. Memory stays
// at one buffer, whatever the journal's size (docs/journal.md, "Compaction and retention").
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { crc32 } from "node:zlib";
import { type SyscallHook, unlinkQuietly, writeError } from "./journal-file.js";
import type { CompactPlan, JournalFold, LineLoc } from "./journal-fold.js";
import { ColdIndex } from "./journal-index.js";
import { encodeLine } from "./journal-line.js";

const FLUSH_AT = 1024 * 1024;

export interface CompactionWritten {
  bytes: number;
  hotLocs: LineLoc[];
  cold: ColdIndex;
  /** Index lines that could not be read back or failed their CRC: left out. */
  dropped: number;
}

/** A line's CRC (its first 8 hex digits) matches its JSON: the bytes are what was written. */
function lineIntact(line: Uint8Array): boolean {
  if (line.length < 10 || line[8] !== 0x09 || line[line.length - 1] !== 0x0a) return false;
  const crc = crc32(line.subarray(9, line.length - 1))
    .toString(16)
    .padStart(8, "0");
  return Buffer.from(line.buffer, line.byteOffset, 8).toString("latin1") === crc;
}

/** Writes `header` + the plan's records to `tmpPath` and fsyncs it; removes it on failure. */
export function writeCompaction(
  tmpPath: string,
  header: Uint8Array,
  fold: JournalFold,
  plan: CompactPlan,
  onSyscall: SyscallHook,
): CompactionWritten {
  let fd: number;
  try {
    fd = openSync(tmpPath, "w", 0o600);
  } catch (err) {
    throw writeError("create", tmpPath, err);
  }
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let offset = 0;
  const flush = () => {
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    pending = [];
    pendingBytes = 0;
  };
  const put = (line: Uint8Array): number => {
    const at = offset;
    pending.push(line);
    pendingBytes += line.length;
    offset += line.length;
    if (pendingBytes >= FLUSH_AT) flush();
    return at;
  };
  const index = fold.index;
  const cold = new ColdIndex();
  const hotLocs: LineLoc[] = [];
  let dropped = 0;
  try {
    put(header);
    for (const r of plan.hot) {
      const line = encodeLine(r);
      hotLocs.push({ offset: put(line), length: line.length });
    }
    for (const { first, end } of plan.cold) {
      const lines: { row: number; line: Uint8Array }[] = [];
      for (let row = first; row < end; row++) {
        if (index.rowKind(row) === 0) continue;
        let line = fold.readRowBytes(row);
        if (line && fold.source?.upgrade) {
          const r = fold.decode(line);
          line = r ? encodeLine(r) : undefined;
        }
        if (!line || !lineIntact(line)) {
          dropped++;
          continue;
        }
        lines.push({ row, line });
      }
      // A group without its sale's line is not a group any more: its records are lost to the
      // index (counted in `dropped`); the journal logs it.
      if (lines[0]?.row !== first) {
        dropped += lines.length;
        continue;
      }
      for (const { row, line } of lines) {
        cold.push(index.rowHash(row), index.rowKind(row), put(line), line.length, index.rowTime(first));
      }
    }
    flush();
    onSyscall("write", tmpPath);
    fsyncSync(fd);
    onSyscall("fsync", tmpPath);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already unusable
    }
    unlinkQuietly(tmpPath);
    throw writeError("write", tmpPath, err);
  }
  closeSync(fd);
  return { bytes: offset, hotLocs, cold, dropped };
}
