// Fault scenarios shared by the `npm test` slice (test/chaos/*.test.ts) and the long run
// (`npm run chaos`). Each returns the problems it found (empty = the promise held) and counts.
import { copyFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JOURNAL_FILE, readJournal } from "../../daemon/journal/journal.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { startDaemon } from "../support/daemon-process.js";
import { Rig, type RigLane, sleep } from "./rig.js";

export type SalePath = "paid" | "silent" | "unknown" | "waiting" | "cashierCancel" | "refund";

export interface CrashCase {
  /** A crash point of daemon/lanes/crash-points.ts, optionally "#n" for its n-th occurrence. */
  point: string;
  path: SalePath;
}

/** Every step of an attempt's (and a refund's) life, on the sale path that reaches it. */
export const CRASH_CASES: readonly CrashCase[] = [
  { point: "journal:sale:OPEN", path: "paid" },
  { point: "journal:attempt:sent", path: "paid" },
  { point: "publish:pay", path: "paid" },
  { point: "result:PAID", path: "paid" },
  { point: "journal:attempt:paid", path: "paid" },
  { point: "journal:sale:PAID", path: "paid" },
  { point: "answer:PAID", path: "paid" },
  { point: "publish:query", path: "silent" },
  { point: "journal:attempt:unknown", path: "silent" },
  { point: "result:UNKNOWN", path: "unknown" },
  { point: "publish:query#2", path: "unknown" },
  { point: "journal:attempt:reversing", path: "unknown" },
  { point: "publish:cancel", path: "unknown" },
  { point: "result:CANCELLED", path: "unknown" },
  { point: "journal:attempt:cancelled", path: "unknown" },
  { point: "result:WAITING_CUSTOMER", path: "waiting" },
  { point: "journal:attempt:waitCustomer", path: "waiting" },
  { point: "publish:cancel", path: "cashierCancel" },
  { point: "journal:refund:requested", path: "refund" },
  { point: "publish:refund", path: "refund" },
  { point: "result:REFUNDED", path: "refund" },
  { point: "journal:refund:refunded", path: "refund" },
];

const AMOUNT: Record<SalePath, number> = {
  paid: 1234,
  silent: 1299, // the cloud charges and never answers (sim rule: amount ends in 99)
  unknown: 4598, // the cloud answers UNKNOWN (SYSTEMERROR) to every query
  waiting: 2577, // WAITING_CUSTOMER, then PAID after the customer confirms
  cashierCancel: 3077,
  refund: 1000,
};

let codeCounter = Math.floor(Math.random() * 1e6);
/** A fresh WeChat-shaped code (18 digits, prefix 13) that no sim rule treats as expired or poor. */
export function freshCode(): string {
  codeCounter++;
  const body = String(codeCounter).padStart(8, "0");
  return `13${String(Date.now()).slice(-8)}${body}`.slice(0, 17).concat("1");
}

