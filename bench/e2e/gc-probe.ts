// Loaded into the bench's daemon child only (`node --expose-gc --import <this file>`, set by
// startBridge's `gcProbe` option in bridge.ts; never by the unit or the CLI): on SIGUSR2 it runs
// two full garbage collections, waits for V8 to hand the freed pages back, and appends one JSON
// line — process.memoryUsage() and the VmRSS of /proc — to the file named by PB_BENCH_GC_PROBE.
// That separates the heap the daemon keeps (heapUsed after a full GC) from the heap V8 merely
// sized up for the load (heapTotal and RSS before it): docs/performance.md, "Memory over a long run".
// With PB_BENCH_HEAP_SNAPSHOTS=<dir> it also writes a heap snapshot there each time, after the
// memory figures (compare two with bench/heapsnapshot-diff.ts).
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";

export interface GcProbeLine {
  /** process.memoryUsage() after the collections (bytes). */
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** The same before them. */
  before: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** VmRSS after the collections and the pause (bytes): what the RSS rows read. */
  vmRss: number;
  /**
   * Resident bytes by kind of mapping (/proc/self/smaps): glibc's main heap (`[heap]`), anonymous
   * mappings (V8's heap pages, malloc's other arenas and its mmap'd blocks, thread stacks) and
   * mapped files (the node binary, its libraries): where RSS that V8 does not count lives.
   */
  smaps: { brkHeap: number; anonymous: number; files: number };
  /** The heap snapshot written (PB_BENCH_HEAP_SNAPSHOTS), if any. */
  snapshot?: string;
}

/** How long V8's unmapper gets to return freed pages before RSS is read (it runs on a thread). */
const SETTLE_MS = 500;

function vmRss(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function smapsRss(): GcProbeLine["smaps"] {
  const sums = { brkHeap: 0, anonymous: 0, files: 0 };
  let kind: keyof typeof sums = "anonymous";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      kind = name === "[heap]" ? "brkHeap" : name.startsWith("/") ? "files" : "anonymous";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sums[kind] += Number(rss[1]) * 1024;
  }
  return sums;
}

function pick(m: NodeJS.MemoryUsage): GcProbeLine["before"] {
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

const out = process.env.PB_BENCH_GC_PROBE;
const gc = (globalThis as { gc?: () => void }).gc;
const snapshots = process.env.PB_BENCH_HEAP_SNAPSHOTS;
let taken = 0;
if (out && gc) {
  process.on("SIGUSR2", () => {
    const before = pick(process.memoryUsage());
    gc();
    gc();
    setTimeout(() => {
      const line: GcProbeLine = {
        ...pick(process.memoryUsage()),
        before,
        vmRss: vmRss(),
        smaps: smapsRss(),
      };
      if (snapshots) line.snapshot = writeHeapSnapshot(join(snapshots, `daemon-${++taken}.heapsnapshot`));
      appendFileSync(out, `${JSON.stringify(line)}\n`);
    }, SETTLE_MS).unref();
  });
}
