// `posbridge report day [--date YYYY-MM-DD] [--json]`: read-only, from <stateDir>/journal.log;
// `posbridge report audit [--since WHEN] [--json]`: read-only, from <stateDir>/audit/.
import { join } from "node:path";
import { exitCodeFor } from "../config/load-config.js";
import { isBridgeError } from "../errors.js";
import {
  CONFIG_OPTION,
  CONFIG_USAGE,
  type Command,
  type CommandArgs,
  configPathOf,
  type Io,
  usageError,
} from "./command.js";
import { loadOrReport } from "./load.js";

export const reportCommand: Command = {
  name: "report",
  summary:
    "report day: the end-of-day report from the sale journal: sales by scheme and status, refunds, net, training sales apart, and UNKNOWN sales to check; report audit: the audit trail (refunds, cashier cancels, reversals, alarms, clock jumps, starts) and whether its hash chain is intact",
  usage: `posbridge report day [--date YYYY-MM-DD] [--json] [-c PATH]
       posbridge report audit [--since WHEN] [--json] [-c PATH]

Prints the end-of-day report from the sale journal in stateDir (read-only; the daemon may run):
sales by scheme and status, refunds, net, the sales a person must check, and training sales
(posbridge test sale) in a section of their own, never in the totals. The journal belongs to the
service user: run it as root or as posbridge (sudo -u posbridge posbridge report day).

The audit report lists the audit trail in stateDir/audit since WHEN, across rotated files, and
says whether its hash chain is intact (a removed, inserted or edited line breaks it).

Options:
      --date DATE     report day: the local calendar day, YYYY-MM-DD (default today; time zone: TZ)
      --since WHEN    report audit: YYYY-MM-DD (local), an ISO time with zone, or a duration back
                      from now: 90m, 24h, 30d (default 7d)
      --json          print one JSON object, amounts in integer fen
${CONFIG_USAGE}`,
  options: {
    ...CONFIG_OPTION,
    date: { type: "string" },
    since: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals[0] === "audit" && positionals.length === 1) return auditReport(values, io);
    if (positionals[0] !== "day" || positionals.length > 1) {
      const what =
        positionals[0] === undefined
          ? "which report? (day or audit)"
          : `unknown report '${positionals.join(" ")}'`;
      return usageError(io, "report", what);
    }
    const { dayReport, formatDayReport, localDate, localDayBounds } = await import("../report/day-report.js");
    const day = typeof values.date === "string" ? values.date : localDate(io.clock.wallNow());
    if (!localDayBounds(day)) {
      return usageError(
        io,
        "report",
        `--date must be a calendar date YYYY-MM-DD (e.g. 2026-03-14), got '${day.slice(0, 20)}'`,
      );
    }
    const loaded = loadOrReport(configPathOf(values, io.env), io, { checkFiles: false });
    if (!loaded.config) return loaded.exit;
    const { JOURNAL_FILE, readJournal } = await import("../journal/journal.js");
    const path = join(loaded.config.stateDir, JOURNAL_FILE);
    let read: ReturnType<typeof readJournal>;
    try {
      read = readJournal(path);
    } catch (err) {
      if (!isBridgeError(err)) throw err;
      io.err(`posbridge: ${err.message}`);
      return exitCodeFor(err);
    }
    if (read.report.missing)
      io.err(
        `posbridge: warning: there is no journal at ${path}: the report is empty and says nothing about the day (is stateDir right? has the bridge run with this config?)`,
      );
    const report = dayReport(read.records, day, { path, report: read.report });
    io.out(values.json === true ? JSON.stringify(report) : formatDayReport(report));
    return 0;
  },
};

async function auditReport(values: CommandArgs["values"], io: Io): Promise<number> {
  const {
    auditReport: build,
    DEFAULT_SINCE,
    formatAuditReport,
    parseSince,
  } = await import("../report/audit-report.js");
  const when = typeof values.since === "string" ? values.since : DEFAULT_SINCE;
  const sinceMs = parseSince(when, io.clock.wallNow());
  if (sinceMs === undefined)
    return usageError(
      io,
      "report",
      `--since must be a date YYYY-MM-DD, an ISO time with a zone, or a duration like 90m, 24h, 30d; got '${when.slice(0, 30)}'`,
    );
  const loaded = loadOrReport(configPathOf(values, io.env), io, { checkFiles: false });
  if (!loaded.config) return loaded.exit;
  const { AUDIT_DIR, readAuditTrail } = await import("../audit/audit-file.js");
  const dir = join(loaded.config.stateDir, AUDIT_DIR);
  let report: ReturnType<typeof build>;
  try {
    report = build(readAuditTrail(dir), dir, when, sinceMs);
  } catch (err) {
    io.err(`posbridge: cannot read the audit trail in ${dir}: ${(err as Error).message}`);
    return 1;
  }
  io.out(values.json === true ? JSON.stringify(report) : formatAuditReport(report));
  return 0;
}
