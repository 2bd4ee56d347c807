// The validated, frozen configuration the daemon runs on. daemon/config/schema.ts is the
// JSON Schema that produces it (defaults included); this file is its TypeScript shape.

export type Parity = "none" | "even" | "odd" | "mark" | "space";

export interface SerialSettings {
  /** Device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… */
  path: string;
  baudRate: number; // default 9600
  dataBits: 5 | 6 | 7 | 8; // default 8
  parity: Parity; // default "none"
  stopBits: 1 | 2; // default 1
}

export interface TerminalConfig extends SerialSettings {
  profile: "ecr";
  /** ACK wait before a resend (terminal-protocol.md, default 1000). 100..10000 */
  ackTimeoutMs: number;
  /** Largest DATA accepted, default 1024. 16..9999 */
  maxDataLength: number;
  encoding: "utf8" | "gb18030"; // default utf8
}

export interface ScannerConfig extends SerialSettings {
  type: "serial";
  /** Terminator after each read: default "CR". */
  suffix: "CR" | "LF" | "CRLF" | "TAB";
  /** Fixed prefix the scanner is programmed to send, stripped before classification; default "". */
  prefix: string;
  /** Longest read accepted, default 128. 8..4096 */
  maxLength: number;
}

export interface DisplayConfig extends SerialSettings {
  type: "cd5220";
}

export interface LaneConfig {
  /** [A-Za-z0-9_-]{1,32}, unique among lanes. */
  id: string;
  terminal: TerminalConfig;
  scanner: ScannerConfig;
  display?: DisplayConfig;
}

export interface TlsConfig {
  /** File paths (PEM). */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface MqttConfig {
  /** mqtt://, mqtts://, ws:// or wss:// URL. */
  url: string;
  topicPrefix: string; // default "posbridge/v1"
  protocolVersion: 5 | 4; // default 5 (4 = MQTT 3.1.1)
  clientId?: string; // default "posbridge-<store>-<bridge>"
  username?: string;
  password?: string;
  tls?: TlsConfig;
  keepaliveSec: number; // default 30, 5..600
  reconnectMinMs: number; // default 1000, 100..60000
  reconnectMaxMs: number; // default 60000, 1000..600000, >= reconnectMinMs
  connectTimeoutMs: number; // default 10000
}

/** One row of the payment-code classifier table: defined with the classifier. */
export type { SchemeRule } from "../../protocols/payment/scheme.js";
import type { SchemeRule } from "../../protocols/payment/scheme.js";

export interface SaleConfig {
  /** No scan within this time ends the sale as CANCELLED; default 120000, 5000..600000. */
  scanTimeoutMs: number;
  /** No final answer this long after a pay request → UNKNOWN; default 30000, 1000..120000. */
  resultTimeoutMs: number;
  /** A payment code's useful life after the scan; the deadline sent to the cloud. default 60000. */
  codeLifetimeMs: number;
  /** Largest amount a sale may ask for, in fen; default 10000000 (100 000 yuan), ≤ 10000000000. */
  maxAmountFen: number;
  /** Classifier table; default the four schemes of payment-domain.md §7 rule 3. */
  schemes: SchemeRule[];
}

export interface LogConfig {
  level: "fatal" | "error" | "warn" | "info" | "debug" | "trace"; // default "info"
  /** "auto": pretty when stdout is a TTY, JSON otherwise. */
  format: "auto" | "json" | "pretty";
}

export interface Config {
  /** [A-Za-z0-9_-]{1,32} */
  store: string;
  /** [A-Za-z0-9_-]{1,32} */
  bridge: string;
  stateDir: string; // default /var/lib/posbridge
  log: LogConfig;
  mqtt: MqttConfig;
  sale: SaleConfig;
  lanes: LaneConfig[]; // at least one
}
