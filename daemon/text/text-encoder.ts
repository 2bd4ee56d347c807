// Text → bytes for the register's text fields: UTF-8 by default, GB18030 per lane for registers
// that expect it (terminal-protocol.md, "DATA"). iconv-lite is pure JavaScript.
import iconv from "iconv-lite";

export type TextEncoding = "utf8" | "gb18030";

export function textEncoder(encoding: TextEncoding): (text: string) => Uint8Array {
  if (encoding === "utf8") return (text) => new TextEncoder().encode(text);
  // U+00A5 ¥ has only a four-byte GB18030 form (81 30 84 36) that GB2312-era fonts can't draw;
  // the full-width ￥ (U+FFE5, A3 A4) is in GB2312 and is what those registers show.
  return (text) => new Uint8Array(iconv.encode(text.replaceAll("\u00a5", "\uffe5"), "gb18030"));
}
