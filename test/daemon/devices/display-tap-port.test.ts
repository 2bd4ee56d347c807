// The register's display line on mock serial ports (daemon/devices/display-tap-port.ts): the
// register's bytes drip-fed one at a time reach the real display byte for byte (passThrough), a
// tap in listen mode never writes, the bridge's views wait for the register's frame to end, the
// amount machine hears every update, and "auto" settings are found by listening.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { AmountEffect } from "../../../protocols/display-tap/amount-effects.js";
import { concatBytes } from "../../../protocols/core/bytes.js";
import { CD5220_INIT, encodeCd5220 } from "../../../protocols/display/cd5220.js";
import { encodeEscPosView } from "../../../protocols/display/escpos-display.js";
import { encodeLed8View } from "../../../protocols/display/led8.js";
import { systemClock } from "../../../daemon/clock.js";
import type { DisplayTapConfig, SerialSettings } from "../../../daemon/config/config-types.js";
import { DeviceClaims } from "../../../daemon/devices/device-identity.js";
import { DisplayTap } from "../../../daemon/devices/display-tap-port.js";
import { createMockSerial, type MockPeer } from "../../../daemon/devices/mock-serial.js";
import type { OpenPort, SerialOpener } from "../../../daemon/devices/serial-binding.js";
import { textEncoder } from "../../../daemon/text/text-encoder.js";
import { tapChannel, type TapEvent } from "../../../daemon/diagnostics/channels.js";
import { formatEvent } from "../../../daemon/diagnostics/format.js";
import { fixture } from "../../protocols/display-tap/tap-support.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const taps: DisplayTap[] = [];
afterEach(async () => {
  for (const t of taps.splice(0)) await t.stop();
});

const BASE: Omit<DisplayTapConfig, "mode"> = {
  baudRate: 9600,
  dataBits: 8,
  parity: "none",
  stopBits: 1,
  rtscts: false,
  dialect: "escpos",
  encoding: "gb18030",
  idleMs: 60,
  stableMs: 200,
  wholeNumbers: "refuse",
  detectSampleMs: 500,
};

const portDeps = (opener: SerialOpener) => ({
  opener,
  clock: systemClock,
  log: silent,
  claims: new DeviceClaims(),
  retryMinMs: 10,
  retryMaxMs: 100,
  absentRetryMaxMs: 50,
  settleMs: 20,
  reconcileMs: 0,
});

function setup(config: Partial<DisplayTapConfig> & Pick<DisplayTapConfig, "mode">) {
  const serial = createMockSerial();
  const id = ++n;
  const reg = serial.createPort(`/dev/tap-reg-${id}`);
  const disp = serial.createPort(`/dev/tap-disp-${id}`);
  const toRegister: number[] = [];
  reg.onWrite((b) => toRegister.push(...b));
  const toDisplay: number[] = [];
  disp.onWrite((b) => toDisplay.push(...b));
  const effects: AmountEffect[] = [];
  const tap = new DisplayTap(
    {
      ...BASE,
      path: reg.path,
      ...(config.mode === "listen" ? {} : { display: { path: disp.path } }),
      ...config,
    },
    portDeps(serial.opener),
    { onAmount: (e) => effects.push(e) },
  );
  taps.push(tap);
  return { tap, reg, disp, toRegister, toDisplay, effects };
}

async function opened(...peers: MockPeer[]) {
  await expect.poll(() => peers.every((p) => p.isOpen)).toBe(true);
}

/** The register drips `bytes`, one every `ms`. */
async function drip(peer: MockPeer, bytes: Uint8Array, ms = 15) {
  for (const b of bytes) {
    peer.emit(Uint8Array.of(b));
    await sleep(ms);
  }
}

const accepted = (effects: AmountEffect[]) =>
  effects.flatMap((e) => (e.type === "totalAccepted" ? [e.amountFen] : []));

