// The end-of-day report (`posbridge report day`): pure functions over journal records.
// A sale belongs to the local calendar day (process time zone, TZ) of its `openedAt`; a refund to
// the day of its `requestedAt`. Amounts are integer fen; the text shows yuan via formatYuan.
// Never a payment code: sales that need attention are named by lane, orderRef, attempt id and
// masked code.
//
// `--json` prints one DayReport object (amounts in integer fen, times in epoch ms):
// {
//   "date": "2026-03-14",                  the local day reported
//   "timeZone": "Asia/Shanghai",           the process time zone the day was cut in
//   "from": 1773417600000, "to": 1773504000000,   [from, to): local midnight to the next one
//   "schemes": [                           always five rows: WECHAT, ALIPAY, UNIONPAY, ECNY, none
//     { "scheme": "WECHAT",                "none": the sale never got as far as a scan
//       "sales": { "PAID": Tally, "CANCELLED": Tally, "UNKNOWN": Tally, "IN_PROGRESS": Tally },
//       "refunds": { "refunded": Tally, "failed": Tally, "open": Tally },   open = requested/unknown
//       "netFen": 0 }                      sales.PAID.amountFen - refunds.refunded.amountFen
//   ],
//   "totals": { "sales": {…}, "refunds": {…}, "netFen": 0 },   the sum of the rows
//   "training": { "sales": {…}, "refunds": {…}, "netFen": 0 },  training sales (posbridge test
//                                          sale, answered by the simulated cloud: no money moved)
//                                          and their refunds: counted here only, never in the rows,
//                                          the totals or needsAttention
//   "needsAttention": [                    sales a person must check, oldest first: the day's
//                                          UNKNOWN sales, and sales the cloud contradicted after
//                                          they ended (SaleRecord.attention) opened that day or
//                                          flagged that day
//     { "laneId": "l1", "orderRef": "O1", "attemptId": "01J…"|null, "scheme": "WECHAT"|null,
//       "maskedCode": "WECHAT…6789"|null, "amountFen": 1234, "openedAt": 1773450000000,
//       "reason": "unknown"|"paidAfterReversal"|"paidAfterEnd"|"amountMismatchAfterEnd",
//       "status": "CANCELLED",             the sale's status in the journal (the bridge's conclusion)
//       "claimedAmountFen": 1234|null,     what the cloud's late PAID named (null for "unknown")
//       "attentionAt": 1773450060000|null,  when that late PAID arrived
//                                          (attemptId/maskedCode: the attempt the cloud spoke of)
//       "amountFrom": { "tapSeq": 7, "tapEvidence": "3f9a…" } }  only on a sale of no-integration
//                                          mode: the display total's sequence number and the hash
//                                          of the display bytes its amount was read from ],
//   "amountSources": { "register": { "PAID": Tally, … }, "displayTap": { … } }   the day's sales
//                                          (not training) by where their amount came from: the
//                                          register's request, or its customer display (docs/hardware.md)
//   "journal": { "path": "…/journal.log", "lines": 0, "records": 0, "discardedLines": 0,
//                "discardedBytes": 0, "tornTail": false, "missing": false } | null
//     missing: there is no journal file at that path (its directory removed while the daemon
//     runs, which restores it within seconds; or posbridge never ran with this stateDir): every
//     figure is then empty and says nothing about the day
// }
// where Tally is { "count": 0, "amountFen": 0 }. IN_PROGRESS = sale status OPEN or PENDING.
import { formatYuan } from "../../protocols/payment/amount.js";
import { SCHEMES, type Scheme } from "../../protocols/payment/scheme.js";
import type {
  AmountSource,
  AttemptRecord,
  JournalRecord,
  RefundRecord,
  SaleAttention,
  SaleRecord,
  SaleStatus,
} from "../../protocols/sale/records.js";
import type { JournalLoadReport } from "../journal/journal.js";

export type ReportScheme = Scheme | "none";
export type ReportStatus = "PAID" | "CANCELLED" | "UNKNOWN" | "IN_PROGRESS";

