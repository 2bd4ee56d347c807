// The end-to-end section of `npm run bench` (docs/performance.md, "Method"): the built daemon as a
// child process on socat ptys, its own Mosquitto (set_tcp_nodelay), an instant cloud in another
// process, and in every round the baselines measured just before the figures they compare with:
// a bare mqtt.js request/response through the same broker and responder, and a bare fsync on the
// disk the journal is on. Rounds interleave: 1-lane start/RSS/latency, then 32-lane throughput,
// then a restart on a journal of N sales; every figure is reported as min / median / max of the
// rounds' values, with the ratio to its baseline taken within each round.
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { BenchOptions, BenchSection } from "../section.js";
import { bareLoad, bareRequester } from "./bare-mqtt.js";
import {
  closeLanes,
  createLanes,
  type LaneEnds,
  type RunningBridge,
  type SaleTimes,
  sell,
  startBridge,
} from "./bridge.js";
import { fsyncSamples } from "./fsync-floor.js";
import type { CloudOrder, CloudReport } from "./instant-cloud.js";
import { writeJournalOfSales } from "./journal-fixture.js";
import {
  cpuMsOf,
  createPtyPair,
  killAndWait,
  noDelay,
  ptyHopSamples,
  quantile,
  rssOf,
  slope,
  sleep,
  startBroker,
} from "./parts.js";
import type { RelayLane } from "./transport-relay.js";

/** An 18-digit code + CR at 9600 baud 8N1: 19 bytes × 10 bits. */
export const WIRE_CODE_MS = (19 * 10 * 1000) / 9600;
const MiB = 1024 * 1024;
/** How long the daemon idles before the settled idle RSS line (V8's memory reducer runs within it). */
const SETTLED_IDLE_MS = 15_000;

interface Plan {
  rounds: number;
  latencySales: number;
  /**
   * Sales a fresh 1-lane daemon makes before its latency is measured: its first sale runs code V8
   * has not compiled yet and is the slowest of a round by far (docs/performance.md, "Where the
   * single-lane latency goes"); it is reported in a row of its own, the rest are steady state.
   */
  latencyWarmSales: number;
  bareSamples: number;
  fsyncSamples: number;
  loadMs: number;
  bareLoadMs: number;
  bigLanes: number;
  growthSales: number;
  journalSales: number;
  /**
   * Sales the 32-lane bridge makes before the first round: V8 is still compiling the hot paths
   * for the first few thousand (docs/performance.md, "Where the CPU goes"); a store's daemon runs
   * for days, so the load figures are taken after. Its CPU per sale is reported apart.
   */
  warmSales: number;
}

const FULL: Plan = {
  rounds: 3,
  latencySales: 150,
  latencyWarmSales: 20,
  bareSamples: 300,
  fsyncSamples: 200,
  loadMs: 5_000,
  bareLoadMs: 2_000,
  bigLanes: 32,
  growthSales: 6_000,
  journalSales: 10_000,
  warmSales: 4_000,
};
const QUICK: Plan = {
  rounds: 3,
  latencySales: 40,
  latencyWarmSales: 10,
  bareSamples: 100,
  fsyncSamples: 60,
  loadMs: 1_500,
  bareLoadMs: 700,
  bigLanes: 32,
  growthSales: 1_000,
  journalSales: 2_000,
  warmSales: 3_000,
};

/** One figure: its value in each round, and its baseline's in the same rounds. */
export interface Figure {
  name: string;
  unit: string;
  rounds: number[];
  baseline: string;
  baselineRounds: number[];
  /** The target, as text, and whether the median round meets it. */
  target: string;
  met: boolean | null;
}

function spread(values: readonly number[]): { min: number; median: number; max: number } {
  return { min: Math.min(...values), median: quantile(values, 0.5), max: Math.max(...values) };
}

function dirBytes(dir: string, skip: (name: string) => boolean = () => false): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

function diskOf(dir: string): string {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8").trim().split("\n");
    let best = "";
    let fs = "";
    for (const line of mounts) {
      const [dev, at, type] = line.split(" ");
      if (at && dir.startsWith(at) && at.length >= best.length) {
        best = at;
        fs = `${type} on ${dev} (${at})`;
      }
    }
    return fs || "unknown";
  } catch {
    return "unknown";
  }
}