describe("DisplayTap passThrough", () => {
  it("forwards a drip-fed register stream (one byte / 15 ms) to the real display byte for byte, and reads its total", async () => {
    const s = setup({ mode: "passThrough" });
    s.tap.start();
    await opened(s.reg, s.disp);
    const { bytes } = fixture("wintec-cd320-total-drip.hex");
    await drip(s.reg, bytes);
    await expect.poll(() => s.toDisplay.length).toBe(bytes.length);
    expect(Uint8Array.from(s.toDisplay)).toEqual(bytes);
    // "12.50" dripped a byte at a time is one total, accepted once it stood for stableMs.
    await expect.poll(() => accepted(s.effects)).toEqual([1250]);
    expect(s.tap.standing).toEqual({ seq: 1, amountFen: 1250 });
    expect(s.toRegister).toEqual([]);
    expect(s.tap.status.tap).toMatchObject({ bytesIn: bytes.length, bytesForwarded: bytes.length });
  });

  it("writes the bridge's view after the register's frame, never inside it", async () => {
    const s = setup({ mode: "passThrough" });
    s.tap.start();
    await opened(s.reg, s.disp);
    const { bytes } = fixture("wintec-cd320-total-drip.hex");
    const half = Math.floor(bytes.length / 2);
    const dripping = drip(s.reg, bytes);
    await expect.poll(() => s.toDisplay.length, { timeout: 5000 }).toBeGreaterThanOrEqual(half);
    s.tap.show({ type: "paid", amountFen: 1250 }); // mid-frame: must wait
    await dripping;
    const paid = encodeEscPosView(
      { type: "paid", amountFen: 1250 },
      { charset: "gb18030", encodeText: textEncoder("gb18030") },
    );
    await expect.poll(() => s.toDisplay.length).toBe(bytes.length + paid.length);
    expect(Uint8Array.from(s.toDisplay.slice(0, bytes.length))).toEqual(bytes);
    expect(Uint8Array.from(s.toDisplay.slice(bytes.length))).toEqual(paid);
    expect(s.tap.status.tap.viewsDeferred).toBe(1);
  });

  it("a view on a quiet line goes at once, in the display's command set (LED dialect → led8)", async () => {
    const s = setup({ mode: "passThrough", dialect: "led8-ascii", baudRate: 2400 });
    s.tap.start();
    await opened(s.reg, s.disp);
    s.tap.show({ type: "unknown", amountFen: 1250 });
    const expected = encodeLed8View({ type: "unknown", amountFen: 1250 });
    await expect.poll(() => s.toDisplay.length).toBe(expected.length);
    expect(Uint8Array.from(s.toDisplay)).toEqual(expected);
  });
});

describe("DisplayTap monitor", () => {
  it("publishes each decoded update on posbridge:tap only while someone watches, never more than the screen", async () => {
    const s = setup({ mode: "listen", dialect: "led8-ascii", baudRate: 2400 });
    s.tap.start();
    await opened(s.reg);
    const events: TapEvent[] = [];
    const watch = (e: unknown) => events.push(e as TapEvent);
    tapChannel.subscribe(watch);
    try {
      s.reg.emit(Uint8Array.from([0x1b, 0x73, 0x32, 0x1b, 0x51, 0x41, ...Buffer.from("12.50"), 0x0d]));
      await expect.poll(() => events.some((e) => e.amountFen === 1250)).toBe(true);
    } finally {
      tapChannel.unsubscribe(watch);
    }
    const last = events.at(-1) as TapEvent;
    expect(last).toMatchObject({
      type: "tap",
      lamp: "total",
      lines: ["12.50"],
      amountFen: 1250,
      chargeable: true,
      kind: "total",
    });
    expect(formatEvent({ ...last, at: 0, lane: "lane-1" })).toMatch(
      /reg-display \[total\] "12.50" → total ¥12\.50 \(chargeable\)$/,
    );
  });
});

