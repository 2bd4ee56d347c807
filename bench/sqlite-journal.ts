// The comparison issue 13 asks for before the hand-written journal grows an index: a prototype
// sale store on SQLite (better-sqlite3 12, a devDependency: nothing in daemon/ uses it), measured
// in the same run, on the same disk and the same records as the journal:
// - durable appends with 32 concurrent writers (3 records per sale, each writer awaits its own
//   commit before its next record, as a lane awaits its record before it publishes or answers):
//   the journal as it is (one fsync per record), the journal's format with one write + fsync per
//   batch (the floor of a group commit), SQLite WAL synchronous=FULL with one transaction per
//   batch, and per record;
// - open time, RSS and bytes per sale at 100k and 500k sales (--quick: 20k);
// - a kill test: a child commits batches and prints the last committed sale after each commit;
//   it is SIGKILLed at a random moment, the database is opened again and every sale it printed
//   must be there, whole.
// Run: `node build/bench/sqlite-journal.js [--quick]`. docs/journal.md quotes the figures.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { systemClock } from "../daemon/clock.js";
import { Journal } from "../daemon/journal/journal.js";
import { encodeLine } from "../daemon/journal/journal-line.js";
import { isSettled, type JournalRecord, recordKey } from "../protocols/sale/records.js";
import { attempt, sale } from "./bench-records.js";

