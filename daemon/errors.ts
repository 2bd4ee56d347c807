// BridgeError: the one error class of the daemon layer (protocols/ has its own, ProtocolError).
// Every code is listed in docs/errors.md (code | meaning | how to fix); test/daemon/errors.test.ts
// fails when the two drift apart. Match errors by code with `isBridgeError`, never by message text.

/** All daemon error codes. Add new codes here and a row to docs/errors.md. */
export const BRIDGE_ERROR_CODES = [
  "PB_CONFIG_NOT_FOUND",
  "PB_CONFIG_UNREADABLE",
  "PB_CONFIG_PARSE",
  "PB_CONFIG_INVALID",
  "PB_PORT_OPEN",
  "PB_PORT_LOCKED",
  "PB_PORT_CLOSED",
  "PB_DEVICE_UNAVAILABLE",
  "PB_VOICE_PLAYER",
  "PB_VOICE_CLIPS",
  "PB_MQTT_CONNECT",
  "PB_MQTT_TLS",
  "PB_MQTT_AUTH",
  "PB_MQTT_REFUSED",
  "PB_MQTT_DECODE",
  "PB_CLOUD_CONTRADICTION",
  "PB_JOURNAL_WRITE",
  "PB_JOURNAL_GONE",
  "PB_JOURNAL_CORRUPT",
  "PB_AUDIT_WRITE",
  "PB_JOURNAL_UNREADABLE",
  "PB_NOTIFY_UNAVAILABLE",
  "PB_NOTIFY_FAILED",
  "PB_WATCHDOG_WITHHELD",
  "PB_CLOCK_WRONG",
  "PB_INSTALL_NODE",
  "PB_INSTALL_REFUSED",
  "PB_INSTALL_FAILED",
  "PB_DEMO_UNAVAILABLE",
  "PB_CONTROL_UNAVAILABLE",
  "PB_CONTROL_DENIED",
  "PB_CONTROL_TIMEOUT",
  "PB_CONTROL_REQUEST",
  "PB_CONTROL_REFUSED",
  "PB_CONTROL_BUSY",
  "PB_CONTROL_FAILED",
  "PB_TRAINING_GUARD",
  "PB_INTERNAL",
] as const;

export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number];

export interface BridgeErrorOptions {
  /** Structured details for logs and diagnostics. Never put a payment code or a secret here. */
  context?: Record<string, unknown>;
  cause?: unknown;
}

export class BridgeError extends Error {
  override readonly name = "BridgeError";
  readonly code: BridgeErrorCode;
  readonly context?: Record<string, unknown>;

  /** The message gets the code as a suffix, "… (PB_CONFIG_INVALID)", so every log line carries it. */
  constructor(code: BridgeErrorCode, message: string, options: BridgeErrorOptions = {}) {
    super(`${message} (${code})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.context !== undefined) this.context = options.context;
  }
}

/** True when `e` is a BridgeError (with the given code, if any). */
export function isBridgeError<C extends BridgeErrorCode>(
  e: unknown,
  code?: C,
): e is BridgeError & { code: C } {
  return e instanceof BridgeError && (code === undefined || e.code === code);
}

/** sysexits.h EX_CONFIG: systemd units can stop restarting on it (RestartPreventExitStatus=78). */
export const EX_CONFIG = 78;

/** Process exit code for an error that ends the daemon: 78 for PB_CONFIG_*, otherwise 1. */
export function exitCodeFor(err: unknown): number {
  return isBridgeError(err) && err.code.startsWith("PB_CONFIG_") ? EX_CONFIG : 1;
}
