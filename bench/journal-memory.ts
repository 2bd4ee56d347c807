// `npm run bench` (its journal part, in a process of its own so that its RSS is its own):
// 1. memory over 100 000 sales written through the journal (3 records per sale, maintain() on the
//    daemon's beat), against the same process before them; and the same for 20 000 sales with
//    every record held in memory (the fold before index rows) for the slope it had;
// 2. open time of a journal of 10k / 100k / 500k sales, reading the whole file and from a
//    snapshot, against reading the file's bytes alone.
// Run alone: `node --expose-gc build/bench/journal-memory.js [--quick|--large]`. Prints a table
// and JSON.
// docs/journal.md quotes the figures.
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { systemClock } from "../daemon/clock.js";
import { JOURNAL_FILE, Journal } from "../daemon/journal/journal.js";
import { encodeLine } from "../daemon/journal/journal-line.js";
import { JOURNAL_MAGIC, JOURNAL_VERSION } from "../daemon/journal/record-shape.js";
import { attempt, sale, T } from "./bench-records.js";

const silent = pino({ level: "silent" });
const quick = process.argv.includes("--quick");
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const MiB = 1024 * 1024;

interface Row {
  name: string;
  unit: string;
  value: number;
  baseline: string;
  baselineValue: number;
}
const rows: Row[] = [];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
/** tmpfs when there is one: memory does not depend on the disk, and 300 000 fsyncs would. */
const scratch = () => mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "pb-bench-mem-"));

/** Least-squares slope of RSS over sales, in bytes per sale: RSS wanders ±10 MiB with V8's and malloc's own sizing; a slope shows what grows with sales. */
function slopeOf(samples: [number, number][]): number {
  const n = samples.length;
  const mx = samples.reduce((a, [x]) => a + x, 0) / n;
  const my = samples.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of samples) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

function memoryRun(sales: number, recentSales: number | undefined) {
  const dir = scratch();
  const j = Journal.open({ dir, clock: systemClock, log: silent, recentSales });
  const write = (i: number) => {
    j.write(sale(i, "PENDING"));
    j.write(attempt(i));
    j.write(sale(i, "PAID"));
  };
  for (let i = 0; i < 2000; i++) write(i); // the recent ones are full, the code is compiled
  gc();
  const start = process.memoryUsage();
  // V8 sizes its young generation to the allocation rate in the first ~10k sales (heapTotal grows,
  // heapUsed does not): that is the process settling, not the journal holding sales.
  for (let i = 2000; i < WARM; i++) {
    write(i);
    if (i % 1000 === 0) j.maintain();
  }
  gc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  let paused = 0;
  const samples: [number, number][] = [[0, before.rss]];
  for (let i = WARM; i < WARM + sales; i++) {
    write(i);
    if (i % 1000 === 0) j.maintain(); // the daemon's 5 s beat, at ~200 sales/s
    if ((i - WARM + 1) % (sales / 10) === 0) {
      const p0 = process.hrtime.bigint();
      gc();
      samples.push([i - WARM + 1, process.memoryUsage().rss]);
      paused += ms(p0);
    }
  }
  const elapsed = ms(t0) - paused;
  gc();
  const after = process.memoryUsage();
  const mem = j.memory();
  const fileBytes = j.stats().fileBytes;
  j.close();
  rmSync(dir, { recursive: true, force: true });
  return { start, before, after, elapsed, mem, fileBytes, samples, slope: slopeOf(samples) };
}

const salesN = quick ? 20_000 : 100_000;
const WARM = quick ? 10_000 : 20_000;
const bounded = memoryRun(salesN, undefined);
rows.push({
  name: `RSS, first ${WARM / 1000}k sales (V8 settling)`,
  unit: "MiB",
  value: bounded.before.rss / MiB,
  baseline: "RSS after 2k sales",
  baselineValue: bounded.start.rss / MiB,
});
rows.push({
  name: `RSS trend over the next ${salesN / 1000}k sales`,
  unit: "MiB",
  value: (bounded.slope * salesN) / MiB,
  baseline: "RSS range in 11 samples (max − min)",
  baselineValue:
    (Math.max(...bounded.samples.map(([, y]) => y)) - Math.min(...bounded.samples.map(([, y]) => y))) / MiB,
});
rows.push({
  name: `RSS growth over the next ${salesN / 1000}k sales`,
  unit: "MiB",
  value: (bounded.after.rss - bounded.before.rss) / MiB,
  baseline: `RSS of the same process at ${WARM / 1000}k`,
  baselineValue: bounded.before.rss / MiB,
});
rows.push({
  name: `heap + buffers growth, next ${salesN / 1000}k`,
  unit: "MiB",
  value:
    (bounded.after.heapUsed +
      bounded.after.arrayBuffers -
      bounded.before.heapUsed -
      bounded.before.arrayBuffers) /
    MiB,
  baseline: `heap + buffers at ${WARM / 1000}k`,
  baselineValue: (bounded.before.heapUsed + bounded.before.arrayBuffers) / MiB,
});
rows.push({
  name: "index per settled sale",
  unit: "bytes",
  value: bounded.mem.indexBytes / (salesN + WARM),
  baseline: "its lines in the file",
  baselineValue: bounded.fileBytes / (salesN + WARM),
});
const unboundedN = quick ? 5_000 : 20_000;
const unbounded = memoryRun(unboundedN, Number.POSITIVE_INFINITY);
rows.push({
  name: "heap per sale, every record in memory",
  unit: "bytes",
  value: (unbounded.after.heapUsed - unbounded.before.heapUsed) / unboundedN,
  baseline: "with index rows (above)",
  baselineValue: (bounded.after.heapUsed - bounded.before.heapUsed) / salesN,
});
rows.push({
  name: "write 3 records per sale (tmpfs)",
  unit: "sales/s",
  value: (salesN / bounded.elapsed) * 1000,
  baseline: "every record in memory",
  baselineValue: (unboundedN / unbounded.elapsed) * 1000,
});

