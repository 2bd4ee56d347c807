// Decodes the input reports of a USB HID POS barcode scanner (usage page 0x8C, "Bar Code
// Scanner") into reads (device-protocols.md §3.3). The report layout is Honeywell's "USB HID POS"
// (also Intermec SG20), captured in `HenkVanAsselt/python_hon_usbhid`'s README:
//
//   offset 0      report id, 0x02
//   offset 1      number of valid data bytes in this report, at most 56 (0x38)
//   offset 2..4   AIM symbology identifier, e.g. `5D 45 30` = "]E0"
//   offset 5..60  decoded data, zero padded
//   offset 61     Honeywell code id (62 is reserved)
//   offset 63     bit 0: Decode Data Continued — 1 = more reports of this read follow
//
// A read longer than 56 bytes spans several reports; the decoder glues them together. Pure:
// push(report, now) → chunks; time arrives as `now` (ms), there are no timers, and the read buffer
// is capped at maxLength. Dropped reads are reported by length only, never their bytes: a read may
// be a payment code (payment-domain.md §7 rule 18).

/** HID usage page "Bar Code Scanner" (HID Point of Sale Usage Tables, pos1_02.pdf). */
export const HID_POS_USAGE_PAGE = 0x8c;

/** Usage ids on page 0x8C (device-protocols.md §3.3, from the HID POS Usage Tables). */
export const HID_POS_USAGE = {
  barCodeBadgeReader: 0x01,
  barCodeScanner: 0x02,
  dumbBarCodeScanner: 0x03,
  cordlessScannerBase: 0x04,
  barCodeScannerCradle: 0x05,
  attributeReport: 0x10,
  settingsReport: 0x11,
  scannedDataReport: 0x12,
  rawScannedDataReport: 0x13,
  triggerReport: 0x14,
  statusReport: 0x15,
  symbologyIdentifier1: 0xfb,
  symbologyIdentifier2: 0xfc,
  symbologyIdentifier3: 0xfd,
  decodedData: 0xfe,
  decodeDataContinued: 0xff,
} as const;

/** True for the HID POS bar code scanner usage page (e.g. a node-hid `devices()` entry's usagePage). */
export function isHidPosUsagePage(usagePage: number): boolean {
  return usagePage === HID_POS_USAGE_PAGE;
}

/** Size of one input report, report id included (node-hid on Linux delivers the id byte). */
export const HID_POS_REPORT_SIZE = 64;
/** Data bytes one report can carry (offsets 5..60). */
export const HID_POS_MAX_DATA = 56;
/** Honeywell's input report id. */
export const HID_POS_REPORT_ID = 0x02;

const OFFSET_LENGTH = 1;
const OFFSET_AIM = 2;
const OFFSET_DATA = 5;
const OFFSET_CODE_ID = 61;
const OFFSET_FLAGS = 63;
const FLAG_CONTINUED = 0x01;
const MAX_MAX_LENGTH = 4096;
const MAX_STALE_MS = 60_000;

export type HidPosReportProblem = "badLength" | "wrongReportId";

/** One report's fields. `data` is a view into the report: copy it if you keep it. */
export interface HidPosReport {
  ok: true;
  /** AIM symbology identifier ("]E0"), or "" when the three bytes are not printable. */
  aim: string;
  /** Honeywell code id byte (offset 61). */
  codeId: number;
  data: Uint8Array;
  /** Decode Data Continued: more reports of the same read follow. */
  more: boolean;
}

/** Splits one input report into its fields, or says why it does not fit the layout. */
export function parseHidPosReport(
  report: Uint8Array,
  reportId: number = HID_POS_REPORT_ID,
): HidPosReport | { ok: false; problem: HidPosReportProblem } {
  if (report.length > 0 && report[0] !== reportId) return { ok: false, problem: "wrongReportId" };
  if (report.length !== HID_POS_REPORT_SIZE) return { ok: false, problem: "badLength" };
  const length = report[OFFSET_LENGTH] as number;
  if (length > HID_POS_MAX_DATA) return { ok: false, problem: "badLength" };
  const aimBytes = report.subarray(OFFSET_AIM, OFFSET_AIM + 3);
  const aim = aimBytes.every((b) => b > 0x20 && b < 0x7f) ? String.fromCharCode(...aimBytes) : "";
  return {
    ok: true,
    aim,
    codeId: report[OFFSET_CODE_ID] as number,
    data: report.subarray(OFFSET_DATA, OFFSET_DATA + length),
    more: ((report[OFFSET_FLAGS] as number) & FLAG_CONTINUED) !== 0,
  };
}

export interface HidPosOptions {
  /** Longest read (data bytes over all its reports) accepted; default 128. */
  maxLength?: number;
  /**
   * A report arriving more than this many ms after the previous part of an unfinished read makes
   * the whole read stale: it is dropped, this report and any parts still to come included.
   * Default 500.
   */
  staleMs?: number;
  /** Input report id of scan data; default 0x02 (Honeywell). */
  reportId?: number;
}

