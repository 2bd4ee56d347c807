// The daemon as a child process, with a config file, against the real Mosquitto; the register,
// scanner and display are socat pty pairs. Drives sales byte for byte from SA to RS and to the
// display bytes, then greps every line the daemon printed for the codes it was shown.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatBytes, fromHex, utf8 } from "../../protocols/core/bytes.js";
import { encodeCd5220 } from "../../protocols/display/cd5220.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { encodeEcrAnswer } from "../../protocols/ecr/messages.js";
import { decodeEvent, decodeRequest, decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbtest-${run}/v1`;
const STORE = `S${run}`;
const CODES = ["134567890123456789", "0123456789012345678"];

describe("one sale end to end over ptys and Mosquitto", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-it-"));
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: Awaited<ReturnType<typeof startCloudSim>>;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let display: SerialEnd;
  let register: VirtualRegister;
  let watcher: mqtt.MqttClient;
  const requests: {
    payload: Buffer;
    props: mqtt.IPublishPacket["properties"];
    qos: number;
    retain: boolean;
  }[] = [];

  beforeAll(async () => {
    const [r, s, d] = await Promise.all([
      createPtyPair(dir, "register"),
      createPtyPair(dir, "scanner"),
      createPtyPair(dir, "display"),
    ]);
    ptys = [r, s, d];
    watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    watcher.on("message", (_topic, payload, packet) =>
      requests.push({ payload, props: packet.properties, qos: packet.qos, retain: packet.retain }),
    );
    await watcher.subscribeAsync(`${PREFIX}/${STORE}/PC1/req`, { qos: 1 });
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
log: { level: debug, format: json }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 20000, firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000, maxReversals: 3 }
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
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
    await watcher?.endAsync();
    await Promise.all(ptys.map((p) => p.close()));
  });

  it("answers ENQ with ACK", async () => {
    const before = reg.received.length;
    await reg.write(Uint8Array.of(0x05));
    await expect.poll(() => reg.received.subarray(before).includes(0x06)).toBe(true);
  });

  it("drives the spec's SA frame to RS 00 and shows each stage on the display", async () => {
    await reg.write(fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76"));
    // The expected frames are spelled out field by field from terminal-protocol.md ("Bridge → POS"
    // and the sale timeline), not produced by the daemon's own encoder.
    await reg.waitFor(frame("PR", "00", "ORD123", "WAIT_SCAN", "请出示付款码 ¥12.34"));
    // CD5220: clear, upper line (ESC Q A … CR), lower line (ESC Q B … CR), 20 columns each.
    await display.waitFor(
      concatBytes(Uint8Array.of(0x0c, 0x1b, 0x51, 0x41), utf8("TOTAL          12.34"), Uint8Array.of(0x0d)),
    );

    await scanner.write(`${CODES[0]}\r`);
    await reg.waitFor(frame("PR", "00", "ORD123", "SUBMITTED", "支付中"));
    const rs = await register.result("01");
    expect(rs).toMatchObject({ orderRef: "ORD123", status: "PAID", amountFen: 1234, scheme: "WECHAT" });
    expect(rs.channelTradeNo).toMatch(/^4200\d{24}$/);
    await reg.waitFor(frame("RS", "01", "ORD123", "00", "1234", "WECHAT", rs.channelTradeNo, "支付成功"));
    await display.waitFor(encodeCd5220({ type: "paid", amountFen: 1234 }));
    const executed = sim.ledger.all().filter((e) => e.orderRef === "ORD123");
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({ status: "PAID", amountFen: 1234, charged: true, scheme: "WECHAT" });
  });

  it("published the pay request QoS 1, not retained, with the MQTT 5 properties of the contract", () => {
    const pay = requests
      .map((r) => ({ ...r, decoded: decodeRequest(new Uint8Array(r.payload)) }))
      .find((r) => r.decoded.ok && r.decoded.value.command.type === "pay");
    expect(pay).toBeDefined();
    if (!pay?.decoded.ok || pay.decoded.value.command.type !== "pay") return;
    const req = pay.decoded.value;
    expect(pay.qos).toBe(1);
    expect(pay.retain).toBe(false);
    expect(pay.props?.responseTopic).toBe(`${PREFIX}/${STORE}/PC1/res`);
    expect(pay.props?.contentType).toBe("application/x-protobuf");
    expect(Buffer.from(pay.props?.correlationData ?? []).toString()).toBe(req.requestId);
    expect(pay.props?.messageExpiryInterval).toBeGreaterThan(50);
    expect(pay.props?.messageExpiryInterval).toBeLessThanOrEqual(60);
    expect(req.command).toMatchObject({
      orderRef: "ORD123",
      amountFen: 1234,
      scheme: "WECHAT",
      authCode: CODES[0],
    });
    const command = req.command;
    if (command.type !== "pay") throw new Error("expected a pay command");
    expect(command.deadlineMs - command.scannedAtMs).toBe(60_000);
    expect(req.command.attemptId).toMatch(/^[A-Za-z0-9_]{6,32}$/);
  });

  it("NAKs a frame with a bad LRC and still serves the next good frame", async () => {
    const before = reg.received.length;
    await reg.write(fromHex("ff ff 02 00 05 45 43 1c 30 37 03 00")); // noise, then EC with a wrong LRC
    await expect.poll(() => reg.received.subarray(before).includes(0x15)).toBe(true);
    const mark = register.answers.length;
    await reg.write(fromHex("02 00 05 45 43 1c 30 37 03 1b"));
    const es = await register.waitFor((a) => a.type === "echoReply" && a.seq === "07", 5000, mark);
    expect(es).toEqual({ type: "echoReply", seq: "07", brokerOnline: true, laneState: "IDLE" });
  });

  it("resends an unacknowledged frame, 3 sends in all, then reports a link fault event", async () => {
    const events: string[] = [];
    const client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    client.on("message", (_t, payload) => {
      const e = decodeEvent(new Uint8Array(payload));
      if (e.ok) events.push(e.value.kind);
    });
    await client.subscribeAsync(`${PREFIX}/${STORE}/PC1/event`, { qos: 0 });
    register.autoAck = false;
    const esFrame = encodeEcrFrame(
      encodeEcrAnswer({ type: "echoReply", seq: "08", brokerOnline: true, laneState: "IDLE" }),
    );
    const before = reg.received.length;
    try {
      register.request({ type: "echo", seq: "08" });
      await expect
        .poll(() => countOccurrences(reg.received.subarray(before), esFrame), { timeout: 5000 })
        .toBe(3);
      await daemon.waitForLog(
        (e) => e.msg === "register did not acknowledge a frame after 3 sends; frame dropped",
      );
      await expect.poll(() => events.includes("link_fault")).toBe(true);
      await new Promise((r) => setTimeout(r, 700)); // no fourth send after the fault
      expect(countOccurrences(reg.received.subarray(before), esFrame)).toBe(3);
    } finally {
      register.autoAck = true;
      await client.endAsync();
    }
  });

  it("a stray STX before a frame does not block the link: the frame is served after a short silence", async () => {
    const mark = register.answers.length;
    await reg.write(fromHex("02 02 00 05 45 43 1c 30 39 03 15")); // noise STX, then EC seq 09
    const es = await register.waitFor((a) => a.type === "echoReply" && a.seq === "09", 3000, mark);
    expect(es).toMatchObject({ brokerOnline: true });
  });

  it("rejects bad amounts and bad orderRefs with RS 40 naming the problem", async () => {
    const cases: [string, string, string, RegExp][] = [
      ["11", "ORD-A", "0", /greater than 0/i],
      ["12", "ORD-A", "-5", /sign|digit/i],
      ["13", "ORD-A", "12.34", /fen|decimal/i],
      ["14", "ORD-A", "0100", /start with 0|leading zero/i],
      ["15", "ORD-A", "1234567890123", /13 digits|at most 12/i],
      ["16", "ORD A", "100", /orderRef/i],
      ["17", "A".repeat(33), "100", /orderRef/i],
    ];
    for (const [seq, ref, amount, why] of cases) {
      register.sendRaw(encodeEcrFrame(utf8(["SA", seq, ref, amount].join("\x1c"))));
      const rs = await register.result(seq, 5000);
      expect(rs.status, `SA ${ref} ${amount}`).toBe("REJECTED");
      expect(rs.text).toMatch(why);
    }
  });

  it("ignores garbage on the response topic and keeps selling (e-CNY code with a leading zero)", async () => {
    const client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    await client.publishAsync(`${PREFIX}/${STORE}/PC1/res`, Buffer.from("not a protobuf at all"), { qos: 1 });
    await daemon.waitForLog((e) => e.msg === "undecodable response from broker ignored");
    await client.endAsync();

    const mark = register.answers.length;
    register.request({ type: "sale", seq: "21", orderRef: "ORD-ECNY", amountFen: 500 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5000, mark);
    await scanner.write(`${CODES[1]}\r`);
    const rs = await register.result("21");
    expect(rs).toMatchObject({ status: "PAID", scheme: "ECNY", amountFen: 500 });
  });

  it("never prints a payment code, in full, anywhere", () => {
    const all = daemon.lines.join("\n");
    expect(daemon.lines.length).toBeGreaterThan(10);
    for (const code of CODES) expect(all).not.toContain(code);
  });

  it("publishes online=false on a clean stop and exits 0", async () => {
    const client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    const statuses: boolean[] = [];
    client.on("message", (_t, payload) => {
      const s = decodeStatus(new Uint8Array(payload));
      if (s.ok) statuses.push(s.value.online);
    });
    await client.subscribeAsync(`${PREFIX}/${STORE}/PC1/status`, { qos: 1 });
    await expect.poll(() => statuses.at(-1)).toBe(true); // retained online=true
    expect(await daemon.stop("SIGTERM")).toBe(0);
    await expect.poll(() => statuses.at(-1)).toBe(false);
    await client.endAsync();
  });
});

/** STX | LEN (BCD) | fields joined by FS | ETX | LRC, computed here independently of the daemon. */
function frame(...fields: string[]): Uint8Array {
  const data = Buffer.from(fields.join("\x1c"), "utf8");
  const len = String(data.length).padStart(4, "0");
  const body = Buffer.concat([Buffer.from(len, "hex"), data, Buffer.of(0x03)]);
  const lrc = body.reduce((x, b) => x ^ b, 0);
  return Buffer.concat([Buffer.of(0x02), body, Buffer.of(lrc)]);
}

function countOccurrences(haystack: Buffer, needle: Uint8Array): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}
