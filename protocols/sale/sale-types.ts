// The per-lane sale machine's vocabulary: its state, the inputs it is fed and the effects it
// asks the runner (daemon/lanes/sale-runner.ts) to carry out. No I/O, no clocks: time arrives as
// an Instant (wall for records, mono for every due time: protocols/core/instant.ts).
// The machine never holds a payment code: a scan input carries one for classification only, and
// the lane keeps it in memory under the attempt id until the attempt's deadline
// (daemon/lanes/code-custody.ts).
import type {
  CancelCommand,
  CloudCommand,
  PaymentResult,
  QueryCommand,
  RefundCommand,
  RefundResult,
} from "../cloud/cloud-messages.js";
import type { Instant } from "../core/instant.js";
import type { DisplayView } from "../display/display-view.js";
import type { SchemeRule } from "../payment/scheme.js";
import type { PosAnswer, PosRequest } from "../pos/pos-messages.js";
import type { AttemptSettings } from "./attempt-machine.js";
import type { AmountProvenance, AttemptRecord, JournalRecord, RefundRecord, SaleRecord } from "./records.js";
import type { RefundSettings, SaleView } from "./refund-machine.js";
import type { Effects } from "./sale-outcomes.js";

export interface SaleSettings {
  scanTimeoutMs: number;
  /** A payment code lives about 60 s: the pay request's deadline is scan time + this. */
  codeLifetimeMs: number;
  maxAmountFen: number;
  schemes: readonly SchemeRule[];
  /** How long a final result stays on the customer display before it returns to idle. */
  resultDisplayMs: number;
  attempt: AttemptSettings;
  refund: RefundSettings;
  /**
   * After a restart, send the SA's RS unsolicited when its sale resolves (the register may still
   * be waiting for it: every request gets one RS). Otherwise the register learns it by QY.
   */
  answerAfterRestart: boolean;
}

export interface ActiveSale {
  record: SaleRecord;
  /** The attempt in flight, if any (one per lane). */
  attempt: AttemptRecord | null;
  /** seqs of CA requests waiting for the sale's end (each gets its own RS). */
  cancelSeqs: string[];
}

/** An attempt not tied to the open sale: recovered after a restart, or unresolved. */
export interface BackgroundAttempt {
  attempt: AttemptRecord;
  sale: SaleRecord | null;
}

/**
 * Why the journal cannot be written; the register is told which (sale-texts.ts storageText):
 * `full` ENOSPC/EDQUOT, `readOnly` EROFS/EACCES/EPERM, `gone` the file or its directory was
 * removed or replaced (PB_JOURNAL_GONE), `failed` anything else (EIO…).
 */
export type JournalFault = "full" | "readOnly" | "gone" | "failed";

export interface LaneSaleState {
  laneId: string;
  current: ActiveSale | null;
  background: BackgroundAttempt[];
  /** Refunds not final (answered or not). */
  refunds: RefundRecord[];
  cloudOnline: boolean;
  /** While not online because the broker refuses us: its reason code ("0x87"), for the register's text. */
  cloudRefusal: string;
  /**
   * Set while the journal cannot be written: no new sale, refund, scan or cancel is taken (each
   * is refused with the storage error) until the runner says it works again.
   */
  journalFault: JournalFault | null;
  /** Monotonic time the `attempts` timer is armed for (the earliest due time), or null. */
  dueMono: number | null;
}

/** What every handler of one step shares: the settings, the moment, and the effects so far. */
export interface StepContext {
  readonly s: SaleSettings;
  readonly at: Instant;
  readonly out: Effects;
}

export type TimerName = "scan" | "attempts" | "idleDisplay";

export type SaleInput =
  /**
   * `view`: the journal's record of request.orderRef on this lane (sale, attempts, refunds).
   * `training`: a sale opened by `posbridge test sale`, answered by the simulated cloud (training.ts).
   */
  | {
      type: "pos";
      request: PosRequest;
      view?: SaleView | undefined;
      newId?: string;
      training?: boolean;
      /** A sale the lane made up from the register's display (no-integration mode): where its amount came from. */
      amountFrom?: AmountProvenance;
    }
  /** A well-formed frame whose DATA could not be understood (terminal-protocol.md, Link layer). */
  | { type: "badRequest"; seq: string; orderRef: string; message: string }
  /** A scanner read. `attemptId` is a fresh id the runner made; used only if an attempt starts. */
  | { type: "scan"; code: string; attemptId: string }
  /** The scanner read a code already submitted within the last minute (compared in memory only). */
  | { type: "scanRepeated" }
  /**
   * `answers`: which of our requests this result answers (the RPC layer knows by request id).
   * `view`: the journal's record of the order the attempt belongs to, when the journal knows the
   * attempt (a result for an attempt that has already ended is judged against it).
   */
  | {
      type: "cloudResult";
      attemptId: string;
      result: PaymentResult;
      answers: CloudCommand["type"];
      view?: SaleView | undefined;
    }
  | { type: "refundResult"; refundId: string; result: RefundResult }
  /** The pay request could not leave the bridge (not connected): no money can have moved. */
  | { type: "payNotSent"; attemptId: string; reason: string }
  /**
   * The broker refused the attempt's only pay request (MQTT 5 PUBACK ≥ 0x80, `reasonCode` e.g.
   * "0x87"): it reached no one, so no money can have moved.
   */
  | { type: "payRefused"; attemptId: string; reasonCode: string }
  /** The broker refused a CancelRequest of the attempt: nothing was delivered, no reversal spent. */
  | { type: "cancelRefused"; attemptId: string }
  /** `refusal`: the broker's reason code when it refuses us ("0x87"), "" when merely offline. */
  | { type: "cloudLink"; online: boolean; refusal?: string }
  | { type: "timer"; name: TimerName }
  /** After a restart: what the journal holds unsettled for this lane. */
  | { type: "recover"; sales: SaleView[]; refunds: RefundRecord[] }
  /** The journal refused a write or was found gone (`fault`), or works again (null). */
  | { type: "journalHealth"; fault: JournalFault | null; detail: string };

export type SaleEventKind =
  | "saleStarted"
  | "saleRejected"
  | "scanIgnored"
  | "scanRejected"
  | "attemptSubmitted"
  | "attemptFailed"
  | "attemptResolved"
  | "resultIgnored"
  | "amountMismatch"
  /** The cloud said PAID after it had ended the attempt otherwise: an alarm. */
  | "latePaid"
  | "notFound"
  | "recovered"
  | "refundEnded"
  | "journalFault"
  | "orderAlreadyPaid"
  | "saleEnded";

export type SaleEffect =
  /** Durable before anything after it in the same step is carried out (the runner fsyncs). */
  | { type: "journal"; record: JournalRecord }
  | { type: "answer"; answer: PosAnswer }
  | { type: "display"; view: DisplayView }
  /** Publish the attempt's PayRequest; the lane adds the code it holds for this attempt id (code-custody). */
  | { type: "pay"; attempt: AttemptRecord; scannedAtMs: number }
  | { type: "query"; command: QueryCommand }
  | { type: "cancel"; command: CancelCommand }
  | { type: "refund"; command: RefundCommand }
  /** Fire `timer` with this name at monotonic time `atMono` (replacing one armed under that name). */
  | { type: "armTimer"; name: TimerName; atMono: number }
  | { type: "cancelTimer"; name: TimerName }
  /** Something worth a log line and a counter. `detail` never holds a payment code. */
  | { type: "event"; kind: SaleEventKind; detail: string; level: "info" | "warn" | "error" };

export interface SaleStep {
  state: LaneSaleState;
  effects: SaleEffect[];
}

export type { SaleView };
