// The durability floor of this disk: a 200-byte append and fsync, as the journal's smallest
// commit, in the directory the daemon's journal lives in.
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export function fsyncSamples(dir: string, count: number): number[] {
  const path = join(dir, "fsync-floor.bin");
  const fd = openSync(path, "a");
  const line = Buffer.alloc(200, 0x41);
  const out: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      writeSync(fd, line);
      fsyncSync(fd);
      out.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return out;
}
