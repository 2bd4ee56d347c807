// ULIDs (26 chars of Crockford base32: time-ordered, unique) for request and attempt ids.
// Both fit the contract's attempt id rule, 6–32 of [A-Za-z0-9_].
import { randomFillSync } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_CHARS = 16;

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time and handed out 16 per id: one call into
 * OpenSSL per 256 ids instead of one (and a buffer) per id (docs/performance.md, "Where the CPU
 * goes"). Each byte is used once.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

export function ulid(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (used + RANDOM_CHARS > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let rand = "";
  for (let i = 0; i < RANDOM_CHARS; i++) rand += ALPHABET[(pool[used + i] as number) % 32];
  used += RANDOM_CHARS;
  return time + rand;
}
