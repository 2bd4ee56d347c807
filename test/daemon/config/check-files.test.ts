// checkConfigFiles: two lanes naming one plugged-in device under different spellings is a
// configuration error (exit 78) naming the field; devices that are not plugged in are not judged.
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfigFiles } from "../../../daemon/config/check-files.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import { DeviceResolver } from "../../../daemon/devices/device-identity.js";
import { type BridgeError, exitCodeFor, isBridgeError } from "../../../daemon/errors.js";
import { fakeSysfs } from "../devices/fake-sysfs.js";

function config(lanes: string) {
  return loadConfig({
    path: "/etc/posbridge/posbridge.yaml",
    env: {},
    readFile: () => `store: s\nbridge: b\nmqtt: { url: "mqtt://localhost" }\nlanes:\n${lanes}`,
  });
}

function errorOf(fn: () => void): BridgeError {
  try {
    fn();
  } catch (e) {
    if (isBridgeError(e)) return e;
    throw e;
  }
  throw new Error("expected an error");
}

describe("checkConfigFiles: one device, two roles", () => {
  it("catches a by-id link and the tty it points to, and a path and USB ids of one adapter", () => {
    const sys = fakeSysfs();
    sys.addUsbTty("ttyUSB0", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    symlinkSync("/dev/null", join(sys.dev, "ttyUSB0")); // a character device, as a tty is
    const byId = join(sys.dev, "usb-FTDI_FT232R_USB_UART_A10KZ3QX-if00-port0");
    symlinkSync(join(sys.dev, "ttyUSB0"), byId);
    const c = config(`  - id: lane1
    terminal: { path: ${byId} }
    scanner: { path: /nonexistent/ttyACM0 }
  - id: lane2
    terminal: { path: ${join(sys.dev, "ttyUSB0")} }
    scanner: { path: /nonexistent/ttyACM1 }
    display: { usb: { vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" } }
`);
    const resolver = new DeviceResolver({ sysfsRoot: sys.root, devRoot: sys.dev, cacheMs: 0 });
    const err = errorOf(() => checkConfigFiles(c, "/etc/posbridge/posbridge.yaml", { resolver }));
    expect(err.code).toBe("PB_CONFIG_INVALID");
    expect(exitCodeFor(err)).toBe(78);
    expect(err.message).toContain(
      `lanes[1].terminal.path: ${join(sys.dev, "ttyUSB0")} is the same device as lanes[0].terminal`,
    );
    expect(err.message).toContain(
      "lanes[1].display.usb: usb 0403:6001 serial A10KZ3QX is the same device as lanes[0].terminal",
    );
  });

  it("passes distinct devices, and devices that are not plugged in", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-check-"));
    symlinkSync("/dev/null", join(dir, "a"));
    symlinkSync("/dev/zero", join(dir, "b"));
    const c = config(`  - id: lane1
    terminal: { path: ${join(dir, "a")} }
    scanner: { path: ${join(dir, "b")} }
    display: { usb: { vendorId: "0403", productId: "6001" } }
`);
    const resolver = new DeviceResolver({ sysfsRoot: join(dir, "no-sysfs"), cacheMs: 0 });
    expect(() => checkConfigFiles(c, "x.yaml", { resolver })).not.toThrow();
  });
});