export const REPORT_SCHEMES: readonly ReportScheme[] = [...SCHEMES, "none"];
export const REPORT_STATUSES: readonly ReportStatus[] = ["PAID", "CANCELLED", "UNKNOWN", "IN_PROGRESS"];

export interface Tally {
  count: number;
  amountFen: number;
}

export interface ReportRow {
  sales: Record<ReportStatus, Tally>;
  refunds: { refunded: Tally; failed: Tally; open: Tally };
  netFen: number;
}

export interface SchemeRow extends ReportRow {
  scheme: ReportScheme;
}

/** Why a sale is listed: its outcome is UNKNOWN, or the cloud contradicted it after it ended. */
export type AttentionReason = "unknown" | Exclude<SaleAttention, "">;

export interface AttentionItem {
  laneId: string;
  orderRef: string;
  attemptId: string | null;
  scheme: Scheme | null;
  maskedCode: string | null;
  amountFen: number;
  openedAt: number;
  reason: AttentionReason;
  status: SaleStatus;
  claimedAmountFen: number | null;
  attentionAt: number | null;
  /** A sale of no-integration mode: which display total it charged, and the bytes' hash. */
  amountFrom?: { tapSeq: number | null; tapEvidence: string | null };
}

export interface JournalNote {
  path: string;
  lines: number;
  records: number;
  discardedLines: number;
  discardedBytes: number;
  tornTail: boolean;
  /** No journal file at `path`: the figures are empty because nothing could be read. */
  missing: boolean;
}

export interface DayReport {
  date: string;
  timeZone: string;
  from: number;
  to: number;
  schemes: SchemeRow[];
  totals: ReportRow;
  /** Training sales and their refunds (posbridge test sale): apart, never in the totals. */
  training: ReportRow;
  needsAttention: AttentionItem[];
  /** The day's sales (not training) by where their amount came from. */
  amountSources: Record<AmountSource, Record<ReportStatus, Tally>>;
  journal: JournalNote | null;
}

const STATUS_OF: Record<SaleStatus, ReportStatus> = {
  PAID: "PAID",
  CANCELLED: "CANCELLED",
  UNKNOWN: "UNKNOWN",
  OPEN: "IN_PROGRESS",
  PENDING: "IN_PROGRESS",
};

const pad2 = (n: number) => n.toString().padStart(2, "0");

/** The local calendar date (YYYY-MM-DD) of an instant, in the process time zone. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/** [from, to) of a local calendar date (23 or 25 hours on DST days), or null when `date` is not one. */
export function localDayBounds(date: string): { from: number; to: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  if (y < 1970) return null;
  const start = new Date(y, mo, d);
  if (start.getFullYear() !== y || start.getMonth() !== mo || start.getDate() !== d) return null;
  return { from: start.getTime(), to: new Date(y, mo, d + 1).getTime() };
}

const tally = (): Tally => ({ count: 0, amountFen: 0 });

function emptyRow(): ReportRow {
  return {
    sales: { PAID: tally(), CANCELLED: tally(), UNKNOWN: tally(), IN_PROGRESS: tally() },
    refunds: { refunded: tally(), failed: tally(), open: tally() },
    netFen: 0,
  };
}

function add(t: Tally, amountFen: number): void {
  t.count++;
  t.amountFen += amountFen;
}

/**
 * The report of one local calendar day. Throws RangeError when `date` is not YYYY-MM-DD of a
 * real date. `source` (the journal read and its load report) only fills `journal`.
 */
