// The validated, frozen configuration the daemon runs on. daemon/config/schema.ts is the
// JSON Schema that produces it (defaults included); this file is its TypeScript shape.

export type Parity = "none" | "even" | "odd" | "mark" | "space";

/** What the daemon opens a serial port with: a resolved device path and the line settings. */
export interface SerialSettings {
  /** Device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… */
  path: string;
  baudRate: number; // default 9600
  dataBits: 5 | 6 | 7 | 8; // default 8
  parity: Parity; // default "none"
  stopBits: 1 | 2; // default 1
  /** RTS/CTS hardware flow control; default off (only a display tap's lines set it). */
  rtscts?: boolean;
}

/**
 * A USB device by its ids, as `lsusb` and `udevadm info` print them: 4 hex digits each
 * ("0403", "6001"); serialNumber exactly as the device reports it (ATTRS{serial}).
 */
export interface UsbDeviceId {
  vendorId: string;
  productId: string;
  serialNumber?: string;
}

/**
 * Where a device is: exactly one of `path` (a /dev node or a /dev/serial/by-id|by-path link) or
 * `usb` (resolved to the device's node through sysfs on every open; docs/hardware.md).
 */
export interface DeviceLocation {
  path?: string;
  usb?: UsbDeviceId;
}

/** A serial device as configured: where it is, and its line settings. */
export interface SerialDeviceConfig extends Omit<SerialSettings, "path" | "rtscts">, DeviceLocation {}

export interface TerminalConfig extends SerialDeviceConfig {
  /** "ecr" (STX/LEN/DATA/ETX/LRC with ACK/NAK) or "line" (plain text lines). Default "ecr". */
  profile: "ecr" | "line";
  /** ACK wait before a resend (terminal-protocol.md, default 1000). 100..10000 */
  ackTimeoutMs: number;
  /** Largest DATA accepted, default 1024. 16..9999 */
  maxDataLength: number;
  encoding: "utf8" | "gb18030"; // default utf8
}

export type ScannerType = "serial" | "ssi" | "hidpos" | "keyboard";

export interface ScannerConfig extends SerialDeviceConfig {
  /**
   * "serial": RS-232 / USB CDC, reads end with `suffix`; "ssi": Zebra SSI packets over serial;
   * "hidpos": USB HID POS (hidraw); "keyboard": USB keyboard wedge (evdev grab or hidraw).
   * Default "serial". The serial line settings are ignored by hidpos and keyboard.
   */
  type: ScannerType;
  /** Terminator after each read: default "CR" (for keyboard scanners CR/LF/CRLF mean Enter). */
  suffix: "CR" | "LF" | "CRLF" | "TAB";
  /** Fixed prefix the scanner is programmed to send, stripped before classification; default "". */
  prefix: string;
  /** Longest read accepted, default 128. 8..4096 */
  maxLength: number;
  /** Strip a leading AIM symbology id (`]E0`, `]Q1`…); default false (filled in by the schema). */
  stripAim?: boolean;
  /** keyboard only: read the evdev node (default; named by path) or the hidraw node. */
  source?: "evdev" | "hidraw";
}

export type DisplayType = "cd5220" | "escpos" | "led8";

export interface DisplayConfig extends SerialDeviceConfig {
  type: DisplayType;
  /** escpos only: "gb18030" for displays with a GB2312 font; default "ascii" (filled in by the schema). */
  charset?: "ascii" | "gb18030";
}

/**
 * No-integration mode (docs/hardware.md): how the bridge sits on the register's customer-display
 * line. `listen`: on a tap of the register→display wire, never transmitting there; `passThrough`:
 * the register writes to the bridge, which forwards every byte to the real display and adds its
 * results between the register's frames; `bridgeOwned`: the bridge re-renders the register's text
 * on the real display and adds its prompts.
 */
export type DisplayTapMode = "listen" | "passThrough" | "bridgeOwned";

