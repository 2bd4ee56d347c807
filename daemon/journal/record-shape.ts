// The exact shapes the journal accepts, checked on every write and on every line read back.
// A record is refused unless it has exactly the keys of its kind (records.ts) with the right
// types, so a payment code cannot ride along in an extra field (`authCode`); `maskedCode` must
// be scheme + "…" + at most 4 digits; free-text fields (`text`, `seq`, `reasonCode`) may not hold
// a run of 12+ digits (payment codes are 16–24 digits; ASCII or full-width). Exempt from that run
// rule: `channelTradeNo` (channel trade numbers are long digit strings) and the ids and refs,
// which are held to 1–64 of [A-Za-z0-9_-] instead: registers send numeric order numbers
// ("20260314000123" is a valid orderRef, terminal-protocol.md) and must be journaled.
// Problems name the field, never its value: the value may be the very code refused.
import type { Scheme } from "../../protocols/payment/scheme.js";
import type {
  AmountSource,
  AttemptPhase,
  AttemptReason,
  AttemptRecord,
  JournalRecord,
  RefundPhase,
  RefundRecord,
  SaleAttention,
  SaleRecord,
  SaleStatus,
} from "../../protocols/sale/records.js";

/** The first line of every journal file. */
export interface JournalHeader {
  journal: "posbridge";
  version: number;
  createdAt: number;
}
export const JOURNAL_MAGIC = "posbridge";
/**
 * 2: monotonic schedule fields (`boot`, `…Mono`, `nextDueMono` for `nextAt`).
 * 3: `training` on sales and attempts (posbridge test sale). A posbridge that reads only 1 and 2
 *    refuses a version 3 file outright rather than discard its records as damaged.
 * 4: `amountSource`, `tapSeq`, `tapEvidence` on sales of no-integration mode (optional: a sale the
 *    register asked for has none). A posbridge that reads only 1–3 would discard such a sale's
 *    lines as damaged (unknown fields), so it refuses a version 4 file outright instead.
 * Older files are read and upgraded (upgradeRecord), then rewritten in the current version at open.
 */
export const JOURNAL_VERSION = 4;
/** Versions this posbridge can read. */
export const READABLE_JOURNAL_VERSIONS: readonly number[] = [1, 2, 3, 4];

/** Returns a problem ("must be …") or undefined when the value fits. */
type Check = (v: unknown) => string | undefined;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const MASKED_CODE = /^(WECHAT|ALIPAY|UNIONPAY|ECNY|code)…(\d{4})?$/;
const LONG_DIGITS = /[0-9０-９]{12,}/;

// Record<Union, true>: the compiler fails here when records.ts gains or loses a value.
const SCHEMES: Record<Scheme, true> = { WECHAT: true, ALIPAY: true, UNIONPAY: true, ECNY: true };
const SALE_STATUSES: Record<SaleStatus, true> = {
  OPEN: true,
  PENDING: true,
  PAID: true,
  CANCELLED: true,
  UNKNOWN: true,
};
const SALE_ATTENTIONS: Record<SaleAttention, true> = {
  "": true,
  paidAfterReversal: true,
  paidAfterEnd: true,
  amountMismatchAfterEnd: true,
};
const ATTEMPT_PHASES: Record<AttemptPhase, true> = {
  queued: true,
  sent: true,
  waitCustomer: true,
  unknown: true,
  reversing: true,
  unresolved: true,
  paid: true,
  failed: true,
  cancelled: true,
};
const ATTEMPT_REASONS: Record<AttemptReason, true> = {
  "": true,
  declinedRescan: true,
  declinedFinal: true,
  notSent: true,
  brokerRefused: true,
  noAnswer: true,
  cloudUnknown: true,
  amountMismatch: true,
  deadline: true,
  cashierCancel: true,
  recovered: true,
  reversed: true,
  reverseExhausted: true,
  paidDespiteReverse: true,
  orderAlreadyPaid: true,
};
const REFUND_PHASES: Record<RefundPhase, true> = {
  requested: true,
  refunded: true,
  failed: true,
  unknown: true,
};

const literal =
  (value: string): Check =>
  (v) =>
    v === value ? undefined : `must be "${value}"`;

const oneOf =
  (values: Record<string, true>, what: string): Check =>
  (v) =>
    typeof v === "string" && Object.hasOwn(values, v) ? undefined : `must be ${what}`;

