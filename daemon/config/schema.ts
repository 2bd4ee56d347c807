// JSON Schema (draft-07) of the posbridge config file: types, defaults, ranges and the descriptions
// editors show. daemon/config/config-types.ts is the TypeScript shape of what it validates;
// schema/posbridge.schema.json is this object written out (test/daemon/config/schema-file.test.ts
// keeps the two equal). Cross-field rules the schema cannot express live in load-config.ts.

import type {
  AuditConfig,
  Config,
  DiagnosticsConfig,
  JournalConfig,
  LaneConfig,
  LogConfig,
  MqttConfig,
  SaleConfig,
  UsbDeviceId,
} from "./config-types.js";
import { DISPLAY_DIALECTS } from "../../protocols/display-tap/dialects.js";
import { DEFAULT_AMOUNT_RULES } from "../../protocols/display-tap/amount-text.js";
import { DETECT_SETTINGS } from "../../protocols/display-tap/detect.js";
import { voiceSchema } from "./voice-schema.js";

/** Store, bridge and lane ids. */
export const ID_PATTERN = "^[A-Za-z0-9_-]{1,32}$";
/** mqtt.url: scheme check only; load-config.ts also parses it with `new URL`. */
export const MQTT_URL_PATTERN = "^(mqtt|mqtts|ws|wss)://\\S+$";
/** MQTT topic levels without wildcards or empty levels, e.g. "posbridge/v1". */
export const TOPIC_PREFIX_PATTERN = "^[^/#+\\s]+(/[^/#+\\s]+)*$";
export const DIGITS_PATTERN = "^[0-9]{1,8}$";
/** USB vendor and product ids: 4 hex digits, as lsusb and udevadm print them. */
export const USB_ID_PATTERN = "^[0-9A-Fa-f]{4}$";

/** Human wording for pattern failures, used by load-config.ts instead of the raw regex. */
export const PATTERN_HINTS: Readonly<Record<string, string>> = {
  [ID_PATTERN]: "must be 1 to 32 letters, digits, '_' or '-'",
  [MQTT_URL_PATTERN]: "must be an mqtt://, mqtts://, ws:// or wss:// URL",
  [TOPIC_PREFIX_PATTERN]: "must be topic levels separated by '/', without '+', '#', spaces or empty levels",
  [DIGITS_PATTERN]: "must be 1 to 8 digits",
  [USB_ID_PATTERN]: 'must be 4 hex digits in quotes, e.g. "0403"',
};

/**
 * Extra words for a wrong type at these field names: YAML reads an unquoted 0403 as the number
 * 403, so USB ids and serial numbers must be quoted.
 */
export const TYPE_HINTS: Readonly<Record<string, string>> = {
  vendorId: 'must be a string of 4 hex digits in quotes, e.g. "0403" (unquoted, YAML reads it as a number)',
  productId: 'must be a string of 4 hex digits in quotes, e.g. "6001" (unquoted, YAML reads it as a number)',
  serialNumber: "must be a string: put the serial number in quotes (unquoted, YAML may read it as a number)",
  url: "must be a URL, or a list of URLs (the nodes of a broker cluster)",
};

/**
 * The `secret` keyword marks what must never leave the bridge (support bundles, remote answers,
 * logs): `true` for the whole value, "userinfo" for the credentials inside a URL. config/redact.ts
 * reads it; load-config.ts registers it with Ajv. One mark here instead of a second list to keep.
 */
export const SECRET_KEYWORD = {
  keyword: "secret",
  metaSchema: { enum: [true, "userinfo"] },
} as const;

export const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;

const usbSchema = {
  type: "object",
  description:
    "The device by its USB ids instead of a path: the daemon finds its node in sysfs on every open, so it is found again under a new /dev name after a replug. Ids as lsusb or `udevadm info -a` print them.",
  additionalProperties: false,
  required: ["vendorId", "productId"],
  properties: {
    vendorId: {
      type: "string",
      pattern: USB_ID_PATTERN,
      description: 'USB vendor id, 4 hex digits in quotes, e.g. "0403" (ATTRS{idVendor}).',
    },
    productId: {
      type: "string",
      pattern: USB_ID_PATTERN,
      description: 'USB product id, 4 hex digits in quotes, e.g. "6001" (ATTRS{idProduct}).',
    },
    serialNumber: {
      type: "string",
      minLength: 1,
      maxLength: 126,
      description:
        "USB serial number (ATTRS{serial}), to tell identical adapters apart; required when two devices share vendor and product ids.",
    },
  },
} as const;