/** The real customer display behind a passThrough or bridgeOwned tap (same line settings as the tap). */
export interface TapDisplayConfig extends DeviceLocation {
  /** Its command set, for the bridge's own prompts; default from the dialect (led8-* → led8, cd5220* → cd5220, escpos). */
  type?: DisplayType;
  /** escpos only: "gb18030" for displays with a GB2312 font; default "gb18030". */
  charset?: "ascii" | "gb18030";
}

export interface DisplayTapConfig extends DeviceLocation {
  mode: DisplayTapMode; // default "listen"
  /** The register-side line; "auto" (listen only): found by detection (2400–19200). Default 9600. */
  baudRate: number | "auto";
  dataBits: 7 | 8; // default 8
  /** "auto" (listen only): found by detection. Default "none". */
  parity: "none" | "even" | "odd" | "auto";
  stopBits: 1 | 2; // default 1
  /** RTS/CTS on both the register side and the real display's port; default false. */
  rtscts: boolean;
  /** A DisplayDialect (protocols/display-tap/dialects.ts) or "auto" (listen only). Default "auto". */
  dialect: string;
  /** Text on the display: "gb18030" (also reads ASCII and GB2312; default) or "ascii". */
  encoding: "gb18030" | "ascii";
  /** A gap this long ends a frame; default 100, 10..5000 ms. */
  idleMs: number;
  /** A total must stand this long before a scan is charged for it; default 800, 200..10000 ms. */
  stableMs: number;
  /** Labels of the total to charge; default 合计, 总计, 应收, 应付, TOTAL, AMOUNT DUE. */
  totalLabels?: string[];
  /** Labels of a cash tender (never charged); default 收款, 实收, 找零, 现金, 收现, CASH, CHANGE, PAY, PAID, TENDER. */
  tenderLabels?: string[];
  /** A number without a decimal point: "refuse" (default), "yuan" or "fen". */
  wholeNumbers: "refuse" | "yuan" | "fen";
  /** Auto-detection: how long each candidate setting is listened to; default 4000, 500..60000 ms. */
  detectSampleMs: number;
  /** The real display (required in passThrough and bridgeOwned, refused in listen). */
  display?: TapDisplayConfig;
}

export interface LaneConfig {
  /** [A-Za-z0-9_-]{1,32}, unique among lanes. */
  id: string;
  /** The register link; absent on a lane in no-integration mode (`displayTap`): exactly one of the two. */
  terminal?: TerminalConfig;
  scanner: ScannerConfig;
  /** Voice prompts (语音播报); absent: the lane is silent. */
  voice?: VoiceConfig;
  display?: DisplayConfig;
  displayTap?: DisplayTapConfig;
}