/** SA → scan (→ CA / RF) on a lane; resolves when the steps were sent, not when the sale ends. */
export async function drive(rig: Rig, lane: RigLane, path: SalePath, orderRef: string): Promise<void> {
  const seq = lane.nextSeq();
  const mark = lane.register.answers.length;
  lane.register.request({ type: "sale", seq, orderRef, amountFen: AMOUNT[path] });
  await lane.register.waitFor(
    (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
    10_000,
    mark,
  );
  await rig.scan(lane, freshCode());
  if (path === "cashierCancel") {
    await lane.register.waitFor(
      (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_CUSTOMER",
      10_000,
      mark,
    );
    lane.register.request({ type: "cancel", seq: lane.nextSeq(), orderRef });
  }
  if (path === "refund") {
    const rs = await lane.register.result(seq, 10_000, mark);
    if (rs.status !== "PAID") throw new Error(`refund path: sale ended ${rs.status}`);
    lane.register.request({
      type: "refund",
      seq: lane.nextSeq(),
      orderRef,
      refundRef: `R${orderRef}`,
      amountFen: 500,
    });
  }
}

export interface CrashOutcome {
  problems: string[];
  crashed: boolean;
  finalStatus: string;
}

/** Runs one sale, SIGKILLs the daemon at `point`, restarts it and checks the promise. */
export async function runCrashCase(c: CrashCase, orderRef: string): Promise<CrashOutcome> {
  const rig = new Rig();
  const problems: string[] = [];
  try {
    await rig.setup();
    const daemon = await rig.start({ PB_TEST_CRASH_AT: c.point });
    await rig.waitOnline();
    const lane = rig.lane();
    const driving = drive(rig, lane, c.path, orderRef).catch(() => {}); // the crash may cut it short
    const crashed = await Promise.race([daemon.exit.then(() => true), sleep(25_000).then(() => false)]);
    await driving;
    if (!crashed) problems.push(`${c.point}: the daemon never reached the crash point`);
    else if (daemon.proc.signalCode !== "SIGKILL")
      problems.push(`${c.point}: exited ${daemon.proc.exitCode}, not killed`);
    await rig.start();
    await rig.waitOnline();
    await rig.settled(40_000);
    problems.push(...rig.verdict());
    // The register's QY tells the journal's truth.
    const sale = rig.records().find((r): r is SaleRecord => r.kind === "sale" && r.orderRef === orderRef);
    let finalStatus = "NONE";
    if (sale) {
      const l = rig.lane();
      const qy = l.nextSeq();
      l.register.request({ type: "query", seq: qy, orderRef });
      const rs = await l.register.result(qy, 10_000);
      finalStatus = rs.status;
      if (rs.status !== sale.status) problems.push(`QY answered ${rs.status}, journal says ${sale.status}`);
    } else {
      problems.push("the sale is missing from the journal");
    }
    return { problems, crashed, finalStatus };
  } catch (err) {
    problems.push(`${c.point}: ${(err as Error).message.split("\n")[0]}`);
    return { problems, crashed: false, finalStatus: "ERROR" };
  } finally {
    await rig.teardown();
  }
}

export interface StreamOutcome {
  problems: string[];
  sales: number;
  paid: number;
  cancelled: number;
  duplicatesSeen: number;
  drops: number;
}

/**
 * A stream of sales on several lanes while the broker is restarted (or a proxy duplicates every
 * PUBLISH, or drops the connection mid-flight). Each sale must end once, in one true state.
 */
export async function runStream(opts: {
  sales: number;
  lanes: number;
  fault: "brokerRestart" | "duplicatePublish" | "dropAfterPublish";
}): Promise<StreamOutcome> {
  const rig = new Rig({
    lanes: opts.lanes,
    ...(opts.fault === "duplicatePublish" ? { proxy: "duplicatePublish" as const } : {}),
    ...(opts.fault === "dropAfterPublish" ? { proxy: "dropAfterPublish" as const, dropEvery: 3 } : {}),
  });
  const problems: string[] = [];
  try {
    await rig.setup();
    await rig.start();
    await rig.waitOnline();
    let n = 0;
    const perLane = Math.ceil(opts.sales / opts.lanes);
    const restartAt = Math.floor(perLane / 2);
    const answered = new Map<string, string[]>();
    await Promise.all(
      rig.lanes.map(async (lane, li) => {
        for (let i = 0; i < perLane; i++) {
          if (opts.fault === "brokerRestart" && li === 0 && i === restartAt) {
            await rig.broker.stop();
            await sleep(700);
            await rig.broker.start();
          }
          const orderRef = `S${li}x${i}x${n++}`;
          const seq = lane.nextSeq();
          const mark = lane.register.answers.length;
          lane.register.request({ type: "sale", seq, orderRef, amountFen: 100 + i });
          const first = await lane.register.waitFor(
            (a) =>
              (a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN") ||
              (a.type === "result" && a.seq === seq),
            10_000,
            mark,
          );
          if (first.type === "result") {
            // Refused (cloud offline during the restart): that is an honest answer; retry later.
            answered.set(orderRef, [first.status]);
            await sleep(300);
            continue;
          }
          await rig.scan(lane, freshCode());
          const rs = await lane.register.result(seq, 30_000, mark);
          answered.set(orderRef, [rs.status]);
          // Count every RS for this seq+order: exactly one.
          await sleep(50);
          const all = lane.register.answers
            .slice(mark)
            .filter(
              (r) => r.answer.type === "result" && r.answer.orderRef === orderRef && r.answer.seq === seq,
            );
          if (all.length !== 1) problems.push(`order ${orderRef} answered ${all.length} times`);
        }
      }),
    );
    await rig.settled(40_000);
    problems.push(...rig.verdict());
    const sales = rig.records().filter((r): r is SaleRecord => r.kind === "sale");
    for (const s of sales) {
      const said = answered.get(s.orderRef)?.[0];
      if (said && said !== "REJECTED" && said !== s.status && said !== "UNKNOWN")
        problems.push(`order ${s.orderRef}: register heard ${said}, journal says ${s.status}`);
    }
    return {
      problems,
      sales: sales.length,
      paid: sales.filter((s) => s.status === "PAID").length,
      cancelled: sales.filter((s) => s.status === "CANCELLED").length,
      duplicatesSeen: rig.sim.stats().duplicates,
      drops: rig.proxy?.stats.drops ?? 0,
    };
  } finally {
    await rig.teardown();
  }
}

export interface OutageOutcome {
  problems: string[];
  queuedScans: number;
  maxMqttQueue: number;
  rssGrowthBytes: number;
  statsSamples: number;
}

/**
 * The broker goes away for longer than a code's life while the cashier keeps scanning: nothing
 * stale is ever published, each queued attempt ends CANCELLED at once when its window closes, and
 * memory stays flat (RSS and mqtt.js's queue from the daemon's stats lines).
 */
/** The fields of the daemon's `stats` log line this scenario reads. */
type StatsLine = { rssBytes: number; mqttQueue: number; online: boolean; mqttConnected: boolean };

export async function runOutage(opts: { scans: number }): Promise<OutageOutcome> {
  const rig = new Rig({ statsIntervalMs: 250 });
  const problems: string[] = [];
  try {
    await rig.setup();
    const daemon = await rig.start();
    await rig.waitOnline();
    const lane = rig.lane();
    let queued = 0;
    for (let i = 0; i < opts.scans; i++) {
      const orderRef = `OUT${i}`;
      const seq = lane.nextSeq();
      const mark = lane.register.answers.length;
      if (i === 0) {
        lane.register.request({ type: "sale", seq, orderRef, amountFen: 500 });
        await lane.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 10_000, mark);
        await rig.broker.stop(); // the outage starts with a sale open
        await daemon.waitForLog((e) => e.msg === "broker connection lost", 10_000);
        await rig.scan(lane, freshCode());
        queued++;
        const rs = await lane.register.result(seq, 15_000, mark);
        if (rs.status !== "CANCELLED") problems.push(`queued attempt ended ${rs.status}, expected CANCELLED`);
        continue;
      }
      // While the broker is down a new SA is refused at once, with a clear text: nothing queues.
      lane.register.request({ type: "sale", seq, orderRef, amountFen: 500 });
      const rs = await lane.register.result(seq, 10_000, mark);
      if (rs.status !== "REJECTED") problems.push(`SA during the outage answered ${rs.status}`);
      await rig.scan(lane, freshCode()); // a scan with no open sale: dropped
      await sleep(100);
    }
    await sleep(11_000); // longer than codeLifetimeMs (10 s): every code is dead
    await rig.broker.start();
    await rig.waitOnline();
    await sleep(2_000);
    await rig.settled(20_000);
    problems.push(...rig.verdict());
    const stats = daemon.lines
      .map((l) => {
        try {
          return JSON.parse(l) as {
            msg?: string;
            stats?: StatsLine;
          };
        } catch {
          return {};
        }
      })
      .filter((e) => e.msg === "stats" && e.stats)
      .map((e) => e.stats as StatsLine);
    // Broker unreachable: not even connected. Right after the restart the link is connected, not
    // yet online, and mqtt.js rightly holds its SUBSCRIBE until the SUBACK: not an offline queue.
    const offline = stats.filter((s) => !s.online && !s.mqttConnected);
    const maxQueue = Math.max(0, ...offline.map((s) => s.mqttQueue));
    if (offline.length < 10) problems.push(`only ${offline.length} stats samples during the outage`);
    if (maxQueue > 0) problems.push(`mqtt.js held ${maxQueue} packets while offline`);
    const rss = offline.map((s) => s.rssBytes);
    const growth = rss.length ? Math.max(...rss) - (rss[0] ?? 0) : 0;
    if (growth > 30 * 1024 * 1024) problems.push(`RSS grew ${growth} bytes during the outage`);
    if (rig.sim.stats().arrivedLate > 0)
      problems.push(`${rig.sim.stats().arrivedLate} pay requests reached the cloud after their deadline`);
    return {
      problems,
      queuedScans: queued,
      maxMqttQueue: maxQueue,
      rssGrowthBytes: growth,
      statsSamples: offline.length,
    };
  } finally {
    await rig.teardown();
  }
}

export interface TruncationOutcome {
  problems: string[];
  offsets: number;
  reportedLoss: number;
  paidBefore: number;
}

/**
 * Power loss, approximated: a journal with PAID, CANCELLED and unresolved sales is cut at random
 * byte offsets; each time the daemon starts (broker down, so nothing is resolved from outside),
 * reports what it lost, and never shows a PAID that was not PAID before the cut.
 */
export async function runTruncation(opts: { offsets: number; seed: number }): Promise<TruncationOutcome> {
  const rig = new Rig();
  const problems: string[] = [];
  let reportedLoss = 0;
  try {
    await rig.setup();
    await rig.start();
    await rig.waitOnline();
    const lane = rig.lane();
    for (const [i, path] of (["paid", "paid", "unknown", "paid", "silent"] as SalePath[]).entries()) {
      const orderRef = `T${i}`;
      const mark = lane.register.answers.length;
      await drive(rig, lane, path, orderRef);
      // The last sale is left in flight: the cut journals hold an open attempt too.
      if (path !== "silent")
        await lane.register.waitFor((a) => a.type === "result" && a.orderRef === orderRef, 20_000, mark);
      else await sleep(300);
    }
    await rig.daemon?.stop("SIGKILL");
    await rig.broker.stop();
    const source = join(rig.dir, JOURNAL_FILE);
    const original = readJournal(source).records;
    const paidBefore = new Set(
      original
        .filter((r): r is SaleRecord => r.kind === "sale" && r.status === "PAID")
        .map((s) => s.orderRef),
    );
    const size = statSync(source).size;
    let seed = opts.seed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let k = 0; k < opts.offsets; k++) {
      const offset = Math.floor(random() * size);
      const dir = mkdtempSync(join(tmpdir(), "pb-cut-"));
      copyFileSync(source, join(dir, JOURNAL_FILE));
      truncateSync(join(dir, JOURNAL_FILE), offset);
      const config = join(dir, "posbridge.yaml");
      copyFileSync(rig.configPath, config);
      writeFileSync(config, readFileSync(config, "utf8").replace(`stateDir: ${rig.dir}`, `stateDir: ${dir}`));
      const d = startDaemon(["run", "--config", config]);
      try {
        await d.waitForLog((e) => e.msg === "posbridge started", 15_000);
        const lost = d.lines.some((l) => /discarded|torn/i.test(l));
        if (lost) reportedLoss++;
        else if (offset < size && !endsAtLine(source, offset))
          problems.push(`cut at ${offset}/${size}: the daemon did not report a torn journal`);
      } catch (err) {
        problems.push(`cut at ${offset}: ${(err as Error).message.split("\n")[0]}`);
      } finally {
        await d.stop("SIGKILL");
      }
      const after = readJournal(join(dir, JOURNAL_FILE)).records;
      for (const s of after)
        if (s.kind === "sale" && s.status === "PAID" && !paidBefore.has(s.orderRef))
          problems.push(`cut at ${offset}: order ${s.orderRef} became PAID`);
    }
    return { problems, offsets: opts.offsets, reportedLoss, paidBefore: paidBefore.size };
  } finally {
    await rig.teardown();
  }
}

function endsAtLine(path: string, offset: number): boolean {
  if (offset === 0) return true;
  return readFileSync(path)[offset - 1] === 0x0a;
}