function serialProperties(device: string, pathExample = "/dev/ttyUSB0") {
  return {
    path: {
      type: "string",
      minLength: 1,
      description: `Device path of the ${device}, e.g. ${pathExample}; prefer a stable /dev/serial/by-id/… or /dev/serial/by-path/… link. Set either path or usb.`,
    },
    usb: usbSchema,
    baudRate: {
      type: "integer",
      enum: [...BAUD_RATES],
      default: 9600,
      description: `Line speed of the ${device} in baud.`,
    },
    dataBits: {
      type: "integer",
      enum: [5, 6, 7, 8],
      default: 8,
      description: "Data bits per character.",
    },
    parity: {
      type: "string",
      enum: ["none", "even", "odd", "mark", "space"],
      default: "none",
      description: "Parity bit.",
    },
    stopBits: {
      type: "integer",
      enum: [1, 2],
      default: 1,
      description: "Stop bits per character.",
    },
  } as const;
}

const terminalSchema = {
  type: "object",
  description: "The cash register (ECR) link: the register talks to the bridge over this serial port.",
  additionalProperties: false,
  properties: {
    ...serialProperties("cash register link"),
    profile: {
      type: "string",
      enum: ["ecr", "line"],
      default: "ecr",
      description:
        "Register protocol: 'ecr' is the STX/LEN/DATA/ETX/LRC protocol with ACK/NAK (docs/terminal-protocol.md); 'line' is one plain-text request per line (SALE/QUERY/CANCEL/REFUND/ECHO) answered with PROGRESS/RESULT/ECHO lines.",
    },
    ackTimeoutMs: {
      type: "integer",
      minimum: 100,
      maximum: 10000,
      default: 1000,
      description:
        "How long to wait for the register's ACK before sending a frame again, in ms ('ecr' only).",
    },
    maxDataLength: {
      type: "integer",
      minimum: 16,
      maximum: 9999,
      default: 1024,
      description:
        "Largest DATA field accepted in one frame, in bytes; longer frames are rejected ('ecr' only: 'line' accepts lines of up to 256 bytes).",
    },
    encoding: {
      type: "string",
      enum: ["utf8", "gb18030"],
      default: "utf8",
      description: "Text encoding of the register's messages.",
    },
  },
} as const;

const scannerSchema = {
  type: "object",
  description: "The barcode scanner the customer's payment code is scanned with (docs/hardware.md).",
  additionalProperties: false,
  properties: {
    ...serialProperties(
      "scanner",
      "/dev/ttyACM0, /dev/hidraw0 (hidpos) or /dev/input/by-id/…-event-kbd (keyboard)",
    ),
    type: {
      type: "string",
      enum: ["serial", "ssi", "hidpos", "keyboard"],
      default: "serial",
      description:
        "How the scanner talks: 'serial' (RS-232 or USB serial/CDC, reads end with the suffix; recommended), 'ssi' (Zebra Simple Serial Interface packets over serial), 'hidpos' (USB HID POS, read through hidraw), 'keyboard' (USB keyboard wedge: last resort). The serial line settings are ignored by hidpos and keyboard.",
    },
    suffix: {
      type: "string",
      enum: ["CR", "LF", "CRLF", "TAB"],
      default: "CR",
      description:
        "Terminator the scanner sends after each read ('serial'); for 'keyboard' CR, LF and CRLF mean the Enter key.",
    },
    prefix: {
      type: "string",
      maxLength: 16,
      default: "",
      description: "Fixed prefix the scanner is programmed to send; stripped before the code is classified.",
    },
    maxLength: {
      type: "integer",
      minimum: 8,
      maximum: 4096,
      default: 128,
      description: "Longest read accepted, in characters; longer reads are discarded.",
    },
    stripAim: {
      type: "boolean",
      default: false,
      description:
        "Strip a leading AIM symbology identifier (e.g. ]E0, ]Q1) the scanner is programmed to send. Better: turn AIM ids off in the scanner.",
    },
    source: {
      type: "string",
      enum: ["evdev", "hidraw"],
      description:
        "'keyboard' only: read the scanner's /dev/input/event* node (default; name it by path, e.g. /dev/input/by-id/…-event-kbd) or its /dev/hidraw* node. Either way the kernel still types the keys unless the udev rule in systemd/99-posbridge.rules hides the scanner from the desktop (docs/hardware.md).",
    },
  },
} as const;

