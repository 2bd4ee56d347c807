// What the register asks and what the bridge answers, independent of the wire profile
// (`ecr` frames or `line` text). See shared/spec/terminal-protocol.md, "DATA".
import type { Scheme } from "../payment/scheme.js";

export type PosRequest =
  | { type: "sale"; seq: string; orderRef: string; amountFen: number }
  | { type: "query"; seq: string; orderRef: string }
  | { type: "cancel"; seq: string; orderRef: string }
  | { type: "refund"; seq: string; orderRef: string; refundRef: string; amountFen: number }
  | { type: "echo"; seq: string };

export type ProgressStage =
  | "WAIT_SCAN"
  | "SUBMITTED"
  | "WAIT_CUSTOMER"
  | "RETRY_SCAN"
  | "QUERYING"
  | "REVERSING";

/** RS status codes (terminal-protocol.md). */
export type ResultStatus =
  | "PAID"
  | "CANCELLED"
  | "UNKNOWN"
  | "REJECTED"
  | "REFUNDED"
  | "REFUND_FAILED"
  | "PENDING";

export const RESULT_STATUS_CODE: Readonly<Record<ResultStatus, string>> = {
  PAID: "00",
  CANCELLED: "20",
  UNKNOWN: "30",
  REJECTED: "40",
  REFUNDED: "50",
  REFUND_FAILED: "51",
  PENDING: "60",
};

export type PosAnswer =
  | { type: "progress"; orderRef: string; stage: ProgressStage; text: string }
  | {
      type: "result";
      seq: string;
      orderRef: string;
      status: ResultStatus;
      /** null when the request carried no usable amount. */
      amountFen: number | null;
      scheme: Scheme | null;
      channelTradeNo: string;
      text: string;
    }
  | { type: "echoReply"; seq: string; brokerOnline: boolean; laneState: string };
