// `posbridge report audit --since <date|duration> [--json]`: the audit trail (every file, rotated
// ones included) from a moment on, oldest first, with what reading it found: damaged lines, and
// where the hash chain does not hold (a line edited, inserted or removed; docs/privacy.md).
import { type AuditEntry, describeEntry } from "../audit/audit-entry.js";
import type { AuditRead } from "../audit/audit-file.js";
import { localDayBounds } from "./day-report.js";

export const DEFAULT_SINCE = "7d";

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Wall ms from which to report: `YYYY-MM-DD` (local midnight; TZ), an ISO time with a zone
 * (`2026-03-14T09:00:00+08:00`), or a duration back from `nowMs` (`90m`, `24h`, `30d`).
 * Undefined when `since` is none of these.
 */
export function parseSince(since: string, nowMs: number): number | undefined {
  const duration = /^(\d{1,6})([mhd])$/.exec(since);
  if (duration) return nowMs - Number(duration[1]) * (UNIT_MS[duration[2] as string] as number);
  const day = localDayBounds(since);
  if (day) return day.from;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(since)) {
    const t = Date.parse(since);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export interface AuditReport {
  dir: string;
  since: string;
  sinceMs: number;
  files: string[];
  entries: (AuditEntry & { seq: number; at: number; text: string })[];
  /** Over the whole trail, not only the reported part. */
  damagedLines: AuditRead["damaged"];
  chain: { ok: boolean; breaks: AuditRead["breaks"]; startsMidway: boolean };
}

export function auditReport(read: AuditRead, dir: string, since: string, sinceMs: number): AuditReport {
  return {
    dir,
    since,
    sinceMs,
    files: read.files,
    entries: read.lines
      .filter((l) => l.at >= sinceMs)
      .map(({ file: _file, prev: _prev, ...line }) => ({ ...line, text: describeEntry(line) })),
    damagedLines: read.damaged,
    chain: { ok: read.breaks.length === 0, breaks: read.breaks, startsMidway: read.startsMidway },
  };
}

export function formatAuditReport(r: AuditReport): string {
  const out: string[] = [
    `audit trail ${r.dir} since ${new Date(r.sinceMs).toISOString()} (${r.since}): ${r.entries.length} entr${r.entries.length === 1 ? "y" : "ies"}, ${r.files.length} file(s)`,
  ];
  for (const e of r.entries) {
    const lane = "laneId" in e && e.laneId ? ` [${e.laneId}]` : "";
    out.push(`${localTime(e.at)}  #${e.seq}${lane}  ${e.text}`);
  }
  if (r.damagedLines.length > 0)
    out.push(
      `warning: ${r.damagedLines.length} damaged line(s) (a write cut by a power cut, or damage): ${r.damagedLines.map((d) => `${d.file}:${d.line}`).join(", ")}`,
    );
  for (const b of r.chain.breaks)
    out.push(
      `warning: the chain breaks at ${b.file}:${b.line} (seq ${b.seq}): ${b.why}; lines were changed, added or removed`,
    );
  if (r.chain.ok && r.damagedLines.length === 0)
    out.push(
      `chain: intact${r.chain.startsMidway ? " (it starts after files deleted by audit.retentionDays)" : " from the first line"}`,
    );
  return `${out.join("\n")}\n`;
}

function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
