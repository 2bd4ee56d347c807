// The state directory vanishes (issue 8, item 5), with the built daemon as a child process, the
// real Mosquitto, socat ptys and the simulated cloud: `rm -rf` while it runs must stop sales with
// the storage error (appends to the unlinked file would succeed and be lost), keep QY truthful
// from memory, write the journal again and resume; and a restart with an empty journal must not
// be a way to charge an order twice (the cloud refuses it: ORDERPAID).
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { JOURNAL_FILE, readJournal } from "../../daemon/journal/journal.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";

describe("the state directory vanishes", () => {
  let rig: BridgeRig;
  let sim: CloudSim;
  /** Whose orderRefs the cloud's ledger keeps apart. */
  let scope: string;
  const sell = (orderRef: string, amountFen: number) => rig.sell(orderRef, amountFen);
  const ask = (request: Parameters<BridgeRig["ask"]>[0]) => rig.ask(request);
  const charges = (orderRef: string) => sim.ledger.ofOrder(scope, orderRef).filter((e) => e.charged);

  beforeAll(async () => {
    rig = await startBridgeRig({
      name: "vanish",
      extraConfig:
        "journal: { checkIntervalMs: 1000 }\nsale: { scanTimeoutMs: 20000, firstQueryMs: 1000, queryIntervalMs: 1000 }",
    });
    scope = `${rig.store}/PC1/lane1`;
    sim = await startCloudSim({ brokerUrl: TEST_BROKER, topicPrefix: rig.prefix, protocolVersion: 5 });
  });

  afterAll(async () => {
    await rig?.stop();
    await sim?.stop();
  });

  it("rm -rf while running: SA refused with the storage error and an alarm, QY still PAID, the journal written again, sales resume", async () => {
    expect((await sell("VAN-A", 100)).status).toBe("PAID");
    expect((await sell("VAN-B", 200)).status).toBe("PAID");

    rmSync(rig.stateDir, { recursive: true, force: true });
    const refused = await ask({ type: "sale", orderRef: "VAN-C", amountFen: 300 });
    expect(refused).toMatchObject({ status: "REJECTED", text: expect.stringContaining("交易记录文件丢失") });
    await rig.daemon.waitForLog((e) => e.errCode === "PB_JOURNAL_GONE" && e.fault === "gone");
    await expect
      .poll(() => rig.events.find((e) => e.kind === "alarm" && e.detail.includes("PB_JOURNAL_GONE")))
      .toBeTruthy();
    // What was paid is still known, from memory.
    expect(await ask({ type: "query", orderRef: "VAN-A" })).toMatchObject({ status: "PAID", amountFen: 100 });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "PAID", amountFen: 200 });

    // Nothing is recreated by hand: the daemon writes the journal again from memory.
    await rig.daemon.waitForLog(
      (e) => typeof e.msg === "string" && e.msg.startsWith("journal restored"),
      10_000,
    );
    await expect.poll(() => rig.events.some((e) => e.kind === "alarm_cleared")).toBe(true);
    const onDisk = readJournal(join(rig.stateDir, JOURNAL_FILE)).records.filter(
      (r): r is SaleRecord => r.kind === "sale",
    );
    expect(onDisk.map((s) => [s.orderRef, s.status]).sort()).toEqual([
      ["VAN-A", "PAID"],
      ["VAN-B", "PAID"],
    ]);
    expect((await sell("VAN-C", 300)).status).toBe("PAID");
  });

  it("after a restart the paid sales are known: QY PAID, and an SA for one answers PAID and charges nothing", async () => {
    await rig.restart();
    expect(await ask({ type: "query", orderRef: "VAN-A" })).toMatchObject({ status: "PAID" });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "PAID" });
    const again = await ask({ type: "sale", orderRef: "VAN-A", amountFen: 100 });
    expect(again).toMatchObject({ status: "PAID", amountFen: 100 });
    expect(sim.ledger.ofOrder(scope, "VAN-A")).toHaveLength(1);
    expect(charges("VAN-A")).toHaveLength(1);
  });

  it("the state directory lost while stopped: an SA + scan for a paid orderRef charges nothing, and the register hears UNKNOWN", async () => {
    await rig.daemon.stop();
    rmSync(rig.stateDir, { recursive: true, force: true });
    await rig.restart();
    expect(existsSync(join(rig.stateDir, JOURNAL_FILE))).toBe(true);
    // The bridge has forgotten the order; only the cloud knows it.
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "REJECTED" });

    const rs = await sell("VAN-B", 200);
    expect(rs).toMatchObject({ status: "UNKNOWN", text: expect.stringContaining("已有支付记录") });
    expect(charges("VAN-B")).toHaveLength(1);
    expect(sim.ledger.ofOrder(scope, "VAN-B").map((e) => e.reasonCode)).toEqual(["", "ORDERPAID"]);
    await rig.daemon.waitForLog((e) => typeof e.msg === "string" && e.msg.startsWith("no journal was found"));
    await expect
      .poll(() => rig.events.find((e) => e.kind === "alarm" && e.detail.includes("ORDERPAID")))
      .toBeTruthy();
    // Asked again, the bridge repeats what it now knows and starts nothing.
    expect(await ask({ type: "sale", orderRef: "VAN-B", amountFen: 200 })).toMatchObject({
      status: "UNKNOWN",
    });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "UNKNOWN" });
    expect(sim.ledger.ofOrder(scope, "VAN-B")).toHaveLength(2);
    expect(rig.daemon.proc.exitCode).toBeNull();
  });
});
