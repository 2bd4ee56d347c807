// The audit trail on disk: `<stateDir>/audit/audit.log` (the file being written) and the rotated
// `audit-<UTC time of rotation>.log` files, one JSON object per line. Each line carries `prev`,
// the first 32 hex digits of the SHA-256 of the line before it (across rotations), so a line
// edited, inserted or removed in the middle, or a whole middle file removed, breaks the chain,
// and `seq` counts lines so a gap shows. Plain JSON rather than the journal's CRC'd lines: a CRC
// only tells a torn write; the chain also tells an edit, and people read these files with `jq`.
// What the chain cannot tell: the newest line replaced, or every line rewritten with new hashes
// (it is tamper-evident for the careless, not a signature). This file: naming, encoding,
// reading and checking; the writer is audit-trail.ts.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AuditLine } from "./audit-entry.js";

export const AUDIT_DIR = "audit";
export const AUDIT_FILE = "audit.log";
const ROTATED = /^audit-(\d{8}T\d{9}Z)(?:-\d+)?\.log$/;

/** The chain link of a line: the first 32 hex digits of SHA-256 of its JSON text. */
export function chainHash(json: string): string {
  return createHash("sha256").update(json, "utf8").digest("hex").slice(0, 32);
}

/** `audit-20260314T101500123Z.log` for a rotation at `wallMs`. */
export function rotatedName(wallMs: number): string {
  return `audit-${new Date(wallMs).toISOString().replace(/[-:.]/g, "")}.log`;
}

/** When a rotated file was rotated (wall ms), from its name; undefined for any other file. */
export function rotatedAt(name: string): number | undefined {
  const m = ROTATED.exec(name);
  if (!m?.[1]) return undefined;
  const t = m[1];
  return Date.parse(
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`,
  );
}

/** The trail's files, oldest first: the rotated ones by rotation time, then the active one. */
export function auditFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const rotated = names.filter((n) => rotatedAt(n) !== undefined).sort();
  return [...rotated, ...(names.includes(AUDIT_FILE) ? [AUDIT_FILE] : [])];
}

/** A complete line that parses as an audit line, with its JSON text; null otherwise. */
export function parseAuditLine(text: string): { line: AuditLine; json: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const v = value as Partial<AuditLine> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    typeof v.seq !== "number" ||
    typeof v.at !== "number" ||
    typeof v.type !== "string" ||
    typeof v.prev !== "string"
  )
    return null;
  return { line: v as AuditLine, json: text };
}

export interface AuditRead {
  /** Files read, oldest first (names in the audit directory). */
  files: string[];
  /** Every good line, oldest first, with the file it is in. */
  lines: (AuditLine & { file: string })[];
  /** Lines that do not parse (a write torn by a power cut, or damage), by file and line number. */
  damaged: { file: string; line: number }[];
  /** Where the chain does not hold: `prev` is not the hash of the line before, or `seq` skips. */
  breaks: { file: string; line: number; seq: number; why: string }[];
  /**
   * The first line read does not start the chain (its prev is not ""): older files were deleted
   * by retention, which is expected, or removed by hand.
   */
  startsMidway: boolean;
}

/** Reads and checks the whole trail in `dir` (read-only: tools and the report). */
export function readAuditTrail(dir: string): AuditRead {
  const out: AuditRead = { files: auditFiles(dir), lines: [], damaged: [], breaks: [], startsMidway: false };
  let last: { json: string; seq: number } | null = null;
  for (const file of out.files) {
    const text = readFileSync(join(dir, file), "utf8");
    const rows = text.split("\n");
    // The text after the last newline is a torn write when it is not empty.
    rows.forEach((row, i) => {
      if (row === "" && i === rows.length - 1) return;
      const parsed = row === "" ? null : parseAuditLine(row);
      if (!parsed) {
        out.damaged.push({ file, line: i + 1 });
        return;
      }
      const { line, json } = parsed;
      if (last === null) out.startsMidway = line.prev !== "";
      else if (line.prev !== chainHash(last.json))
        out.breaks.push({ file, line: i + 1, seq: line.seq, why: "does not follow the line before it" });
      else if (line.seq !== last.seq + 1)
        out.breaks.push({ file, line: i + 1, seq: line.seq, why: `seq ${last.seq + 1} expected` });
      out.lines.push({ ...line, file });
      last = { json, seq: line.seq };
    });
  }
  return out;
}
