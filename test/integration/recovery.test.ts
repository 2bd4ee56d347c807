// Outages never take the daemon down: it starts with the broker down and answers the register
// honestly, catches up when the broker comes, and reopens a scanner whose cable was pulled.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

describe("recovery from broker and device outages", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-rec-"));
  let broker: TestBroker;
  let daemon: DaemonProcess;
  let regPty: PtyPair;
  let scanPty: PtyPair;
  let reg: SerialEnd;
  let register: VirtualRegister;
  let seq = 30;
  const nextSeq = () => String(seq++);

  beforeAll(async () => {
    broker = await createTestBroker(); // not started: the daemon boots with the broker down
    regPty = await createPtyPair(dir, "register");
    scanPty = await createPtyPair(dir, "scanner");
    const configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: REC
bridge: PC1
stateDir: ${dir}
log: { level: debug, format: json }
mqtt: { url: "${broker.url}", protocolVersion: 5, reconnectMinMs: 100, reconnectMaxMs: 1000 }
lanes:
  - id: lane1
    terminal: { path: ${regPty.daemonPath}, profile: ecr }
    scanner: { path: ${scanPty.daemonPath}, type: serial, suffix: CR }
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "terminal");
    reg = await openSerialEnd(regPty.testPath);
    register = new VirtualRegister((b) => void reg.write(b));
    reg.onData((b) => register.receive(b));
  });

  afterAll(async () => {
    await daemon?.stop();
    await reg?.close();
    await Promise.all([regPty?.close(), scanPty?.close(), broker?.stop()]);
  });

  it("runs with the broker down: EC says cloud offline and SA is refused with a clear text", async () => {
    const ec = nextSeq();
    register.request({ type: "echo", seq: ec });
    expect(await register.waitFor((a) => a.type === "echoReply" && a.seq === ec)).toMatchObject({
      brokerOnline: false,
      laneState: "IDLE",
    });
    const sa = nextSeq();
    register.request({ type: "sale", seq: sa, orderRef: "OFF-1", amountFen: 100 });
    const rs = await register.result(sa);
    expect(rs.status).toBe("REJECTED");
    expect(rs.text).toContain("离线");
    expect(daemon.proc.exitCode).toBeNull();
  });

  it("connects by itself when the broker comes up, and sells", async () => {
    await broker.start();
    await daemon.waitForLog((e) => e.msg === "broker connected", 10_000);
    const sim = await startCloudSim({ brokerUrl: broker.url, protocolVersion: 5 });
    try {
      const ec = nextSeq();
      register.request({ type: "echo", seq: ec });
      expect(await register.waitFor((a) => a.type === "echoReply" && a.seq === ec)).toMatchObject({
        brokerOnline: true,
      });
      const scanner = await openSerialEnd(scanPty.testPath);
      const sa = nextSeq();
      const mark = register.answers.length;
      register.request({ type: "sale", seq: sa, orderRef: "ON-1", amountFen: 300 });
      await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5000, mark);
      await scanner.write("134567890123456789\r");
      expect((await register.result(sa)).status).toBe("PAID");
      await scanner.close();
    } finally {
      await sim.stop();
    }
  });

  it("notices a pulled scanner, says so, and reopens it when it is back", async () => {
    await scanPty.close(); // socat gone: the pty vanishes, as a USB adapter does
    await daemon.waitForLog(
      (e) => e.msg === "device unavailable; retrying in the background" && e.device === "scanner",
      10_000,
    );
    const opened = daemon.lines.filter(
      (l) => l.includes('"device opened"') && l.includes('"scanner"'),
    ).length;
    scanPty = await createPtyPair(dir, "scanner");
    await expect
      .poll(
        () => daemon.lines.filter((l) => l.includes('"device opened"') && l.includes('"scanner"')).length,
        { timeout: 10_000 },
      )
      .toBe(opened + 1);
    expect(daemon.proc.exitCode).toBeNull();
  });
});