export function dayReport(
  records: readonly JournalRecord[],
  date: string,
  source?: { path: string; report: JournalLoadReport },
): DayReport {
  const bounds = localDayBounds(date);
  if (!bounds) throw new RangeError(`not a calendar date YYYY-MM-DD: ${JSON.stringify(date.slice(0, 20))}`);
  const inDay = (t: number) => t >= bounds.from && t < bounds.to;

  const sales = new Map<string, SaleRecord>();
  const attempts = new Map<string, AttemptRecord>();
  const refunds: RefundRecord[] = [];
  for (const r of records) {
    if (r.kind === "sale") sales.set(`${r.laneId}\u0000${r.orderRef}`, r);
    else if (r.kind === "attempt") attempts.set(r.attemptId, r);
    else refunds.push(r);
  }
  // The attempt a late PAID named, per order: the one the cloud contradicted last.
  const contradicted = new Map<string, AttemptRecord>();
  for (const a of attempts.values()) {
    if (a.latePaidAt === null) continue;
    const key = `${a.laneId}\u0000${a.orderRef}`;
    const prev = contradicted.get(key);
    if (!prev || (prev.latePaidAt ?? 0) < a.latePaidAt) contradicted.set(key, a);
  }

  const rows = new Map<ReportScheme, ReportRow>(REPORT_SCHEMES.map((s) => [s, emptyRow()]));
  const training = emptyRow();
  const row = (s: ReportScheme) => rows.get(s)!;
  const needsAttention: AttentionItem[] = [];
  const amountSources: Record<AmountSource, Record<ReportStatus, Tally>> = {
    register: emptyRow().sales,
    displayTap: emptyRow().sales,
  };

  for (const s of sales.values()) {
    if (s.training) {
      if (inDay(s.openedAt)) add(training.sales[STATUS_OF[s.status]], s.amountFen);
      continue;
    }
    const flagged =
      s.attention !== "" && (inDay(s.openedAt) || (s.attentionAt !== null && inDay(s.attentionAt)));
    if (flagged) {
      const a = contradicted.get(`${s.laneId}\u0000${s.orderRef}`);
      needsAttention.push({
        laneId: s.laneId,
        orderRef: s.orderRef,
        attemptId: a?.attemptId ?? s.attemptId,
        scheme: a?.scheme ?? s.scheme,
        maskedCode: a?.maskedCode ?? null,
        amountFen: s.amountFen,
        openedAt: s.openedAt,
        reason: s.attention as Exclude<SaleAttention, "">,
        status: s.status,
        claimedAmountFen: a?.latePaidAmountFen ?? null,
        attentionAt: s.attentionAt,
        ...amountFrom(s),
      });
    }
    if (!inDay(s.openedAt)) continue;
    const status = STATUS_OF[s.status];
    add(row(s.scheme ?? "none").sales[status], s.amountFen);
    add(amountSources[s.amountSource ?? "register"][status], s.amountFen);
    if (status === "UNKNOWN" && !flagged) {
      const a = s.attemptId === null ? undefined : attempts.get(s.attemptId);
      needsAttention.push({
        laneId: s.laneId,
        orderRef: s.orderRef,
        attemptId: s.attemptId,
        scheme: s.scheme ?? a?.scheme ?? null,
        maskedCode: a?.maskedCode ?? null,
        amountFen: s.amountFen,
        openedAt: s.openedAt,
        reason: "unknown",
        status: s.status,
        claimedAmountFen: null,
        attentionAt: null,
        ...amountFrom(s),
      });
    }
  }

  for (const r of refunds) {
    if (!inDay(r.requestedAt)) continue;
    const refunded = sales.get(`${r.laneId}\u0000${r.orderRef}`);
    if (refunded?.training || attempts.get(r.attemptId)?.training) {
      const t = training.refunds;
      add(r.phase === "refunded" ? t.refunded : r.phase === "failed" ? t.failed : t.open, r.amountFen);
      continue;
    }
    const scheme =
      attempts.get(r.attemptId)?.scheme ?? sales.get(`${r.laneId}\u0000${r.orderRef}`)?.scheme ?? "none";
    const t = row(scheme).refunds;
    add(r.phase === "refunded" ? t.refunded : r.phase === "failed" ? t.failed : t.open, r.amountFen);
  }

  const totals = emptyRow();
  const schemes: SchemeRow[] = REPORT_SCHEMES.map((scheme) => {
    const r = row(scheme);
    r.netFen = r.sales.PAID.amountFen - r.refunds.refunded.amountFen;
    for (const st of REPORT_STATUSES) addTally(totals.sales[st], r.sales[st]);
    addTally(totals.refunds.refunded, r.refunds.refunded);
    addTally(totals.refunds.failed, r.refunds.failed);
    addTally(totals.refunds.open, r.refunds.open);
    totals.netFen += r.netFen;
    return { scheme, ...r };
  });

  training.netFen = training.sales.PAID.amountFen - training.refunds.refunded.amountFen;
  needsAttention.sort((a, b) => a.openedAt - b.openedAt || a.orderRef.localeCompare(b.orderRef));
  return {
    date,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    from: bounds.from,
    to: bounds.to,
    schemes,
    totals,
    training,
    needsAttention,
    amountSources,
    journal: source
      ? {
          path: source.path,
          lines: source.report.lines,
          records: source.report.records,
          discardedLines: source.report.discardedLines,
          discardedBytes: source.report.discardedBytes,
          tornTail: source.report.tornTail,
          missing: source.report.missing,
        }
      : null,
  };
}

