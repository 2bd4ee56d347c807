// The device ports under a flood of the same trouble (issue 8, item 8): each kind is logged once,
// counted, and summed up in one line when its window closes or when the trouble ends; the
// counters still count every byte and frame. Manual clock: the window passes without waiting.
import { PassThrough } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "../../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { encodeEcrRequest } from "../../../protocols/ecr/messages.js";
import { encodeSsiPacket, SSI_OPCODE, SSI_SOURCE } from "../../../protocols/scanner/ssi.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { ScannerConfig, TerminalConfig } from "../../../daemon/config/config-types.js";
import { DeviceClaims } from "../../../daemon/devices/device-identity.js";
import { DisplayPort } from "../../../daemon/devices/display-port.js";
import { EvdevScannerPort } from "../../../daemon/devices/evdev-scanner-port.js";
import { ScannerPort, SsiScannerPort } from "../../../daemon/devices/scanner-port.js";
import { createTerminal } from "../../../daemon/devices/register-link.js";
import { FaultyOpener } from "../../support/faulty-binding.js";

const line = { baudRate: 9600, dataBits: 8 as const, parity: "none" as const, stopBits: 1 as const };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const warned = (msg: string) =>
    lines.filter((l) => (l.level as number) >= 40 && String(l.msg).startsWith(msg));
  return { log, lines, warned };
}

let n = 0;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function deps(faulty: FaultyOpener, clock: ManualClock, log: pino.Logger) {
  return { opener: faulty, clock, log, claims: new DeviceClaims(), retryMinMs: 10, absentRetryMaxMs: 50 };
}

function scanner(kind: "serial" | "ssi") {
  const faulty = new FaultyOpener();
  const clock = new ManualClock();
  const { log, lines, warned } = capture();
  const path = `/dev/ttyFLOOD${++n}`;
  const peer = faulty.createPort(path);
  const scans: string[] = [];
  const config: ScannerConfig = {
    path,
    ...line,
    type: kind,
    suffix: "CR",
    prefix: "",
    maxLength: 128,
    stripAim: false,
  };
  const port =
    kind === "ssi"
      ? new SsiScannerPort(config, deps(faulty, clock, log), { onScan: (t) => scans.push(t) })
      : new ScannerPort(config, deps(faulty, clock, log), { onScan: (t) => scans.push(t) });
  stops.push(() => port.stop());
  port.start();
  return { clock, peer, port, scans, lines, warned };
}

describe("serial scanner: junk", () => {
  it("one line per discard reason, the count when the window closes, every byte counted", async () => {
    const s = scanner("serial");
    await waitUntil(() => s.port.status.state === "CONNECTED" && s.peer.isOpen, "open");
    const binary = concatBytes(Uint8Array.of(0x01, 0xff, 0x80), utf8("\r"));
    const overlong = utf8(`${"X".repeat(200)}\r`);
    for (let i = 0; i < 500; i++) s.peer.emit(i % 5 === 0 ? overlong : binary);
    await waitUntil(() => s.port.status.discardedBytes === 100 * 200 + 400 * 3, "all discarded");
    expect(s.warned("scanner bytes discarded").map((l) => l.reason)).toEqual(["overflow", "binary"]);

    s.clock.advance(60_000);
    const summed = s.warned("scanner bytes discarded").filter((l) => l.repeated !== undefined);
    expect(summed.map((l) => [l.reason, l.repeated]).sort()).toEqual([
      ["binary", 399],
      ["overflow", 99],
    ]);
    expect(summed.find((l) => l.reason === "overflow")?.msg).toBe(
      "scanner bytes discarded (99 more like it in the last 60 s)",
    );

    // A quiet window: nothing more; junk after it is news again, logged at once.
    s.clock.advance(60_000);
    expect(s.warned("scanner bytes discarded")).toHaveLength(4);
    s.peer.emit(binary);
    await waitUntil(() => s.warned("scanner bytes discarded").length === 5, "logged at once");
  });

  it("what is held back is said when the port stops", async () => {
    const s = scanner("serial");
    await waitUntil(() => s.port.status.state === "CONNECTED" && s.peer.isOpen, "open");
    for (let i = 0; i < 10; i++) s.peer.emit(Uint8Array.of(0x01, 0x0d));
    await waitUntil(() => s.port.status.discardedBytes === 10, "discarded");
    await s.port.stop();
    expect(s.warned("scanner bytes discarded").map((l) => l.repeated)).toEqual([undefined, 9]);
  });
});

