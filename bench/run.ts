// `npm run bench`: throughput of the hot paths, each against a baseline measured in the same run
// on the same bytes, printed as a table and as JSON. Figures are machine-dependent: quote the
// ratios, not the absolute numbers.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { DelimiterParser } from "@serialport/parser-delimiter";
import { systemClock } from "../daemon/clock.js";
import { encodeRequest, decodeRequest } from "../daemon/cloud/proto-codec.js";
import { Journal } from "../daemon/journal/journal.js";
import { journalCommitRows } from "./journal-commit.js";
import { utf8 } from "../protocols/core/bytes.js";
import type { CloudRequest } from "../protocols/cloud/cloud-messages.js";
import { EcrFramer } from "../protocols/ecr/framer.js";
import { encodeEcrFrame } from "../protocols/ecr/frame-encoder.js";
import { DEFAULT_SCHEME_RULES } from "../protocols/payment/classify-code.js";
import { DEFAULT_ATTEMPT_SETTINGS } from "../protocols/sale/attempt-machine.js";
import { DEFAULT_REFUND_SETTINGS } from "../protocols/sale/refund-machine.js";
import type { SaleRecord } from "../protocols/sale/records.js";
import { initialSaleState, saleStep } from "../protocols/sale/sale-machine.js";
import type { SaleSettings } from "../protocols/sale/sale-types.js";
import { SerialScannerDecoder } from "../protocols/scanner/serial-scanner.js";
import { e2eSection } from "./e2e/e2e.js";
import { journalMemorySection } from "./journal-memory-section.js";
import type { BenchOptions, BenchSection } from "./section.js";

interface Row {
  name: string;
  unit: string;
  value: number;
  baseline: string;
  baselineValue: number;
  ratio: number;
}

function timeIt(fn: () => number, minMs = 400): { perSecond: number } {
  fn(); // warm-up
  let units = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    units += fn();
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { perSecond: (units * 1000) / elapsed };
}

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function delimiterThroughput(parts: Uint8Array[], delimiter: number[], total: number): number {
  return timeIt(() => {
    const p = new DelimiterParser({ delimiter: Buffer.from(delimiter) });
    p.on("data", () => {});
    for (const c of parts) p.write(c);
    return total;
  }).perSecond;
}

const rows: Row[] = [];
const MB = 1024 * 1024;

// 1. Scanner decoding: 18-digit codes + CR, as a 9600-baud line delivers them (1 byte per read) and in 19-byte reads.
const codes = utf8(
  Array.from({ length: 2000 }, (_, i) => `1345678901${String(i).padStart(8, "0")}\r`).join(""),
);
for (const size of [1, 19]) {
  const parts = chunks(codes, size);
  const ours = timeIt(() => {
    const d = new SerialScannerDecoder({ suffix: "CR" });
    for (const c of parts) d.push(c);
    return codes.length;
  }).perSecond;
  const base = delimiterThroughput(parts, [0x0d], codes.length);
  rows.push({
    name: `scanner decoder, ${size}-byte reads`,
    unit: "MB/s",
    value: ours / MB,
    baseline: "@serialport/parser-delimiter",
    baselineValue: base / MB,
    ratio: ours / base,
  });
}

// 2. ECR framing: SA frames (BCD length, LRC check) vs splitting the same stream on ETX alone.
const saFrames = (() => {
  const parts = Array.from({ length: 1000 }, (_, i) =>
    encodeEcrFrame(utf8(`SA\x1c${String(i % 100).padStart(2, "0")}\x1cORD${i}\x1c${1000 + i}`)),
  );
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
})();
for (const size of [1, 4096]) {
  const parts = chunks(saFrames, size);
  const ours = timeIt(() => {
    const f = new EcrFramer();
    for (const c of parts) f.push(c);
    return saFrames.length;
  }).perSecond;
  const base = delimiterThroughput(parts, [0x03], saFrames.length);
  rows.push({
    name: `ecr framer, ${size}-byte reads`,
    unit: "MB/s",
    value: ours / MB,
    baseline: "parser-delimiter on ETX (no LRC)",
    baselineValue: base / MB,
    ratio: ours / base,
  });
}