async function runE2e(options: BenchOptions): Promise<{ lines: string[]; json: unknown }> {
  // PB_BENCH_GROWTH_SALES: a longer RSS growth run (e.g. 100000: past the one-minute window of the
  // recent codes and V8's heap sizing, where a leak and a filling window look alike).
  const growthEnv = Number(process.env.PB_BENCH_GROWTH_SALES);
  const base = options.quick ? QUICK : FULL;
  const plan = Number.isInteger(growthEnv) && growthEnv > 0 ? { ...base, growthSales: growthEnv } : base;
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-e2e-"));
  const broker = await startBroker();
  const prefix = "bench/v1";
  const store = "BENCH";
  const cloud: ChildProcess = fork(
    new URL("./instant-cloud.js", import.meta.url).pathname,
    [broker.url, prefix],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const reports: CloudReport[] = [];
  await new Promise<void>((resolve, reject) => {
    cloud.on("message", (r: CloudReport) => (r.type === "ready" ? resolve() : reports.push(r)));
    cloud.once("exit", (code) => reject(new Error(`instant cloud exited (${code})`)));
  });
  const order = (o: CloudOrder) => cloud.send(o);
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clean: true });
  noDelay(client);
  const bare = await bareRequester(client);
  const oneLane = await createLanes(dir, 1, 1);
  const hopPty = await createPtyPair(dir, "hop");
  const big = await createLanes(dir, plan.bigLanes, 101);
  // The transport floor's lanes: as many pty pairs again, made the same way, played by the same
  // bench code, answered by bench/e2e/transport-relay.ts instead of the daemon.
  const floor = await createLanes(dir, plan.bigLanes, 201);
  const relay = forkRelay(dir, "relay", floor, [broker.url, prefix]);
  // The durable floor of the 1-lane figures: one more lane, answered by the relay in its durable
  // mode (an fsynced append before the pay request and before the RS, on the journal's disk).
  const durableLanes = await createLanes(dir, 1, 301);
  const durableDir = join(dir, "durable-floor");
  mkdirSync(durableDir);
  const durableRelay = forkRelay(dir, "durable", durableLanes, [broker.url, prefix], durableDir);
  await Promise.all(
    [relay, durableRelay].map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.once("message", () => resolve());
          child.once("exit", (code) => reject(new Error(`transport relay exited (${code})`)));
        }),
    ),
  );
  const lines: string[] = [];
  let bigBridge: RunningBridge | undefined;
  let small: RunningBridge | undefined;
  let orderNo = 0;
  const seqs = new Map<string, number>();
  const nextSeq = (lane: LaneEnds) => {
    const s = ((seqs.get(lane.id) ?? 0) + 1) % 100;
    seqs.set(lane.id, s);
    return String(s).padStart(2, "0");
  };
  const sale = (lane: LaneEnds) =>
    sell(lane, `B${String(++orderNo).padStart(9, "0")}`, 100 + (orderNo % 9000), nextSeq(lane));

  const r = {
    ready: [] as number[],
    nodeStart: [] as number[],
    rssIdle: [] as number[],
    rssIdleDefault: [] as number[],
    rssAfter: [] as number[],
    rssAfterDefault: [] as number[],
    readyCpu: [] as number[],
    nodeCpu: [] as number[],
    scanToCloud50: [] as number[],
    scanToCloud99: [] as number[],
    resToRs50: [] as number[],
    resToRs99: [] as number[],
    firstToCloud: [] as number[],
    firstToRs: [] as number[],
    floorToCloud50: [] as number[],
    floorToCloud99: [] as number[],
    floorToRs50: [] as number[],
    floorToRs99: [] as number[],
    ptyHop50: [] as number[],
    ptyHop99: [] as number[],
    bareReq50: [] as number[],
    bareReq99: [] as number[],
    bareRes50: [] as number[],
    bareRes99: [] as number[],
    bareRtt50: [] as number[],
    bareRtt99: [] as number[],
    fsync50: [] as number[],
    fsync99: [] as number[],
    salesPerS: [] as number[],
    barePerS: [] as number[],
    loadLat50: [] as number[],
    loadLat99: [] as number[],
    loadBare50: [] as number[],
    loadBare99: [] as number[],
    floorPerS: [] as number[],
    floorLat50: [] as number[],
    floorLat99: [] as number[],
    relayCpuPerSale: [] as number[],
    cpuPerSale: [] as number[],
    benchCpuPerSale: [] as number[],
    cloudCpuPerSale: [] as number[],
    restart: [] as number[],
    restartRss: [] as number[],
  };
  let bigSales = 0;
  const bigState = join(dir, "state-big");
  try {
    const fixture = join(dir, "fixture");
    const t = performance.now();
    await writeJournalOfSales(fixture, plan.journalSales, "lane1");
    const fixtureMs = performance.now() - t;
    const fixtureBytes = dirBytes(fixture);
    bigBridge = await startBridge(
      {
        dir,
        brokerUrl: broker.url,
        prefix,
        store,
        bridge: "PC32",
        stateDir: bigState,
        lanes: big,
        gcProbe: join(dir, "gc-probe.jsonl"),
      },
      client,
    );
    // Warm-up: broker sessions, ptys, then V8's JIT (Plan.warmSales), its CPU per sale kept apart.
    await Promise.all(big.map(async (lane) => void (await sale(lane))));
    bigSales += big.length;
    const warmCpu0 = cpuMsOf(bigBridge.pid);
    let warmed = 0;
    await Promise.all(
      big.map(async (lane) => {
        while (warmed < plan.warmSales) {
          warmed++;
          await sale(lane);
        }
      }),
    );
    const warmCpuPerSale = (cpuMsOf(bigBridge.pid) - warmCpu0) / warmed;
    // The heap the daemon keeps, after a full GC (bench/e2e/gc-probe.ts): here, and again after the
    // growth run, over every sale made in between.
    const gcAfterWarm = await bigBridge.fullGc();
    const rssAfterWarmTrim = await mallocTrimmedRss(bigBridge.pid);
    const gcAfterWarmSales = big.length + warmed;
    // The relay warmed up as well (its JIT, the floor lanes' ptys and broker session).
    let floorWarmed = 0;
    await Promise.all(
      floor.map(async (lane) => {
        while (floorWarmed < plan.warmSales / 3) {
          floorWarmed++;
          await sale(lane);
        }
      }),
    );
    bigSales += warmed;
    // The durable floor's relay as warm as the 1-lane daemon will be when it is measured.
    for (let i = 0; i < plan.latencyWarmSales; i++) await sale(durableLanes[0] as LaneEnds);
    for (let round = 0; round < plan.rounds; round++) {
      // Start → READY on an empty journal, and a bare `node` start as the floor of any start.
      const n0 = performance.now();
      await new Promise<void>((resolve) =>
        spawn(process.execPath, ["-e", "0"], { stdio: "ignore" }).once("exit", () => resolve()),
      );
      r.nodeStart.push(performance.now() - n0);
      small = await startBridge(
        {
          dir,
          brokerUrl: broker.url,
          prefix,
          store,
          bridge: `PC1r${round}`,
          stateDir: join(dir, `state-1-${round}`),
          lanes: oneLane,
        },
        client,
      );
      r.ready.push(small.readyMs);
      r.readyCpu.push(small.readyCpuMs);
      const used = JSON.parse(
        execFileSync(process.execPath, ["-p", "JSON.stringify(process.cpuUsage())"], { encoding: "utf8" }),
      );
      r.nodeCpu.push((used.user + used.system) / 1000);
      await sleep(1000);
      r.rssIdle.push(rssOf(small.pid));
      // Baselines of the 1-lane figures: bare hops and round trips, and fsync.
      order({ type: "record", on: true });
      reports.length = 0;
      const bareTimes: { sentAt: number; backAt: number; rttMs: number }[] = [];
      for (let i = 0; i < plan.bareSamples; i++) bareTimes.push(await bare.ask(0));
      await sleep(50);
      const bareArrivals = reports.filter((x) => x.type === "bare").map((x) => x.at);
      const reqHops = bareTimes
        .map((b, i) => (bareArrivals[i] ?? Number.NaN) - b.sentAt)
        .filter(Number.isFinite);
      const resHops = bareTimes
        .map((b, i) => b.backAt - (bareArrivals[i] ?? Number.NaN))
        .filter(Number.isFinite);
      r.bareReq50.push(quantile(reqHops, 0.5));
      r.bareReq99.push(quantile(reqHops, 0.99));
      const hops = await ptyHopSamples(hopPty, plan.bareSamples);
      r.ptyHop50.push(quantile(hops, 0.5));
      r.ptyHop99.push(quantile(hops, 0.99));
      r.bareRes50.push(quantile(resHops, 0.5));
      r.bareRes99.push(quantile(resHops, 0.99));
      r.bareRtt50.push(
        quantile(
          bareTimes.map((b) => b.rttMs),
          0.5,
        ),
      );
      r.bareRtt99.push(
        quantile(
          bareTimes.map((b) => b.rttMs),
          0.99,
        ),
      );
      const fs = fsyncSamples(bigState, plan.fsyncSamples);
      r.fsync50.push(quantile(fs, 0.5));
      r.fsync99.push(quantile(fs, 0.99));
      /** `count` sales one after another on `lane`, with the cloud's reports of them. */
      const play = async (lane: LaneEnds, count: number) => {
        reports.length = 0;
        const times: SaleTimes[] = [];
        for (let i = 0; i < count; i++) times.push(await sale(lane));
        await sleep(50);
        return { times, reports: [...reports] };
      };
      // The 1-lane bridge, one sale after another: its first sales (cold code), then the measured ones.
      const lane = oneLane[0] as LaneEnds;
      const warm = await play(lane, plan.latencyWarmSales);
      const first = oneWayHops(warm.times.slice(0, 1), warm.reports);
      r.firstToCloud.push(first.toCloud[0] ?? Number.NaN);
      r.firstToRs.push(first.toRs[0] ?? Number.NaN);
      const steady = await play(lane, plan.latencySales);
      const { toCloud, toRs } = oneWayHops(steady.times, steady.reports);
      r.scanToCloud50.push(quantile(toCloud, 0.5));
      r.scanToCloud99.push(quantile(toCloud, 0.99));
      r.resToRs50.push(quantile(toRs, 0.5));
      r.resToRs99.push(quantile(toRs, 0.99));
      // The same sales, one after another, through the durable floor (the relay with fsync).
      const floorPlayed = await play(durableLanes[0] as LaneEnds, plan.latencySales);
      order({ type: "record", on: false });
      const floorHops = oneWayHops(floorPlayed.times, floorPlayed.reports);
      r.floorToCloud50.push(quantile(floorHops.toCloud, 0.5));
      r.floorToCloud99.push(quantile(floorHops.toCloud, 0.99));
      r.floorToRs50.push(quantile(floorHops.toRs, 0.5));
      r.floorToRs99.push(quantile(floorHops.toRs, 0.99));
      await sleep(1000);
      r.rssAfter.push(rssOf(small.pid));
      await small.stop();
      small = undefined;
      // The same bridge with node's default V8 flags instead of the unit's: idle, then after as
      // many sales.
      small = await startBridge(
        {
          dir,
          brokerUrl: broker.url,
          prefix,
          store,
          bridge: `PC1d${round}`,
          stateDir: join(dir, `state-1d-${round}`),
          lanes: oneLane,
          nodeOptions: "",
        },
        client,
      );
      await sleep(1000);
      r.rssIdleDefault.push(rssOf(small.pid));
      for (let i = 0; i < plan.latencySales; i++) await sale(lane);
      await sleep(1000);
      r.rssAfterDefault.push(rssOf(small.pid));
      await small.stop();
      small = undefined;

      // 32 lanes all busy: bare round trips with as many in flight, then the bridge.
      const bl = await bareLoad(bare, plan.bigLanes, plan.bareLoadMs);
      r.barePerS.push(bl.perSecond);
      r.loadBare50.push(quantile(bl.rtts, 0.5));
      r.loadBare99.push(quantile(bl.rtts, 0.99));
      // The transport floor: the same sales on as many lanes' ptys, answered by the relay.
      const relayCpu0 = cpuMsOf(relay.pid as number);
      const floorTimes: SaleTimes[] = [];
      const floorStart = performance.now();
      const floorEnd = floorStart + plan.loadMs;
      await Promise.all(
        floor.map(async (l) => {
          while (performance.now() < floorEnd) floorTimes.push(await sale(l));
        }),
      );
      r.floorPerS.push((floorTimes.length * 1000) / (performance.now() - floorStart));
      r.relayCpuPerSale.push((cpuMsOf(relay.pid as number) - relayCpu0) / floorTimes.length);
      const floorLat = floorTimes.map((s) => s.rsAt - s.scanAt);
      r.floorLat50.push(quantile(floorLat, 0.5));
      r.floorLat99.push(quantile(floorLat, 0.99));
      const cpu0 = cpuMsOf(bigBridge.pid);
      const benchCpu0 = process.cpuUsage();
      const cloudCpu0 = cpuMsOf(cloud.pid as number);
      const loadTimes: SaleTimes[] = [];
      const start = performance.now();
      const end = start + plan.loadMs;
      await Promise.all(
        big.map(async (l) => {
          while (performance.now() < end) loadTimes.push(await sale(l));
        }),
      );
      const elapsed = performance.now() - start;
      r.cpuPerSale.push((cpuMsOf(bigBridge.pid) - cpu0) / loadTimes.length);
      // The registers, scanners and cloud share the machine's cores with the daemon.
      const benchCpu = process.cpuUsage(benchCpu0);
      r.benchCpuPerSale.push((benchCpu.user + benchCpu.system) / 1000 / loadTimes.length);
      r.cloudCpuPerSale.push((cpuMsOf(cloud.pid as number) - cloudCpu0) / loadTimes.length);
      bigSales += loadTimes.length;
      r.salesPerS.push((loadTimes.length * 1000) / elapsed);
      const lat = loadTimes.map((s) => s.rsAt - s.scanAt);
      r.loadLat50.push(quantile(lat, 0.5));
      r.loadLat99.push(quantile(lat, 0.99));

      // Restart on a journal of N sales (a fresh copy each round: a start may compact it).
      const restartState = join(dir, `state-restart-${round}`);
      cpSync(fixture, restartState, { recursive: true });
      small = await startBridge(
        {
          dir,
          brokerUrl: broker.url,
          prefix,
          store,
          bridge: `PC1j${round}`,
          stateDir: restartState,
          lanes: oneLane,
        },
        client,
        60_000,
      );
      r.restart.push(small.readyMs);
      r.restartRss.push(rssOf(small.pid));
      await small.stop();
      small = undefined;
      rmSync(restartState, { recursive: true, force: true });
    }

    // Idle RSS once V8's memory reducer has run (it starts several seconds into an idle
    // period and shrinks the heap the start left): what a store's idle bridge holds. Once, not
    // per round: it takes SETTLED_IDLE_MS.
    small = await startBridge(
      {
        dir,
        brokerUrl: broker.url,
        prefix,
        store,
        bridge: "PC1s",
        stateDir: join(dir, "state-1-settled"),
        lanes: oneLane,
      },
      client,
    );
    await sleep(SETTLED_IDLE_MS);
    const settledIdleRss = rssOf(small.pid);
    await small.stop();
    small = undefined;

    // RSS growth: the 32-lane bridge keeps selling; RSS sampled every 1/12 of the run.
    const growth: { x: number; y: number }[] = [{ x: bigSales, y: rssOf(bigBridge.pid) }];
    const every = Math.ceil(plan.growthSales / 12);
    let made = 0;
    let nextSample = every;
    await Promise.all(
      big.map(async (l) => {
        while (made < plan.growthSales) {
          await sale(l);
          made++;
          bigSales++;
          if (made >= nextSample) {
            nextSample += every;
            growth.push({ x: bigSales, y: rssOf((bigBridge as RunningBridge).pid) });
          }
        }
      }),
    );
    await sleep(500);
    growth.push({ x: bigSales, y: rssOf(bigBridge.pid) });
    // Then idle, as a store is between customers: V8's memory reducer gives back what it sized
    // the heap up to for the load (a leak would stay).
    await sleep(SETTLED_IDLE_MS);
    const rssIdleAfterGrowth = rssOf(bigBridge.pid);
    const gcAtEnd = await bigBridge.fullGc();
    // PB_BENCH_MALLOC_TRIM=1 (diagnosis; needs gdb and ptrace): after that GC, glibc's malloc_trim(0)
    // in the daemon through gdb, then its RSS again: what it gives back was free memory malloc kept.
    const rssAfterTrim = await mallocTrimmedRss(bigBridge.pid);
    const gcSales = bigSales - gcAfterWarmSales;
    const journalBytes = dirBytes(bigState, (name) => name === "audit");
    const auditBytes = dirBytes(join(bigState, "audit"));
    const perSaleSlope = slope(growth);
    const rssFirst = growth[0]?.y ?? 0;
    const rssLast = growth[growth.length - 1]?.y ?? 0;

    const figures: Figure[] = [
      fig(
        "scan → PUBLISH at the cloud, p50",
        "ms",
        r.scanToCloud50,
        "bare one-way hop p50",
        r.bareReq50,
        "",
        null,
      ),
      fig(
        "scan → PUBLISH at the cloud, p99",
        "ms",
        r.scanToCloud99,
        "bare one-way hop p99",
        r.bareReq99,
        "≤ hop p99 + fsync p99 + 1 ms",
        quantile(r.scanToCloud99, 0.5) <= quantile(r.bareReq99, 0.5) + quantile(r.fsync99, 0.5) + 1,
      ),
      fig(
        "result PUBLISH → RS on the register, p50",
        "ms",
        r.resToRs50,
        "bare one-way hop p50",
        r.bareRes50,
        "",
        null,
      ),
      fig(
        "result PUBLISH → RS on the register, p99",
        "ms",
        r.resToRs99,
        "bare one-way hop p99",
        r.bareRes99,
        "≤ hop p99 + fsync p99 + 1 ms",
        quantile(r.resToRs99, 0.5) <= quantile(r.bareRes99, 0.5) + quantile(r.fsync99, 0.5) + 1,
      ),
      fig(
        "scan → PUBLISH, first sale after a start",
        "ms",
        r.firstToCloud,
        "steady-state p99 (above)",
        r.scanToCloud99,
        "",
        null,
      ),
      fig(
        "result → RS, first sale after a start",
        "ms",
        r.firstToRs,
        "steady-state p99 (above)",
        r.resToRs99,
        "",
        null,
      ),
      fig(
        "scan → PUBLISH, durable floor (relay + fsync), p50",
        "ms",
        r.floorToCloud50,
        "bare one-way hop p50",
        r.bareReq50,
        "",
        null,
      ),
      fig(
        "scan → PUBLISH, durable floor (relay + fsync), p99",
        "ms",
        r.floorToCloud99,
        "bare one-way hop p99",
        r.bareReq99,
        "",
        null,
      ),
      fig(
        "result → RS, durable floor (relay + fsync), p50",
        "ms",
        r.floorToRs50,
        "bare one-way hop p50",
        r.bareRes50,
        "",
        null,
      ),
      fig(
        "result → RS, durable floor (relay + fsync), p99",
        "ms",
        r.floorToRs99,
        "bare one-way hop p99",
        r.bareRes99,
        "",
        null,
      ),
      fig(
        "scan → PUBLISH, 1 lane, p99",
        "ms",
        r.scanToCloud99,
        "durable floor p99, same rounds",
        r.floorToCloud99,
        "",
        null,
      ),
      fig(
        "result → RS, 1 lane, p99",
        "ms",
        r.resToRs99,
        "durable floor p99, same rounds",
        r.floorToRs99,
        "",
        null,
      ),
      fig("fsync of a 200-byte append, p50", "ms", r.fsync50, "(floor)", r.fsync50, "", null),
      fig("fsync of a 200-byte append, p99", "ms", r.fsync99, "(floor)", r.fsync99, "", null),
      fig("a byte through a socat pty pair, p50", "ms", r.ptyHop50, "(floor)", r.ptyHop50, "", null),
      fig("a byte through a socat pty pair, p99", "ms", r.ptyHop99, "(floor)", r.ptyHop99, "", null),
      fig(
        `sales/s, ${plan.bigLanes} lanes all busy, fsync on`,
        "/s",
        r.salesPerS,
        `bare round trips/s, ${plan.bigLanes} in flight`,
        r.barePerS,
        "≥ ×0.25",
        quantile(ratios(r.salesPerS, r.barePerS), 0.5) >= 0.25,
      ),
      fig(
        `sales/s, ${plan.bigLanes} lanes, transport floor (ptys + MQTT, no bridge logic)`,
        "/s",
        r.floorPerS,
        `bare round trips/s, ${plan.bigLanes} in flight`,
        r.barePerS,
        "",
        null,
      ),
      fig(
        `sales/s, ${plan.bigLanes} lanes all busy, fsync on`,
        "/s",
        r.salesPerS,
        "transport floor sales/s, same rounds",
        r.floorPerS,
        "",
        null,
      ),
      fig(
        "scan → RS, transport floor, p50",
        "ms",
        r.floorLat50,
        "bare round trip p50, same load",
        r.loadBare50,
        "",
        null,
      ),
      fig(
        "scan → RS, transport floor, p99",
        "ms",
        r.floorLat99,
        "bare round trip p99, same load",
        r.loadBare99,
        "",
        null,
      ),
      fig(
        `scan → RS under that load, p50`,
        "ms",
        r.loadLat50,
        "bare round trip p50, same load",
        r.loadBare50,
        "",
        null,
      ),
      fig(
        `scan → RS under that load, p99`,
        "ms",
        r.loadLat99,
        "bare round trip p99, same load",
        r.loadBare99,
        "≤ 20 ms",
        quantile(r.loadLat99, 0.5) <= 20,
      ),
      fig(
        "scan → RS, 32 lanes all busy, p50",
        "ms",
        r.loadLat50,
        "scan → RS, transport floor, p50",
        r.floorLat50,
        "",
        null,
      ),
      fig(
        "scan → RS, 32 lanes all busy, p99",
        "ms",
        r.loadLat99,
        "scan → RS, transport floor, p99",
        r.floorLat99,
        "",
        null,
      ),
      fig(
        "daemon CPU per sale under load",
        "ms",
        r.cpuPerSale,
        "wire time of a code at 9600 baud",
        r.cpuPerSale.map(() => WIRE_CODE_MS),
        "",
        null,
      ),
      fig(
        "RSS idle, 1 lane, fresh start",
        "MiB",
        r.rssIdle.map((b) => b / MiB),
        "the same, node's default V8 flags",
        r.rssIdleDefault.map((b) => b / MiB),
        "≤ 60 MiB",
        quantile(r.rssIdle, 0.5) <= 60 * MiB,
      ),
      fig(
        `RSS idle, 1 lane, after ${plan.latencySales} sales`,
        "MiB",
        r.rssAfter.map((b) => b / MiB),
        "the same, node's default V8 flags",
        r.rssAfterDefault.map((b) => b / MiB),
        "≤ 60 MiB",
        quantile(r.rssAfter, 0.5) <= 60 * MiB,
      ),
      fig(
        "start → READY (status online), 1 lane",
        "ms",
        r.ready,
        "bare `node -e 0` start to exit",
        r.nodeStart,
        "≤ 300 ms",
        quantile(r.ready, 0.5) <= 300,
      ),
      fig(
        "daemon CPU time at READY, 1 lane",
        "ms",
        r.readyCpu,
        "CPU time of a bare `node -p` at its script",
        r.nodeCpu,
        "",
        null,
      ),
      fig(
        `restart → READY on a journal of ${plan.journalSales} sales`,
        "ms",
        r.restart,
        "start on an empty journal",
        r.ready,
        "",
        null,
      ),
    ];
    const rows = figures.map((f) => {
      const v = spread(f.rounds);
      const b = spread(f.baselineRounds);
      const ratio = quantile(ratios(f.rounds, f.baselineRounds), 0.5);
      return [
        f.name,
        `${fmt(v.min)} / ${fmt(v.median)} / ${fmt(v.max)} ${f.unit}`,
        f.baseline,
        `${fmt(b.median)} ${f.unit}`,
        f.baseline === "(floor)" ? "" : `×${ratio.toFixed(2)}`,
        f.target ? `${f.target} ${f.met ? "met" : "MISSED"}` : "",
      ];
    });
    const head = [
      "figure",
      "min / median / max of rounds",
      "baseline (same rounds)",
      "its median",
      "ratio",
      "target",
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd();
    lines.push(line(head), ...rows.map(line));
    const restartRssMiB = quantile(r.restartRss, 0.5) / MiB;
    const extra = {
      wireCodeMs: WIRE_CODE_MS,
      rssGrowthBytesPerSale: perSaleSlope,
      rssGrowthMiB: (rssLast - rssFirst) / MiB,
      rssGrowthSales: plan.growthSales,
      rssAfterMiB: rssLast / MiB,
      rssIdleAfterGrowthMiB: rssIdleAfterGrowth / MiB,
      journalBytesPerSale: journalBytes / bigSales,
      auditBytesPerSale: auditBytes / bigSales,
      salesOnBigBridge: bigSales,
      fullGc: {
        sales: gcSales,
        afterWarm: { sales: gcAfterWarmSales, ...gcAfterWarm },
        atEnd: { sales: bigSales, ...gcAtEnd },
        heapUsedBytesPerSale: (gcAtEnd.heapUsed - gcAfterWarm.heapUsed) / gcSales,
        arrayBuffersBytesPerSale: (gcAtEnd.arrayBuffers - gcAfterWarm.arrayBuffers) / gcSales,
        rssBytesPerSale: (gcAtEnd.vmRss - gcAfterWarm.vmRss) / gcSales,
        rssAfterMallocTrim:
          rssAfterTrim === undefined ? undefined : { afterWarm: rssAfterWarmTrim, atEnd: rssAfterTrim },
      },
      restartRssMiB,
      settledIdleRssMiB: settledIdleRss / MiB,
      fixtureBytesPerSale: fixtureBytes / plan.journalSales,
      fixtureWriteMs: fixtureMs,
      disk: diskOf(dir),
      cpus: `${cpus()[0]?.model ?? "?"} ×${cpus().length}`,
      rounds: plan.rounds,
      benchCpuPerSaleMs: r.benchCpuPerSale,
      warmSales: warmed,
      warmCpuPerSaleMs: warmCpuPerSale,
      cloudCpuPerSaleMs: r.cloudCpuPerSale,
      relayCpuPerSaleMs: r.relayCpuPerSale,
      floorWarmSales: floorWarmed,
    };
    lines.push(
      "",
      `RSS growth over ${plan.growthSales} more sales (32 lanes, after ${bigSales - plan.growthSales}): ${fmt(perSaleSlope)} B per sale (least squares), ${fmt(extra.rssGrowthMiB)} MiB in all, ${fmt(extra.rssAfterMiB)} MiB at the end; ${fmt(extra.rssIdleAfterGrowthMiB)} MiB after ${SETTLED_IDLE_MS / 1000} s idle`,
      `after a full GC (bench/e2e/gc-probe.ts), 32-lane bridge, after ${gcAfterWarmSales} sales → after ${bigSales}: heapUsed ${fmt(gcAfterWarm.heapUsed / MiB)} → ${fmt(gcAtEnd.heapUsed / MiB)} MiB, array buffers ${fmt(gcAfterWarm.arrayBuffers / MiB)} → ${fmt(gcAtEnd.arrayBuffers / MiB)} MiB, RSS ${fmt(gcAfterWarm.vmRss / MiB)} → ${fmt(gcAtEnd.vmRss / MiB)} MiB (${fmt((gcAtEnd.vmRss - gcAfterWarm.vmRss) / MiB)} MiB over ${gcSales} sales), V8's heapTotal ${fmt(gcAfterWarm.heapTotal / MiB)} → ${fmt(gcAtEnd.heapTotal / MiB)} MiB (${fmt(gcAtEnd.before.heapTotal / MiB)} before the last GC); resident by mapping: malloc's [heap] ${fmt(gcAfterWarm.smaps.brkHeap / MiB)} → ${fmt(gcAtEnd.smaps.brkHeap / MiB)} MiB, anonymous ${fmt(gcAfterWarm.smaps.anonymous / MiB)} → ${fmt(gcAtEnd.smaps.anonymous / MiB)} MiB, files ${fmt(gcAfterWarm.smaps.files / MiB)} → ${fmt(gcAtEnd.smaps.files / MiB)} MiB`,
      ...(rssAfterWarmTrim !== undefined && rssAfterTrim !== undefined
        ? [
            `after that GC and malloc_trim(0) (PB_BENCH_MALLOC_TRIM=1): RSS ${fmt(rssAfterWarmTrim / MiB)} → ${fmt(rssAfterTrim / MiB)} MiB (${fmt((rssAfterTrim - rssAfterWarmTrim) / MiB)} MiB over ${gcSales} sales)`,
          ]
        : []),
      `journal on disk: ${fmt(extra.journalBytesPerSale)} B per sale as the daemon left it (audit trail apart: ${fmt(extra.auditBytesPerSale)} B per sale); fixture ${fmt(extra.fixtureBytesPerSale)} B per sale`,
      `daemon CPU per sale over the ${warmed} warm-up sales after its start (V8 still compiling): ${fmt(warmCpuPerSale)} ms; the load figures above are taken after them`,
      `under the 32-lane load, CPU per sale of the bench playing registers and scanners: ${fmt(quantile(r.benchCpuPerSale, 0.5))} ms, of the instant cloud: ${fmt(quantile(r.cloudCpuPerSale, 0.5))} ms (same cores as the daemon)`,
      `transport floor: ${plan.bigLanes} more lanes on their own socat pty pairs, the same register/scanner play, answered by one relay process (bench/e2e/transport-relay.ts: ACK, PR, PR, RS and one QoS 1 pay request per sale, no journal, no sale machine); its CPU per sale: ${fmt(quantile(r.relayCpuPerSale, 0.5))} ms`,
      `RSS idle, 1 lane, ${SETTLED_IDLE_MS / 1000} s after READY (V8's memory reducer has run): ${fmt(extra.settledIdleRssMiB)} MiB (one start; the row above is 1 s after READY)`,
      `restart on ${plan.journalSales} sales: RSS ${fmt(restartRssMiB)} MiB; the wire floor of a scanned code at 9600 baud: ${fmt(WIRE_CODE_MS)} ms; disk: ${extra.disk}`,
    );
    return { lines, json: { figures, ...extra } };
  } finally {
    await small?.stop();
    await bigBridge?.stop();
    order({ type: "stop" });
    await client.endAsync();
    await killAndWait(relay);
    await killAndWait(durableRelay);
    await closeLanes([...oneLane, ...big, ...floor, ...durableLanes]);
    await hopPty.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts bench/e2e/transport-relay.ts on the daemon's ends of `lanes` (their list written to
 * <dir>/<name>-lanes.json); with `durableDir`, in its durable mode. Ready when it sends a message.
 */
function forkRelay(
  dir: string,
  name: string,
  lanes: readonly LaneEnds[],
  [brokerUrl, prefix]: [string, string],
  durableDir?: string,
): ChildProcess {
  const lanesFile = join(dir, `${name}-lanes.json`);
  const list = lanes.map(
    (l): RelayLane => ({
      id: l.id,
      registerPath: l.ptys[0]?.daemonPath ?? "",
      scannerPath: l.ptys[1]?.daemonPath ?? "",
    }),
  );
  writeFileSync(lanesFile, JSON.stringify(list));
  return fork(
    new URL("./transport-relay.js", import.meta.url).pathname,
    [brokerUrl, prefix, lanesFile, ...(durableDir ? [durableDir] : [])],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
}

/**
 * PB_BENCH_MALLOC_TRIM=1 (a diagnosis; needs gdb and ptrace): glibc's malloc_trim(0) in the daemon
 * through gdb, then its RSS: what that gives back was free memory malloc had kept, not memory the
 * daemon holds (docs/performance.md, "Memory over a long run"). Undefined without the variable.
 */
async function mallocTrimmedRss(pid: number): Promise<number | undefined> {
  if (process.env.PB_BENCH_MALLOC_TRIM !== "1") return undefined;
  execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "call (int) malloc_trim(0)"], { stdio: "ignore" });
  await sleep(200);
  return rssOf(pid);
}

