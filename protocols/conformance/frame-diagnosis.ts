// Why a frame from the register is wrong, in words a POS vendor can fix it from: which byte, what
// it holds, what it should hold, and the likely mistake (an LRC that includes STX, a binary LEN).
import { decodeBcd2, encodeBcd2, toHex, xorLrc } from "../core/bytes.js";
import { encodeEcrFrame } from "../ecr/frame-encoder.js";
import { STX } from "../ecr/constants.js";

export interface FrameDiagnosis {
  rule: "frame-lrc" | "frame-length";
  message: string;
  /** The frame as it should have been sent (same DATA), when the DATA could be found. */
  expected?: Uint8Array;
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

/** `frame` runs from STX to its LRC, LEN right and ETX in place, but the LRC byte is wrong. */
export function diagnoseLrc(frame: Uint8Array): FrameDiagnosis {
  const etxAt = frame.length - 2;
  const got = frame[etxAt + 1] as number;
  const want = xorLrc(frame, 1, etxAt + 1);
  const hints: [number, string][] = [
    [want ^ STX, "it includes STX; start after STX"],
    [xorLrc(frame, 3, etxAt + 1), "it leaves out the 2 LEN bytes; start right after STX"],
    [xorLrc(frame, 1, etxAt), "it leaves out ETX; end with ETX"],
    [xorLrc(frame, 3, etxAt), "it covers DATA only; cover LEN, DATA and ETX"],
  ];
  const hint = hints.find(([value]) => value === got)?.[1];
  const expected = frame.slice();
  expected[etxAt + 1] = want;
  return {
    rule: "frame-lrc",
    message: `LRC is ${hex2(got)}, expected ${hex2(want)} (XOR of LEN, DATA and ETX)${hint ? `: ${hint}` : ""}`,
    expected,
  };
}

/**
 * `frame` runs from STX to the byte after its first ETX (at `etxAt`), but LEN does not say where
 * that ETX is: LEN is not BCD, counts something else, or is binary.
 */
export function diagnoseLength(frame: Uint8Array, etxAt: number): FrameDiagnosis {
  const hi = frame[1] as number;
  const lo = frame[2] as number;
  const sent = etxAt - 3;
  const declared = decodeBcd2(hi, lo);
  const data = frame.subarray(3, etxAt);
  const right = sent <= 9999 ? toHex(encodeBcd2(sent)) : "(DATA too long for LEN)";
  const binary = ((hi << 8) | lo) === sent;
  const what =
    declared === undefined
      ? `LEN ${hex2(hi)} ${hex2(lo)} is not BCD (each half-byte must be 0-9)`
      : `LEN ${hex2(hi)} ${hex2(lo)} says ${declared} DATA bytes, but ETX follows ${sent}`;
  const hint = binary
    ? `: LEN was sent in binary; ${sent} as BCD is ${right}`
    : declared === sent + 1 || declared === sent + 2
      ? "; LEN counts DATA only (not ETX, not the LRC)"
      : `; ${sent} as BCD is ${right}`;
  return {
    rule: "frame-length",
    message: `${what}${hint}`,
    ...(sent <= 9999 ? { expected: encodeEcrFrame(data) } : {}),
  };
}

/** LEN is right BCD but larger than the terminal accepts. */
export function diagnoseTooLong(length: number, maxDataLength: number): FrameDiagnosis {
  return {
    rule: "frame-length",
    message: `LEN says ${length} DATA bytes; the terminal accepts at most ${maxDataLength} and NAKs longer frames`,
  };
}