/** A display-tap sale's provenance for the attention list; nothing for a register's sale. */
function amountFrom(s: SaleRecord): Pick<AttentionItem, "amountFrom"> {
  if (s.amountSource !== "displayTap") return {};
  return { amountFrom: { tapSeq: s.tapSeq ?? null, tapEvidence: s.tapEvidence ?? null } };
}

function addTally(into: Tally, t: Tally): void {
  into.count += t.count;
  into.amountFen += t.amountFen;
}

const LABEL = 12;
const countCol = (n: number) => String(n).padStart(7);
const yuanCol = (fen: number) => formatYuan(fen).padStart(13);
const tallyCols = (t: Tally) => `${countCol(t.count)}${yuanCol(t.amountFen)}`;

function hasActivity(r: ReportRow): boolean {
  return (
    REPORT_STATUSES.some((s) => r.sales[s].count > 0) ||
    r.refunds.refunded.count + r.refunds.failed.count + r.refunds.open.count > 0
  );
}

/** Where the amounts came from: only when some were read from a register's display. */
function sourceLines(sources: DayReport["amountSources"]): string[] {
  const tap = sources.displayTap;
  if (!REPORT_STATUSES.some((s) => tap[s].count > 0)) return [];
  const say = (t: Record<ReportStatus, Tally>) =>
    REPORT_STATUSES.filter((st) => t[st].count > 0)
      .map(
        (st) =>
          `${st === "IN_PROGRESS" ? "IN PROGRESS" : st} ${t[st].count} (${formatYuan(t[st].amountFen)} yuan)`,
      )
      .join(", ") || "none";
  return [
    "",
    "Amount source (no-integration mode: the amount read from the register's customer display)",
    `  register request  ${say(sources.register)}`,
    `  register display  ${say(tap)}`,
  ];
}

/** The training section: only when there were training sales, and always said to be apart. */
function trainingLines(t: ReportRow): string[] {
  if (!hasActivity(t)) return [];
  const sales = REPORT_STATUSES.filter((st) => t.sales[st].count > 0).map(
    (st) =>
      `${st === "IN_PROGRESS" ? "IN PROGRESS" : st} ${t.sales[st].count} (${formatYuan(t.sales[st].amountFen)} yuan)`,
  );
  const refunds = t.refunds.refunded.count + t.refunds.failed.count + t.refunds.open.count;
  return [
    "",
    "Training sales (posbridge test sale: the simulated cloud answered, no money moved; not in any figure above)",
    `  ${sales.join(", ") || "none"}${refunds ? `; refunds ${refunds}` : ""}`,
  ];
}

function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

const AFTER: Record<Exclude<AttentionReason, "unknown">, string> = {
  paidAfterReversal: "after it confirmed the reversal",
  paidAfterEnd: "after the attempt had ended",
  amountMismatchAfterEnd: "with another amount after the sale ended",
};

function attentionWhy(a: AttentionItem): string {
  if (a.reason === "unknown") return "outcome UNKNOWN: the bridge is still asking the cloud";
  const claimed = a.claimedAmountFen === null ? "" : ` ${formatYuan(a.claimedAmountFen)} yuan`;
  const when = a.attentionAt === null ? "" : ` at ${localDate(a.attentionAt)} ${clock(a.attentionAt)}`;
  return `journal says ${a.status}; the cloud later said PAID${claimed} ${AFTER[a.reason]}${when}`;
}