const orNull =
  (check: Check): Check =>
  (v) => {
    if (v === null) return undefined;
    const problem = check(v);
    return problem === undefined ? undefined : `${problem}, or null`;
  };

/** A string of at most `max` characters with no run of 12+ digits. */
const text =
  (max: number): Check =>
  (v) => {
    if (typeof v !== "string") return "must be a string";
    if (v.length > max) return `must be at most ${max} characters`;
    if (LONG_DIGITS.test(v)) return "must not hold a run of 12 or more digits (a payment code?)";
    return undefined;
  };

/** laneId, orderRef, refundRef, attemptId, refundId (see the header on digit runs). */
const id: Check = (v) => (typeof v === "string" && ID.test(v) ? undefined : "must be 1-64 of [A-Za-z0-9_-]");

/** The one string field allowed long digit runs: channel trade numbers are long digit strings. */
const tradeNo: Check = (v) =>
  typeof v === "string" && v.length <= 64 ? undefined : "must be a string of at most 64 characters";

const maskedCode: Check = (v) =>
  typeof v === "string" && MASKED_CODE.test(v)
    ? undefined
    : "must be a masked code: scheme (or 'code') + '…' + at most the last 4 digits";

/** Amounts, counts and epoch-ms times: safe integers ≥ 0. */
const count: Check = (v) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? undefined : "must be an integer >= 0";

/** Monotonic ms of the record's boot: an integer, below 0 for a moment before that boot. */
const mono: Check = (v) =>
  typeof v === "number" && Number.isSafeInteger(v) ? undefined : "must be an integer";

const bool: Check = (v) => (typeof v === "boolean" ? undefined : "must be true or false");

/** The first 16 hex digits of a SHA-256 (a display tap's evidence). */
const hash16: Check = (v) =>
  typeof v === "string" && /^[0-9a-f]{16}$/.test(v) ? undefined : "must be 16 lowercase hex digits";

const AMOUNT_SOURCES: Record<AmountSource, true> = { register: true, displayTap: true };

/** Fields a record may leave out (absent means the default the spec's comment names). */
const OPTIONAL: ReadonlySet<string> = new Set(["amountSource", "tapSeq", "tapEvidence"]);

/** A boot tag (daemon/clock.ts readBootId), or "" when unknown. */
const boot: Check = (v) =>
  typeof v === "string" && /^[A-Za-z0-9]{0,32}$/.test(v)
    ? undefined
    : "must be a boot tag (up to 32 letters or digits)";

type Spec<T> = { [K in keyof T]-?: Check };

// Key order here is the order fields are written in (one canonical line per snapshot).
const SALE: Spec<SaleRecord> = {
  kind: literal("sale"),
  laneId: id,
  orderRef: id,
  amountFen: count,
  seq: text(16),
  openedAt: count,
  status: oneOf(SALE_STATUSES, "a sale status"),
  answered: bool,
  scheme: orNull(oneOf(SCHEMES, "a scheme")),
  channelTradeNo: tradeNo,
  attemptId: orNull(id),
  attempts: count,
  text: text(1024),
  endedAt: orNull(count),
  attention: oneOf(SALE_ATTENTIONS, "a sale attention"),
  attentionAt: orNull(count),
  training: bool,
  updatedAt: count,
  // Optional (OPTIONAL): absent on a sale the register asked for.
  amountSource: oneOf(AMOUNT_SOURCES, "register or displayTap"),
  tapSeq: count,
  tapEvidence: hash16,
};

const ATTEMPT: Spec<AttemptRecord> = {
  kind: literal("attempt"),
  attemptId: id,
  laneId: id,
  orderRef: id,
  amountFen: count,
  scheme: oneOf(SCHEMES, "a scheme"),
  maskedCode,
  createdAt: count,
  deadlineMs: count,
  sentAt: orNull(count),
  boot,
  scannedMono: mono,
  sentMono: orNull(mono),
  phase: oneOf(ATTEMPT_PHASES, "an attempt phase"),
  reason: oneOf(ATTEMPT_REASONS, "an attempt reason"),
  reasonCode: text(64),
  channelTradeNo: tradeNo,
  paidAmountFen: orNull(count),
  queries: count,
  reversals: count,
  latePaidAmountFen: orNull(count),
  lateTradeNo: tradeNo,
  latePaidAt: orNull(count),
  nextDueMono: orNull(mono),
  training: bool,
  updatedAt: count,
};

