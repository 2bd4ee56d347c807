// Auto-detection of a register's display line (no-integration mode, listen only): the line is
// listened to at each candidate setting in turn (DETECT_SETTINGS, narrowed by what the config
// fixes), and the samples are scored by detectDisplay (protocols/display-tap/detect.ts). The
// best setting and dialect are returned once one reads clearly better than the rest; a silent,
// unreadable or ambiguous line is listened to again, cycle after cycle, until the tap stops.
// The port itself is opened by the caller's `sample` (display-tap-port.ts), under a supervisor.
import type { AmountRules } from "../../protocols/display-tap/amount-text.js";
import {
  DETECT_SETTINGS,
  type Detection,
  detectDisplay,
  type SerialSetting,
} from "../../protocols/display-tap/detect.js";
import type { DisplayDialect } from "../../protocols/display-tap/dialects.js";

/** What detection found (or is doing), for `posbridge devices` / `doctor`. */
export interface TapDetectionStatus {
  /** fixed: nothing was "auto"; detecting: cycling the settings; locked: found and in use; nothing: last cycle found nothing. */
  state: "fixed" | "detecting" | "locked" | "nothing";
  baudRate: number | null;
  parity: "none" | "even" | "odd" | null;
  dialect: DisplayDialect | null;
  confidence: number | null;
  reason: string;
  /** Candidate settings listened to in the current or last cycle. */
  tried: number;
}

export interface LineDetectOptions {
  /** The config's line settings; "auto" where they are to be found. */
  baudRate: number | "auto";
  parity: "none" | "even" | "odd" | "auto";
  /** A dialect the config fixes, or null to find it too. */
  dialect: DisplayDialect | null;
  idleMs: number;
  rules: AmountRules;
  /** Opens the line at `setting`, listens, and returns what it read. */
  sample(setting: SerialSetting): Promise<Uint8Array>;
  /** False once the tap stopped: detection ends without an answer. */
  alive(): boolean;
  /** Each change of the status (a setting listened to, a cycle that found nothing). */
  onStatus(status: TapDetectionStatus): void;
  /** A cycle found nothing: said (the caller limits repeats). */
  onNothing(found: Detection<SerialSetting>): void;
}

/** The candidate settings: DETECT_SETTINGS, narrowed by what the config fixes. */
export function detectCandidates(baudRate: number | "auto", parity: string): SerialSetting[] {
  return DETECT_SETTINGS.filter(
    (s) => (baudRate === "auto" || s.baudRate === baudRate) && (parity === "auto" || s.parity === parity),
  );
}

/** Listens until a setting and dialect are found; null when the tap stopped first. */
export async function detectLine(
  o: LineDetectOptions,
): Promise<{ setting: SerialSetting; dialect: DisplayDialect; status: TapDetectionStatus } | null> {
  const candidates = detectCandidates(o.baudRate, o.parity);
  if (candidates.length === 0) return null; // load-config never lets this happen
  let status: TapDetectionStatus = {
    state: "detecting",
    baudRate: o.baudRate === "auto" ? null : o.baudRate,
    parity: o.parity === "auto" ? null : o.parity,
    dialect: o.dialect,
    confidence: null,
    reason: "listening",
    tried: 0,
  };
  for (;;) {
    const samples: { setting: SerialSetting; bytes: Uint8Array }[] = [];
    status = { ...status, state: "detecting", tried: 0 };
    o.onStatus(status);
    for (const setting of candidates) {
      const bytes = await o.sample(setting);
      if (!o.alive()) return null;
      samples.push({ setting, bytes });
      status = { ...status, tried: samples.length };
      o.onStatus(status);
    }
    const found = detectDisplay(samples, {
      ...(o.dialect ? { dialects: [o.dialect] } : {}),
      readerOptions: { idleMs: o.idleMs },
      rules: o.rules,
    });
    if (found.verdict === "found" && found.best) {
      const { setting, dialect } = found.best;
      status = {
        state: "locked",
        baudRate: setting.baudRate,
        parity: setting.parity,
        dialect,
        confidence: Math.round(found.confidence * 100) / 100,
        reason: found.reason,
        tried: samples.length,
      };
      o.onStatus(status);
      return { setting, dialect, status };
    }
    status = { ...status, state: "nothing", confidence: found.confidence, reason: found.reason };
    o.onStatus(status);
    o.onNothing(found);
  }
}
