// No log floods (issue 8, item 8): 2.4 MB of scanner junk once gave 10,653 warn lines. The daemon
// runs as a child process against the real Mosquitto, its register, scanner and display on socat
// ptys. The register gets a burst of junk (noise, bad frames, frames it cannot understand, NAKs,
// answers it never acknowledges), the scanner 2.4 MB of junk (printable lines with a CR every
// 20–40 bytes, binary lines, overlong lines with no terminator, empty lines). Each kind of trouble
// must then reach the log once, with a count of the repeats when it ends or when the window is
// over; a real sale must still work, and the process must still be up.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { SerialScannerDecoder } from "../../protocols/scanner/serial-scanner.js";
import { startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbflood-${run}/v1`;
const STORE = `F${run}`;
const CODE = "134567890123456789";
const JUNK_BYTES = 2_400_000;
/**
 * The limiters' window (log.repeatWindowMs) in this test: longer than the floods take (about 2 s),
 * so each kind of trouble is at most two lines, and short enough to see the window's summary.
 */
const WINDOW_MS = 6_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded PRNG (mulberry32): the same junk on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a misconfigured or broken scanner sends: mostly printable lines ending in CR (a wrong
 * symbology, a product barcode read again and again), some binary lines (a wrong baud rate),
 * some overlong runs with no terminator (a missing suffix), some empty lines. No line holds a
 * run of 12 digits, so nothing the daemon could print is mistaken for a leaked code.
 */
function scannerJunk(size: number, random: () => number): Uint8Array {
  const out = new Uint8Array(size);
  let i = 0;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const printable = () => {
    const b = int(0x21, 0x7e);
    return b >= 0x30 && b <= 0x39 && random() < 0.9 ? 0x41 + (b - 0x30) : b; // few digits
  };
  while (i < size - 1) {
    const kind = random();
    let len: number;
    let byte: () => number;
    if (kind < 0.85) {
      len = int(20, 40);
      byte = printable;
    } else if (kind < 0.93) {
      len = int(10, 40);
      byte = () => {
        const b = int(0, 255);
        return b === 0x0d ? 0x0e : b;
      };
    } else if (kind < 0.97) {
      len = int(150, 600);
      byte = printable;
    } else {
      len = 0;
      byte = printable;
    }
    for (let k = 0; k < len && i < size - 1; k++) out[i++] = byte();
    out[i++] = 0x0d;
  }
  out[size - 1] = 0x0d;
  return out;
}

/** Resolves once `end` has received nothing for `quietMs`. */
async function displayQuiet(end: SerialEnd, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = end.received.length;
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error("the display never went quiet");
    await sleep(50);
    if (end.received.length !== seen) {
      seen = end.received.length;
      since = Date.now();
    }
  }
}

/** What the daemon's decoder makes of the junk: reads, and discarded runs by reason. */
function decodeJunk(junk: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>();
  const decoder = new SerialScannerDecoder({ suffix: "CR" });
  for (const chunk of decoder.push(junk)) {
    const key = chunk.type === "scan" ? "read" : chunk.reason;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const isJson = (line: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

describe("no log floods: junk from the scanner and the register", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-flood-"));
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: Awaited<ReturnType<typeof startCloudSim>>;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let display: SerialEnd;
  let register: VirtualRegister;

  beforeAll(async () => {
    const [r, s, d] = await Promise.all([
      createPtyPair(dir, "register"),
      createPtyPair(dir, "scanner"),
      createPtyPair(dir, "display"),
    ]);
    ptys = [r, s, d];
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: `g${run}`,
    });
    const configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${dir}
log: { level: info, format: json, statsIntervalMs: 0, repeatWindowMs: ${WINDOW_MS} }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 30000 }
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 100 }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
    display: { path: ${d.daemonPath}, type: cd5220 }
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    for (const device of ["terminal", "scanner", "display"]) {
      await daemon.waitForLog((e) => e.msg === "device opened" && e.device === device);
    }
    [reg, scanner, display] = await Promise.all([
      openSerialEnd(r.testPath),
      openSerialEnd(s.testPath),
      openSerialEnd(d.testPath),
    ]);
    register = new VirtualRegister((bytes) => void reg.write(bytes));
    reg.onData((bytes) => register.receive(bytes));
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([reg?.close(), scanner?.close(), display?.close()]);
    await sim?.stop();
    await Promise.all(ptys.map((p) => p.close()));
  });

  /** Where the junk starts: start-up lines (e.g. "no journal was found") are not the junk's. */
  let junkFrom = 0;
  /** Every warn and error line the daemon printed since the junk started. */
  const problems = () =>
    daemon.lines.slice(junkFrom).flatMap((l) => {
      const e = isJson(l);
      return e && typeof e.level === "number" && e.level >= 40 ? [e] : [];
    });
  /** One kind of trouble: a sale event by its kind, a device's line by its message and reason. */
  const kindOf = (e: Record<string, unknown>) =>
    e.event !== undefined
      ? `lane ${String(e.event)}`
      : `${String(e.device ?? e.component ?? "")} ${String(e.msg).replace(/ \(\d+ more like it.*$/, "")}${e.reason ? ` (${String(e.reason)})` : ""}`;
  /** How many times a kind of trouble happened, as the log tells it: a line each, or its `repeated` for a summary. */
  const told = (kind: string) =>
    problems()
      .filter((e) => kindOf(e) === kind)
      .reduce((n, e) => n + (typeof e.repeated === "number" ? e.repeated : 1), 0);
  const tally = () => {
    const byKind = new Map<string, number>();
    for (const e of problems()) byKind.set(kindOf(e), (byKind.get(kindOf(e)) ?? 0) + 1);
    return byKind;
  };
  const describeTally = () =>
    [...tally()].map(([kind, n]) => `${n} × ${kind}`).join("\n") || "(no warn/error lines)";

  it("logs each kind of trouble once and then its count, stays up, and still sells", async () => {
    const random = prng(8);
    junkFrom = daemon.lines.length;

    // The register: line noise, frames with a bad LRC (each NAKed), frames that are well formed
    // but mean nothing (each answered RS 40), stray NAKs (some make the bridge resend an answer
    // until it gives up), then answers it never acknowledges at all (each a link fault).
    const noise = Uint8Array.from({ length: 4_000 }, () => {
      const b = Math.floor(random() * 256);
      return b === 0x02 || b === 0x06 || b === 0x15 || b === 0x05 ? 0x20 : b;
    });
    const parts: Uint8Array[] = [noise];
    for (let k = 0; k < 100; k++) {
      const meaningless = encodeEcrFrame(utf8(`ZZ\x1c${String(k).padStart(2, "0")}`));
      const badLrc = meaningless.slice();
      badLrc[badLrc.length - 1] = (badLrc[badLrc.length - 1] ?? 0) ^ 0xff;
      parts.push(badLrc, Uint8Array.of(0x15), meaningless, noise.subarray(k * 20, k * 20 + 20));
    }
    await reg.write(concatBytes(...parts));
    await expect.poll(() => register.answers.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(100);
    register.autoAck = false;
    for (let k = 0; k < 4; k++) await reg.write(encodeEcrFrame(utf8(`YY\x1c${String(k).padStart(2, "0")}`)));
    await sleep(4 * 3 * 100 + 400); // 4 answers × 3 sends × ackTimeoutMs, never acknowledged
    register.autoAck = true;

    // The scanner: 2.4 MB of junk in 64 KiB writes, no sale open.
    const junk = scannerJunk(JUNK_BYTES, random);
    const expected = decodeJunk(junk);
    for (let at = 0; at < junk.length; at += 65_536) await scanner.write(junk.subarray(at, at + 65_536));
    // Each junk read with no sale open repaints the display ("wait for the cashier"): all the junk
    // has been read once the display has been quiet for a while.
    await displayQuiet(display, 500, 60_000);

    // A real sale afterwards, with 20 reads that are no payment code before the customer's code.
    const mark = register.answers.length;
    register.request({ type: "sale", seq: "01", orderRef: "FLOOD1", amountFen: 1234 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 10_000, mark);
    for (let k = 0; k < 20; k++) await scanner.write(`NOT-A-CODE-${k}\r`);
    const retryScans = () =>
      register.answers
        .slice(mark)
        .filter((r) => r.answer.type === "progress" && r.answer.stage === "RETRY_SCAN").length;
    await expect.poll(retryScans, { timeout: 10_000 }).toBe(20);
    await scanner.write(`${CODE}\r`);
    const rs = await register.result("01", 20_000, mark);
    expect(rs).toMatchObject({ orderRef: "FLOOD1", status: "PAID", amountFen: 1234, scheme: "WECHAT" });

    // 10 kinds of trouble: on the register line noise, bad frames, requests that mean nothing and
    // answers never acknowledged; on the scanner binary, empty and overlong runs; in the lane
    // frames refused, scans with no sale open and reads that are no payment code. Each is logged
    // when it starts and once more with its count (when it ended or its window closed): ≤ 20 lines
    // where there were 55,000 (each kind at most 2 lines, as the window outlasts the flood).
    const bound = `${problems().length} warn/error lines:\n${describeTally()}`;
    expect(problems().length, bound).toBeLessThanOrEqual(20);
    for (const [kind, n] of tally()) expect(n, `${kind}\n${bound}`).toBeLessThanOrEqual(2);
    // The sale's code ended the junk reads, its request the junk frames: their counts are out.
    expect(told("lane scanIgnored"), bound).toBe(expected.get("read"));
    expect(told("lane scanRejected"), bound).toBe(20);
    expect(told("terminal request from register rejected"), bound).toBe(104);
    expect(told("lane saleRejected"), bound).toBe(104);
    expect(
      told("terminal register did not acknowledge a frame after 3 sends; frame dropped (noAck)"),
      bound,
    ).toBeGreaterThanOrEqual(4);
    expect(told("terminal bad frame from register NAKed (lrc)"), bound).toBe(100);

    // The scanner cannot tell junk ended (junk reads look like reads): its counts come when the
    // window closes, whether or not more junk comes.
    for (const reason of ["binary", "empty", "overflow"]) {
      await daemon.waitForLog(
        (e) => e.device === "scanner" && e.reason === reason && typeof e.repeated === "number",
        WINDOW_MS + 3_000,
      );
      expect(told(`scanner scanner bytes discarded (${reason})`), bound).toBe(expected.get(reason));
    }
    expect(problems().length, describeTally()).toBeLessThanOrEqual(20);
    expect(problems().some((e) => typeof e.repeated === "number" && e.repeated > 1_000)).toBe(true);

    // Still up, and no payment code (nor any 16+ digit run) in anything it printed.
    expect(daemon.proc.exitCode).toBeNull();
    const all = daemon.lines.join("\n");
    expect(all).not.toContain(CODE);
    expect(all.match(/\d{16,}/g) ?? []).toEqual([]);
  }, 60_000);
});