// Open time. One file of the largest size, compacted form (each sale: its attempt and its sale);
// the smaller journals are its first lines.
// 500k (a 30-day hypermarket) only with --large: reading its whole file once, to write the
// snapshot, takes about a minute on a 2-core machine (docs/journal.md has the figures).
const large = process.argv.includes("--large");
const sizes = quick ? [10_000] : large ? [10_000, 100_000, 500_000] : [10_000, 100_000];
const source = join(scratch(), "all.log");
{
  const fd = openSync(source, "w");
  const parts: Buffer[] = [encodeLine({ journal: JOURNAL_MAGIC, version: JOURNAL_VERSION, createdAt: T })];
  let held = 0;
  const ends: number[] = [];
  let written = 0;
  const flush = () => {
    const b = Buffer.concat(parts);
    writeSync(fd, b);
    written += b.length;
    parts.length = 0;
    held = 0;
  };
  for (let i = 0; i < sizes[sizes.length - 1]!; i++) {
    const a = encodeLine(attempt(i));
    const s = encodeLine(sale(i, "PAID"));
    parts.push(a, s);
    held += a.length + s.length;
    if (sizes.includes(i + 1)) {
      flush();
      ends.push(written);
    } else if (held > 4 * MiB) flush();
  }
  flush();
  closeSync(fd);
  const all = readFileSync(source);
  for (const [k, n] of sizes.entries()) {
    const dir = mkdtempSync(join(tmpdir(), "pb-bench-open-"));
    const path = join(dir, JOURNAL_FILE);
    const fdw = openSync(path, "w", 0o600);
    writeSync(fdw, all.subarray(0, ends[k]));
    closeSync(fdw);
    const r0 = process.hrtime.bigint();
    readFileSync(path);
    const readMs = ms(r0);
    gc();
    const f0 = process.hrtime.bigint();
    const full = Journal.open({ dir, clock: systemClock, log: silent });
    const fullMs = ms(f0);
    full.close(); // writes the snapshot
    gc();
    const s0 = process.hrtime.bigint();
    const fromSnap = Journal.open({ dir, clock: systemClock, log: silent });
    const snapMs = ms(s0);
    if (fromSnap.loadReport.snapshot === undefined) throw new Error("the snapshot was not used");
    // A QY of an old order: the sale and its attempts, read back through the index.
    const q0 = process.hrtime.bigint();
    for (let q = 0; q < 1000; q++) {
      const s = sale((q * 7919) % n, "PAID");
      if (!fromSnap.sale(s.laneId, s.orderRef) || fromSnap.attemptsOf(s.laneId, s.orderRef).length !== 1) {
        throw new Error("an old sale was not found");
      }
    }
    const lookupUs = ms(q0); // 1000 lookups: ms in total = µs each
    fromSnap.close();
    const label = `${n / 1000}k sales, ${(ends[k]! / MiB).toFixed(0)} MiB`;
    rows.push({
      name: `open ${label}, whole file`,
      unit: "ms",
      value: fullMs,
      baseline: "read the bytes alone",
      baselineValue: readMs,
    });
    rows.push({
      name: `old sale + attempts by key, ${n / 1000}k`,
      unit: "µs",
      value: lookupUs,
      baseline: "9600-baud wire time of one code",
      baselineValue: 19_800,
    });
    rows.push({
      name: `open ${label}, snapshot`,
      unit: "ms",
      value: snapMs,
      baseline: "read the bytes alone",
      baselineValue: readMs,
    });
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(join(source, ".."), { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? "unknown cpu"} ×${cpus().length}, node ${process.version}`;
console.log(`\nposbridge bench: journal memory and open — ${machine}\n`);
const pad = (s: string, n: number) => s.padEnd(n);
for (const r of rows) {
  console.log(
    `${pad(r.name, 44)} ${pad(`${r.value.toFixed(2)} ${r.unit}`, 16)} ${pad(r.baseline, 42)} ${r.baselineValue.toFixed(2)} ${r.unit}`,
  );
}
console.log(
  `\n${JSON.stringify({ bench: "journal-memory", machine, date: new Date().toISOString(), index: bounded.mem, rssSamples: bounded.samples, rows })}`,
);
