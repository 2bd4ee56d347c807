// Serial and SSI scanners on the fault-injecting binding: reads, garbage counted without stopping
// the scanner, stale partial reads dropped, unplug/replug, and the SSI handshake bytes.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { fromHex } from "../../../protocols/core/bytes.js";
import { encodeSsiPacket, SSI_OPCODE, SSI_SOURCE, ssiAck, ssiNak } from "../../../protocols/scanner/ssi.js";
import { systemClock } from "../../../daemon/clock.js";
import type { ScannerConfig } from "../../../daemon/config/config-types.js";
import { DeviceClaims } from "../../../daemon/devices/device-identity.js";
import type { ScannerDevice } from "../../../daemon/devices/scanner-device.js";
import { ScannerPort, SsiScannerPort, scanStripper } from "../../../daemon/devices/scanner-port.js";
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

const CODE = "134567890123456789";
let n = 0;
const started: ScannerDevice[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

function setup(kind: "serial" | "ssi", config: Partial<ScannerConfig> = {}) {
  const faulty = new FaultyOpener();
  const path = `/dev/ttySCAN${++n}`;
  const peer = faulty.createPort(path);
  const written: Buffer[] = [];
  peer.onWrite((b) => written.push(Buffer.from(b)));
  const scans: string[] = [];
  const states: string[] = [];
  const full: ScannerConfig = {
    path,
    baudRate: 9600,
    dataBits: 8,
    parity: "none",
    stopBits: 1,
    type: kind,
    suffix: "CR",
    prefix: "",
    maxLength: 128,
    stripAim: false,
    ...config,
  };
  const deps = {
    opener: faulty,
    clock: systemClock,
    log: silent,
    claims: new DeviceClaims(),
    retryMinMs: 10,
    retryMaxMs: 200,
    absentRetryMaxMs: 50,
    settleMs: 30,
  };
  const handlers = {
    onScan: (t: string) => scans.push(t),
    onState: (s: string, e: string) => states.push(`${s}${e ? `:${e}` : ""}`),
  };
  const scanner =
    kind === "ssi" ? new SsiScannerPort(full, deps, handlers) : new ScannerPort(full, deps, handlers);
  started.push(scanner);
  scanner.start();
  const ready = () => waitUntil(() => scanner.status.state === "CONNECTED" && peer.isOpen, "connected");
  return { faulty, path, peer, scanner, scans, states, written, ready };
}

describe("ScannerPort (serial)", () => {
  it("one read per suffix; garbage is counted by length and the next read still arrives", async () => {
    const s = setup("serial");
    await s.ready();
    s.peer.emit(`${CODE}\r`);
    await waitUntil(() => s.scans.length === 1, "scan");
    s.peer.emit(Uint8Array.of(0x01, 0x02, 0xff, 0x0d)); // a burst of noise ending in CR
    s.peer.emit(`${"9".repeat(200)}\r`); // far over maxLength
    s.peer.emit(`${CODE.replace("1", "2")}\r`);
    await waitUntil(() => s.scans.length === 2, "next scan");
    expect(s.scans).toEqual([CODE, CODE.replace("1", "2")]);
    expect(s.scanner.status).toMatchObject({ reads: 2, discardedBytes: 3 + 200 });
  });

  it("drops a read left without its suffix after a pause, instead of gluing it to the next", async () => {
    const s = setup("serial");
    await s.ready();
    s.peer.emit("13456");
    await sleep(600);
    s.peer.emit(`${CODE}\r`);
    await waitUntil(() => s.scans.length === 1, "scan");
    expect(s.scans).toEqual([CODE]);
    expect(s.scanner.status.discardedBytes).toBe(5);
  });

  it("stripAim removes a leading AIM id; a configured prefix is stripped", async () => {
    const s = setup("serial", { stripAim: true, prefix: "#" });
    await s.ready();
    s.peer.emit(`#]Q1${CODE}\r`);
    await waitUntil(() => s.scans.length === 1, "scan");
    expect(s.scans).toEqual([CODE]);
  });

  it("an unplugged scanner is ABSENT; replugged, it reads again", async () => {
    const s = setup("serial");
    await s.ready();
    await sleep(40);
    s.faulty.unplug(s.path);
    await waitUntil(() => s.scanner.status.state === "ABSENT", "absent");
    s.faulty.replug(s.path);
    await s.ready();
    s.peer.emit(`${CODE}\r`);
    await waitUntil(() => s.scans.length === 1, "scan after replug");
  });
});

describe("SsiScannerPort", () => {
  const decode = (text: string, symbology = 0x0b) =>
    encodeSsiPacket({
      opcode: SSI_OPCODE.DECODE_DATA,
      source: SSI_SOURCE.DECODER,
      data: [symbology, ...Buffer.from(text)],
    });

  it("enables scanning when the port opens (SCAN_ENABLE 04 E9 04 00 FF 0F)", async () => {
    const s = setup("ssi");
    await s.ready();
    await waitUntil(() => s.written.length > 0, "scan enable");
    expect(Buffer.concat(s.written).equals(Buffer.from(fromHex("04 e9 04 00 ff 0f")))).toBe(true);
  });

  it("passes decode data on and ACKs it; a bad checksum is NAKed; garbage is counted", async () => {
    const s = setup("ssi");
    await s.ready();
    await waitUntil(() => s.written.length > 0, "scan enable");
    s.written.length = 0;
    // Split across reads, as a USB adapter delivers it.
    const packet = decode(CODE);
    s.peer.emit(packet.subarray(0, 5));
    s.peer.emit(packet.subarray(5));
    await waitUntil(() => s.scans.length === 1, "scan");
    expect(s.scans).toEqual([CODE]);
    await waitUntil(() => s.written.length === 1, "ack");
    expect(Buffer.concat(s.written).equals(Buffer.from(ssiAck()))).toBe(true);

    const bad = decode(CODE);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    s.peer.emit(bad);
    await waitUntil(() => s.written.length === 2, "nak");
    expect(s.written[1]?.equals(Buffer.from(ssiNak()))).toBe(true);

    s.peer.emit(Uint8Array.of(0x01, 0x02, 0x03)); // not a packet
    s.peer.emit(decode("6901234567892"));
    await waitUntil(() => s.scans.length === 2, "scan after garbage");
    expect(s.scans[1]).toBe("6901234567892");
    expect(s.scanner.status.reads).toBe(2);
    expect(s.scanner.status.discardedBytes).toBeGreaterThanOrEqual(3);
  });

  it("a no-read (Code 39 'NR') is ACKed and is not a scan", async () => {
    const s = setup("ssi");
    await s.ready();
    await waitUntil(() => s.written.length > 0, "scan enable");
    s.written.length = 0;
    s.peer.emit(fromHex("07 F3 00 00 01 4E 52 FE 65"));
    await waitUntil(() => s.written.length === 1, "ack");
    expect(s.scans).toEqual([]);
  });

  it("sends SCAN_ENABLE again after a replug", async () => {
    const s = setup("ssi");
    await s.ready();
    await sleep(40);
    s.faulty.unplug(s.path);
    await waitUntil(() => s.scanner.status.state === "ABSENT", "absent");
    s.written.length = 0;
    s.faulty.replug(s.path);
    await s.ready();
    await waitUntil(() => s.written.length > 0, "scan enable again");
    expect(
      Buffer.concat(s.written)
        .subarray(0, 6)
        .equals(Buffer.from(fromHex("04 e9 04 00 ff 0f"))),
    ).toBe(true);
  });
});

describe("scanStripper", () => {
  it("strips a prefix and an AIM id, drops a read without the prefix", () => {
    expect(scanStripper("", true)(`]E0${CODE}`)).toBe(CODE);
    expect(scanStripper("", false)(`]E0${CODE}`)).toBe(`]E0${CODE}`);
    expect(scanStripper("AB", false)(`AB${CODE}`)).toBe(CODE);
    expect(scanStripper("AB", false)(CODE)).toBeUndefined();
    expect(scanStripper("AB", false)("AB")).toBeUndefined();
  });
});