export interface TlsConfig {
  /** File paths (PEM). */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface MqttConfig {
  /**
   * mqtt://, mqtts://, ws:// or wss:// URL, or the URLs of a broker cluster's nodes (tried in
   * turn, daemon/cloud/mqtt-link.ts); brokerUrls() gives the list either way.
   */
  url: string | readonly string[];
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
  /** First QueryRequest this long after the pay request or an UNKNOWN; default 5000, 1000..30000. */
  firstQueryMs: number;
  /** Between queries; default 5000, 1000..30000. */
  queryIntervalMs: number;
  /** Reverse (CancelRequest) this long after the pay request if not final; default 45000, 5000..120000. */
  reverseAfterMs: number;
  /** Between reversal requests; default 5000, 1000..60000. */
  reverseRetryMs: number;
  /** Reversal requests before an attempt is left to background reconciliation; default 10, 1..50. */
  maxReversals: number;
  /** Between queries of an unresolved attempt (also after a restart); default 60000, 5000..3600000. */
  reconcileIntervalMs: number;
  /** A pay request not published within this time of the scan is cancelled; default 20000, < codeLifetimeMs. */
  sendWindowMs: number;
  /** After a restart, send the SA's RS unsolicited when its sale resolves; default true. */
  answerAfterRestart: boolean;
  /** Resend an unanswered RefundRequest (same refund id) after this; default 5000, 1000..60000. */
  refundRetryMs: number;
  /** Answer RF UNKNOWN (30) when no final refund result within this; default 30000, 5000..300000. */
  refundAnswerWithinMs: number;
  /** Partial refunds allowed per sale; default 50 (WeChat's limit), 1..50. */
  maxRefundsPerSale: number;
  /** A payment code's useful life after the scan; the deadline sent to the cloud. default 60000. */
  codeLifetimeMs: number;
  /** Largest amount a sale may ask for, in fen; default 10000000 (100 000 yuan), ≤ 10000000000. */
  maxAmountFen: number;
  /** Classifier table; default the four schemes of payment-domain.md §7 rule 3. */
  schemes: SchemeRule[];
}

export interface JournalConfig {
  /** Finished sales are kept this many days for QY and the day report, then purged; default 30, 1..3650. */
  retentionDays: number;
  /**
   * How often the journal checks that its file is still the one at its path (not removed or
   * replaced), and, while it cannot be written, tries to write it again from memory; default 5000.
   */
  checkIntervalMs: number;
}

export interface AuditConfig {
  /**
   * Rotated audit files are deleted once everything in them is older than this; default 365
   * (a refund can come up to a year after the payment), 180..3650 (network logs: at least 6 months).
   */
  retentionDays: number;
  /** The active audit file is rotated when it reaches this size; default 1048576, 65536..67108864. */
  maxFileBytes: number;
}

export interface LogConfig {
  level: "fatal" | "error" | "warn" | "info" | "debug" | "trace"; // default "info"
  /** "auto": pretty when stdout is a TTY, JSON otherwise. */
  format: "auto" | "json" | "pretty";
  /** A "stats" log line (memory, broker queue, journal, pending attempts) this often; 0 = never. default 60000. */
  statsIntervalMs: number;
  /** Repeats of one warning per device or lane are summed up in one line per window (daemon/log/repeat-limiter.ts). default 60000, min 1000. */
  repeatWindowMs: number;
}

export interface DiagnosticsConfig {
  /** The control socket status, monitor, test, log-level and bundle talk to; default /run/posbridge/control.sock. */
  socket: string;
  /** Answer read-only diagnostics (status, devices, doctor, bundle) over MQTT on <prefix>/<store>/<bridge>/diag/req; default false. */
  remote: boolean;
}

export interface Config {
  /** [A-Za-z0-9_-]{1,32} */
  store: string;
  /** [A-Za-z0-9_-]{1,32} */
  bridge: string;
  stateDir: string; // default /var/lib/posbridge
  log: LogConfig;
  journal: JournalConfig;
  audit: AuditConfig;
  mqtt: MqttConfig;
  sale: SaleConfig;
  diagnostics: DiagnosticsConfig;
  lanes: LaneConfig[]; // at least one
}

/** Which prompts a lane speaks (daemon/config/voice-schema.ts); each defaults to true. */
export interface VoicePromptSwitches {
  scanPlease: boolean;
  paid: boolean;
  confirmOnPhone: boolean;
  failed: boolean;
  unreadableCode: boolean;
  unknown: boolean;
  cancelled: boolean;
  waitForCashier: boolean;
  totalChanged: boolean;
}

/** A lane's voice prompts (docs/hardware.md, "Voice prompts"); defaults filled in by the schema. */
export interface VoiceConfig {
  enabled: boolean; // default true
  /** "espeak": espeak-ng speaks the text; "clips": an audio command plays recorded clips. Default "espeak". */
  player: "espeak" | "clips";
  espeak: {
    command: string; // default "espeak-ng"
    voice: string; // default "cmn"
    rate: number; // default 160 words per minute, 80..450
  };
  clips: {
    /** The audio command and its options, run once per clip with the file appended; default [aplay, -q]. */
    command: string[];
    /** Default: the voice/ directory of the installed program (daemon/devices/voice-player.ts). */
    dir?: string;
    extension: string; // default "wav"
  };
  /** espeak-ng's amplitude (-a), 0..200, default 100. */
  volume: number;
  /** A player run still going after this is killed; default 10000, 1000..60000. */
  timeoutMs: number;
  prompts: VoicePromptSwitches;
}
