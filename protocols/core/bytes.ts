// Byte helpers shared by the codecs. Pure: Uint8Array in, Uint8Array out.

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** XOR of every byte in `bytes[from, to)`. */
export function xorLrc(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let lrc = 0;
  for (let i = from; i < to; i++) lrc ^= bytes[i] as number;
  return lrc;
}

/** Two BCD bytes, big end first, for 0..9999; throws RangeError outside. */
export function encodeBcd2(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 9999)
    throw new RangeError(`BCD value out of range: ${value}`);
  const d = value.toString().padStart(4, "0");
  const nibble = (i: number) => d.charCodeAt(i) - 0x30;
  return Uint8Array.of((nibble(0) << 4) | nibble(1), (nibble(2) << 4) | nibble(3));
}

/** Decodes two BCD bytes; returns undefined when a nibble is not a decimal digit. */
export function decodeBcd2(hi: number, lo: number): number | undefined {
  const nibbles = [hi >> 4, hi & 0x0f, lo >> 4, lo & 0x0f];
  let value = 0;
  for (const n of nibbles) {
    if (n > 9) return undefined;
    value = value * 10 + n;
  }
  return value;
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (s ? " " : "") + b.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError(`not a hex string: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Strict UTF-8 decoding; returns undefined for malformed input. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Printable ASCII bytes for display text. Texts are constants and formatted amounts; anything
 * outside 0x20–0x7e is a bug and is shown as '?', never as mojibake.
 */
export function printableAscii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c >= 0x20 && c <= 0x7e ? c : 0x3f;
  }
  return out;
}