const displaySchema = {
  type: "object",
  description: "Optional customer display showing the amount and the sale's state.",
  additionalProperties: false,
  properties: {
    ...serialProperties("customer display"),
    type: {
      type: "string",
      enum: ["cd5220", "escpos", "led8"],
      default: "cd5220",
      description:
        "Display command set: 'cd5220' (2x20 VFD/LCD pole displays), 'escpos' (Epson ESC/POS customer displays, DM-D style 2x20), 'led8' (8-digit LED price displays with 单价/总计/收款/找零 lamps; usually 2400 baud).",
    },
    charset: {
      type: "string",
      enum: ["ascii", "gb18030"],
      default: "ascii",
      description:
        "'escpos' only: 'gb18030' shows Chinese texts on displays with a GB2312 font; 'ascii' the English texts.",
    },
  },
} as const;

/** The baud rates a display line is detected at (protocols/display-tap/detect.ts). */
export const TAP_BAUD_RATES = [...new Set(DETECT_SETTINGS.map((s) => s.baudRate))];

const tapDisplaySchema = {
  type: "object",
  description:
    "The real customer display behind a passThrough or bridgeOwned tap: its own serial port, opened with the tap's line settings (baudRate, parity, rtscts). Required in those modes; not set in listen mode.",
  additionalProperties: false,
  properties: {
    path: {
      type: "string",
      minLength: 1,
      description:
        "Device path of the real customer display, e.g. /dev/ttyUSB1; prefer a /dev/serial/by-id/… link. Set either path or usb.",
    },
    usb: usbSchema,
    type: {
      type: "string",
      enum: ["cd5220", "escpos", "led8"],
      description:
        "Command set of the bridge's own prompts on this display; default from the tap's dialect (led8-* → led8, cd5220 and cd5220-4row → cd5220, escpos → escpos).",
    },
    charset: {
      type: "string",
      enum: ["ascii", "gb18030"],
      default: "gb18030",
      description: "'escpos' only: 'gb18030' shows Chinese prompts (GB2312 font); 'ascii' the English ones.",
    },
  },
} as const;

