// `<stateDir>/journal.snapshot`: the fold's compact state as of one byte offset of journal.log,
// so that open reads it and replays only the lines after that offset instead of the whole file.
// Written at compaction, at a clean close and when the tail since the last one grew large:
// temp file, fsync, rename, fsync of the directory. It is a cache, never the record: anything
// that does not match the journal it claims to cover (CRC, format, the journal's header line,
// its length, the bytes just before the offset, a line it points to) makes open ignore it and
// replay the whole journal, with a warning (docs/journal.md, "Snapshot").
//
// Layout: "PBJSNAP1", u32 LE length of the meta JSON, the meta JSON, zero padding to 8 bytes,
// then the index columns (journal-index.ts) of `rows` rows: hash u32, offset's low 32 bits u32,
// length u32, time u32, offset's high bits u8, kind u8 (in the byte order of the machine that
// wrote it: a snapshot is not moved between machines); last, u32 LE CRC-32 of every byte before.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir, type SyscallHook, unlinkQuietly, writeError } from "./journal-file.js";
import type { LineLoc } from "./journal-fold.js";
import { ColdIndex, type IndexColumns, ROW_BYTES } from "./journal-index.js";

export const SNAPSHOT_FILE = "journal.snapshot";
const MAGIC = Buffer.from("PBJSNAP1", "latin1");
const SNAPSHOT_FORMAT = 1;
/** The bytes before the covered offset whose CRC the snapshot keeps (they must still be there). */
export const TAIL_CHECK_BYTES = 4096;

export interface SnapshotMeta {
  format: number;
  /** JOURNAL_VERSION of the journal it covers. */
  journalVersion: number;
  /** journal.log's bytes [0, offset) are folded into this snapshot. */
  offset: number;
  /** Lines in [0, offset), header included (for the load report). */
  lines: number;
  /** CRC-32 of the journal's header line: the journal's identity (a compaction writes a new one). */
  headerCrc: number;
  /** CRC-32 of journal.log's bytes [max(0, offset − TAIL_CHECK_BYTES), offset). */
  tailCrc: number;
  /** Records held in memory, as lines of the journal (journal-fold.ts records() order). */
  hot: [number, number][];
  rows: number;
  /** Wall ms it was written (for people). */
  writtenAt: number;
}

export interface Snapshot {
  meta: SnapshotMeta;
  index: ColdIndex;
}

function pad8(n: number): number {
  return (8 - (n % 8)) % 8;
}

export function snapshotPath(dir: string): string {
  return join(dir, SNAPSHOT_FILE);
}

export function encodeSnapshot(meta: Omit<SnapshotMeta, "format" | "rows">, index: ColdIndex): Buffer {
  const cols = index.columns();
  const rows = cols.hash.length;
  const json = Buffer.from(JSON.stringify({ format: SNAPSHOT_FORMAT, ...meta, rows }), "utf8");
  const head = 8 + 4 + json.length;
  const parts: Uint8Array[] = [
    MAGIC,
    u32(json.length),
    json,
    Buffer.alloc(pad8(head)),
    bytesOf(cols.hash),
    bytesOf(cols.offLow),
    bytesOf(cols.length),
    bytesOf(cols.time),
    bytesOf(cols.offHigh),
    bytesOf(cols.kind),
  ];
  const body = Buffer.concat(parts);
  return Buffer.concat([body, u32(crc32(body))]);
}

/** Writes the snapshot durably: `.tmp`, fsync, rename over journal.snapshot, fsync of the directory. */
export function writeSnapshot(dir: string, bytes: Uint8Array, onSyscall: SyscallHook): void {
  const path = snapshotPath(dir);
  const tmp = `${path}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, "w", 0o600);
  } catch (err) {
    throw writeError("create", tmp, err);
  }
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    onSyscall("write", tmp);
    fsyncSync(fd);
    onSyscall("fsync", tmp);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already unusable
    }
    unlinkQuietly(tmp);
    throw writeError("write", tmp, err);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkQuietly(tmp);
    throw writeError("rename the snapshot over", path, err);
  }
  onSyscall("rename", path);
  fsyncDir(dir, onSyscall);
}

/**
 * The snapshot in `dir`: `missing` when there is none, `problem` (why it cannot be used) when it
 * is damaged or of another format, else its meta and index. Never throws for its content.
 */
export function readSnapshot(dir: string): { missing: true } | { problem: string } | Snapshot {
  let bytes: Buffer;
  try {
    bytes = readFileSync(snapshotPath(dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
    return { problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (bytes.length < 16 || !bytes.subarray(0, 8).equals(MAGIC)) return { problem: "not a snapshot" };
  const body = bytes.subarray(0, bytes.length - 4);
  if (crc32(body) !== bytes.readUInt32LE(bytes.length - 4)) return { problem: "CRC mismatch" };
  const jsonLength = bytes.readUInt32LE(8);
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(bytes.subarray(12, 12 + jsonLength).toString("utf8")) as SnapshotMeta;
  } catch {
    return { problem: "meta unreadable" };
  }
  if (meta.format !== SNAPSHOT_FORMAT) return { problem: `format ${meta.format}` };
  const rows = meta.rows;
  let at = 12 + jsonLength;
  at += pad8(at);
  if (!Number.isInteger(rows) || rows < 0 || at + rows * ROW_BYTES !== body.length)
    return { problem: "wrong length" };
  const take = <T extends Uint32Array | Uint8Array>(make: (n: number) => T): T => {
    const out = make(rows);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + out.byteLength));
    at += out.byteLength;
    return out;
  };
  const cols: IndexColumns = {
    hash: take((n) => new Uint32Array(n)),
    offLow: take((n) => new Uint32Array(n)),
    length: take((n) => new Uint32Array(n)),
    time: take((n) => new Uint32Array(n)),
    offHigh: take((n) => new Uint8Array(n)),
    kind: take((n) => new Uint8Array(n)),
  };
  return { meta, index: ColdIndex.fromColumns(cols) };
}

export function removeSnapshot(dir: string): void {
  unlinkQuietly(snapshotPath(dir));
  unlinkQuietly(`${snapshotPath(dir)}.tmp`);
}

export function locsOf(meta: SnapshotMeta): LineLoc[] {
  return meta.hot.map(([offset, length]) => ({ offset, length }));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function bytesOf(a: Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
