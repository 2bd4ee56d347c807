// Bytes → text for what a register sends its customer display (no-integration mode): GB18030,
// which reads ASCII and GB2312 as they are, for displays with a Chinese font; or ASCII only.
// iconv-lite is pure JavaScript (no dependency on Node's ICU build). Invalid bytes become U+FFFD.
import iconv from "iconv-lite";
import { asciiText } from "../../protocols/display-tap/display-reader.js";

export type DisplayTextEncoding = "gb18030" | "ascii";

export function textDecoder(encoding: DisplayTextEncoding): (bytes: Uint8Array) => string {
  if (encoding === "ascii") return asciiText;
  return (bytes) => iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "gb18030");
}
