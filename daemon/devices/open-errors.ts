// Why a serial device would not open, as one table: the cause, how the OS or the serialport
// binding says it, the state the port is left in, and the hint a technician acts on. The
// supervisor classifies open failures with it (port-supervisor.ts); `posbridge doctor` quotes
// the same hints for what it finds itself (daemon/diagnostics/checks/), so the log line and the
// doctor's line never give two different fixes for one fault.
//
// The binding reports errno in the message text ("Error: Permission denied, cannot open
// /dev/ttyUSB0"), not in `err.code`, so the rows match the message; a row per cause keeps
// those patterns in one place instead of a chain of branches.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { BridgeErrorCode } from "../errors.js";

/** The code a failed open is logged with: PB_PORT_LOCKED when another program holds the port. */
export type OpenErrorCode = Extract<BridgeErrorCode, "PB_PORT_OPEN" | "PB_PORT_LOCKED">;

export type OpenCause = "directory" | "absent" | "permission" | "busy" | "notTty";

/** The fix for each cause that has one; what the doctor prints after "fix:". */
export const OPEN_HINTS = {
  permission: "the service user needs access: group dialout, or systemd/99-posbridge.rules; docs/hardware.md",
  busy: "another program holds the port: ModemManager, a terminal program, a second posbridge; docs/hardware.md",
} as const satisfies Partial<Record<OpenCause, string>>;

interface OpenCauseRow {
  cause: OpenCause;
  match: RegExp;
  state: Exclude<DeviceState, "CONNECTED">;
  code: OpenErrorCode;
  /** The message for the status and the log: the system's words, the path and the hint. */
  message(path: string, systemMessage: string): string;
}

/** First match wins: a directory before "not found", which some bindings also say for it. */
export const OPEN_CAUSES: readonly OpenCauseRow[] = [
  {
    cause: "directory",
    match: /EISDIR|Is a directory/i,
    state: "FAULT",
    code: "PB_PORT_OPEN",
    message: (path) => `${path} is a directory, not a serial device`,
  },
  {
    cause: "absent",
    match: /ENOENT|No such file|not found|does not exist|ENODEV|ENXIO/i,
    state: "ABSENT",
    code: "PB_PORT_OPEN",
    message: (_path, m) => m,
  },
  {
    cause: "permission",
    match: /EACCES|permission denied/i,
    state: "FAULT",
    code: "PB_PORT_OPEN",
    message: (_path, m) => `${m} (${OPEN_HINTS.permission})`,
  },
  {
    cause: "busy",
    match: /Cannot lock port|EBUSY|Resource temporarily unavailable/i,
    state: "FAULT",
    code: "PB_PORT_LOCKED",
    message: (_path, m) => `${m} (${OPEN_HINTS.busy})`,
  },
  {
    cause: "notTty",
    match: /ENOTTY|Inappropriate ioctl/i,
    state: "FAULT",
    code: "PB_PORT_OPEN",
    message: (path, m) => `${path} is not a serial device (${m})`,
  },
];

/** An open failure as a state, a message a technician can act on, and its code. */
export function classifyOpenError(
  err: Error,
  path: string,
): [Exclude<DeviceState, "CONNECTED">, string, OpenErrorCode] {
  const message = err?.message ?? String(err);
  const row = OPEN_CAUSES.find((r) => r.match.test(message));
  return row ? [row.state, row.message(path, message), row.code] : ["FAULT", message, "PB_PORT_OPEN"];
}
