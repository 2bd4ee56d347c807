// The audit trail on real parts (issue 11, item 2): the built daemon as a child process, Mosquitto,
// socat ptys, the virtual register and the simulated cloud. A day's exceptions (a refund, a
// cashier's cancel before the scan and one during a payment, the reversal it causes, a journal
// alarm and its clearing, a restart) each leave one line, readable with `posbridge report audit`,
// chained and free of payment codes; refunds also reach the fleet as P/event "refund".
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditReport } from "../../daemon/report/audit-report.js";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { BIN } from "../support/daemon-process.js";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";

describe("posbridge report audit, after a day of exceptions", () => {
  let rig: BridgeRig;
  let sim: CloudSim;
  const codes: string[] = [];
  const sell = (orderRef: string, amountFen: number) => {
    const code = rig.nextCode();
    codes.push(code);
    return rig.sell(orderRef, amountFen, code);
  };
  const report = (...args: string[]) =>
    execFileSync(process.execPath, [BIN, "report", "audit", "-c", rig.configPath, ...args], {
      encoding: "utf8",
    });

  beforeAll(async () => {
    rig = await startBridgeRig({
      name: "audit",
      extraConfig:
        "journal: { checkIntervalMs: 200 }\nsale: { firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000 }",
    });
    sim = await startCloudSim({ brokerUrl: TEST_BROKER, topicPrefix: rig.prefix, manualConfirm: true });
  });
  afterAll(async () => {
    await rig?.stop();
    await sim?.stop();
  });

  it("each exception is one line, in order, with the start's version and config hash; the chain is intact", async () => {
    // A sale and its partial refund.
    expect(await sell("AUD-1", 1000)).toMatchObject({ status: "PAID" });
    const rf = rig.nextSeq();
    rig.register.request({ type: "refund", seq: rf, orderRef: "AUD-1", refundRef: "RF-1", amountFen: 400 });
    expect(await rig.register.result(rf)).toMatchObject({ status: "REFUNDED" });

    // The cashier cancels while the register waits for the scan.
    const sa = rig.nextSeq();
    rig.register.request({ type: "sale", seq: sa, orderRef: "AUD-2", amountFen: 200 });
    await rig.register.waitFor(
      (a) => a.type === "progress" && a.orderRef === "AUD-2" && a.stage === "WAIT_SCAN",
    );
    expect(await rig.ask({ type: "cancel", orderRef: "AUD-2" })).toMatchObject({ status: "CANCELLED" });
    expect(await rig.register.result(sa)).toMatchObject({ status: "CANCELLED" });

    // …and while the customer confirms on the phone (amount ending 77): the payment is reversed.
    const sb = rig.nextSeq();
    const mark = rig.register.answers.length;
    rig.register.request({ type: "sale", seq: sb, orderRef: "AUD-3", amountFen: 377 });
    await rig.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
    const code = rig.nextCode();
    codes.push(code);
    await rig.scanner.write(`${code}\r`);
    await rig.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_CUSTOMER", 5_000, mark);
    const ca = rig.nextSeq();
    rig.register.request({ type: "cancel", seq: ca, orderRef: "AUD-3" });
    expect(await rig.register.result(sb, 10_000, mark)).toMatchObject({ status: "CANCELLED" });

    // The journal file removed under the running daemon: an alarm, then its clearing.
    rmSync(join(rig.stateDir, "journal.log"));
    await expect
      .poll(() => rig.events.some((e) => e.kind === "alarm_cleared"), { timeout: 5_000 })
      .toBe(true);

    await rig.restart();
    const json = JSON.parse(report("--since", "1h", "--json")) as AuditReport;
    expect(json.chain).toEqual({ ok: true, breaks: [], startsMidway: false });
    expect(json.damagedLines).toEqual([]);
    const types = json.entries.map((e) => e.type);
    expect(types).toEqual([
      "start",
      "refundRequested",
      "refundEnded",
      "cashierCancel",
      "cashierCancel",
      "reversalSent",
      "reversalEnded",
      "alarm",
      "alarmCleared",
      "stop",
      "start",
    ]);
    const [start, requested, ended, cancel1, cancel2, sent, reversed, alarm] = json.entries;
    expect(start).toMatchObject({
      type: "start",
      store: rig.store,
      bridge: "PC1",
      lanes: 1,
      journalMissing: false,
    });
    expect((start as { configHash: string }).configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(json.entries.at(-1)).toMatchObject({ configHash: (start as { configHash: string }).configHash });
    expect(requested).toMatchObject({ orderRef: "AUD-1", refundRef: "RF-1", amountFen: 400, again: false });
    expect(ended).toMatchObject({ orderRef: "AUD-1", phase: "refunded" });
    expect(cancel1).toMatchObject({ orderRef: "AUD-2", outcome: "sale CANCELLED" });
    expect(cancel2).toMatchObject({
      orderRef: "AUD-3",
      outcome: expect.stringMatching(/^reversal of attempt \w+ requested$/),
    });
    expect(sent).toMatchObject({ orderRef: "AUD-3", why: "cashierCancel", amountFen: 377 });
    expect(reversed).toMatchObject({ orderRef: "AUD-3", phase: "cancelled", reason: "reversed" });
    expect(alarm).toMatchObject({
      laneId: "",
      detail: expect.stringMatching(/^journal gone: .*PB_JOURNAL_GONE/),
    });
    expect(json.entries.map((e) => e.seq)).toEqual(json.entries.map((_, i) => i + 1));

    // The same for people, one line each.
    const text = report("--since", "1h");
    expect(text).toMatch(/refund RF-1 of order AUD-1 requested: 4\.00 yuan/);
    expect(text).toMatch(/cashier cancelled order AUD-3 \(CA \d+\): reversal of attempt/);
    expect(text).toContain("chain: intact from the first line");
    expect(report("--since", "1m").split("\n").length).toBeLessThan(text.split("\n").length + 1);

    // The fleet heard of the refund twice: asked for, and done.
    expect(rig.events.filter((e) => e.kind === "refund").map((e) => e.detail)).toEqual([
      expect.stringMatching(/^refund RF-1 of order AUD-1 requested: 4\.00 yuan/),
      expect.stringMatching(/^refund RF-1 of order AUD-1 refunded: 4\.00 yuan/),
    ]);

    // No payment code in any audit file.
    const dir = join(rig.stateDir, "audit");
    const all = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n");
    for (const c of codes) expect(all).not.toContain(c);
  }, 60_000);

  it("a bad --since is a usage error", () => {
    let status = 0;
    try {
      report("--since", "last tuesday");
    } catch (err) {
      status = (err as { status: number }).status;
    }
    expect(status).toBe(64);
  });
});
