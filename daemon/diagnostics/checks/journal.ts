// The sale journal, read-only: can it be read, did the daemon report it faulty, and what is not
// settled in it — attempts whose outcome is not final, refunds not answered, sales the cloud
// contradicted. Each is one line with its ids, lane, amount and masked code (never more of a
// payment code: the journal holds no more). While the daemon runs it resolves them itself; when
// it does not, nothing does.
import { formatYuan } from "../../../protocols/payment/amount.js";
import { isFinalAttempt, type JournalRecord } from "../../../protocols/sale/records.js";
import { type Check, type DoctorContext, finding, type Finding } from "./check.js";
import { iso } from "./clock-sane.js";

const SUBJECT = "journal";
/** Unsettled items listed one per line; the rest are counted in one more line. */
export const MAX_LISTED = 20;

const FAULT_WORDS = {
  full: "its filesystem is full",
  readOnly: "its filesystem is read-only or not writable",
  gone: "its file was removed or replaced",
  failed: "a write failed",
} as const;

export const journalCheck: Check = {
  id: "journal",
  title: "the journal is readable and holds nothing unsettled",
  run(ctx) {
    if (!ctx.config) return [];
    const out: Finding[] = [];
    const fault = ctx.daemon.running ? ctx.daemon.facts.journal.fault : null;
    if (fault)
      out.push(
        finding(
          this.id,
          "error",
          SUBJECT,
          `the daemon cannot write its journal: ${FAULT_WORDS[fault]} (${fault}); every sale is refused`,
          {
            code: fault === "gone" ? "PB_JOURNAL_GONE" : "PB_JOURNAL_WRITE",
            fix:
              fault === "gone"
                ? "find what removed it and stop it; do not restart the daemon before it logs 'journal restored' (docs/errors.md, PB_JOURNAL_GONE)"
                : "free space or make stateDir writable again; the daemon restores the journal by itself (docs/errors.md, PB_JOURNAL_WRITE)",
          },
        ),
      );
    const j = ctx.journal();
    if (!("records" in j)) {
      const denied = j.errno === "EACCES" || j.errno === "EPERM";
      out.push(
        finding(
          this.id,
          "error",
          SUBJECT,
          denied ? `${j.path} cannot be read: permission denied (${j.errno})` : j.error,
          {
            ...(denied ? {} : { code: j.code }),
            fix: denied
              ? "run the doctor as root (sudo posbridge doctor) or as the service user"
              : "keep a copy of stateDir for support (docs/errors.md, PB_JOURNAL_CORRUPT)",
          },
        ),
      );
      return out;
    }
    if (j.report.missing) {
      out.push(
        finding(this.id, "ok", SUBJECT, `no journal at ${j.path} yet (nothing was sold with this stateDir)`),
      );
      return out;
    }
    if (j.report.discardedLines > 0)
      out.push(
        finding(
          this.id,
          "warn",
          SUBJECT,
          `${j.report.discardedLines} damaged line${j.report.discardedLines === 1 ? "" : "s"} in ${j.path} skipped`,
          {
            detail: "the daemon saves them to journal.log.corrupt-<ms> at its next start and goes on",
            fix: "keep a copy of stateDir for support; check the disk (dmesg)",
          },
        ),
      );
    const unsettled = unsettledLines(ctx, j.records);
    out.push(...unsettled.slice(0, MAX_LISTED));
    if (unsettled.length > MAX_LISTED)
      out.push(
        finding(this.id, "warn", SUBJECT, `… and ${unsettled.length - MAX_LISTED} more unsettled`, {
          fix: "posbridge report day lists the day's sales that need attention",
        }),
      );
    if (unsettled.length === 0 && !fault)
      out.unshift(
        finding(this.id, "ok", SUBJECT, `${j.path}: ${j.records.length} records, nothing unsettled`),
      );
    return out;
  },
};

function unsettledLines(ctx: DoctorContext, records: readonly JournalRecord[]): Finding[] {
  const running = ctx.daemon.running;
  const out: Finding[] = [];
  const listedAttempts = new Set<string>();
  for (const r of records) {
    if (r.kind !== "attempt" || isFinalAttempt(r.phase)) continue;
    listedAttempts.add(r.attemptId);
    const given = r.phase === "unresolved";
    out.push(
      finding(
        "journal",
        given ? "error" : "warn",
        `${r.laneId} journal`,
        `attempt ${r.attemptId}: order ${r.orderRef}, ${formatYuan(r.amountFen)} yuan, ${r.maskedCode}: ${r.phase}${r.reason ? ` (${r.reason})` : ""} since ${iso(r.updatedAt)}`,
        {
          fix: given
            ? `the reversal could not be confirmed: check this payment with the payment cloud or back office (attempt ${r.attemptId}) before charging the customer again`
            : running
              ? "the bridge is resolving it (queries, then a reversal); if it stays, check it with the payment cloud"
              : "start the daemon: it resumes querying it at start; until then whether the customer paid is not known",
        },
      ),
    );
  }
  for (const r of records) {
    if (r.kind !== "sale") continue;
    if (r.attention)
      out.push(
        finding(
          "journal",
          "error",
          `${r.laneId} journal`,
          `sale ${r.orderRef}: ${formatYuan(r.amountFen)} yuan, the cloud contradicted itself (${r.attention}) since ${iso(r.attentionAt ?? r.updatedAt)}`,
          {
            code: "PB_CLOUD_CONTRADICTION",
            fix: "do not refund or charge again before checking the payment with the payment cloud or back office (docs/errors.md, PB_CLOUD_CONTRADICTION)",
          },
        ),
      );
    else if (r.status === "UNKNOWN" && !(r.attemptId && listedAttempts.has(r.attemptId)))
      out.push(
        finding(
          "journal",
          "warn",
          `${r.laneId} journal`,
          `sale ${r.orderRef}: ${formatYuan(r.amountFen)} yuan, outcome UNKNOWN since ${iso(r.updatedAt)}`,
          {
            fix: "check it with the payment cloud or back office (posbridge report day lists it)",
          },
        ),
      );
  }
  for (const r of records) {
    if (r.kind !== "refund" || r.phase === "refunded" || r.phase === "failed") continue;
    out.push(
      finding(
        "journal",
        "warn",
        `${r.laneId} journal`,
        `refund ${r.refundId}: order ${r.orderRef}, ${formatYuan(r.amountFen)} yuan: ${r.phase} since ${iso(r.requestedAt)}`,
        {
          fix: running
            ? "the bridge resends it until the cloud answers; if it stays, check it with the payment cloud"
            : "start the daemon: it resends it at start",
        },
      ),
    );
  }
  return out;
}
