// No-integration mode end to end: the daemon as a child process with a config that has a display
// tap (passThrough) instead of a register link, the real Mosquitto and the simulated cloud. A
// register emulator writes a captured display stream (a Wintec CD320 dripping a byte every 15 ms)
// into the bridge's register-side pty; the display pty must receive those bytes unchanged, the
// scanner scans, the cloud is charged exactly the total, and the display pty then shows the result.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEscPosView } from "../../protocols/display/escpos-display.js";
import { decodeRequest } from "../../daemon/cloud/proto-codec.js";
import { startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { textEncoder } from "../../daemon/text/text-encoder.js";
import { runCli } from "../support/bridge-rig.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";
import { fixture } from "../protocols/display-tap/tap-support.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbtest-${run}/v1`;
const STORE = `S${run}`;
const CODE = "134567890123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("no-integration mode over ptys: register → bridge → display, scan, charge, result", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-tap-"));
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: Awaited<ReturnType<typeof startCloudSim>>;
  let register: SerialEnd;
  let scanner: SerialEnd;
  let display: SerialEnd;
  let watcher: mqtt.MqttClient;
  const pays: { amountFen: number; orderRef: string }[] = [];
  let configPath = "";

  beforeAll(async () => {
    const [r, s, d] = await Promise.all([
      createPtyPair(dir, "register"),
      createPtyPair(dir, "scanner"),
      createPtyPair(dir, "display"),
    ]);
    ptys = [r, s, d];
    watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    watcher.on("message", (_topic, payload) => {
      const decoded = decodeRequest(new Uint8Array(payload));
      if (decoded.ok && decoded.value.command.type === "pay")
        pays.push({ amountFen: decoded.value.command.amountFen, orderRef: decoded.value.command.orderRef });
    });
    await watcher.subscribeAsync(`${PREFIX}/${STORE}/PC1/req`, { qos: 1 });
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: `g${run}`,
    });
    configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${dir}
log: { level: debug, format: json }
diagnostics: { socket: ${join(dir, "control.sock")} }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
lanes:
  - id: lane1
    displayTap:
      mode: passThrough
      path: ${r.daemonPath}
      baudRate: 9600
      parity: none
      dialect: escpos
      idleMs: 80
      stableMs: 300
      display: { path: ${d.daemonPath} }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
    [register, scanner, display] = await Promise.all([
      openSerialEnd(r.testPath),
      openSerialEnd(s.testPath),
      openSerialEnd(d.testPath),
    ]);
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([register?.close(), scanner?.close(), display?.close()]);
    await sim?.stop();
    await watcher?.endAsync();
    await Promise.all(ptys.map((p) => p.close()));
  });

  it("passes the register's dripped display stream through unchanged, charges exactly its total, and shows the result after it", async () => {
    const capture = fixture("wintec-cd320-total-drip.hex");
    // Both ends of the tap are open once a byte written to the register reaches the display.
    await expect
      .poll(
        async () => {
          await register.write(Uint8Array.of(0x0b)); // ESC/POS "home": harmless on a display
          await sleep(100);
          return display.received.length > 0;
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    const start = display.received.length;

    // The register emulator: each chunk at its capture time (one byte every 15 ms).
    let t = 0;
    for (const chunk of capture.chunks) {
      await sleep(Math.max(0, chunk.atMs - t));
      t = chunk.atMs;
      await register.write(chunk.bytes);
    }
    await expect
      .poll(() => display.received.length - start, { timeout: 5000 })
      .toBeGreaterThanOrEqual(capture.bytes.length);
    expect(Buffer.from(display.received.subarray(start, start + capture.bytes.length))).toEqual(
      Buffer.from(capture.bytes),
    );

    await sleep(500); // the total stands for stableMs
    await scanner.write(`${CODE}\r`);
    await expect.poll(() => pays.length, { timeout: 10_000 }).toBe(1);
    expect(pays[0]?.amountFen).toBe(1250);
    const charged = sim.ledger.all().filter((e) => e.orderRef === pays[0]?.orderRef);
    expect(charged).toHaveLength(1);
    expect(charged[0]).toMatchObject({ status: "PAID", amountFen: 1250, charged: true });

    // The result reaches the display pty, after the register's bytes.
    const paid = encodeEscPosView(
      { type: "paid", amountFen: 1250 },
      { charset: "gb18030", encodeText: textEncoder("gb18030") },
    );
    await display.waitFor(paid, 10_000);
    const after = Buffer.from(display.received.subarray(start + capture.bytes.length));
    expect(after.indexOf(Buffer.from(paid))).toBeGreaterThanOrEqual(0);

    // The journal says where the amount came from; no payment code anywhere in it or in the log.
    const journal = readFileSync(join(dir, "journal.log"), "utf8");
    const sale = journal
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((l) => JSON.parse(l.split("\t")[1] ?? "{}"))
      .filter((rec) => rec.kind === "sale")
      .at(-1);
    expect(sale).toMatchObject({ status: "PAID", amountFen: 1250, amountSource: "displayTap", tapSeq: 1 });
    expect(sale.tapEvidence).toMatch(/^[0-9a-f]{16}$/);
    expect(journal).not.toContain(CODE);
    expect(daemon.lines.join("\n")).not.toContain(CODE);

    // The same total still on the display is spent: a second scan charges nothing.
    await scanner.write("134567890123450000\r");
    await sleep(800);
    expect(pays).toHaveLength(1);
  });

  it("posbridge status and devices show the tap: its mode, line, dialect and what the display shows", async () => {
    const status = await runCli(["status", "-c", configPath]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("(displayTap passThrough)");
    expect(status.stdout).toContain(
      "display tap passThrough: 9600 baud, parity none, dialect escpos, as configured",
    );
    expect(status.stdout).toMatch(/shows "Total:" \/ "12\.50" → total 12\.50 \(chargeable\)/);
    const devices = await runCli(["devices", "-c", configPath]);
    expect(devices.stdout).toContain("display tap passThrough: 9600 baud, parity none, dialect escpos");
  });
});
