// DATA → STX | LEN | DATA | ETX | LRC (shared/spec/terminal-protocol.md, "Framing").
import { encodeBcd2, xorLrc } from "../core/bytes.js";
import { ETX, STX } from "./constants.js";

/**
 * Wraps DATA in a frame. LEN is the DATA length as two BCD bytes, big end first; LRC is the XOR of
 * every byte after STX up to and including ETX. Throws RangeError when DATA exceeds 9999 bytes,
 * which BCD LEN cannot express.
 */
export function encodeEcrFrame(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 5);
  frame[0] = STX;
  frame.set(encodeBcd2(data.length), 1);
  frame.set(data, 3);
  const etxAt = 3 + data.length;
  frame[etxAt] = ETX;
  frame[etxAt + 1] = xorLrc(frame, 1, etxAt + 1);
  return frame;
}