export type HidPosDiscardReason =
  /** The read's data was longer than maxLength. */
  | "overflow"
  /** The read had a byte outside printable ASCII (includes Honeywell menu replies, `]Z6` + ACK). */
  | "binary"
  /** A last report with no data and nothing before it. */
  | "empty"
  /** A continuation arrived more than staleMs after the previous part. */
  | "stale"
  /** A read was cut short: a malformed report arrived, or reset() was called. */
  | "incomplete"
  /** A report of the wrong size, or whose length byte exceeds 56. */
  | "badLength"
  /** A report with another report id (a different report of the device); pending reads are kept. */
  | "wrongReportId";

export type HidPosChunk =
  /** `aim` is the first report's AIM symbology identifier ("]Q1"), "" if not printable. */
  | { type: "scan"; text: string; aim: string }
  /** `length` is data bytes for reads; for badLength / wrongReportId the size of the report. */
  | { type: "discarded"; length: number; reason: HidPosDiscardReason };

export class HidPosDecoder {
  readonly #maxLength: number;
  readonly #staleMs: number;
  readonly #reportId: number;
  readonly #buffer: Uint8Array;
  /** A read is open: its last report so far had the continued flag. */
  #open = false;
  /** Data bytes of the open read so far; may exceed the buffer after an overflow. */
  #length = 0;
  #aim = "";
  #lastAt = 0;
  /** The open read is already known to be stale and will be dropped when it ends. */
  #stale = false;

  constructor({ maxLength = 128, staleMs = 500, reportId = HID_POS_REPORT_ID }: HidPosOptions = {}) {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
      throw new TypeError(`maxLength must be an integer 1..${MAX_MAX_LENGTH}, got ${String(maxLength)}`);
    }
    if (typeof staleMs !== "number" || !Number.isFinite(staleMs) || staleMs < 0 || staleMs > MAX_STALE_MS) {
      throw new TypeError(`staleMs must be a number 0..${MAX_STALE_MS}, got ${String(staleMs)}`);
    }
    if (!Number.isInteger(reportId) || reportId < 0 || reportId > 0xff) {
      throw new TypeError(`reportId must be an integer 0..255, got ${String(reportId)}`);
    }
    this.#maxLength = maxLength;
    this.#staleMs = staleMs;
    this.#reportId = reportId;
    this.#buffer = new Uint8Array(maxLength);
  }

  /** Feeds one input report received at `now` (ms, any monotonic clock). */
  push(report: Uint8Array, now: number): HidPosChunk[] {
    if (typeof now !== "number" || !Number.isFinite(now)) {
      throw new TypeError(`now must be a finite number, got ${String(now)}`);
    }
    const parsed = parseHidPosReport(report, this.#reportId);
    if (!parsed.ok) {
      const bad: HidPosChunk = { type: "discarded", length: report.length, reason: parsed.problem };
      // Another report of the device (status, trigger…) says nothing about the scan stream; a
      // malformed scan report does, and the read it belonged to cannot be completed.
      if (parsed.problem === "wrongReportId") return [bad];
      return [...this.#drop("incomplete"), bad];
    }
    if (this.#open) {
      if (now - this.#lastAt > this.#staleMs) this.#stale = true;
    } else {
      this.#aim = parsed.aim;
    }
    this.#append(parsed.data);
    this.#lastAt = now;
    this.#open = parsed.more;
    return parsed.more ? [] : [this.#finish()];
  }

  /** Drops an unfinished read (device closed, or the runner's idle timer after staleMs). */
  reset(): HidPosChunk[] {
    return this.#drop(this.#stale ? "stale" : "incomplete");
  }

  #drop(reason: HidPosDiscardReason): HidPosChunk[] {
    if (!this.#open) return [];
    const chunk: HidPosChunk = { type: "discarded", length: this.#length, reason };
    this.#clear();
    return [chunk];
  }

  #append(data: Uint8Array): void {
    const room = this.#maxLength - this.#length;
    if (room > 0) this.#buffer.set(data.subarray(0, room), this.#length);
    this.#length += data.length;
  }

  #finish(): HidPosChunk {
    const length = this.#length;
    const aim = this.#aim;
    const stale = this.#stale;
    const overflow = length > this.#maxLength;
    const data = this.#buffer.subarray(0, Math.min(length, this.#maxLength));
    const binary = !overflow && data.some((b) => b < 0x20 || b > 0x7e);
    const text = stale || overflow || binary ? "" : String.fromCharCode(...data);
    this.#clear();
    if (stale) return { type: "discarded", length, reason: "stale" };
    if (overflow) return { type: "discarded", length, reason: "overflow" };
    if (length === 0) return { type: "discarded", length, reason: "empty" };
    if (binary) return { type: "discarded", length, reason: "binary" };
    return { type: "scan", text, aim };
  }

  #clear(): void {
    // Zero the buffer: a dropped read may hold digits of a payment code.
    this.#buffer.fill(0, 0, Math.min(this.#length, this.#maxLength));
    this.#open = false;
    this.#length = 0;
    this.#aim = "";
    this.#stale = false;
  }
}
