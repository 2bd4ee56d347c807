// CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF), the same
// checksum as zlib's crc32 and gzip. Table-driven; Node 20 has no zlib.crc32. Pure.

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes[from, to)` as an unsigned 32-bit integer; crc32(utf8("123456789")) = 0xcbf43926. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC as 8 lowercase hex digits, as written in journal lines. */
export function crc32Hex(bytes: Uint8Array, from = 0, to = bytes.length): string {
  return crc32(bytes, from, to).toString(16).padStart(8, "0");
}