const MiB = 1024 * 1024;
const quick = process.argv.includes("--quick");
const silent = pino({ level: "silent" });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** The prototype store: one row per record (latest snapshot, as the journal's fold), WAL. */
class SqliteStore {
  readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly batch: (records: JournalRecord[]) => void;

  constructor(path: string, synchronous: "FULL" | "NORMAL" = "FULL") {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS records (
      key TEXT PRIMARY KEY, lane TEXT NOT NULL, order_ref TEXT NOT NULL,
      settled INTEGER NOT NULL, updated_at INTEGER NOT NULL, json TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS by_order ON records (lane, order_ref);
      CREATE INDEX IF NOT EXISTS unsettled ON records (settled) WHERE settled = 0;`);
    this.upsert = this.db.prepare(
      "INSERT INTO records (key, lane, order_ref, settled, updated_at, json) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET settled = excluded.settled, updated_at = excluded.updated_at, json = excluded.json",
    );
    this.batch = this.db.transaction((records: JournalRecord[]) => {
      for (const r of records) {
        this.upsert.run(
          recordKey(r),
          r.laneId,
          r.orderRef,
          isSettled(r) ? 1 : 0,
          r.updatedAt,
          JSON.stringify(r),
        );
      }
    });
  }

  /** One transaction: durable when it returns (WAL + synchronous=FULL fsyncs the WAL at commit). */
  commit(records: JournalRecord[]): void {
    this.batch(records);
  }

  unsettled(): JournalRecord[] {
    return this.db
      .prepare("SELECT json FROM records WHERE settled = 0")
      .all()
      .map((row) => JSON.parse((row as { json: string }).json));
  }

  get(key: string): JournalRecord | undefined {
    const row = this.db.prepare("SELECT json FROM records WHERE key = ?").get(key) as
      | { json: string }
      | undefined;
    return row ? JSON.parse(row.json) : undefined;
  }

  close(): void {
    this.db.close();
  }
}

/** Collects commits from many writers and runs them as one batch on the next turn of the loop. */
function groupCommitter(flush: (records: JournalRecord[]) => void): (r: JournalRecord) => Promise<void> {
  let queue: { r: JournalRecord; done: () => void }[] = [];
  let scheduled = false;
  return (r) =>
    new Promise<void>((done) => {
      queue.push({ r, done });
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        const batch = queue;
        queue = [];
        scheduled = false;
        flush(batch.map((b) => b.r));
        for (const b of batch) b.done();
      });
    });
}

/** 32 writers, each writing its sales' 3 records one after another, for `forMs`: sales/s. */
async function concurrentSales(commit: (r: JournalRecord) => Promise<void>, forMs: number): Promise<number> {
  let next = 0;
  let done = 0;
  const end = Date.now() + forMs;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (Date.now() < end) {
        const i = next++;
        await commit(sale(i, "PENDING"));
        await commit(attempt(i));
        await commit(sale(i, "PAID"));
        done++;
      }
    }),
  );
  return (done / ms(t0)) * 1000;
}

interface Row {
  name: string;
  unit: string;
  value: number;
  note: string;
}
const rows: Row[] = [];

async function throughput(): Promise<void> {
  const forMs = quick ? 1500 : 3000;
  // The journal as it is: write() appends and fsyncs each record before it returns.
  {
    const dir = mkdtempSync(join(tmpdir(), "pb-sqlite-j-"));
    const j = Journal.open({ dir, clock: systemClock, log: silent });
    const v = await concurrentSales(async (r) => j.write(r), forMs);
    j.close();
    rows.push({ name: "journal today (fsync per record)", unit: "sales/s", value: v, note: "32 writers" });
    rmSync(dir, { recursive: true, force: true });
  }
  // The journal's lines, one write + one fsync per batch: what a group commit can reach.
  {
    const dir = mkdtempSync(join(tmpdir(), "pb-sqlite-g-"));
    const fd = openSync(join(dir, "journal.log"), "a", 0o600);
    const commit = groupCommitter((records) => {
      writeSync(fd, Buffer.concat(records.map((r) => encodeLine(r))));
      fsyncSync(fd);
    });
    const v = await concurrentSales(commit, forMs);
    closeSync(fd);
    rows.push({
      name: "journal lines, write+fsync per batch",
      unit: "sales/s",
      value: v,
      note: "32 writers",
    });
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [label, batched] of [
    ["SQLite WAL FULL, transaction per batch", true],
    ["SQLite WAL FULL, transaction per record", false],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), "pb-sqlite-s-"));
    const store = new SqliteStore(join(dir, "sales.db"));
    const commit = batched
      ? groupCommitter((records) => store.commit(records))
      : async (r: JournalRecord) => store.commit([r]);
    const v = await concurrentSales(commit, forMs);
    store.close();
    rows.push({ name: label, unit: "sales/s", value: v, note: "32 writers" });
    rmSync(dir, { recursive: true, force: true });
  }
}

function sizes(): void {
  for (const n of quick ? [20_000] : [100_000, 500_000]) {
    const dir = mkdtempSync(join(tmpdir(), "pb-sqlite-o-"));
    const path = join(dir, "sales.db");
    {
      const store = new SqliteStore(path, "NORMAL"); // filling only: the figures below are for reading
      for (let i = 0; i < n; i += 5000) {
        const batch: JournalRecord[] = [];
        for (let k = i; k < Math.min(n, i + 5000); k++) batch.push(attempt(k), sale(k, "PAID"));
        store.commit(batch);
      }
      store.commit([sale(n, "PENDING")]);
      store.db.pragma("wal_checkpoint(TRUNCATE)");
      store.close();
    }
    // Opened in a process of its own: its RSS before and after are the store's, not the filling's.
    const out = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "open", path, String(n)], {
      encoding: "utf8",
    });
    const { openMs, lookupUs, rss } = JSON.parse(out.stdout) as {
      openMs: number;
      lookupUs: number;
      rss: number;
    };
    const bytes = statSync(path).size;
    rows.push({ name: `SQLite open + unsettled, ${n / 1000}k sales`, unit: "ms", value: openMs, note: "" });
    rows.push({
      name: `SQLite lookup of an old sale, ${n / 1000}k`,
      unit: "µs",
      value: lookupUs,
      note: "by key",
    });
    rows.push({
      name: `SQLite RSS added by open + 1000 lookups, ${n / 1000}k`,
      unit: "MiB",
      value: rss / MiB,
      note: "own process",
    });
    rows.push({
      name: `SQLite bytes per sale, ${n / 1000}k`,
      unit: "B",
      value: bytes / n,
      note: "sale + attempt",
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens the store at `path` of `n` sales, reads the unsettled ones and 1000 old sales; prints figures. */
function openChild(path: string, n: number): void {
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const store = new SqliteStore(path);
  const unsettled = store.unsettled();
  const openMs = ms(t0);
  if (unsettled.length !== 1) throw new Error("the prototype lost its unsettled sale");
  const l0 = process.hrtime.bigint();
  for (let k = 0; k < 1000; k++) store.get(recordKey(sale((k * 7919) % n, "PAID")));
  const lookupUs = ms(l0);
  const rss = process.memoryUsage().rss - rssBefore;
  store.close();
  process.stdout.write(JSON.stringify({ openMs, lookupUs, rss }));
}

/** The kill test's child: commit batches forever, print each batch's last sale after its commit. */
async function child(path: string): Promise<void> {
  const store = new SqliteStore(path);
  const commit = groupCommitter((records) => store.commit(records));
  let i = 0;
  for (;;) {
    const base = i;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const k = base + w;
        await commit(attempt(k));
        await commit(sale(k, "PAID"));
      }),
    );
    i += 8;
    process.stdout.write(`${i - 1}\n`);
  }
}

async function killTest(rounds: number): Promise<{ rounds: number; confirmed: number; missing: number }> {
  let confirmed = 0;
  let missing = 0;
  for (let round = 0; round < rounds; round++) {
    const dir = mkdtempSync(join(tmpdir(), "pb-sqlite-k-"));
    const path = join(dir, "sales.db");
    const proc: ChildProcess = spawn(process.execPath, [new URL(import.meta.url).pathname, "child", path], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let last = -1;
    let buf = "";
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) last = Number(l);
    });
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    proc.kill("SIGKILL");
    await new Promise((r) => proc.once("exit", r));
    const store = new SqliteStore(path);
    for (let k = 0; k <= last; k++) {
      const s = store.get(recordKey(sale(k, "PAID")));
      const a = store.get(recordKey(attempt(k)));
      if (s?.kind === "sale" && s.status === "PAID" && a?.kind === "attempt" && a.phase === "paid")
        confirmed++;
      else missing++;
    }
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rounds, confirmed, missing };
}

if (process.argv[2] === "child") {
  await child(process.argv[3]!);
} else if (process.argv[2] === "open") {
  openChild(process.argv[3]!, Number(process.argv[4]));
} else {
  const sqliteVersion = (
    new Database(":memory:").prepare("SELECT sqlite_version() AS v").get() as { v: string }
  ).v;
  await throughput();
  sizes();
  const kill = await killTest(quick ? 3 : 10);
  rows.push({
    name: "SQLite kill test: committed sales found",
    unit: "",
    value: kill.confirmed,
    note: `${kill.missing} missing, ${kill.rounds} SIGKILLs`,
  });
  const machine = `${cpus()[0]?.model ?? "unknown cpu"} ×${cpus().length}, node ${process.version}, SQLite ${sqliteVersion}`;
  console.log(`posbridge bench: SQLite prototype against the journal — ${machine}\n`);
  for (const r of rows)
    console.log(`${r.name.padEnd(48)} ${`${r.value.toFixed(1)} ${r.unit}`.padEnd(18)} ${r.note}`);
  console.log(
    `\n${JSON.stringify({ bench: "sqlite-journal", machine, date: new Date().toISOString(), rows, kill })}`,
  );
  if (kill.missing > 0) process.exitCode = 1;
}