// 3. Protobuf PayRequest encode+decode with validation vs JSON.stringify+parse of the same object.
const req: CloudRequest = {
  requestId: "01JD0000000000000000000001",
  sentAtMs: 1764000000123,
  laneId: "lane1",
  command: {
    type: "pay",
    attemptId: "01JD00000000000000000000A1",
    orderRef: "ORD-1",
    amountFen: 1234,
    authCode: "0123456789012345678",
    scheme: "ECNY",
    scannedAtMs: 1764000000000,
    deadlineMs: 1764000060000,
  },
};
const proto = timeIt(() => {
  for (let i = 0; i < 200; i++) decodeRequest(encodeRequest(req));
  return 200;
}).perSecond;
const json = timeIt(() => {
  for (let i = 0; i < 200; i++) JSON.parse(JSON.stringify(req));
  return 200;
}).perSecond;
rows.push({
  name: "PayRequest encode+decode (validated)",
  unit: "k ops/s",
  value: proto / 1000,
  baseline: "JSON.stringify+parse",
  baselineValue: json / 1000,
  ratio: proto / json,
});

// 4. A whole sale through the pure machine (SA → scan → PAID) vs the wire time of its frames at 9600 baud.
const settings: SaleSettings = {
  scanTimeoutMs: 60_000,
  codeLifetimeMs: 60_000,
  maxAmountFen: 10_000_000,
  schemes: DEFAULT_SCHEME_RULES,
  resultDisplayMs: 5000,
  answerAfterRestart: true,
  attempt: DEFAULT_ATTEMPT_SETTINGS,
  refund: DEFAULT_REFUND_SETTINGS,
};
const sales = timeIt(() => {
  let state = initialSaleState("lane1", true);
  for (let i = 0; i < 100; i++) {
    state = saleStep(
      settings,
      state,
      { type: "pos", request: { type: "sale", seq: "01", orderRef: `O${i}`, amountFen: 1234 } },
      { wall: 1_700_000_000_000 + i, mono: i, boot: "bench" },
    ).state;
    state = saleStep(
      settings,
      state,
      { type: "scan", code: "134567890123456789", attemptId: `A${i}` },
      { wall: 1_700_000_000_000 + i, mono: i, boot: "bench" },
    ).state;
    state = saleStep(
      settings,
      state,
      {
        type: "cloudResult",
        attemptId: `A${i}`,
        answers: "pay",
        result: {
          type: "payment",
          status: "PAID",
          amountFen: 1234,
          scheme: "WECHAT",
          channelTradeNo: "4200",
          reasonCode: "",
          message: "",
          rescanAllowed: false,
        },
      },
      { wall: 1_700_000_000_000 + i, mono: i, boot: "bench" },
    ).state;
  }
  return 100;
}).perSecond;
// SA (~25 B) + scan (19 B) + PR×2 (~45 B each) + RS (~70 B) + ACKs ≈ 210 bytes × 10 bits at 9600 baud.
const wirePerSecond = 9600 / (210 * 10);
rows.push({
  name: "sale machine: SA → scan → PAID",
  unit: "k sales/s",
  value: sales / 1000,
  baseline: "9600-baud wire time of the same sale",
  baselineValue: wirePerSecond / 1000,
  ratio: sales / wirePerSecond,
});