/** The report as text for a terminal or a printout (yuan with two decimals). */
export function formatDayReport(r: DayReport): string {
  const out: string[] = [`posbridge day report ${r.date} (${r.timeZone})`];
  if (r.journal) {
    out.push(`journal ${r.journal.path}: ${r.journal.records} records`);
    if (r.journal.missing) {
      out.push(
        "WARNING: the journal file does not exist, so every figure below is empty. If posbridge is running, its state directory was removed or replaced: it is refusing sales and writes the journal again from memory as soon as it can (see its PB_JOURNAL_GONE alarm); run the report again then.",
      );
    }
    if (r.journal.discardedLines > 0) {
      out.push(
        `WARNING: ${r.journal.discardedLines} damaged journal line(s) (${r.journal.discardedBytes} bytes) were skipped; figures may be incomplete`,
      );
    }
    if (r.journal.tornTail) {
      out.push(
        "note: the journal's last line was incomplete (being written, or cut by a crash) and was skipped",
      );
    }
  }
  out.push("");

  const active = r.schemes.filter(hasActivity);
  if (active.length === 0) {
    out.push("No sales and no refunds on this day.");
    out.push(...trainingLines(r.training));
    return `${out.join("\n")}\n`;
  }

  const groupHead = (names: string[]) => names.map((n) => `  ${n.padEnd(18)}`).join("");
  out.push(`${"Sales".padEnd(LABEL)}${groupHead(["PAID", "CANCELLED", "UNKNOWN", "IN PROGRESS"])}`.trimEnd());
  out.push(`${"".padEnd(LABEL)}${"  count         yuan".repeat(4)}`);
  const salesLine = (label: string, row: ReportRow) =>
    `${label.padEnd(LABEL)}${REPORT_STATUSES.map((s) => tallyCols(row.sales[s])).join("")}`;
  for (const s of active) out.push(salesLine(s.scheme, s));
  out.push(salesLine("total", r.totals));
  out.push("");

  out.push(
    `${"Refunds".padEnd(LABEL)}  ${"refunded".padEnd(18)}${"failed".padStart(7)}  unknown/in progress`,
  );
  out.push(`${"".padEnd(LABEL)}  count         yuan  count  count         yuan`);
  const refundsLine = (label: string, row: ReportRow) =>
    `${label.padEnd(LABEL)}${tallyCols(row.refunds.refunded)}${countCol(row.refunds.failed.count)}${tallyCols(row.refunds.open)}`;
  for (const s of active) out.push(refundsLine(s.scheme, s));
  out.push(refundsLine("total", r.totals));
  out.push("");

  out.push("Net (paid - refunded), yuan");
  for (const s of active) out.push(`${s.scheme.padEnd(LABEL)}${yuanCol(s.netFen)}`);
  out.push(`${"total".padEnd(LABEL)}${yuanCol(r.totals.netFen)}`);

  out.push(...sourceLines(r.amountSources));
  out.push(...trainingLines(r.training));

  if (r.needsAttention.length > 0) {
    out.push("");
    out.push(
      `Needs attention: ${r.needsAttention.length} sale(s) — do not take payment again or refund before checking them with the payment cloud`,
    );
    for (const a of r.needsAttention) {
      out.push(
        `  lane ${a.laneId}  order ${a.orderRef}  attempt ${a.attemptId ?? "-"}  ${a.maskedCode ?? a.scheme ?? "-"}  ${formatYuan(a.amountFen)} yuan  opened ${clock(a.openedAt)}`,
      );
      out.push(`    ${attentionWhy(a)}`);
      if (a.amountFrom)
        out.push(
          `    amount read from the register's display: total #${a.amountFrom.tapSeq ?? "?"}, bytes sha256 ${a.amountFrom.tapEvidence ?? "?"}…`,
        );
    }
  }
  return `${out.join("\n")}\n`;
}
