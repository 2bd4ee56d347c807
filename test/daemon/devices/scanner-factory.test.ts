// createScannerDevice: each scanner type gets its port class, with the config's identity and
// options passed through; prefix and AIM stripping work for the HID types too.
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../../daemon/clock.js";
import type { ScannerConfig } from "../../../daemon/config/config-types.js";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";
import { EvdevScannerPort } from "../../../daemon/devices/evdev-scanner-port.js";
import {
  type HidBackend,
  type HidDeviceInfo,
  type HidHandle,
  HidScannerPort,
} from "../../../daemon/devices/hid-scanner-port.js";
import type { ScannerDevice } from "../../../daemon/devices/scanner-device.js";
import { createScannerDevice, hidMatch } from "../../../daemon/devices/scanner-factory.js";
import { ScannerPort, SsiScannerPort } from "../../../daemon/devices/scanner-port.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const base: ScannerConfig = {
  path: "/dev/ttyACM0",
  baudRate: 9600,
  dataBits: 8,
  parity: "none",
  stopBits: 1,
  type: "serial",
  suffix: "CR",
  prefix: "",
  maxLength: 128,
  stripAim: false,
};
const deps = () => ({ opener: createMockSerial().opener, clock: systemClock, log: silent });
const handlers = { onScan: () => {} };

/** A HID POS report (Honeywell layout): id 2, length, AIM, data, flags. */
function hidPosReport(aim: string, data: string): Buffer {
  const r = Buffer.alloc(64);
  r[0] = 0x02;
  r[1] = data.length;
  r.write(aim, 2, "latin1");
  r.write(data, 5, "latin1");
  return r;
}

class FakeHandle extends EventEmitter implements HidHandle {
  close(): void {}
}

const started: ScannerDevice[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

describe("createScannerDevice", () => {
  it("serial → ScannerPort, ssi → SsiScannerPort", () => {
    expect(createScannerDevice(base, deps(), handlers)).toBeInstanceOf(ScannerPort);
    expect(createScannerDevice({ ...base, type: "ssi" }, deps(), handlers)).toBeInstanceOf(SsiScannerPort);
  });

  it("hidpos → HidScannerPort; keyboard → EvdevScannerPort (default source) or HidScannerPort (hidraw)", () => {
    expect(
      createScannerDevice({ ...base, type: "hidpos", path: "/dev/hidraw0" }, deps(), handlers),
    ).toBeInstanceOf(HidScannerPort);
    expect(
      createScannerDevice(
        { ...base, type: "keyboard", path: "/dev/input/by-id/usb-x-event-kbd" },
        deps(),
        handlers,
      ),
    ).toBeInstanceOf(EvdevScannerPort);
    expect(
      createScannerDevice(
        {
          ...base,
          type: "keyboard",
          path: undefined,
          usb: { vendorId: "1eab", productId: "0d10" },
          source: "hidraw",
        },
        deps(),
        handlers,
      ),
    ).toBeInstanceOf(HidScannerPort);
  });

  it("a keyboard scanner read through evdev needs a path", () => {
    expect(() =>
      createScannerDevice(
        { ...base, type: "keyboard", path: undefined, usb: { vendorId: "1eab", productId: "0d10" } },
        deps(),
        handlers,
      ),
    ).toThrow(/needs path/);
  });

  it("turns the config's identity into a HID match (hex strings → numbers)", () => {
    expect(hidMatch({ path: "/dev/hidraw3" })).toEqual({ path: "/dev/hidraw3" });
    expect(hidMatch({ usb: { vendorId: "0C2E", productId: "0b61", serialNumber: "21100B4F72" } })).toEqual({
      vendorId: 0x0c2e,
      productId: 0x0b61,
      serialNumber: "21100B4F72",
    });
  });

  it("HID POS reads reach the lane, with prefix and AIM id stripped as for serial scanners", async () => {
    const handle = new FakeHandle();
    const device: HidDeviceInfo = {
      path: "/dev/hidraw7",
      vendorId: 0x0c2e,
      productId: 0x0b61,
      serialNumber: "21100B4F72",
      usagePage: 0x8c,
      usage: 0x02,
    };
    const hid: HidBackend = { devices: () => [device], open: () => handle };
    const scans: string[] = [];
    const scanner = createScannerDevice(
      {
        ...base,
        type: "hidpos",
        path: undefined,
        usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F72" },
        prefix: "#",
        stripAim: true,
      },
      { ...deps(), hid },
      { onScan: (t) => scans.push(t) },
    );
    started.push(scanner);
    scanner.start();
    await waitUntil(() => scanner.status.state === "CONNECTED", "connected");
    handle.emit("data", hidPosReport("]Q1", "#]Q1134567890123456789"));
    handle.emit("data", hidPosReport("]E0", "6901234567892")); // no prefix: discarded, as serial does
    await waitUntil(() => scanner.status.discardedBytes === 13, "discard");
    expect(scanner.status.reads).toBe(1);
    expect(scans).toEqual(["134567890123456789"]);
  });

  it("keyboard over evdev: the configured path is the node opened", async () => {
    const opened: string[] = [];
    const stream = new PassThrough();
    const scanner = createScannerDevice(
      { ...base, type: "keyboard", path: "/dev/input/by-id/usb-scanner-event-kbd" },
      {
        ...deps(),
        openStream: (p) => {
          opened.push(p);
          return stream;
        },
      },
      handlers,
    );
    started.push(scanner);
    scanner.start();
    await waitUntil(() => opened.length === 1, "opened");
    expect(opened).toEqual(["/dev/input/by-id/usb-scanner-event-kbd"]);
  });
});
