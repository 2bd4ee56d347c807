// The register link's monitor events (posbridge:frame): built only while someone subscribes, and
// then the frames as hex with their meaning, ACK/NAK and resends; digit runs masked.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../../../daemon/clock.js";
import { type FrameEvent, frameChannel, maskedHex } from "../../../daemon/diagnostics/channels.js";
import { DeviceClaims } from "../../../daemon/devices/device-identity.js";
import { createTerminal } from "../../../daemon/devices/register-link.js";
import type { TerminalPort } from "../../../daemon/devices/terminal-port.js";
import { describeFrame } from "../../../protocols/ecr/describe-frame.js";
import { FaultyOpener } from "../../support/faulty-binding.js";

const SA_FRAME = Buffer.from("02001753411c30311c4f52443132331c3132333403" + "76", "hex"); // terminal-protocol.md
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const ports: TerminalPort[] = [];
afterEach(async () => {
  for (const p of ports.splice(0)) await p.stop();
  vi.restoreAllMocks();
});

let n = 0;
async function register() {
  const faulty = new FaultyOpener();
  const path = `/dev/ttyMON${++n}`;
  const peer = faulty.createPort(path);
  const requests: unknown[] = [];
  const terminal = createTerminal(
    {
      path,
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      profile: "ecr",
      ackTimeoutMs: 100,
      maxDataLength: 1024,
      encoding: "utf8",
    },
    {
      opener: faulty,
      clock: systemClock,
      log: pino({ level: "silent" }),
      claims: new DeviceClaims(),
      maxAmountFen: 10_000_000,
      retryMinMs: 10,
      settleMs: 10,
      laneId: "L1",
    },
    { onRequest: (r) => requests.push(r), onBadRequest: () => {} },
  );
  ports.push(terminal);
  terminal.start();
  await waitUntil(() => terminal.status.state === "CONNECTED" && peer.isOpen, "connected");
  return { peer, terminal, requests };
}

describe("posbridge:frame", () => {
  it("costs nothing while nobody watches: no event is built or published", async () => {
    const publish = vi.spyOn(frameChannel, "publish");
    const t = await register();
    t.peer.emit(SA_FRAME);
    await waitUntil(() => t.requests.length === 1, "request");
    t.terminal.send({ type: "progress", orderRef: "ORD123", stage: "WAIT_SCAN", text: "请出示付款码" });
    await sleep(50);
    expect(frameChannel.hasSubscribers).toBe(false);
    expect(publish).not.toHaveBeenCalled();
  });

  it("while watched: frames in and out with their meaning, ACK, and a resend after a NAK", async () => {
    const events: FrameEvent[] = [];
    const onEvent = (e: unknown) => events.push(e as FrameEvent);
    subscribe("posbridge:frame", onEvent);
    try {
      const t = await register();
      t.peer.emit(SA_FRAME);
      await waitUntil(() => t.requests.length === 1, "request");
      t.terminal.send({
        type: "progress",
        orderRef: "ORD123",
        stage: "WAIT_SCAN",
        text: "请出示付款码 ¥12.34",
      });
      await waitUntil(() => events.some((e) => e.dir === "out" && e.kind === "frame"), "frame out");
      t.peer.emit(Buffer.from([0x15])); // NAK: the same frame again
      await waitUntil(() => events.some((e) => e.resend), "resend");
      t.peer.emit(Buffer.from([0x06]));
      await waitUntil(() => events.filter((e) => e.dir === "in" && e.kind === "ack").length === 1, "ack");
      expect(events[0]).toMatchObject({
        lane: "L1",
        dir: "in",
        kind: "frame",
        meaning: "SA 01 ORD123 ¥12.34",
      });
      expect(events[0]?.hex).toBe("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
      expect(events[1]).toMatchObject({ dir: "out", kind: "ack", meaning: "ACK" });
      const out = events.filter((e) => e.dir === "out" && e.kind === "frame");
      expect(out.map((e) => [e.meaning, e.resend ?? false])).toEqual([
        ["PR 00 ORD123 WAIT_SCAN 请出示付款码 ¥12.34", false],
        ["PR 00 ORD123 WAIT_SCAN 请出示付款码 ¥12.34", true],
      ]);
      expect(events.some((e) => e.dir === "in" && e.kind === "nak")).toBe(true);
    } finally {
      unsubscribe("posbridge:frame", onEvent);
    }
  });

  it("masks digit runs of 8 or more in hex and meaning (a payment code in line noise is never shown)", () => {
    const code = "134567890123456789";
    expect(maskedHex(Buffer.from(`RS\x1c${code}`))).toBe(`52 53 1c ${".. ".repeat(14)}36 37 38 39`);
    expect(describeFrame(`QY\x1c05\x1c${code}`)).toBe("QY 05 …6789");
    expect(describeFrame("RS\x1c01\x1cORD1\x1c00\x1c1234\x1cWECHAT\x1c4200001234567890\x1c支付成功")).toBe(
      "RS 01 ORD1 00 PAID ¥12.34 WECHAT …7890 支付成功",
    );
  });
});