// 5. Journal: one record appended and fsync'd (what every sale step costs) vs the same line
// written without fsync (the price of durability), and reopening a month of a busy lane.
{
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-journal-"));
  const silent = pino({ level: "silent" });
  const journal = Journal.open({ dir, clock: systemClock, log: silent });
  const record = (i: number): SaleRecord => ({
    kind: "sale",
    laneId: "lane1",
    orderRef: `O${i}`,
    amountFen: 1234,
    seq: "01",
    openedAt: 1_700_000_000_000 + i,
    status: "PAID",
    answered: true,
    scheme: "WECHAT",
    channelTradeNo: "4200000000000000000000000001",
    attemptId: `A${i}`,
    attempts: 1,
    text: "支付成功",
    endedAt: 1_700_000_000_100 + i,
    attention: "",
    attentionAt: null,
    training: false,
    updatedAt: 1_700_000_000_100 + i,
  });
  let n = 0;
  const durable = timeIt(() => {
    journal.write(record(n++));
    return 1;
  }, 300).perSecond;
  const plainPath = join(dir, "plain.log");
  const fd = openSync(plainPath, "a");
  const line = `${JSON.stringify(record(0))}\n`;
  const plain = timeIt(() => {
    writeSync(fd, line);
    return 1;
  }, 300).perSecond;
  closeSync(fd);
  rows.push({
    name: "journal append + fsync",
    unit: "records/s",
    value: durable,
    baseline: "same line, write without fsync",
    baselineValue: plain,
    ratio: durable / plain,
  });
  journal.close();
  // A month of one busy lane: 3 records per sale (sale, attempt, update), 20 000 sales.
  const big = mkdtempSync(join(tmpdir(), "pb-bench-journal-"));
  const j2 = Journal.open({ dir: big, clock: systemClock, log: silent, compactMinBytes: 1 << 30 });
  for (let i = 0; i < 20_000; i++) j2.write(record(i));
  j2.close();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const j3 = Journal.open({ dir: big, clock: systemClock, log: silent, compactMinBytes: 1 << 30 });
  const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const heapAfter = process.memoryUsage().heapUsed;
  const fileBytes = j3.stats().fileBytes;
  j3.close();
  const readT0 = process.hrtime.bigint();
  readFileSync(join(big, "journal.log"));
  const readMs = Number(process.hrtime.bigint() - readT0) / 1e6;
  rows.push({
    name: "journal open, 20 000 sales",
    unit: "ms",
    value: openMs,
    baseline: "reading the same file's bytes",
    baselineValue: readMs,
    ratio: openMs / readMs,
  });
  rows.push({
    name: "journal heap per sale held",
    unit: "bytes",
    value: Math.max(0, heapAfter - heapBefore) / 20_000,
    baseline: "its line in the file",
    baselineValue: fileBytes / 20_000,
    ratio: Math.max(0, heapAfter - heapBefore) / fileBytes,
  });
  rmSync(dir, { recursive: true, force: true });
  rmSync(big, { recursive: true, force: true });
}

// 6. Group commit: 32 concurrent lanes vs one fsync per record (bench/journal-commit.ts).
rows.push(...(await journalCommitRows()));

const machine = `${cpus()[0]?.model ?? "unknown cpu"} ×${cpus().length}, node ${process.version}`;
console.log(`posbridge bench — ${machine}\n`);
const pad = (s: string, n: number) => s.padEnd(n);
console.log(
  `${pad("measure", 40)} ${pad("value", 18)} ${pad("baseline", 40)} ${pad("baseline value", 20)} ratio`,
);
for (const r of rows) {
  console.log(
    `${pad(r.name, 40)} ${pad(`${r.value.toFixed(2)} ${r.unit}`, 18)} ${pad(r.baseline, 40)} ${pad(`${r.baselineValue.toFixed(r.baselineValue < 0.01 ? 6 : 2)} ${r.unit}`, 20)} ×${r.ratio.toFixed(2)}`,
  );
}

// The sections after the micro figures, in this order: each prints its table and adds its key to
// the JSON line. One line per section.
const SECTIONS: BenchSection[] = [e2eSection, journalMemorySection];
const options: BenchOptions = { quick: process.argv.includes("--quick") };
const sectionJson: Record<string, unknown> = {};
for (const section of SECTIONS) {
  console.log(`\n${section.title}${options.quick ? " (--quick)" : ""}\n`);
  const out = await section.run(options);
  for (const line of out.lines) console.log(line);
  sectionJson[section.key] = out.json;
}
console.log(
  `\n${JSON.stringify({ machine, date: new Date().toISOString(), quick: options.quick, rows, ...sectionJson })}`,
);
