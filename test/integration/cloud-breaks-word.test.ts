// A cloud that breaks its word (issue 8 item 6), on real parts: the built daemon as a child
// process, Mosquitto, socat ptys with the virtual register, and a scripted misbehaving cloud (an
// mqtt.js client answering on the bridge's `res` topic). Sale 1: the pay gets no answer, the
// bridge queries, reverses at reverseAfterMs, the cloud confirms CANCELLED, the register hears 20;
// then the cloud says PAID for that attempt (with the pay's own request id). Sale 2: paid, then
// the cloud says PAID with another amount under a request id the bridge never sent. Each must
// produce an alarm event, a JSON error log line, a journal mark, QY → 30 with the text, no second
// charge, and an entry under "needs attention" in `posbridge report day`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvent, decodeRequest, encodeResponse } from "../../daemon/cloud/proto-codec.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { JOURNAL_FILE } from "../../daemon/journal/journal.js";
import type { AttentionItem, DayReport } from "../../daemon/report/day-report.js";
import type { CloudRequest, PaymentResult } from "../../protocols/cloud/cloud-messages.js";
import { ATTENTION_TEXT, TEXT } from "../../protocols/sale/sale-texts.js";
import { BIN, type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbtest-${run}/v1`;
const STORE = `S${run}`;
const CODES = ["134567890123456789", "284567890123454321"];
const TRADE_NO = "4200001234202603141234567890";

/** A cloud that answers only what the test tells it to; every request it gets is kept. */
class ScriptedCloud {
  readonly requests: { topic: string; req: CloudRequest }[] = [];
  /** How to answer a request as it arrives (undefined: stay silent). */
  answer: (req: CloudRequest) => PaymentResult | undefined = () => undefined;
  private constructor(private readonly client: mqtt.MqttClient) {}

  static async start(): Promise<ScriptedCloud> {
    const client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    const cloud = new ScriptedCloud(client);
    client.on("message", (topic, payload) => {
      const decoded = decodeRequest(new Uint8Array(payload));
      if (!decoded.ok) return;
      cloud.requests.push({ topic, req: decoded.value });
      const result = cloud.answer(decoded.value);
      if (result) void cloud.send(topic, decoded.value.requestId, decoded.value.command.attemptId, result);
    });
    await client.subscribeAsync(`${PREFIX}/+/+/req`, { qos: 1 });
    return cloud;
  }

  /** Publishes a response on the `res` topic beside the request's own topic. */
  async send(reqTopic: string, requestId: string, attemptId: string, result: PaymentResult): Promise<void> {
    const bytes = encodeResponse({ requestId, attemptId, sentAtMs: Date.now(), result });
    await this.client.publishAsync(reqTopic.replace(/\/req$/, "/res"), Buffer.from(bytes), { qos: 1 });
  }

  of(type: CloudRequest["command"]["type"], orderRefOrAttempt: string) {
    return this.requests.filter(
      (r) =>
        r.req.command.type === type &&
        (r.req.command.attemptId === orderRefOrAttempt ||
          (r.req.command.type === "pay" && r.req.command.orderRef === orderRefOrAttempt)),
    );
  }

  stop(): Promise<void> {
    return this.client.endAsync();
  }
}

function paid(amountFen: number, channelTradeNo = TRADE_NO): PaymentResult {
  return {
    type: "payment",
    status: "PAID",
    amountFen,
    scheme: "WECHAT",
    channelTradeNo,
    reasonCode: "",
    message: "",
    rescanAllowed: false,
  };
}

describe("a cloud that breaks its word is seen", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-word-"));
  const configPath = join(dir, "posbridge.yaml");
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let cloud: ScriptedCloud;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let register: VirtualRegister;
  let watcher: mqtt.MqttClient;
  const events: { kind: string; detail: string }[] = [];

  beforeAll(async () => {
    const [r, s] = await Promise.all([createPtyPair(dir, "register"), createPtyPair(dir, "scanner")]);
    ptys = [r, s];
    cloud = await ScriptedCloud.start();
    watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    watcher.on("message", (_t, payload) => {
      const e = decodeEvent(new Uint8Array(payload));
      if (e.ok) events.push({ kind: e.value.kind, detail: e.value.detail });
    });
    await watcher.subscribeAsync(`${PREFIX}/${STORE}/PC1/event`, { qos: 0 });
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${dir}
log: { level: info, format: json }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 20000, firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000, maxReversals: 3 }
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    for (const device of ["terminal", "scanner"])
      await daemon.waitForLog((e) => e.msg === "device opened" && e.device === device);
    [reg, scanner] = await Promise.all([openSerialEnd(r.testPath), openSerialEnd(s.testPath)]);
    register = new VirtualRegister((bytes) => void reg.write(bytes));
    reg.onData((bytes) => register.receive(bytes));
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([reg?.close(), scanner?.close()]);
    await cloud?.stop();
    await watcher?.endAsync();
    await Promise.all(ptys.map((p) => p.close()));
  });

  it("a PAID after the cloud confirmed the reversal: alarm, error log, QY 30 with the text, no second charge", async () => {
    // The pay and its queries get no answer; the cancel is answered CANCELLED.
    cloud.answer = (req) =>
      req.command.type === "cancel"
        ? { ...paid(0, ""), status: "CANCELLED", amountFen: 0, reasonCode: "REVERSED" }
        : undefined;
    register.request({ type: "sale", seq: "01", orderRef: "LATE1", amountFen: 1234 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    await scanner.write(`${CODES[0]}\r`);
    const rs = await register.result("01", 15_000);
    expect(rs).toMatchObject({ status: "CANCELLED", text: TEXT.reversedTimeout });
    const [pay] = cloud.of("pay", "LATE1");
    if (!pay) throw new Error("no pay request");
    const attemptId = pay.req.command.attemptId;
    expect(cloud.of("query", attemptId).length).toBeGreaterThanOrEqual(2);
    expect(cloud.of("cancel", attemptId).length).toBeGreaterThanOrEqual(1);

    // The cloud breaks its word: the pay request is PAID after all.
    await cloud.send(pay.topic, pay.req.requestId, attemptId, paid(1234));
    const logged = await daemon.waitForLog(
      (e) => e.errCode === "PB_CLOUD_CONTRADICTION" && e.event === "latePaid",
    );
    expect(logged.level).toBe(50); // pino's error
    expect(String(logged.msg)).toContain("LATE1");
    await expect
      .poll(() => events.find((e) => e.kind === "alarm" && e.detail.includes("LATE1")))
      .toBeTruthy();

    const mark = register.answers.length;
    register.request({ type: "query", seq: "02", orderRef: "LATE1" });
    expect(await register.result("02", 5000, mark)).toMatchObject({
      status: "UNKNOWN",
      text: ATTENTION_TEXT.paidAfterReversal,
    });
    // The same orderRef again is never charged again: answered 30, no scan asked, no pay request.
    register.request({ type: "sale", seq: "03", orderRef: "LATE1", amountFen: 1234 });
    expect(await register.result("03", 5000, mark)).toMatchObject({ status: "UNKNOWN" });
    expect(register.answers.slice(mark).some((r) => r.answer.type === "progress")).toBe(false);
    expect(cloud.of("pay", "LATE1")).toHaveLength(1);
  });

  it("a PAID with another amount after a paid sale ended, under a request id never sent: the same", async () => {
    cloud.answer = (req) => (req.command.type === "pay" ? paid(500) : undefined);
    const mark = register.answers.length;
    register.request({ type: "sale", seq: "11", orderRef: "LATE2", amountFen: 500 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5000, mark);
    await scanner.write(`${CODES[1]}\r`);
    expect(await register.result("11", 10_000, mark)).toMatchObject({ status: "PAID", amountFen: 500 });
    const [pay] = cloud.of("pay", "LATE2");
    if (!pay) throw new Error("no pay request");
    const attemptId = pay.req.command.attemptId;

    await cloud.send(pay.topic, "CLOUD-UNSOLICITED-1", attemptId, paid(5000));
    await daemon.waitForLog((e) => e.msg === "response for an unknown request delivered by its attempt id");
    await daemon.waitForLog((e) => e.errCode === "PB_CLOUD_CONTRADICTION" && String(e.msg).includes("LATE2"));
    await expect
      .poll(() => events.find((e) => e.kind === "alarm" && e.detail.includes("LATE2")))
      .toBeTruthy();

    const after = register.answers.length;
    register.request({ type: "query", seq: "12", orderRef: "LATE2" });
    expect(await register.result("12", 5000, after)).toMatchObject({
      status: "UNKNOWN",
      text: ATTENTION_TEXT.amountMismatchAfterEnd,
    });
    register.request({ type: "sale", seq: "13", orderRef: "LATE2", amountFen: 500 });
    expect(await register.result("13", 5000, after)).toMatchObject({ status: "UNKNOWN" });
    expect(cloud.of("pay", "LATE2")).toHaveLength(1);
  });

  it("the journal keeps both words, and `posbridge report day` lists both sales under needs attention", () => {
    const journal = readFileSync(join(dir, JOURNAL_FILE), "utf8");
    const records = journal
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line.split("\t")[1] ?? "{}") as Record<string, unknown>);
    const lastOf = (kind: string, orderRef: string) =>
      records.filter((r) => r.kind === kind && r.orderRef === orderRef).at(-1);
    expect(lastOf("sale", "LATE1")).toMatchObject({ status: "CANCELLED", attention: "paidAfterReversal" });
    expect(lastOf("attempt", "LATE1")).toMatchObject({
      phase: "cancelled",
      reason: "reversed",
      latePaidAmountFen: 1234,
      lateTradeNo: TRADE_NO,
    });
    expect(lastOf("sale", "LATE2")).toMatchObject({ status: "PAID", attention: "amountMismatchAfterEnd" });
    expect(lastOf("attempt", "LATE2")).toMatchObject({
      phase: "paid",
      paidAmountFen: 500,
      latePaidAmountFen: 5000,
    });

    // Read-only, while the daemon runs.
    const report = spawnSync(process.execPath, [BIN, "report", "day", "--json", "-c", configPath], {
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(report.status).toBe(0);
    const day = JSON.parse(report.stdout) as DayReport;
    const byOrder = (o: string) => day.needsAttention.find((a: AttentionItem) => a.orderRef === o);
    expect(byOrder("LATE1")).toMatchObject({
      reason: "paidAfterReversal",
      status: "CANCELLED",
      claimedAmountFen: 1234,
    });
    expect(byOrder("LATE2")).toMatchObject({
      reason: "amountMismatchAfterEnd",
      status: "PAID",
      claimedAmountFen: 5000,
    });
    const text = spawnSync(process.execPath, [BIN, "report", "day", "-c", configPath], { encoding: "utf8" });
    expect(text.stdout).toMatch(/Needs attention: 2 sale/);

    // No full payment code anywhere: daemon output, events, journal, report.
    const everything = [
      daemon.lines.join("\n"),
      JSON.stringify(events),
      journal,
      report.stdout,
      text.stdout,
    ].join("\n");
    for (const code of CODES) expect(everything).not.toContain(code);
  });
});
