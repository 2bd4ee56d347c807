// Group commit, micro figure (docs/journal.md, "Group commit"): N records appended by 32
// concurrent "lanes", each waiting for its own record's commit before it appends the next (as a
// lane's runner does), against the same N records appended with one fsync each (Journal.write),
// in the same run, on the same disk. Rounds alternate; the median of each is reported.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { systemClock } from "../daemon/clock.js";
import { Journal } from "../daemon/journal/journal.js";
import type { SaleRecord } from "../protocols/sale/records.js";

export interface CommitRow {
  name: string;
  unit: string;
  value: number;
  baseline: string;
  baselineValue: number;
  ratio: number;
}

const LANES = 32;
const silent = pino({ level: "silent" });

function record(lane: number, i: number): SaleRecord {
  return {
    kind: "sale",
    laneId: `lane${lane}`,
    orderRef: `O${i}`,
    amountFen: 1234,
    seq: "01",
    openedAt: 1_700_000_000_000 + i,
    status: "PAID",
    answered: true,
    scheme: "WECHAT",
    channelTradeNo: "4200000000000000000000000001",
    attemptId: `A${lane}x${i}`,
    attempts: 1,
    text: "支付成功",
    endedAt: 1_700_000_000_100 + i,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: 1_700_000_000_100 + i,
  };
}

function open(): { journal: Journal; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-commit-"));
  return { journal: Journal.open({ dir, clock: systemClock, log: silent, compactMinBytes: 1 << 30 }), dir };
}

/** Records/s with group commit: 32 lanes, each committing its next record once its last is durable. */
async function grouped(n: number): Promise<{ perSecond: number; perFsync: number }> {
  const { journal, dir } = open();
  const fsyncsBefore = journal.stats().fsyncs;
  const perLane = Math.ceil(n / LANES);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (let i = 0; i < perLane; i++) await journal.commit([record(lane, i)]);
    }),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const fsyncs = journal.stats().fsyncs - fsyncsBefore;
  journal.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSecond: (perLane * LANES * 1000) / ms, perFsync: (perLane * LANES) / Math.max(1, fsyncs) };
}

/** Records/s with one fsync per record: the same records, the 32 lanes taking turns. */
function oneByOne(n: number): number {
  const { journal, dir } = open();
  const perLane = Math.ceil(n / LANES);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < perLane; i++) for (let lane = 0; lane < LANES; lane++) journal.write(record(lane, i));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  journal.close();
  rmSync(dir, { recursive: true, force: true });
  return (perLane * LANES * 1000) / ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function journalCommitRows(n = 2048, rounds = 3): Promise<CommitRow[]> {
  const group: number[] = [];
  const batch: number[] = [];
  const single: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const g = await grouped(n);
    group.push(g.perSecond);
    batch.push(g.perFsync);
    single.push(oneByOne(n));
  }
  const value = median(group);
  const baselineValue = median(single);
  return [
    {
      name: `journal group commit, ${LANES} lanes`,
      unit: "records/s",
      value,
      baseline: "one fsync per record (write())",
      baselineValue,
      ratio: value / baselineValue,
    },
    {
      name: `journal records per fsync, ${LANES} lanes`,
      unit: "records",
      value: median(batch),
      baseline: "one fsync per record (write())",
      baselineValue: 1,
      ratio: median(batch),
    },
  ];
}