/** Scan → PUBLISH at the cloud and result PUBLISH → RS read, per sale, from the cloud's reports. */
function oneWayHops(times: readonly SaleTimes[], reports: readonly CloudReport[]) {
  const reqAt = new Map<string, number>();
  const resAt = new Map<string, number>();
  for (const x of reports) {
    if (x.type === "req" && !reqAt.has(x.orderRef)) reqAt.set(x.orderRef, x.at);
    if (x.type === "res") resAt.set(x.orderRef, x.at);
  }
  const toCloud = times.map((s) => (reqAt.get(s.orderRef) ?? Number.NaN) - s.scanAt).filter(Number.isFinite);
  const toRs = times.map((s) => s.rsAt - (resAt.get(s.orderRef) ?? Number.NaN)).filter(Number.isFinite);
  return { toCloud, toRs };
}

function ratios(values: readonly number[], baselines: readonly number[]): number[] {
  return values.map((v, i) => v / (baselines[i] ?? Number.NaN));
}

function fig(
  name: string,
  unit: string,
  rounds: number[],
  baseline: string,
  baselineRounds: number[],
  target: string,
  met: boolean | null,
): Figure {
  return { name, unit, rounds, baseline, baselineRounds, target, met };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export const e2eSection: BenchSection = {
  key: "e2e",
  title: "end to end: the daemon on ptys, its own Mosquitto, an instant cloud",
  run: runE2e,
};