describe("DisplayTap bridgeOwned", () => {
  it("re-renders the register's text on the real display (never its raw bytes) and shows the bridge's views over it", async () => {
    const s = setup({ mode: "bridgeOwned", dialect: "cd5220" });
    s.tap.start();
    await opened(s.reg, s.disp);
    const idle = concatBytes(CD5220_INIT, encodeCd5220({ type: "idle" }));
    await expect.poll(() => s.toDisplay.length).toBe(idle.length); // painted on open
    s.toDisplay.length = 0;
    const wire = Uint8Array.from([0x1b, 0x51, 0x41, ...Buffer.from("TOTAL 12.50"), 0x0d]);
    s.reg.emit(wire);
    const text = encodeCd5220({ type: "text", lines: ["TOTAL 12.50", ""] });
    await expect.poll(() => Buffer.from(s.toDisplay).indexOf(Buffer.from(text))).toBeGreaterThanOrEqual(0);
    expect(Buffer.from(s.toDisplay).indexOf(Buffer.from(wire))).toBe(-1);
    s.toDisplay.length = 0;
    s.tap.show({ type: "paid", amountFen: 1250 });
    const paid = encodeCd5220({ type: "paid", amountFen: 1250 });
    await expect.poll(() => Uint8Array.from(s.toDisplay)).toEqual(paid);
    // The register writes on: its text waits until the bridge's view is done (idle).
    s.reg.emit(Uint8Array.from([0x1b, 0x51, 0x41, ...Buffer.from("THANK YOU"), 0x0d]));
    await sleep(150);
    expect(Uint8Array.from(s.toDisplay)).toEqual(paid);
    s.tap.show({ type: "idle" });
    const thanks = encodeCd5220({ type: "text", lines: ["THANK YOU", ""] });
    await expect.poll(() => Buffer.from(s.toDisplay).indexOf(Buffer.from(thanks))).toBeGreaterThan(0);
  });
});

describe("DisplayTap listen", () => {
  it("never writes to the tapped line, whatever it is asked to show", async () => {
    const s = setup({ mode: "listen", dialect: "led8-ascii", baudRate: 2400 });
    s.tap.start();
    await opened(s.reg);
    const { bytes } = fixture("sedsy-checkout.hex");
    await drip(s.reg, bytes, 2);
    s.tap.show({ type: "paid", amountFen: 1250 });
    s.tap.scan();
    await sleep(300);
    expect(s.toRegister).toEqual([]);
    expect(s.toDisplay).toEqual([]);
    expect(s.disp.isOpen).toBe(false);
    expect(s.tap.status.tap.bytesIn).toBe(bytes.length);
  });

  it("a cash tender (收款/找零) after the total leaves nothing to charge: the scan is refused", async () => {
    const s = setup({ mode: "listen", dialect: "led8-ascii", baudRate: 2400 });
    s.tap.start();
    await opened(s.reg);
    const [total, cash, change] = fixture("cash-tender.hex").chunks;
    s.reg.emit(total?.bytes ?? new Uint8Array());
    await expect.poll(() => accepted(s.effects)).toEqual([1250]);
    s.reg.emit(cash?.bytes ?? new Uint8Array());
    s.reg.emit(change?.bytes ?? new Uint8Array());
    await expect.poll(() => s.tap.reading()?.kind).toBe("tender");
    s.tap.scan();
    expect(s.effects.some((e) => e.type === "bound")).toBe(false);
    expect(s.effects.at(-1)).toMatchObject({ type: "scanRefused", reason: "tender" });
    expect(s.tap.standing).toBeNull();
  });

  it("reconnects after an unplug and reads on (a fresh reader, the same sequence numbers)", async () => {
    const s = setup({ mode: "listen", dialect: "led8-ascii", baudRate: 2400 });
    s.tap.start();
    await opened(s.reg);
    const total = fixture("clear-after-total.hex").bytes.slice(0, -1); // without the clear
    s.reg.emit(total);
    await expect.poll(() => accepted(s.effects)).toEqual([1250]);
    await s.reg.unplug();
    await expect.poll(() => s.tap.status.state).not.toBe("CONNECTED");
    s.reg.replug();
    await opened(s.reg);
    s.reg.emit(Uint8Array.from([0x1b, 0x73, 0x32, 0x1b, 0x51, 0x41, ...Buffer.from("15.00"), 0x0d]));
    await expect.poll(() => accepted(s.effects)).toEqual([1250, 1500]);
    expect(s.tap.standing).toEqual({ seq: 2, amountFen: 1500 });
  });
});

