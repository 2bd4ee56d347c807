// The state directory vanishes (issue 8, item 5), with the built daemon as a child process, the
// real Mosquitto, socat ptys and the simulated cloud: `rm -rf` while it runs must stop sales with
// the storage error (appends to the unlinked file would succeed and be lost), keep QY truthful
// from memory, write the journal again and resume; and a restart with an empty journal must not
// be a way to charge an order twice (the cloud refuses it: ORDERPAID).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvent } from "../../daemon/cloud/proto-codec.js";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { JOURNAL_FILE, readJournal } from "../../daemon/journal/journal.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbtest-${run}/v1`;
const STORE = `S${run}`;
const SCOPE = `${STORE}/PC1/lane1`; // whose orderRefs the cloud's ledger keeps apart

describe("the state directory vanishes", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-vanish-"));
  const stateDir = join(dir, "state");
  const configPath = join(dir, "posbridge.yaml");
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: CloudSim;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let register: VirtualRegister;
  let watcher: mqtt.MqttClient;
  const events: { kind: string; detail: string }[] = [];
  let seq = 10;
  let code = 1000;
  const nextSeq = () => String(seq++);
  const nextCode = () => `13456789012345${code++}`; // a WeChat code, new each time

  async function startBridge(): Promise<void> {
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "terminal");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
  }

  async function sell(orderRef: string, amountFen: number) {
    const s = nextSeq();
    const mark = register.answers.length;
    register.request({ type: "sale", seq: s, orderRef, amountFen });
    await register.waitFor(
      (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
      5000,
      mark,
    );
    await scanner.write(`${nextCode()}\r`);
    return register.result(s, 10_000, mark);
  }

  async function ask(
    request: { type: "sale"; orderRef: string; amountFen: number } | { type: "query"; orderRef: string },
  ) {
    const s = nextSeq();
    const mark = register.answers.length;
    register.request({ ...request, seq: s });
    return register.result(s, 10_000, mark);
  }

  const charges = (orderRef: string) => sim.ledger.ofOrder(SCOPE, orderRef).filter((e) => e.charged);

  beforeAll(async () => {
    const [r, s] = await Promise.all([createPtyPair(dir, "register"), createPtyPair(dir, "scanner")]);
    ptys = [r, s];
    watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    watcher.on("message", (_topic, payload) => {
      const decoded = decodeEvent(new Uint8Array(payload));
      if (decoded.ok) events.push({ kind: decoded.value.kind, detail: decoded.value.detail });
    });
    await watcher.subscribeAsync(`${PREFIX}/${STORE}/PC1/event`, { qos: 0 });
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: `g${run}`,
    });
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${stateDir}
log: { level: debug, format: json }
journal: { checkIntervalMs: 1000 }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 20000, firstQueryMs: 1000, queryIntervalMs: 1000 }
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
`,
    );
    await startBridge();
    [reg, scanner] = await Promise.all([openSerialEnd(r.testPath), openSerialEnd(s.testPath)]);
    register = new VirtualRegister((bytes) => void reg.write(bytes));
    reg.onData((bytes) => register.receive(bytes));
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([reg?.close(), scanner?.close()]);
    await Promise.all([...ptys.map((p) => p.close()), sim?.stop(), watcher?.endAsync()]);
  });

  it("rm -rf while running: SA refused with the storage error and an alarm, QY still PAID, the journal written again, sales resume", async () => {
    expect((await sell("VAN-A", 100)).status).toBe("PAID");
    expect((await sell("VAN-B", 200)).status).toBe("PAID");

    rmSync(stateDir, { recursive: true, force: true });
    const refused = await ask({ type: "sale", orderRef: "VAN-C", amountFen: 300 });
    expect(refused).toMatchObject({ status: "REJECTED", text: expect.stringContaining("交易记录文件丢失") });
    await daemon.waitForLog((e) => e.errCode === "PB_JOURNAL_GONE" && e.fault === "gone");
    await expect
      .poll(() => events.find((e) => e.kind === "alarm" && e.detail.includes("PB_JOURNAL_GONE")))
      .toBeTruthy();
    // What was paid is still known, from memory.
    expect(await ask({ type: "query", orderRef: "VAN-A" })).toMatchObject({ status: "PAID", amountFen: 100 });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "PAID", amountFen: 200 });

    // Nothing is recreated by hand: the daemon writes the journal again from memory.
    await daemon.waitForLog((e) => typeof e.msg === "string" && e.msg.startsWith("journal restored"), 10_000);
    await expect.poll(() => events.some((e) => e.kind === "alarm_cleared")).toBe(true);
    const onDisk = readJournal(join(stateDir, JOURNAL_FILE)).records.filter(
      (r): r is SaleRecord => r.kind === "sale",
    );
    expect(onDisk.map((s) => [s.orderRef, s.status]).sort()).toEqual([
      ["VAN-A", "PAID"],
      ["VAN-B", "PAID"],
    ]);
    expect((await sell("VAN-C", 300)).status).toBe("PAID");
  });

  it("after a restart the paid sales are known: QY PAID, and an SA for one answers PAID and charges nothing", async () => {
    await daemon.stop();
    await startBridge();
    expect(await ask({ type: "query", orderRef: "VAN-A" })).toMatchObject({ status: "PAID" });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "PAID" });
    const again = await ask({ type: "sale", orderRef: "VAN-A", amountFen: 100 });
    expect(again).toMatchObject({ status: "PAID", amountFen: 100 });
    expect(sim.ledger.ofOrder(SCOPE, "VAN-A")).toHaveLength(1);
    expect(charges("VAN-A")).toHaveLength(1);
  });

  it("the state directory lost while stopped: an SA + scan for a paid orderRef charges nothing, and the register hears UNKNOWN", async () => {
    await daemon.stop();
    rmSync(stateDir, { recursive: true, force: true });
    await startBridge();
    expect(existsSync(join(stateDir, JOURNAL_FILE))).toBe(true);
    // The bridge has forgotten the order; only the cloud knows it.
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "REJECTED" });

    const rs = await sell("VAN-B", 200);
    expect(rs).toMatchObject({ status: "UNKNOWN", text: expect.stringContaining("已有支付记录") });
    expect(charges("VAN-B")).toHaveLength(1);
    expect(sim.ledger.ofOrder(SCOPE, "VAN-B").map((e) => e.reasonCode)).toEqual(["", "ORDERPAID"]);
    await daemon.waitForLog((e) => typeof e.msg === "string" && e.msg.startsWith("no journal was found"));
    await expect
      .poll(() => events.find((e) => e.kind === "alarm" && e.detail.includes("ORDERPAID")))
      .toBeTruthy();
    // Asked again, the bridge repeats what it now knows and starts nothing.
    expect(await ask({ type: "sale", orderRef: "VAN-B", amountFen: 200 })).toMatchObject({
      status: "UNKNOWN",
    });
    expect(await ask({ type: "query", orderRef: "VAN-B" })).toMatchObject({ status: "UNKNOWN" });
    expect(sim.ledger.ofOrder(SCOPE, "VAN-B")).toHaveLength(2);
    expect(daemon.proc.exitCode).toBeNull();
  });
});
