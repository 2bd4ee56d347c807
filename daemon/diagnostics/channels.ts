// What `posbridge monitor` watches: node:diagnostics_channel channels the components publish on.
// Every publisher checks `hasSubscribers` first and builds the event only then, so a bridge nobody
// watches pays one property read per frame, scan or request (pino's lib/tools.js does the same).
// Events never carry a payment code: scans and pay requests carry the masked code (scheme + last
// 4), register frames their hex and meaning with long digit runs masked (maskedHex, describe-frame).
import { channel } from "node:diagnostics_channel";

export const frameChannel = channel("posbridge:frame");
export const scanChannel = channel("posbridge:scan");
export const displayChannel = channel("posbridge:display");
export const cloudChannel = channel("posbridge:cloud");
export const stateChannel = channel("posbridge:state");
/** No-integration mode: each update decoded from the register's display line. */
export const tapChannel = channel("posbridge:tap");

export const CHANNELS = [
  frameChannel,
  scanChannel,
  displayChannel,
  cloudChannel,
  stateChannel,
  tapChannel,
] as const;

/** A register link frame or control byte, either way. */
export interface FrameEvent {
  type: "frame";
  at: number;
  lane: string;
  /** in: from the register; out: to it. */
  dir: "in" | "out";
  kind: "frame" | "ack" | "nak" | "enq" | "badFrame" | "noise" | "line";
  /** The bytes in hex, digit runs of 8 or more masked but for their last 4 ("" for noise). */
  hex: string;
  /** What it says, e.g. "SA 01 ORD123 ¥12.34" (digit runs masked). */
  meaning: string;
  /** The same frame sent again (no ACK came, or a NAK). */
  resend?: boolean;
}

export interface ScanEvent {
  type: "scan";
  at: number;
  lane: string;
  length: number;
  /** Scheme + last 4 digits at most. */
  masked: string;
  /** payment WECHAT | notPayment ean13 | invalid …, with the classifier's reason. */
  classification: string;
  /** What the lane did with it. */
  outcome: string;
}

export interface DisplayEvent {
  type: "display";
  at: number;
  lane: string;
  /** The text shown, line by line (an LED display: its lamp and number). */
  lines: string[];
  training: boolean;
}

export interface CloudEvent {
  type: "cloud";
  at: number;
  lane: string;
  dir: "out" | "in";
  /** out: pay | query | cancel | refund; in: payment | refund. */
  kind: string;
  attemptId: string;
  amountFen: number | null;
  /** out pay: the masked code. */
  masked?: string;
  /** in: PAID, FAILED, … */
  status?: string;
  reasonCode?: string;
  /** Answered by the simulated cloud inside the bridge (posbridge test sale). */
  training: boolean;
}

export interface StateEvent {
  type: "state";
  at: number;
  /** "" for the bridge as a whole (the broker link, the journal). */
  lane: string;
  subject: "lane" | "terminal" | "scanner" | "display" | "link" | "journal";
  to: string;
  detail: string;
}

/** An update decoded from the register's customer display (no-integration mode). No code ever shows there. */
export interface TapEvent {
  type: "tap";
  at: number;
  lane: string;
  /** An LED display's lamp (total, price, collect, change …), null on a text display. */
  lamp: string | null;
  lines: string[];
  amountFen: number | null;
  /** A total a scan could be charged for once it has stood for stableMs. */
  chargeable: boolean;
  /** total | price | tender | none | unreadable (protocols/display-tap/amount-text.ts). */
  kind: string;
  /** The accepted total a scan would be charged now, or null. */
  standingTotalFen: number | null;
}

export type MonitorEvent = FrameEvent | ScanEvent | DisplayEvent | CloudEvent | StateEvent | TapEvent;

/** Told to a monitor client that read too slowly: this many events were dropped (oldest first). */
export interface MissedEvent {
  type: "missed";
  count: number;
}

const DIGIT_RUN = /[0-9]{8,}/g;

/**
 * Hex of `bytes`, every ASCII digit of a run of 8 or more shown as ".." but the last 4: a frame is
 * not meant to hold a payment code, but line noise or a misrouted scanner might.
 */
export function maskedHex(bytes: Uint8Array): string {
  const hidden = new Set<number>();
  const text = Array.from(bytes, (b) => (b >= 0x30 && b <= 0x39 ? String.fromCharCode(b) : "x")).join("");
  for (const m of text.matchAll(DIGIT_RUN))
    for (let i = 0; i < m[0].length - 4; i++) hidden.add((m.index ?? 0) + i);
  return Array.from(bytes, (b, i) => (hidden.has(i) ? ".." : b.toString(16).padStart(2, "0"))).join(" ");
}
