// A journal writing sales with small limits, so that it moves settled sales to index rows,
// compacts and writes snapshots all the time, is SIGKILLed at random moments: every sale it
// reported written is found again, whole, and opening from its snapshot knows exactly what
// reading the whole file knows (docs/journal.md, "Memory" and "Snapshot").
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../daemon/clock.js";
import { JOURNAL_FILE, Journal, readJournal } from "../../daemon/journal/journal.js";
import { type JournalRecord, recordKey } from "../../protocols/sale/records.js";
import { attemptRecord, RECORD_NOON, saleRecord } from "../support/journal-records.js";

const root = join(import.meta.dirname, "../..");
const journalJs = join(root, "build/daemon/journal/journal.js");

const OPTIONS = { recentSales: 4, snapshotMinBytes: 4096, compactMinBytes: 16_384 };

/** The child: sale i is its attempt, then its sale PAID; prints i once both are written. */
const CHILD = `
const { Journal } = await import(${JSON.stringify(journalJs)});
const pino = (await import("pino")).default;
const [dir, recordsJson] = process.argv.slice(1);
const { sale, attempt } = JSON.parse(recordsJson);
const clock = { wallNow: () => ${RECORD_NOON}, monoNow: () => 0, setTimeout, clearTimeout };
const j = Journal.open({ dir, clock, log: pino({ level: "silent" }), ...${JSON.stringify(OPTIONS)} });
for (let i = 0; ; i++) {
  const ref = "K" + i;
  j.write({ ...attempt, attemptId: "A" + ref, orderRef: ref, amountFen: 100 + i });
  j.write({ ...sale, orderRef: ref, attemptId: "A" + ref, amountFen: 100 + i });
  if (i % 3 === 0) j.maintain();
  process.stdout.write(i + "\\n");
}
`;

const byKey = (records: JournalRecord[]) =>
  Object.fromEntries(
    records.map((r) => [recordKey(r), r]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );

/** Runs the child until it has reported sale `target` written, then SIGKILLs it (mid-write, or between). */
async function runAndKill(dir: string, target: number): Promise<number> {
  const records = JSON.stringify({ sale: saleRecord("X"), attempt: attemptRecord("X") });
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, dir, records], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let last = -1;
  let buf = "";
  let reached: () => void = () => {};
  const atTarget = new Promise<void>((r) => {
    reached = r;
  });
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) last = Number(l);
    if (last >= target) reached();
  });
  const exited = new Promise((r) => child.once("exit", r));
  await Promise.race([atTarget, exited]);
  child.kill("SIGKILL");
  await exited;
  return last;
}

describe("journal with index rows and snapshots, SIGKILLed at random moments", () => {
  it("finds every sale it reported written, from the snapshot as from the whole file", async () => {
    if (!existsSync(journalJs)) throw new Error("build/ is missing: run `npm run build`");
    const dir = mkdtempSync(join(tmpdir(), "posbridge-snapkill-"));
    let usedSnapshot = 0;
    let written = -1;
    for (let round = 0; round < 6; round++) {
      const last = await runAndKill(dir, 20 + Math.floor(Math.random() * 120));
      // Each run starts again at K0: a sale rewritten with the same record changes nothing.
      written = Math.max(written, last);
      const j = Journal.open({
        dir,
        clock: new ManualClock(RECORD_NOON),
        log: pino({ level: "silent" }),
        ...OPTIONS,
      });
      if (j.loadReport.snapshot !== undefined) usedSnapshot++;
      for (let i = 0; i <= written; i++) {
        const sale = j.sale("l1", `K${i}`);
        expect(sale?.status, `K${i} after round ${round}`).toBe("PAID");
        expect(j.attemptsOf("l1", `K${i}`).map((a) => a.phase)).toEqual(["paid"]);
      }
      expect(j.memory().badReads).toBe(0);
      const fromOpen = byKey(j.records());
      j.close();
      expect(fromOpen).toEqual(byKey(readJournal(join(dir, JOURNAL_FILE)).records));
    }
    expect(written).toBeGreaterThanOrEqual(20);
    expect(usedSnapshot).toBeGreaterThan(0);
  }, 60_000);
});