describe("SSI scanner: refused commands", () => {
  it("NAKs are one line; the scanner's next ACK says how many there were", async () => {
    const s = scanner("ssi");
    await waitUntil(() => s.port.status.state === "CONNECTED" && s.peer.isOpen, "open");
    const nak = encodeSsiPacket({ opcode: SSI_OPCODE.CMD_NAK, source: SSI_SOURCE.DECODER, data: [0x06] });
    for (let i = 0; i < 30; i++) s.peer.emit(nak);
    await sleep(50);
    expect(s.warned("scanner refused a command")).toHaveLength(1);
    s.peer.emit(encodeSsiPacket({ opcode: SSI_OPCODE.CMD_ACK, source: SSI_SOURCE.DECODER }));
    await waitUntil(() => s.warned("scanner refused a command").length === 2, "count on ACK");
    expect(s.warned("scanner refused a command")[1]).toMatchObject({ repeated: 29, cause: 6 });
  });
});

describe("keyboard scanner over evdev (ScannerLoop)", () => {
  /** One 64-bit `struct input_event`. */
  const record = (type: number, code: number, value: number) => {
    const b = Buffer.alloc(24);
    b.writeUInt16LE(type, 16);
    b.writeUInt16LE(code, 18);
    b.writeInt32LE(value, 20);
    return b;
  };
  const tap = (code: number) =>
    Buffer.concat([record(1, code, 1), record(0, 0, 0), record(1, code, 0), record(0, 0, 0)]);
  const KEY_1 = 2;
  const KEY_2 = 3;
  const KEY_ENTER = 28;

  it("reads without the configured prefix are discards: counted, and one line a window", async () => {
    const clock = new ManualClock();
    const { log, warned } = capture();
    const stream = new PassThrough();
    const scans: string[] = [];
    const port = new EvdevScannerPort(
      {
        path: "/dev/input/by-id/usb-x-event-kbd",
        maxLength: 128,
        recordSize: 24,
        strip: (read) => (read.startsWith("#") ? read.slice(1) : undefined),
      },
      { clock, log, openStream: () => stream },
      { onScan: (t) => scans.push(t) },
    );
    stops.push(() => port.stop());
    port.start();
    await waitUntil(() => port.status.state === "CONNECTED", "open");
    for (let i = 0; i < 50; i++) stream.write(Buffer.concat([tap(KEY_1), tap(KEY_2), tap(KEY_ENTER)]));
    await waitUntil(() => port.status.discardedBytes === 100, "discarded");
    expect(port.status.reads).toBe(0);
    expect(scans).toEqual([]);
    expect(warned("scanner input discarded")).toHaveLength(1);
    expect(warned("scanner input discarded")[0]).toMatchObject({ reason: "prefixMismatch", length: 2 });
    clock.advance(60_000);
    expect(warned("scanner input discarded").map((l) => l.repeated)).toEqual([undefined, 49]);
  });
});

