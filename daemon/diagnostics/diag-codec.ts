// DiagRequest / DiagResponse (proto/posbridge/v1/diag.proto) ⇄ plain objects. Decoding never
// throws: garbage comes back as a specific error, as in cloud/proto-codec.ts.
import { posbridge } from "#proto";

const v1 = posbridge.v1;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
const METHOD = /^[a-z-]{1,32}$/;

export interface DiagRequestView {
  requestId: string;
  method: string;
  params: Record<string, unknown>;
}

export interface DiagResponseView {
  requestId: string;
  ok: boolean;
  resultJson: string;
  bundle: Uint8Array;
  errorCode: string;
  errorMessage: string;
  version: string;
  truncated: boolean;
}

export function encodeDiagRequest(r: DiagRequestView): Uint8Array {
  return v1.DiagRequest.encode(
    v1.DiagRequest.create({
      requestId: r.requestId,
      method: r.method,
      paramsJson: Object.keys(r.params).length ? JSON.stringify(r.params) : "",
    }),
  ).finish();
}

export function decodeDiagRequest(
  bytes: Uint8Array,
): { ok: true; value: DiagRequestView } | { ok: false; error: string } {
  let m: posbridge.v1.DiagRequest;
  try {
    m = v1.DiagRequest.decode(bytes);
  } catch (err) {
    return { ok: false, error: `not a DiagRequest: ${(err as Error).message.replace(/\d{6,}/g, "…")}` };
  }
  if (!REQUEST_ID.test(m.requestId)) return { ok: false, error: "request_id missing or malformed" };
  if (!METHOD.test(m.method)) return { ok: false, error: "method missing or malformed" };
  let params: unknown = {};
  if (m.paramsJson) {
    try {
      params = JSON.parse(m.paramsJson);
    } catch {
      return { ok: false, error: "params_json is not JSON" };
    }
  }
  if (params === null || typeof params !== "object" || Array.isArray(params))
    return { ok: false, error: "params_json must be a JSON object" };
  return {
    ok: true,
    value: { requestId: m.requestId, method: m.method, params: params as Record<string, unknown> },
  };
}

export function encodeDiagResponse(r: DiagResponseView): Uint8Array {
  return v1.DiagResponse.encode(v1.DiagResponse.create({ ...r })).finish();
}

export function decodeDiagResponse(
  bytes: Uint8Array,
): { ok: true; value: DiagResponseView } | { ok: false; error: string } {
  try {
    const m = v1.DiagResponse.decode(bytes);
    return {
      ok: true,
      value: {
        requestId: m.requestId,
        ok: m.ok,
        resultJson: m.resultJson,
        bundle: m.bundle,
        errorCode: m.errorCode,
        errorMessage: m.errorMessage,
        version: m.version,
        truncated: m.truncated,
      },
    };
  } catch (err) {
    return { ok: false, error: `not a DiagResponse: ${(err as Error).message.replace(/\d{6,}/g, "…")}` };
  }
}
