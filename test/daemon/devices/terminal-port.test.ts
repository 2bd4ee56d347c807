// The register port: the `line` profile end to end through a (fault-injecting) serial port, and
// the `ecr` profile still answering ENQ and surviving an unplug.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { PosRequest } from "../../../protocols/pos/pos-messages.js";
import { systemClock } from "../../../daemon/clock.js";
import type { TerminalConfig } from "../../../daemon/config/config-types.js";
import { DeviceClaims } from "../../../daemon/devices/device-identity.js";
import { createTerminal } from "../../../daemon/devices/register-link.js";
import type { TerminalPort } from "../../../daemon/devices/terminal-port.js";
import { FaultyOpener } from "../../support/faulty-binding.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let n = 0;
const ports: TerminalPort[] = [];
afterEach(async () => {
  for (const p of ports.splice(0)) await p.stop();
});

function setup(config: Partial<TerminalConfig> = {}) {
  const faulty = new FaultyOpener();
  const path = `/dev/ttyREG${++n}`;
  const peer = faulty.createPort(path);
  let received = Buffer.alloc(0);
  peer.onWrite((b) => {
    received = Buffer.concat([received, Buffer.from(b)]);
  });
  const requests: PosRequest[] = [];
  const bad: { seq: string; orderRef: string; message: string }[] = [];
  const terminal = createTerminal(
    {
      path,
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      profile: "line",
      ackTimeoutMs: 500,
      maxDataLength: 1024,
      encoding: "utf8",
      ...config,
    },
    {
      opener: faulty,
      clock: systemClock,
      log: silent,
      claims: new DeviceClaims(),
      maxAmountFen: 10_000_000,
      retryMinMs: 10,
      absentRetryMaxMs: 50,
      settleMs: 30,
    },
    {
      onRequest: (r) => requests.push(r),
      onBadRequest: (seq, orderRef, message) => bad.push({ seq, orderRef, message }),
    },
  );
  ports.push(terminal);
  terminal.start();
  return {
    faulty,
    path,
    peer,
    terminal,
    requests,
    bad,
    text: () => received.toString("utf8"),
    bytes: () => received,
    ready: () => waitUntil(() => terminal.status.state === "CONNECTED" && peer.isOpen, "connected"),
  };
}

describe("TerminalPort, line profile", () => {
  it("decodes one request per line, with CRLF or LF, split across reads", async () => {
    const t = setup();
    await t.ready();
    t.peer.emit("SALE ORD1 12");
    t.peer.emit("34\r\nQUERY ORD1\nECHO\r\n");
    await waitUntil(() => t.requests.length === 3, "requests");
    expect(t.requests).toEqual([
      { type: "sale", seq: "00", orderRef: "ORD1", amountFen: 1234 },
      { type: "query", seq: "00", orderRef: "ORD1" },
      { type: "echo", seq: "00" },
    ]);
    expect(t.terminal.status.counters.framesIn).toBe(3);
  });

  it("writes answers as lines, with no ACK/NAK link layer and no resends", async () => {
    const t = setup();
    await t.ready();
    t.terminal.send({ type: "progress", orderRef: "ORD1", stage: "WAIT_SCAN", text: "请出示付款码 ¥12.34" });
    t.terminal.send({
      type: "result",
      seq: "01",
      orderRef: "ORD1",
      status: "PAID",
      amountFen: 1234,
      scheme: "WECHAT",
      channelTradeNo: "4200000001",
      text: "支付成功",
    });
    t.terminal.send({ type: "echoReply", seq: "07", brokerOnline: true, laneState: "IDLE" });
    await waitUntil(() => t.text().split("\r\n").length === 4, "three lines");
    expect(t.text()).toBe(
      "PROGRESS ORD1 WAIT_SCAN 请出示付款码 ¥12.34\r\n" +
        "RESULT ORD1 PAID 1234 WECHAT 4200000001 支付成功\r\n" +
        "ECHO 1 IDLE\r\n",
    );
    await sleep(700); // longer than ackTimeoutMs: nothing is sent again
    expect(t.text().split("\r\n")).toHaveLength(4);
    expect(t.bytes().includes(0x02)).toBe(false); // no STX framing
  });

  it("answers a bad line and an overlong line through onBadRequest (REJECTED), and keeps serving", async () => {
    const t = setup();
    await t.ready();
    t.peer.emit(`SALE ORD2 0\r\n${"X".repeat(300)}\r\nBOGUS\r\nSALE ORD3 100\r\n`);
    await waitUntil(() => t.bad.length === 3 && t.requests.length === 1, "answers");
    expect(t.bad[0]).toMatchObject({ seq: "00", orderRef: "ORD2" });
    expect(t.bad[0]?.message).toMatch(/greater than 0/i);
    expect(t.bad[1]).toEqual({ seq: "00", orderRef: "", message: "line is longer than 256 bytes" });
    expect(t.bad[2]).toMatchObject({ orderRef: "", message: expect.stringMatching(/unknown command/) });
    expect(t.requests).toEqual([{ type: "sale", seq: "00", orderRef: "ORD3", amountFen: 100 }]);
    expect(t.terminal.status.counters.discardedBytes).toBe(300);
  });

  it("gb18030 encoding applies to the answer lines", async () => {
    const t = setup({ encoding: "gb18030" });
    await t.ready();
    t.terminal.send({ type: "progress", orderRef: "ORD1", stage: "SUBMITTED", text: "支付中" });
    await waitUntil(() => t.bytes().length > 0, "line");
    expect(t.bytes().subarray(0, 24).toString("latin1")).toBe("PROGRESS ORD1 SUBMITTED ");
    expect(t.bytes().subarray(-8).equals(Buffer.from("d6a7b8b6d6d00d0a", "hex"))).toBe(true);
  });

  it("a line half-received before an unplug is not glued onto the first line after the replug", async () => {
    const t = setup();
    await t.ready();
    await sleep(40);
    t.peer.emit("SALE ORD9 1");
    await sleep(20);
    t.faulty.unplug(t.path);
    await waitUntil(() => t.terminal.status.state === "ABSENT", "absent");
    t.faulty.replug(t.path);
    await t.ready();
    t.peer.emit("QUERY ORD9\r\n");
    await waitUntil(() => t.requests.length === 1, "request");
    expect(t.requests).toEqual([{ type: "query", seq: "00", orderRef: "ORD9" }]);
    expect(t.bad).toEqual([]);
  });
});

describe("TerminalPort, ecr profile", () => {
  it("answers ENQ with ACK, and again after an unplug and replug", async () => {
    const t = setup({ profile: "ecr" });
    await t.ready();
    t.peer.emit(Uint8Array.of(0x05));
    await waitUntil(() => t.bytes().includes(0x06), "ACK");
    await sleep(40);
    t.faulty.unplug(t.path);
    await waitUntil(() => t.terminal.status.state === "ABSENT", "absent");
    t.faulty.replug(t.path);
    await t.ready();
    const before = t.bytes().length;
    t.peer.emit(Uint8Array.of(0x05));
    await waitUntil(() => t.bytes().subarray(before).includes(0x06), "ACK after replug");
  });
});