const displayTapSchema = {
  type: "object",
  description:
    "No-integration mode (docs/hardware.md): the lane reads the amount from the register's customer-display line instead of a register link. A lane has either terminal or displayTap.",
  additionalProperties: false,
  properties: {
    mode: {
      type: "string",
      enum: ["listen", "passThrough", "bridgeOwned"],
      default: "listen",
      description:
        "'listen': on a tap of the register→display wire, the bridge never transmits there (the display keeps working when the bridge is down); 'passThrough': the register writes to the bridge, which forwards every byte unchanged to the real display (display.path) and shows its results between the register's frames; 'bridgeOwned': the bridge re-renders the register's text on the real display and adds its prompts.",
    },
    path: {
      type: "string",
      minLength: 1,
      description:
        "Device path of the register-side display line (the tap, or the port the register's display cable now plugs into), e.g. /dev/ttyUSB0. Set either path or usb.",
    },
    usb: usbSchema,
    baudRate: {
      enum: [...TAP_BAUD_RATES, "auto"],
      default: 9600,
      description:
        "Line speed of the register's display line; 'auto' (listen mode only) finds it among 2400-19200 by decoding what the register sends.",
    },
    dataBits: {
      type: "integer",
      enum: [7, 8],
      default: 8,
      description: "Data bits per character.",
    },
    parity: {
      type: "string",
      enum: ["none", "even", "odd", "auto"],
      default: "none",
      description: "Parity of the display line; 'auto' (listen mode only) finds it by decoding.",
    },
    stopBits: {
      type: "integer",
      enum: [1, 2],
      default: 1,
      description: "Stop bits per character.",
    },
    rtscts: {
      type: "boolean",
      default: false,
      description:
        "RTS/CTS hardware flow control on the register side and the real display's port (passThrough: a display that holds CTS low holds the register too, as on the direct cable).",
    },
    dialect: {
      type: "string",
      enum: [...DISPLAY_DIALECTS, "auto"],
      default: "auto",
      description:
        "What the register sends its display (docs/hardware.md, 'Display dialects'; `posbridge display decode --dialect auto` on a capture names it). 'auto' is listen mode only.",
    },
    encoding: {
      type: "string",
      enum: ["gb18030", "ascii"],
      default: "gb18030",
      description: "Text on the display: 'gb18030' (also reads ASCII and GB2312) or 'ascii'.",
    },
    idleMs: {
      type: "integer",
      minimum: 10,
      maximum: 5000,
      default: 100,
      description:
        "A gap on the line this long ends a frame, in ms (some registers drip one byte every 15 ms).",
    },
    stableMs: {
      type: "integer",
      minimum: 200,
      maximum: 10000,
      default: 800,
      description: "A total must stand unchanged this long before a scan is charged for it, in ms.",
    },
    totalLabels: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: { type: "string", minLength: 1, maxLength: 16 },
      description: `Labels of the total to charge on a text display; default ${DEFAULT_AMOUNT_RULES.total.join(", ")}.`,
    },
    tenderLabels: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: { type: "string", minLength: 1, maxLength: 16 },
      description: `Labels of a cash tender or change: nothing is charged while one is shown; default ${DEFAULT_AMOUNT_RULES.tender.join(", ")}.`,
    },
    wholeNumbers: {
      type: "string",
      enum: ["refuse", "yuan", "fen"],
      default: "refuse",
      description:
        "A number shown without a decimal point: 'refuse' (not an amount), 'yuan' (12 = 12.00) or 'fen' (1250 = 12.50).",
    },
    detectSampleMs: {
      type: "integer",
      minimum: 500,
      maximum: 60000,
      default: 4000,
      description: "Auto-detection: how long the line is listened to at each candidate setting, in ms.",
    },
    display: tapDisplaySchema,
  },
} as const;

const laneSchema = {
  type: "object",
  description:
    "One checkout lane: a register link (terminal) or the register's display line (displayTap), a scanner and optionally a customer display.",
  additionalProperties: false,
  required: ["id", "scanner"],
  properties: {
    id: {
      type: "string",
      pattern: ID_PATTERN,
      description: "Lane id, unique among lanes; appears in MQTT messages and logs.",
    },
    terminal: terminalSchema,
    scanner: scannerSchema,
    voice: voiceSchema,
    display: displaySchema,
    displayTap: displayTapSchema,
  },
} as const;

const tlsSchema = {
  type: "object",
  description:
    "TLS files for mqtts:// and wss:// (PEM), checked at start: each must parse, the key must belong to the certificate (exit 78 naming the field otherwise). Set with an mqtt:// or ws:// URL it is a configuration error. Omit to use the system CAs and no client certificate.",
  additionalProperties: false,
  properties: {
    ca: {
      type: "string",
      minLength: 1,
      description: "CA certificate file that signs the broker's certificate.",
    },
    cert: { type: "string", minLength: 1, description: "Client certificate file (mutual TLS)." },
    key: {
      type: "string",
      minLength: 1,
      description: "Client private key file (mutual TLS), unencrypted (no passphrase), mode 0600.",
    },
  },
} as const;

