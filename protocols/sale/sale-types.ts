// The per-lane sale machine's vocabulary: its state, the inputs it is fed and the effects it
// asks the runner (daemon/lanes/sale-runner.ts) to carry out. No I/O, no clocks: time is `now`.
import type { CancelCommand, CloudCommand, PayCommand, PaymentResult } from "../cloud/cloud-messages.js";
import type { DisplayView } from "../display/display-view.js";
import type { Scheme, SchemeRule } from "../payment/scheme.js";
import type { PosAnswer, PosRequest, ResultStatus } from "../pos/pos-messages.js";

export interface SaleSettings {
  scanTimeoutMs: number;
  resultTimeoutMs: number;
  codeLifetimeMs: number;
  maxAmountFen: number;
  schemes: readonly SchemeRule[];
  /** How long a final result stays on the customer display before it returns to idle. */
  resultDisplayMs: number;
  /** How many finished sales are remembered for QY (in memory; the journal comes later). */
  recentLimit: number;
}

export type SalePhase = "waitScan" | "submitted" | "waitCustomer" | "reversing";

export interface Attempt {
  attemptId: string;
  scheme: Scheme;
  /** scheme + last 4 at most (protocols/payment/mask.ts); the code itself is never kept. */
  maskedCode: string;
  submittedAt: number;
  deadlineMs: number;
}

export interface ActiveSale {
  orderRef: string;
  amountFen: number;
  /** seq of the SA that opened the sale: its RS echoes it. */
  seq: string;
  startedAt: number;
  phase: SalePhase;
  attempt: Attempt | null;
  /** How many attempts (scans sent to the cloud) this sale has made. */
  attempts: number;
  /** seqs of CA requests waiting for the sale's end (each gets its own RS). */
  cancelSeqs: string[];
}

export interface FinishedSale {
  orderRef: string;
  /** The last attempt sent for this sale, if any (a late final result for it updates the sale). */
  attemptId: string | null;
  amountFen: number;
  status: ResultStatus;
  scheme: Scheme | null;
  channelTradeNo: string;
  text: string;
  endedAt: number;
}

export interface LaneSaleState {
  current: ActiveSale | null;
  /** Most recent last. Bounded by settings.recentLimit. */
  recent: FinishedSale[];
  cloudOnline: boolean;
}

export type TimerName = "scan" | "result" | "idleDisplay";

export type SaleInput =
  | { type: "pos"; request: PosRequest }
  /** A well-formed frame whose DATA could not be understood (terminal-protocol.md, Link layer). */
  | { type: "badRequest"; seq: string; orderRef: string; message: string }
  /** A scanner read. `attemptId` is a fresh id the runner made; used only if an attempt starts. */
  | { type: "scan"; code: string; attemptId: string }
  /** `answers`: which of our requests this result answers (the RPC layer knows by request id). */
  | { type: "cloudResult"; attemptId: string; result: PaymentResult; answers: CloudCommand["type"] }
  /** The scanner read a code already submitted within the last minute (compared in memory only). */
  | { type: "scanRepeated" }
  /** The pay request could not leave the bridge (not connected): no money can have moved. */
  | { type: "payNotSent"; attemptId: string; reason: string }
  | { type: "cloudLink"; online: boolean }
  | { type: "timer"; name: TimerName };

export type SaleEventKind =
  | "saleStarted"
  | "saleRejected"
  | "scanIgnored"
  | "scanRejected"
  | "attemptSubmitted"
  | "attemptFailed"
  | "resultIgnored"
  | "amountMismatch"
  | "lateResult"
  | "saleEnded";

export type SaleEffect =
  | { type: "answer"; answer: PosAnswer }
  | { type: "display"; view: DisplayView }
  | { type: "pay"; command: PayCommand }
  | { type: "cancel"; command: CancelCommand }
  | { type: "armTimer"; name: TimerName; at: number }
  | { type: "cancelTimer"; name: TimerName }
  /** Something worth a log line and a counter. `detail` never holds a payment code. */
  | { type: "event"; kind: SaleEventKind; detail: string; level: "info" | "warn" | "error" };

export interface SaleStep {
  state: LaneSaleState;
  effects: SaleEffect[];
}