/**
 * A line that reads right only at the register's setting: at any other baud rate or parity the
 * bytes arrive garbled, as on a real UART (framing errors: 00 and FF, bits shifted).
 */
function garblingLine(right: { baudRate: number; parity: string }) {
  const open: { settings: SerialSettings; data: ((b: Uint8Array) => void)[] }[] = [];
  const opener: SerialOpener = {
    async open(settings) {
      const entry = { settings, data: [] as ((b: Uint8Array) => void)[] };
      open.push(entry);
      const closers: ((err?: Error) => void)[] = [];
      const port: OpenPort = {
        path: settings.path,
        write: async () => {},
        close: async () => {
          open.splice(open.indexOf(entry), 1);
          for (const fn of closers.splice(0)) fn();
        },
        onData: (fn) => entry.data.push(fn),
        onClose: (fn) => closers.push(fn),
      };
      return port;
    },
  };
  const emit = (bytes: Uint8Array) => {
    for (const { settings, data } of open) {
      const ok = settings.baudRate === right.baudRate && settings.parity === right.parity;
      const seen = ok
        ? bytes
        : Uint8Array.from(bytes, (b, i) => ((b << 1) ^ (i % 3 === 0 ? 0xff : 0x80)) & 0xff);
      for (const fn of data) fn(seen);
    }
  };
  return { opener, emit };
}

describe("DisplayTap line settings", () => {
  it("opens both ports of a passThrough tap at the register's settings, RTS/CTS where configured", async () => {
    const opened: SerialSettings[] = [];
    const opener: SerialOpener = {
      async open(settings) {
        opened.push(settings);
        return {
          path: settings.path,
          write: async () => {},
          close: async () => {},
          onData: () => {},
          onClose: () => {},
        };
      },
    };
    const tap = new DisplayTap(
      {
        ...BASE,
        mode: "passThrough",
        path: "/dev/tap-rts-reg",
        baudRate: 2400,
        parity: "even",
        rtscts: true,
        dialect: "led8-binary",
        display: { path: "/dev/tap-rts-disp" },
      },
      portDeps(opener),
      { onAmount: () => {} },
    );
    taps.push(tap);
    tap.start();
    await expect.poll(() => opened.length).toBe(2);
    for (const path of ["/dev/tap-rts-reg", "/dev/tap-rts-disp"])
      expect(opened.find((o) => o.path === path)).toMatchObject({
        baudRate: 2400,
        parity: "even",
        rtscts: true,
      });
  });
});

describe("DisplayTap auto-detection (listen)", () => {
  it("cycles the settings, locks the one that decodes, then reads the line at it", async () => {
    const line = garblingLine({ baudRate: 4800, parity: "none" });
    const effects: AmountEffect[] = [];
    const tap = new DisplayTap(
      { ...BASE, mode: "listen", path: "/dev/tap-auto", baudRate: "auto", parity: "none", dialect: "auto" },
      portDeps(line.opener),
      { onAmount: (e) => effects.push(e) },
    );
    taps.push(tap);
    expect(tap.detection.state).toBe("detecting");
    tap.start();
    // The register rings up sales all along.
    const sale = fixture("sedsy-checkout.hex").bytes;
    const ringing = setInterval(() => line.emit(sale), 100);
    try {
      await expect.poll(() => tap.detection.state, { timeout: 8000 }).toBe("locked");
    } finally {
      clearInterval(ringing);
    }
    expect(tap.detection).toMatchObject({ baudRate: 4800, parity: "none", dialect: "led8-ascii", tried: 4 });
    line.emit(Uint8Array.from([0x1b, 0x73, 0x32, 0x1b, 0x51, 0x41, ...Buffer.from("15.00"), 0x0d]));
    await expect.poll(() => accepted(effects)).toContain(1500);
    expect(tap.snapshot().detection.state).toBe("locked");
  });
});