const mqttSchema = {
  type: "object",
  description: "Connection to the payment cloud's MQTT broker.",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: {
      // A string, or a list of strings (Ajv is told allowUnionTypes): `pattern` checks a single
      // URL, `items` each URL of a list.
      type: ["string", "array"],
      pattern: MQTT_URL_PATTERN,
      secret: "userinfo",
      minItems: 1,
      maxItems: 16,
      items: { type: "string", pattern: MQTT_URL_PATTERN, secret: "userinfo" },
      description:
        "Broker URL: mqtt://, mqtts://, ws:// or wss://, e.g. mqtts://broker.example.com:8883. Or a list of the nodes of a broker cluster, e.g. [mqtts://mq1.example.com:8883, mqtts://mq2.example.com:8883]: the bridge connects to the first and, on each failed attempt or lost connection, moves on to the next (with the usual back-off). All nodes TLS (mqtts://, wss://) or all plain, each named once.",
    },
    topicPrefix: {
      type: "string",
      pattern: TOPIC_PREFIX_PATTERN,
      default: "posbridge/v1",
      description: "Topic prefix; topics are <prefix>/<store>/<bridge>/{req,res,status,event}.",
    },
    protocolVersion: {
      type: "integer",
      enum: [5, 4],
      default: 5,
      description: "MQTT protocol version: 5, or 4 for MQTT 3.1.1.",
    },
    clientId: {
      type: "string",
      minLength: 1,
      maxLength: 128,
      description: "MQTT client id; default posbridge-<store>-<bridge>.",
    },
    username: { type: "string", description: "Broker user name." },
    password: {
      type: "string",
      secret: true,
      description:
        "Broker password; prefer setting it with POSBRIDGE_MQTT__PASSWORD in the unit's environment file.",
    },
    tls: tlsSchema,
    keepaliveSec: {
      type: "integer",
      minimum: 5,
      maximum: 600,
      default: 30,
      description: "MQTT keepalive interval in seconds.",
    },
    reconnectMinMs: {
      type: "integer",
      minimum: 100,
      maximum: 60000,
      default: 1000,
      description: "First reconnect delay in ms; doubles (with jitter) up to reconnectMaxMs.",
    },
    reconnectMaxMs: {
      type: "integer",
      minimum: 1000,
      maximum: 600000,
      default: 60000,
      description: "Longest reconnect delay in ms; at least reconnectMinMs.",
    },
    connectTimeoutMs: {
      type: "integer",
      minimum: 1000,
      maximum: 120000,
      default: 10000,
      description: "How long one connection attempt may take, in ms.",
    },
  },
} as const;

/** payment-domain.md §7 rule 3. */
export const DEFAULT_SCHEMES = [
  { scheme: "WECHAT", minLength: 18, maxLength: 18, prefixes: ["10", "11", "12", "13", "14", "15"] },
  {
    scheme: "ALIPAY",
    minLength: 16,
    maxLength: 24,
    prefixes: ["25", "26", "27", "28", "29", "30"],
  },
  { scheme: "UNIONPAY", minLength: 19, maxLength: 19, prefixes: ["62"] },
  { scheme: "ECNY", minLength: 19, maxLength: 19, prefixes: ["01"] },
] as const;

const schemeRuleSchema = {
  type: "object",
  description:
    "One classifier row: a code of this length that starts with one of the prefixes belongs to the scheme.",
  additionalProperties: false,
  required: ["scheme", "minLength", "maxLength", "prefixes"],
  properties: {
    scheme: {
      type: "string",
      enum: ["WECHAT", "ALIPAY", "UNIONPAY", "ECNY"],
      description: "Payment scheme the matching codes are sent as.",
    },
    minLength: { type: "integer", minimum: 8, maximum: 64, description: "Shortest code, in digits." },
    maxLength: { type: "integer", minimum: 8, maximum: 64, description: "Longest code, in digits." },
    prefixes: {
      type: "array",
      minItems: 1,
      items: { type: "string", pattern: DIGITS_PATTERN, description: 'Leading digits, e.g. "10".' },
      description: "Leading digit strings; a code must start with one of them.",
    },
  },
} as const;