describe("register line (ecr)", () => {
  function terminal() {
    const faulty = new FaultyOpener();
    const clock = new ManualClock();
    const { log, lines, warned } = capture();
    const path = `/dev/ttyFLOODREG${++n}`;
    const peer = faulty.createPort(path);
    const written: Buffer[] = [];
    peer.onWrite((b) => written.push(Buffer.from(b)));
    const requests: string[] = [];
    const config: TerminalConfig = {
      path,
      ...line,
      profile: "ecr",
      ackTimeoutMs: 500,
      maxDataLength: 1024,
      encoding: "utf8",
    };
    const port = createTerminal(
      config,
      { ...deps(faulty, clock, log), maxAmountFen: 10_000_000 },
      { onRequest: (r) => requests.push(r.type), onBadRequest: () => {} },
    );
    stops.push(() => port.stop());
    port.start();
    return { clock, peer, port, requests, lines, warned, written };
  }

  it("bad frames, noise and meaningless requests: one line each; an understood request ends them", async () => {
    const t = terminal();
    await waitUntil(() => t.port.status.state === "CONNECTED" && t.peer.isOpen, "open");
    for (let i = 0; i < 40; i++) {
      const meaningless = encodeEcrFrame(utf8(`ZZ\x1c${String(i).padStart(2, "0")}`));
      const badLrc = meaningless.slice();
      badLrc[badLrc.length - 1] = (badLrc[badLrc.length - 1] as number) ^ 0xff;
      t.peer.emit(concatBytes(utf8("noise"), badLrc, meaningless));
    }
    await waitUntil(() => t.port.status.counters.framesIn === 40, "frames");
    expect(t.port.status.counters).toMatchObject({ badFrames: 40, naksSent: 40, discardedBytes: 200 });
    expect(t.warned("bad frame from register NAKed")).toHaveLength(1);
    expect(t.warned("bytes outside a frame from register discarded")).toHaveLength(1);
    expect(t.warned("request from register rejected")).toHaveLength(1);

    // The register sends a request the bridge understands: the counts are out at once.
    t.peer.emit(encodeEcrFrame(encodeEcrRequest({ type: "echo", seq: "07" })));
    await waitUntil(() => t.requests.length === 1, "echo");
    expect(t.warned("bad frame from register NAKed").map((l) => l.repeated)).toEqual([undefined, 39]);
    expect(t.warned("bytes outside a frame from register discarded").map((l) => l.repeated)).toEqual([
      undefined,
      39,
    ]);
    expect(t.warned("request from register rejected").map((l) => l.repeated)).toEqual([undefined, 39]);
    // …and the next bad frame is news again.
    t.peer.emit(Uint8Array.of(0x02, 0x00, 0x02, 0x41, 0x42, 0x03, 0x00));
    await waitUntil(() => t.warned("bad frame from register NAKed").length === 3, "logged at once");
  });

  it("answers never acknowledged: one error, then one a window with the count", async () => {
    const t = terminal();
    await waitUntil(() => t.port.status.state === "CONNECTED" && t.peer.isOpen, "open");
    for (let i = 0; i < 5; i++)
      t.port.send({
        type: "echoReply",
        seq: String(i).padStart(2, "0"),
        brokerOnline: true,
        laneState: "IDLE",
      });
    for (let i = 0; i < 5 * 3; i++) {
      await sleep(5); // the write reaches the port
      t.clock.advance(500);
    }
    expect(t.port.status.counters.faults).toBe(5);
    const faults = () => t.lines.filter((l) => l.level === 50);
    expect(faults()).toHaveLength(1);
    expect(faults()[0]?.msg).toBe("register did not acknowledge a frame after 3 sends; frame dropped");
    t.clock.advance(60_000);
    expect(faults().map((l) => l.repeated)).toEqual([undefined, 4]);
  });
});

describe("customer display", () => {
  it("writes that fail on every reopen: one line; the next write that completes says how many", async () => {
    const faulty = new FaultyOpener();
    const clock = new ManualClock();
    const { log, warned } = capture();
    const path = `/dev/ttyFLOODDISP${++n}`;
    faulty.createPort(path);
    faulty.failWrites(path, 1_000);
    const display = new DisplayPort({ path, ...line, type: "cd5220" }, deps(faulty, clock, log));
    stops.push(() => display.stop());
    display.start();
    let reopened = 0;
    while (reopened < 10) {
      await sleep(10);
      const before = display.status.opens;
      clock.advance(100);
      await waitUntil(() => display.status.opens > before, "reopen");
      reopened++;
    }
    expect(warned("write to display failed").length).toBe(1);
    faulty.clearFaults(path);
    await sleep(10);
    clock.advance(100); // the next reopen, whose write completes
    await waitUntil(() => display.status.writes > 0, "a write completes");
    const failed = warned("write to display failed");
    expect(failed).toHaveLength(2);
    expect(failed[1]?.repeated).toBeGreaterThanOrEqual(9);
  });
});
