// The privacy canary (issue 11, item 2; docs/privacy.md): more than a thousand sales with marked
// payment codes (every one unique, all four schemes, a fixed marker inside) through the built
// daemon on five lanes, the simulated cloud and Mosquitto, at the most verbose log level, along
// every path a code can take: paid, declined and rescanned, read twice, waiting for the customer,
// answer lost and queried, unknown and reversed, refunded, and a crash with a pay request in
// flight. Then everything the bridge wrote or said is searched for any of them: its stdout and
// stderr (journald's input), every file in stateDir (journal, audit trail), every retained status
// and event it published, the crash's output, and the reports. Not only whole codes: any run of
// 12 digits out of a code's middle, and hex or base64 encodings of them (a dumped buffer).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { classifyCode } from "../../protocols/payment/classify-code.js";
import type { Scheme } from "../../protocols/payment/scheme.js";
import { type BridgeRig, type LaneRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { BIN } from "../support/daemon-process.js";

/** In every code, right after its scheme prefix: a code's middle is recognisable anywhere. */
const MARKER = "987123";
const LANES = 5;
const SALES_PER_LANE = 205;
const PREFIX: Record<Scheme, string> = { WECHAT: "13", ALIPAY: "28", UNIONPAY: "62", ECNY: "01" };
const LENGTH: Record<Scheme, number> = { WECHAT: 18, ALIPAY: 18, UNIONPAY: 19, ECNY: 19 };
const SCHEMES: Scheme[] = ["WECHAT", "ALIPAY", "UNIONPAY", "ECNY"];

/** Every code made, to search for; each unique, valid for its scheme (classify-code.ts). */
const codes: string[] = [];
let serial = 0;
/**
 * A marked code of `scheme`. `ending` "0000" or "9999" makes the simulated cloud decline it
 * (AUTHCODEEXPIRE, NOTENOUGH; rescan allowed); other codes never end so.
 */
function markedCode(scheme: Scheme, ending?: "0000" | "9999"): string {
  const digits = LENGTH[scheme] - 2 - MARKER.length;
  let n = String(++serial * 10 + 1);
  if (ending) n = `${serial}${ending}`;
  const code = `${PREFIX[scheme]}${MARKER}${n.padStart(digits, "0")}`;
  const cls = classifyCode(code);
  if (cls.type !== "payment" || cls.scheme !== scheme || code.length !== LENGTH[scheme])
    throw new Error(`test bug: ${scheme} code of the wrong shape`);
  codes.push(code);
  return code;
}

/** Searching: every 12-digit window of every code, so a code's middle is found in any digit run. */
function codeWindows(): Set<string> {
  const windows = new Set<string>();
  for (const c of codes) for (let i = 0; i + 12 <= c.length; i++) windows.add(c.slice(i, i + 12));
  return windows;
}

/** The digit runs in `text` that hold a code or 12 digits of one, also hex- or base64-encoded. */
function leaks(text: string, windows: Set<string>): string[] {
  const found: string[] = [];
  const digitRuns = (t: string) => t.match(/[0-9]{12,}/g) ?? [];
  const check = (t: string, how: string) => {
    for (const run of digitRuns(t))
      for (let i = 0; i + 12 <= run.length; i++)
        if (windows.has(run.slice(i, i + 12))) {
          found.push(`${how}: …${run.slice(i, i + 12)}…`);
          break;
        }
  };
  check(text, "digits");
  for (const hex of text.match(/[0-9a-fA-F]{24,}/g) ?? [])
    for (const off of [0, 1]) check(Buffer.from(hex.slice(off), "hex").toString("latin1"), "hex");
  for (const b64 of text.match(/[A-Za-z0-9+/]{16,}/g) ?? [])
    for (const off of [0, 1, 2, 3]) check(Buffer.from(b64.slice(off), "base64").toString("latin1"), "base64");
  return found;
}

/** Every file under `dir`, recursively, as latin1 text (bytes kept as they are). */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, "latin1") }];
  });
}

type Plan = "paid" | "declinedRescan" | "sameCodeRescan" | "mchConfig" | "lostAnswer" | "waiting" | "unknown";

/** What sale i of a lane does; most are plainly paid. */
function plan(lane: number, i: number): Plan {
  if (i === 0 && lane < 2) return "unknown"; // UNKNOWN → queries → reversed (5 s: two lanes only)
  if (i % 20 === 3 || i % 20 === 7) return "declinedRescan";
  if (i % 20 === 11) return "sameCodeRescan";
  if (i % 50 === 13) return "mchConfig";
  if (i % 100 === 17) return "lostAnswer";
  if (i % 10 === 5) return "waiting";
  return "paid";
}