const saleSchema = {
  type: "object",
  description: "Timing and limits of one sale, and the payment-code classifier.",
  additionalProperties: false,
  default: {},
  properties: {
    scanTimeoutMs: {
      type: "integer",
      minimum: 5000,
      maximum: 600000,
      default: 120000,
      description: "No scan within this time ends the sale as CANCELLED, in ms.",
    },
    codeLifetimeMs: {
      type: "integer",
      minimum: 5000,
      maximum: 600000,
      default: 60000,
      description: "A payment code's useful life after the scan, in ms; sent to the cloud as the deadline.",
    },
    firstQueryMs: {
      type: "integer",
      minimum: 1000,
      maximum: 30000,
      default: 5000,
      description: "First QueryRequest this long after the pay request (or an UNKNOWN answer), in ms.",
    },
    queryIntervalMs: {
      type: "integer",
      minimum: 1000,
      maximum: 30000,
      default: 5000,
      description: "Between QueryRequests while the outcome is not known, in ms.",
    },
    reverseAfterMs: {
      type: "integer",
      minimum: 5000,
      maximum: 120000,
      default: 45000,
      description:
        "Reverse (CancelRequest) an attempt still not final this long after its pay request, in ms.",
    },
    reverseRetryMs: {
      type: "integer",
      minimum: 1000,
      maximum: 60000,
      default: 5000,
      description: "Between reversal requests while the cloud asks again or stays silent, in ms.",
    },
    maxReversals: {
      type: "integer",
      minimum: 1,
      maximum: 50,
      default: 10,
      description: "Reversal requests before the attempt is left UNKNOWN and re-queried in the background.",
    },
    reconcileIntervalMs: {
      type: "integer",
      minimum: 5000,
      maximum: 3600000,
      default: 60000,
      description: "Between queries of an attempt whose outcome stays unknown (also after a restart), in ms.",
    },
    sendWindowMs: {
      type: "integer",
      minimum: 1000,
      maximum: 600000,
      default: 20000,
      description:
        "A pay request that could not be published within this time of the scan is cancelled (no money moved), in ms; must be below codeLifetimeMs.",
    },
    answerAfterRestart: {
      type: "boolean",
      default: true,
      description:
        "After a restart, send a recovered sale's RS to the register unsolicited when it resolves.",
    },
    refundRetryMs: {
      type: "integer",
      minimum: 1000,
      maximum: 60000,
      default: 5000,
      description: "Resend an unanswered RefundRequest (same refund id) after this, in ms.",
    },
    refundAnswerWithinMs: {
      type: "integer",
      minimum: 5000,
      maximum: 300000,
      default: 30000,
      description: "Answer an RF with UNKNOWN (30) when no final refund result came within this, in ms.",
    },
    maxRefundsPerSale: {
      type: "integer",
      minimum: 1,
      maximum: 50,
      default: 50,
      description: "Partial refunds allowed per sale (WeChat allows 50).",
    },
    maxAmountFen: {
      type: "integer",
      minimum: 1,
      maximum: 10000000000,
      default: 10000000,
      description: "Largest amount a sale may ask for, in fen (1/100 yuan); default 100 000 yuan.",
    },
    schemes: {
      type: "array",
      minItems: 1,
      items: schemeRuleSchema,
      default: DEFAULT_SCHEMES,
      description: "Payment-code classifier table; codes matching no row are rejected at the lane.",
    },
  },
} as const;

const logSchema = {
  type: "object",
  description: "Logging (JSON lines on stdout for journald).",
  additionalProperties: false,
  default: {},
  properties: {
    level: {
      type: "string",
      enum: ["fatal", "error", "warn", "info", "debug", "trace"],
      default: "info",
      description: "Lowest level logged.",
    },
    format: {
      type: "string",
      enum: ["auto", "json", "pretty"],
      default: "auto",
      description: "'auto': human-readable when stdout is a terminal, JSON otherwise.",
    },
    statsIntervalMs: {
      type: "integer",
      minimum: 0,
      maximum: 86400000,
      default: 60000,
      description:
        "Log a 'stats' line (memory, broker queue, journal size, pending attempts) this often, in ms; 0 = never.",
    },
    repeatWindowMs: {
      type: "integer",
      minimum: 1000,
      maximum: 3600000,
      default: 60000,
      description:
        "Repeated identical warnings of one device or lane (scanner junk, bad frames, refused scans) are logged once, then counted and summed up in one line ('repeated': n) per this window, in ms.",
    },
  },
} as const;

const journalSchema = {
  type: "object",
  description: "The sale journal in stateDir (docs/journal.md).",
  additionalProperties: false,
  default: {},
  properties: {
    retentionDays: {
      type: "integer",
      minimum: 1,
      maximum: 3650,
      default: 30,
      description: "Finished sales are kept this many days for QY and the day report, then purged.",
    },
    checkIntervalMs: {
      type: "integer",
      minimum: 100,
      maximum: 600000,
      default: 5000,
      description:
        "How often, in ms, the journal checks that its file was not removed or replaced, and, while it cannot be written (disk full, read-only, removed), tries to write it again from memory.",
    },
  },
} as const;

