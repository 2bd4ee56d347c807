// Parameters of diagnostics methods, checked by hand (they are few and small): a problem is a
// PB_CONTROL_REQUEST naming the parameter, never echoing a value longer than an id.
import { BridgeError } from "../errors.js";
import type { DiagContext, LaneDiagnostics } from "./methods.js";

export function requestError(message: string): BridgeError {
  return new BridgeError("PB_CONTROL_REQUEST", message);
}

/** The params object (absent: empty). */
export function paramsOf(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw requestError("params must be an object");
  return params as Record<string, unknown>;
}

export function stringParam(p: Record<string, unknown>, name: string, { max = 64 } = {}): string | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length > max)
    throw requestError(`${name} must be a string of at most ${max} characters`);
  return v;
}

export function integerParam(
  p: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max)
    throw requestError(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/** The lane named by `lane` (required). */
export function laneParam(ctx: DiagContext, p: Record<string, unknown>): LaneDiagnostics {
  const id = stringParam(p, "lane");
  if (id === undefined)
    throw requestError(`lane is required (lanes: ${ctx.lanes.map((l) => l.id).join(", ")})`);
  const lane = ctx.lanes.find((l) => l.id === id);
  if (!lane) throw requestError(`no lane '${id}' (lanes: ${ctx.lanes.map((l) => l.id).join(", ")})`);
  return lane;
}
