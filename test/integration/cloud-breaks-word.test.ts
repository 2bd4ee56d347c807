// A cloud that breaks its word (issue 8 item 6), on real parts: the built daemon as a child
// process, Mosquitto, socat ptys with the virtual register, and a scripted misbehaving cloud (an
// mqtt.js client answering on the bridge's `res` topic). Sale 1: the pay gets no answer, the
// bridge queries, reverses at reverseAfterMs, the cloud confirms CANCELLED, the register hears 20;
// then the cloud says PAID for that attempt (with the pay's own request id). Sale 2: paid, then
// the cloud says PAID with another amount under a request id the bridge never sent. Each must
// produce an alarm event, a JSON error log line, a journal mark, QY → 30 with the text, no second
// charge, and an entry under "needs attention" in `posbridge report day`.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOURNAL_FILE } from "../../daemon/journal/journal.js";
import type { AttentionItem, DayReport } from "../../daemon/report/day-report.js";
import type { CloudCommand, PaymentResult } from "../../protocols/cloud/cloud-messages.js";
import { ATTENTION_TEXT, TEXT } from "../../protocols/sale/sale-texts.js";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { BIN } from "../support/daemon-process.js";
import { paymentResult, type ScriptedCloud, startScriptedCloud } from "../support/scripted-cloud.js";

const CODES = ["134567890123456789", "284567890123454321"];
const TRADE_NO = "4200001234202603141234567890";

const paid = (amountFen: number, channelTradeNo = TRADE_NO): PaymentResult =>
  paymentResult({ status: "PAID", amountFen, channelTradeNo });

describe("a cloud that breaks its word is seen", () => {
  let rig: BridgeRig;
  let cloud: ScriptedCloud;
  const requests = (type: CloudCommand["type"], attemptId: string) =>
    cloud.of(attemptId).filter((s) => s.request.command.type === type);

  beforeAll(async () => {
    rig = await startBridgeRig({
      name: "word",
      logLevel: "info",
      extraConfig:
        "sale: { scanTimeoutMs: 20000, firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000, maxReversals: 3 }",
    });
    cloud = await startScriptedCloud(TEST_BROKER, rig.prefix);
  });

  afterAll(async () => {
    await rig?.stop();
    await cloud?.stop();
  });

  it("a PAID after the cloud confirmed the reversal: alarm, error log, QY 30 with the text, no second charge", async () => {
    // The pay and its queries get no answer; the cancel is answered CANCELLED.
    cloud.setPolicy((r) =>
      r.request.command.type === "cancel"
        ? paymentResult({ status: "CANCELLED", reasonCode: "REVERSED" })
        : undefined,
    );
    const rs = await rig.sell("LATE1", 1234, CODES[0], 15_000);
    expect(rs).toMatchObject({ status: "CANCELLED", text: TEXT.reversedTimeout });
    const [pay] = cloud.pays("LATE1");
    if (!pay) throw new Error("no pay request");
    const attemptId = pay.request.command.attemptId;
    expect(requests("query", attemptId).length).toBeGreaterThanOrEqual(2);
    expect(requests("cancel", attemptId).length).toBeGreaterThanOrEqual(1);

    // The cloud breaks its word: the pay request is PAID after all.
    await cloud.send(pay.topic, attemptId, paid(1234), pay.request.requestId);
    const logged = await rig.daemon.waitForLog(
      (e) => e.errCode === "PB_CLOUD_CONTRADICTION" && e.event === "latePaid",
    );
    expect(logged.level).toBe(50); // pino's error
    expect(String(logged.msg)).toContain("LATE1");
    await expect
      .poll(() => rig.events.find((e) => e.kind === "alarm" && e.detail.includes("LATE1")))
      .toBeTruthy();

    const mark = rig.register.answers.length;
    expect(await rig.ask({ type: "query", orderRef: "LATE1" })).toMatchObject({
      status: "UNKNOWN",
      text: ATTENTION_TEXT.paidAfterReversal,
    });
    // The same orderRef again is never charged again: answered 30, no scan asked, no pay request.
    expect(await rig.ask({ type: "sale", orderRef: "LATE1", amountFen: 1234 })).toMatchObject({
      status: "UNKNOWN",
    });
    expect(rig.register.answers.slice(mark).some((r) => r.answer.type === "progress")).toBe(false);
    expect(cloud.pays("LATE1")).toHaveLength(1);
  });

  it("a PAID with another amount after a paid sale ended, under a request id never sent: the same", async () => {
    cloud.setPolicy((r) => (r.request.command.type === "pay" ? paid(500) : undefined));
    expect(await rig.sell("LATE2", 500, CODES[1])).toMatchObject({ status: "PAID", amountFen: 500 });
    const [pay] = cloud.pays("LATE2");
    if (!pay) throw new Error("no pay request");
    const attemptId = pay.request.command.attemptId;

    await cloud.send(pay.topic, attemptId, paid(5000), "CLOUD-UNSOLICITED-1");
    await rig.daemon.waitForLog(
      (e) => e.msg === "response for an unknown request delivered by its attempt id",
    );
    await rig.daemon.waitForLog(
      (e) => e.errCode === "PB_CLOUD_CONTRADICTION" && String(e.msg).includes("LATE2"),
    );
    await expect
      .poll(() => rig.events.find((e) => e.kind === "alarm" && e.detail.includes("LATE2")))
      .toBeTruthy();

    expect(await rig.ask({ type: "query", orderRef: "LATE2" })).toMatchObject({
      status: "UNKNOWN",
      text: ATTENTION_TEXT.amountMismatchAfterEnd,
    });
    expect(await rig.ask({ type: "sale", orderRef: "LATE2", amountFen: 500 })).toMatchObject({
      status: "UNKNOWN",
    });
    expect(cloud.pays("LATE2")).toHaveLength(1);
  });

  it("the journal keeps both words, and `posbridge report day` lists both sales under needs attention", () => {
    const journal = readFileSync(join(rig.stateDir, JOURNAL_FILE), "utf8");
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
    const report = spawnSync(process.execPath, [BIN, "report", "day", "--json", "-c", rig.configPath], {
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
    const text = spawnSync(process.execPath, [BIN, "report", "day", "-c", rig.configPath], {
      encoding: "utf8",
    });
    expect(text.stdout).toMatch(/Needs attention: 2 sale/);

    // No full payment code anywhere: daemon output, events, journal, report.
    const everything = [
      rig.daemon.lines.join("\n"),
      JSON.stringify(rig.events),
      journal,
      report.stdout,
      text.stdout,
    ].join("\n");
    for (const code of CODES) expect(everything).not.toContain(code);
  });
});