const AMOUNT: Record<Plan, (i: number) => number> = {
  paid: (i) => 100 + (i % 50) * 10,
  declinedRescan: (i) => 200 + i * 10,
  sameCodeRescan: (i) => 300 + i * 10,
  mchConfig: () => 1097, // amount ending 97: MCHCONFIGERR, no rescan
  lostAnswer: () => 1099, // ending 99: charged, the answer lost; the query finds it
  waiting: () => 1077, // ending 77: USERPAYING, then PAID
  unknown: () => 1098, // ending 98: SYSTEMERROR; reversed at reverseAfterMs
};

describe("no payment code anywhere the bridge writes or speaks", () => {
  let rig: BridgeRig;
  let sim: CloudSim;
  let raw: MqttClient;
  /** Everything published on P/status and P/event, as bytes. */
  const published: { topic: string; payload: Buffer }[] = [];
  /** Output of every daemon process of the run (the rig replaces rig.daemon on restart). */
  const outputs: { name: string; lines: string[] }[] = [];

  beforeAll(async () => {
    rig = await startBridgeRig({
      name: "canary",
      lanes: LANES,
      logLevel: "trace",
      extraConfig:
        "sale: { firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000 }",
    });
    outputs.push({ name: "daemon", lines: rig.daemon.lines });
    sim = await startCloudSim({ brokerUrl: TEST_BROKER, topicPrefix: rig.prefix, confirmDelayMs: 50 });
    raw = await mqtt.connectAsync(TEST_BROKER, { protocolVersion: 5 });
    raw.on("message", (topic, payload) => published.push({ topic, payload: Buffer.from(payload) }));
    await raw.subscribeAsync([`${rig.topicRoot}/status`, `${rig.topicRoot}/event`], { qos: 1 });
  }, 30_000);

  afterAll(async () => {
    await raw?.endAsync(true);
    await rig?.stop();
    await sim?.stop();
  });

  /** SA, then each scan (all but the last are refused: RETRY_SCAN), then the sale's RS. */
  async function sale(lane: LaneRig, orderRef: string, amountFen: number, scans: string[]) {
    const seq = lane.nextSeq();
    const mark = lane.register.answers.length;
    lane.register.request({ type: "sale", seq, orderRef, amountFen });
    const progress = (stage: string, since: number) =>
      lane.register.waitFor(
        (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === stage,
        10_000,
        since,
      );
    await progress("WAIT_SCAN", mark);
    for (const [k, code] of scans.entries()) {
      const before = lane.register.answers.length;
      await lane.scanner.write(`${code}\r`);
      if (k < scans.length - 1) await progress("RETRY_SCAN", before);
    }
    return lane.register.result(seq, 15_000, mark);
  }

  async function runLane(n: number): Promise<Record<string, number>> {
    const lane = rig.lanes[n] as LaneRig;
    const tally: Record<string, number> = {};
    let lastCode = "";
    for (let i = 0; i < SALES_PER_LANE; i++) {
      const p = plan(n, i);
      const scheme = SCHEMES[(n + i) % 4] as Scheme;
      const orderRef = `CAN-${n}-${i}`;
      const amount = AMOUNT[p](i);
      const good = markedCode(scheme);
      const scans =
        p === "declinedRescan"
          ? [markedCode(scheme, i % 20 === 3 ? "0000" : "9999"), good]
          : p === "sameCodeRescan" && lastCode
            ? [lastCode, good]
            : [good];
      const rs = await sale(lane, orderRef, amount, scans);
      const expected = p === "mchConfig" || p === "unknown" ? "CANCELLED" : "PAID";
      expect(rs.status, `${orderRef} (${p})`).toBe(expected);
      tally[p] = (tally[p] ?? 0) + 1;
      if (rs.status === "PAID") lastCode = good;
      if (rs.status === "PAID" && i % 40 === 9) {
        const rf = await lane.ask({ type: "refund", orderRef, refundRef: `RF-${orderRef}`, amountFen: 50 });
        expect(rf.status).toBe("REFUNDED");
        tally.refunded = (tally.refunded ?? 0) + 1;
      }
    }
    return tally;
  }

  it("1,000+ marked codes on every path, then a crash with one in flight: none leaks", async () => {
    const tallies = await Promise.all(rig.lanes.map((_, n) => runLane(n)));
    const total: Record<string, number> = {};
    for (const t of tallies) for (const [k, v] of Object.entries(t)) total[k] = (total[k] ?? 0) + v;
    expect(Object.values(total).reduce((a, b) => a + b, 0) - (total.refunded ?? 0)).toBe(
      LANES * SALES_PER_LANE,
    );
    for (const p of [
      "paid",
      "declinedRescan",
      "sameCodeRescan",
      "mchConfig",
      "lostAnswer",
      "waiting",
      "unknown",
      "refunded",
    ])
      expect(total[p], p).toBeGreaterThan(0);

    // A crash (an uncaught exception) right after a pay request left with its code.
    await rig.restart({ PB_TEST_THROW_AT: "publish:pay" });
    const crashed = rig.daemon;
    outputs.push({ name: "crash", lines: crashed.lines });
    const lane = rig.lanes[0] as LaneRig;
    const seq = lane.nextSeq();
    lane.register.request({ type: "sale", seq, orderRef: "CAN-CRASH", amountFen: 4321 });
    await lane.register.waitFor(
      (a) => a.type === "progress" && a.orderRef === "CAN-CRASH" && a.stage === "WAIT_SCAN",
    );
    await lane.scanner.write(`${markedCode("ALIPAY")}\r`);
    expect(await crashed.exit).toBe(1);
    const fatal = await crashed.waitForLog((e) => e.errCode === "PB_INTERNAL");
    expect(String(fatal.msg)).toContain("test crash at publish:pay");
    // The stack trace is in the output: its frames name daemon/lanes/crash-points.js when run from
    // tsc's output, the bundle's chunk when bundled (scripts/bundle.mjs), the function either way.
    expect(JSON.stringify(fatal)).toMatch(/at throwUncaught \(file:.*(crash-points|build\/dist\/)/);
    // Restarted, the bridge resolves the attempt it had in flight: the cloud charged it once.
    await rig.restart();
    outputs.push({ name: "after crash", lines: rig.daemon.lines });
    await expect
      .poll(async () => (await lane.ask({ type: "query", orderRef: "CAN-CRASH" })).status, {
        timeout: 10_000,
        interval: 500,
      })
      .toBe("PAID");
    await rig.daemon.stop(); // its last lines (stopping, offline status) are output too

    expect(codes.length).toBeGreaterThan(1000);
    expect(new Set(codes).size).toBe(codes.length);
    const windows = codeWindows();
    const searched: { what: string; text: string }[] = [
      ...outputs.map((o) => ({ what: `${o.name} stdout/stderr`, text: o.lines.join("\n") })),
      ...filesUnder(rig.stateDir).map((f) => ({ what: f.path, text: f.text })),
      ...published.map((m) => ({ what: m.topic, text: m.payload.toString("latin1") })),
      ...["day", "audit"].map((report) => ({
        what: `posbridge report ${report}`,
        text: execFileSync(process.execPath, [BIN, "report", report, "--json", "-c", rig.configPath], {
          encoding: "utf8",
        }),
      })),
    ];
    // The search itself works: it finds a code, its middle, and their encodings.
    const probe = codes[0] as string;
    expect(leaks(`x${probe}y`, windows)).not.toEqual([]);
    expect(leaks(`id 99${probe.slice(3, 16)}99`, windows)).not.toEqual([]);
    expect(leaks(Buffer.from(`pay ${probe}`).toString("hex"), windows)).not.toEqual([]);
    expect(leaks(Buffer.from(`{"authCode":"${probe}"}`).toString("base64"), windows)).not.toEqual([]);
    expect(leaks("WECHAT…6789 1796025487637 01M8NQECR1ZMY263T5TYQDZED8", windows)).toEqual([]);

    // What was searched is the real thing: sizeable logs, both files, statuses and events.
    expect(searched.find((s) => s.what === "daemon stdout/stderr")?.text.length).toBeGreaterThan(1_000_000);
    expect(searched.some((s) => s.what.endsWith("journal.log"))).toBe(true);
    expect(searched.some((s) => s.what.endsWith("audit.log"))).toBe(true);
    expect(published.filter((m) => m.topic.endsWith("/status")).length).toBeGreaterThan(0);
    expect(published.filter((m) => m.topic.endsWith("/event")).length).toBeGreaterThan(0);
    const found = searched.flatMap((s) => leaks(s.text, windows).map((l) => `${s.what}: ${l}`));
    expect(found).toEqual([]);
  }, 120_000);
});
