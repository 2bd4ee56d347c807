// A .tar.gz of a few small text files (the support bundle), written with node:zlib and a minimal
// ustar writer: no dependency for what `tar xzf` reads back. Regular files only, names up to 100
// bytes, no directories.
import { gunzipSync, gzipSync } from "node:zlib";

export interface TarFile {
  name: string;
  content: string | Uint8Array;
  /** Default 0o600: a bundle is for support, not for everyone on the PC. */
  mode?: number;
}

const BLOCK = 512;

export function tarGz(files: readonly TarFile[], mtimeMs: number): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const body = typeof f.content === "string" ? Buffer.from(f.content, "utf8") : Buffer.from(f.content);
    parts.push(header(f.name, body.length, f.mode ?? 0o600, Math.floor(mtimeMs / 1000)), body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // two zero blocks end the archive
  return gzipSync(Buffer.concat(parts));
}

function header(name: string, size: number, mode: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, "utf8");
  if (nameBytes.length > 100 || name.includes("\0")) throw new RangeError(`tar entry name too long: ${name}`);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write("0", 156, "ascii"); // regular file
  h.write("ustar\u000000", 257, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, "ascii");
  return h;
}

function octal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, "ascii");
}

/** Reads back what tarGz wrote (tests, and `posbridge bundle --list`). */
export function untarGz(gz: Uint8Array): { name: string; content: Buffer }[] {
  const tar = gunzipSync(gz);
  const out: { name: string; content: Buffer }[] = [];
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = Number.parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim(), 8);
    at += BLOCK;
    out.push({ name, content: Buffer.from(tar.subarray(at, at + size)) });
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
