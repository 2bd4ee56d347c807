// Guards around protobufjs's static code, which trusts its input more than a payment bridge may:
// its decoders do not check wire types, and fromObject turns NaN, fractions and unknown enum names
// into zeros silently. Used by proto-codec.ts only.
import protobuf from "protobufjs/minimal.js";

/** A decoding problem to report as `{ok:false, error}`; never carries payload bytes. */
export class Invalid extends Error {}

// Wire types of each top-level field (0 varint, 2 length-delimited). protobufjs's static decoders
// read a known field without checking its wire type, so the bytes of another message type can
// "decode" (a BridgeRequest read as a BridgeStatus gives online=false). Unknown field numbers stay
// allowed: the contract only ever adds fields.
const WIRE_TYPES: Record<string, Record<number, number>> = {
  BridgeRequest: { 1: 2, 2: 0, 3: 2, 10: 2, 11: 2, 12: 2, 13: 2 },
  BridgeResponse: { 1: 2, 2: 2, 3: 0, 10: 2, 11: 2 },
  BridgeStatus: { 1: 0, 2: 2, 3: 0, 4: 2 },
  BridgeEvent: { 1: 0, 2: 2, 3: 2, 4: 2 },
};

export function checkWireTypes(bytes: Uint8Array, name: string): void {
  const expected = WIRE_TYPES[name] ?? {};
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new Invalid(`not a ${name}: field number 0`);
    const want = expected[field];
    if (want !== undefined && want !== wireType) {
      throw new Invalid(`not a ${name}: field ${field} has wire type ${wireType}, expected ${want}`);
    }
    reader.skipType(wireType);
  }
}

/** A number bound for an int64 field, as the decimal string fromObject wants. */
export function long(n: number, field: string): string {
  // fromObject("NaN") encodes 0 and fromObject("1.5") encodes 1, silently: refuse both here.
  if (!Number.isSafeInteger(n) || n < 0)
    throw new TypeError(`cannot encode: ${field} must be a safe integer ≥ 0`);
  return String(n);
}

/** An enum name bound for fromObject, which turns an unknown name into 0 (UNSPECIFIED) silently. */
export function enumName<T extends string>(value: T, allowed: readonly string[], field: string): T {
  if (!allowed.includes(value))
    throw new TypeError(`cannot encode: ${field} is not one of ${allowed.join(", ")}`);
  return value;
}
