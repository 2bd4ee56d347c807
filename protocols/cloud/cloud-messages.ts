// Domain view of the cloud contract (mqtt-contract.md). daemon/cloud/proto-codec.ts maps these
// to and from the protobuf messages; nothing here knows about protobuf.
import type { Scheme } from "../payment/scheme.js";

export type PaymentStatus = "PAID" | "FAILED" | "WAITING_CUSTOMER" | "UNKNOWN" | "CANCELLED";
export type RefundStatus = "REFUNDED" | "REFUND_FAILED" | "UNKNOWN";

export interface PayCommand {
  type: "pay";
  attemptId: string;
  orderRef: string;
  amountFen: number;
  /** The payment code. A bearer credential: never log it, never store it. */
  authCode: string;
  scheme: Scheme;
  scannedAtMs: number;
  deadlineMs: number;
}
export interface QueryCommand {
  type: "query";
  attemptId: string;
}
export interface CancelCommand {
  type: "cancel";
  attemptId: string;
  reason: string;
}
export interface RefundCommand {
  type: "refund";
  attemptId: string;
  refundId: string;
  amountFen: number;
  reason: string;
}
export type CloudCommand = PayCommand | QueryCommand | CancelCommand | RefundCommand;

/** One BridgeRequest: envelope + command. */
export interface CloudRequest {
  requestId: string;
  sentAtMs: number;
  laneId: string;
  command: CloudCommand;
}

export interface PaymentResult {
  type: "payment";
  status: PaymentStatus;
  amountFen: number;
  scheme: Scheme | null;
  channelTradeNo: string;
  reasonCode: string;
  message: string;
  rescanAllowed: boolean;
}
export interface RefundResult {
  type: "refund";
  refundId: string;
  status: RefundStatus;
  amountFen: number;
  reasonCode: string;
  message: string;
}

/** One BridgeResponse: envelope + result. */
export interface CloudResponse {
  requestId: string;
  attemptId: string;
  sentAtMs: number;
  result: PaymentResult | RefundResult;
}

export type DeviceState = "CONNECTED" | "ABSENT" | "FAULT";
export interface LaneStatusView {
  laneId: string;
  terminal: DeviceState;
  scanner: DeviceState;
  display: DeviceState;
  lastError: string;
  /** Attempts still being resolved in the background (after a restart, an outage, UNKNOWN). */
  pendingAttempts: number;
  /** Refunds not yet final. */
  pendingRefunds: number;
}
export interface BridgeStatusView {
  online: boolean;
  version: string;
  sinceMs: number;
  lanes: LaneStatusView[];
  /** Why not online ("" when online): "stopped", the Last Will's text, or a broker refusal. */
  reason: string;
}
export interface BridgeEventView {
  atMs: number;
  laneId: string;
  kind: string;
  detail: string;
}