const REFUND: Spec<RefundRecord> = {
  kind: literal("refund"),
  refundId: id,
  refundRef: id,
  laneId: id,
  orderRef: id,
  attemptId: id,
  amountFen: count,
  seq: text(16),
  phase: oneOf(REFUND_PHASES, "a refund phase"),
  reasonCode: text(64),
  sends: count,
  answered: bool,
  requestedAt: count,
  boot,
  requestedMono: mono,
  nextDueMono: orNull(mono),
  updatedAt: count,
};

const HEADER: Spec<JournalHeader> = {
  journal: literal(JOURNAL_MAGIC),
  version: count,
  createdAt: count,
};

const SPECS: Record<JournalRecord["kind"], Record<string, Check>> = {
  sale: SALE,
  attempt: ATTEMPT,
  refund: REFUND,
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A key is only echoed when it looks like a field name (a key could itself be a code). */
function keyName(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(key) ? `"${key}"` : "(a key that is not a field name)";
}

function checkAgainst(v: Record<string, unknown>, spec: Record<string, Check>, what: string) {
  for (const key of Object.keys(v)) {
    if (!Object.hasOwn(spec, key)) return `${what}: unknown field ${keyName(key)}`;
  }
  for (const [key, check] of Object.entries(spec)) {
    if (!Object.hasOwn(v, key)) {
      if (OPTIONAL.has(key)) continue;
      return `${what}: field "${key}" is missing`;
    }
    const problem = check(v[key]);
    if (problem !== undefined) return `${what}.${key} ${problem}`;
  }
  return undefined;
}

/** Undefined when `v` is a JournalRecord of exactly the known shape, else the first problem. */
export function checkRecord(v: unknown): string | undefined {
  if (!isPlainObject(v)) return "record must be an object";
  const kind = v.kind;
  if (typeof kind !== "string" || !Object.hasOwn(SPECS, kind)) {
    return 'record field "kind" must be "sale", "attempt" or "refund"';
  }
  return checkAgainst(v, SPECS[kind as JournalRecord["kind"]], kind);
}

/** Undefined when `v` is a journal header (any version), else the first problem. */
export function checkHeader(v: unknown): string | undefined {
  if (!isPlainObject(v)) return "header must be an object";
  return checkAgainst(v, HEADER, "header");
}

/** A copy of a checked record with its fields in the canonical order (for a stable line). */
export function canonicalRecord<R extends JournalRecord>(r: R): R {
  const spec = SPECS[r.kind];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(spec)) {
    const value = (r as unknown as Record<string, unknown>)[key];
    if (value === undefined && OPTIONAL.has(key)) continue;
    out[key] = value;
  }
  return out as unknown as R;
}

/**
 * A record of an older version (1 or 2, or of a file whose header was lost) in today's shape.
 * Version 1 kept due times on the wall clock (`nextAt`) and no monotonic time: the due time is
 * dropped (recovery sets one) and `boot` is "" so that a restart measures how long ago it was sent
 * on the wall clock (protocols/core/instant.ts). Version 1 knew nothing of a cloud contradicting
 * itself after the end: no sale needed attention and no attempt had a late claim. Versions 1 and
 * 2 knew no training sales: every sale and attempt was real. Fields a record already has are kept;
 * anything else is returned as it was, for checkRecord to judge.
 */
export function upgradeRecord(v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  if (v.kind === "sale") return { attention: "", attentionAt: null, training: false, ...v };
  if (v.kind !== "attempt" && v.kind !== "refund") return v;
  const added =
    v.kind === "attempt"
      ? { latePaidAmountFen: null, lateTradeNo: "", latePaidAt: null, training: false }
      : {};
  if (!Object.hasOwn(v, "nextAt")) return { ...added, ...v };
  const rest = Object.fromEntries(Object.entries(v).filter(([key]) => key !== "nextAt"));
  if (v.kind === "attempt")
    return { ...added, ...rest, boot: "", scannedMono: 0, sentMono: null, nextDueMono: null };
  return { ...rest, boot: "", requestedMono: 0, nextDueMono: null };
}