const auditSchema = {
  type: "object",
  description:
    "The audit trail in stateDir/audit: refunds, cashier cancels, reversals, alarms, clock jumps and each start's version and config hash, append-only, never compacted with the journal (docs/privacy.md).",
  additionalProperties: false,
  default: {},
  properties: {
    retentionDays: {
      type: "integer",
      minimum: 180,
      maximum: 3650,
      default: 365,
      description:
        "Rotated audit files are deleted once all their entries are older than this many days. 365 by default: a refund may be asked for up to a year after the payment; at least 180 (network logs are kept six months or more).",
    },
    maxFileBytes: {
      type: "integer",
      minimum: 65536,
      maximum: 67108864,
      default: 1048576,
      description:
        "The active audit file is rotated (audit-<time>.log) when it reaches this size, or when its first entry is 30 days old.",
    },
  },
} as const;

const diagnosticsSchema = {
  type: "object",
  description: "Diagnostics for technicians and support (docs/diagnostics.md).",
  additionalProperties: false,
  default: {},
  properties: {
    socket: {
      type: "string",
      minLength: 1,
      default: "/run/posbridge/control.sock",
      description:
        "The control socket (mode 0660, group posbridge) that `posbridge status`, `monitor`, `test`, `log-level` and `bundle` use; systemd's RuntimeDirectory= provides /run/posbridge.",
    },
    remote: {
      type: "boolean",
      default: false,
      description:
        "Answer the read-only questions (status, devices, doctor, bundle) over MQTT on <prefix>/<store>/<bridge>/diag/req, for the support team. Never changes anything or moves money; the broker's ACL must allow it (docs/cloud-contract.md).",
    },
  },
} as const;

export const configSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "posbridge configuration",
  description:
    "posbridge bridges a cash register, barcode scanners and customer displays to a payment cloud over MQTT.",
  type: "object",
  additionalProperties: false,
  required: ["store", "bridge", "mqtt", "lanes"],
  properties: {
    store: {
      type: "string",
      pattern: ID_PATTERN,
      description: "Store id, as registered with the payment cloud.",
    },
    bridge: {
      type: "string",
      pattern: ID_PATTERN,
      description: "This bridge's id within the store, as registered with the payment cloud.",
    },
    stateDir: {
      type: "string",
      minLength: 1,
      default: "/var/lib/posbridge",
      description: "Directory for the sale journal and other state; must be writable and survive reboots.",
    },
    log: logSchema,
    journal: journalSchema,
    audit: auditSchema,
    mqtt: mqttSchema,
    sale: saleSchema,
    diagnostics: diagnosticsSchema,
    lanes: {
      type: "array",
      minItems: 1,
      items: laneSchema,
      description: "Checkout lanes served by this bridge (at least one).",
    },
  },
} as const;

/** The schema as written to schema/posbridge.schema.json (2-space indent, trailing newline). */
export function schemaJson(): string {
  return `${JSON.stringify(configSchema, null, 2)}\n`;
}

// Compile-time drift check against config-types.ts: each line fails to type-check when a property
// is in one and not the other.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : false;
type Props<S> = S extends { properties: infer P } ? P : never;
type Assert<T extends true> = T;
export type SchemaMatchesTypes = [
  Assert<SameKeys<Props<typeof configSchema>, Config>>,
  Assert<SameKeys<Props<typeof mqttSchema>, MqttConfig>>,
  Assert<SameKeys<Props<typeof saleSchema>, SaleConfig>>,
  Assert<SameKeys<Props<typeof journalSchema>, JournalConfig>>,
  Assert<SameKeys<Props<typeof auditSchema>, AuditConfig>>,
  Assert<SameKeys<Props<typeof logSchema>, LogConfig>>,
  Assert<SameKeys<Props<typeof diagnosticsSchema>, DiagnosticsConfig>>,
  Assert<SameKeys<Props<typeof laneSchema>, LaneConfig>>,
  Assert<SameKeys<Props<typeof terminalSchema>, NonNullable<LaneConfig["terminal"]>>>,
  Assert<SameKeys<Props<typeof displayTapSchema>, NonNullable<LaneConfig["displayTap"]>>>,
  Assert<
    SameKeys<Props<typeof tapDisplaySchema>, NonNullable<NonNullable<LaneConfig["displayTap"]>["display"]>>
  >,
  Assert<SameKeys<Props<typeof scannerSchema>, LaneConfig["scanner"]>>,
  Assert<SameKeys<Props<typeof displaySchema>, NonNullable<LaneConfig["display"]>>>,
  Assert<SameKeys<Props<typeof usbSchema>, UsbDeviceId>>,
];
