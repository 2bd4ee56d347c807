import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DeviceClaims,
  DeviceResolver,
  describeLocation,
  findSharedDevices,
  inspect,
} from "../../../daemon/devices/device-identity.js";
import { fakeSysfs } from "./fake-sysfs.js";

describe("DeviceResolver, USB ids through sysfs", () => {
  function tree() {
    const sys = fakeSysfs();
    sys.addUsbTty("ttyUSB0", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    sys.addUsbTty("ttyUSB1", { vendorId: "0403", productId: "6001", serial: "B20QQ1" });
    sys.addUsbTty("ttyACM0", { vendorId: "0c2e", productId: "0b61" }); // no serial number
    const resolver = new DeviceResolver({ sysfsRoot: sys.root, devRoot: sys.dev, cacheMs: 0 });
    return { sys, resolver };
  }

  it("lists the ttys that sit on USB devices, skipping UARTs and virtual consoles", () => {
    const { resolver } = tree();
    expect(resolver.usbTtys()).toEqual([
      { name: "ttyACM0", vendorId: "0c2e", productId: "0b61", serialNumber: undefined },
      { name: "ttyUSB0", vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" },
      { name: "ttyUSB1", vendorId: "0403", productId: "6001", serialNumber: "B20QQ1" },
    ]);
  });

  it("resolves vendor/product/serial to /dev/<tty>, ids in any case", () => {
    const { sys, resolver } = tree();
    expect(
      resolver.resolve({ usb: { vendorId: "0403", productId: "6001", serialNumber: "B20QQ1" } }),
    ).toEqual({
      ok: true,
      path: join(sys.dev, "ttyUSB1"),
      realPath: join(sys.dev, "ttyUSB1"),
      node: "missing",
    });
    expect(resolver.resolve({ usb: { vendorId: "0C2E", productId: "0B61" } })).toMatchObject({
      ok: true,
      path: join(sys.dev, "ttyACM0"),
    });
  });

  it("says ABSENT when nothing matches and FAULT when the match is ambiguous", () => {
    const { resolver } = tree();
    expect(resolver.resolve({ usb: { vendorId: "0403", productId: "6001", serialNumber: "NOPE" } })).toEqual({
      ok: false,
      absent: true,
      error: "no serial port of usb 0403:6001 serial NOPE is plugged in",
    });
    expect(resolver.resolve({ usb: { vendorId: "0403", productId: "6001" } })).toEqual({
      ok: false,
      absent: false,
      error:
        "2 serial ports match usb 0403:6001 (ttyUSB0, ttyUSB1): add serialNumber, or name the port by its /dev/serial/by-id or by-path link",
    });
  });

  it("re-reads sysfs each time (after the cache), so a replug under a new name is found", () => {
    const { sys, resolver } = tree();
    const usb = { vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" };
    expect(resolver.resolve({ usb })).toMatchObject({ path: join(sys.dev, "ttyUSB0") });
    sys.remove("ttyUSB0");
    expect(resolver.resolve({ usb })).toMatchObject({ ok: false, absent: true });
    sys.addUsbTty("ttyUSB2", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    expect(resolver.resolve({ usb })).toMatchObject({ path: join(sys.dev, "ttyUSB2") });
  });

  it("caches one scan for cacheMs", () => {
    const sys = fakeSysfs();
    let now = 0;
    const resolver = new DeviceResolver({
      sysfsRoot: sys.root,
      devRoot: sys.dev,
      cacheMs: 100,
      now: () => now,
    });
    expect(resolver.usbTtys()).toEqual([]);
    sys.addUsbTty("ttyUSB0", { vendorId: "0403", productId: "6001" });
    now = 50;
    expect(resolver.usbTtys()).toEqual([]);
    now = 150;
    expect(resolver.usbTtys()).toHaveLength(1);
  });

  it("a missing sysfs is no USB devices at all, not a crash", () => {
    const resolver = new DeviceResolver({ sysfsRoot: "/nonexistent/sys", cacheMs: 0 });
    expect(resolver.resolve({ usb: { vendorId: "0403", productId: "6001" } })).toMatchObject({
      absent: true,
    });
  });
});

describe("inspect (paths)", () => {
  it("follows links to the node and says what it is", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-inspect-"));
    symlinkSync("/dev/null", join(dir, "link"));
    mkdirSync(join(dir, "adir"));
    writeFileSync(join(dir, "afile"), "x");
    expect(inspect(join(dir, "link"))).toEqual({
      ok: true,
      path: join(dir, "link"),
      realPath: "/dev/null",
      node: "char",
    });
    expect(inspect(join(dir, "adir"))).toMatchObject({ ok: true, node: "directory" });
    expect(inspect(join(dir, "afile"))).toMatchObject({ ok: true, node: "file" });
    expect(inspect(join(dir, "none"))).toEqual({
      ok: true,
      path: join(dir, "none"),
      realPath: join(dir, "none"),
      node: "missing",
    });
  });
});

describe("findSharedDevices and DeviceClaims", () => {
  it("reports a second spelling of a plugged-in device against the first, naming the field", () => {
    const sys = fakeSysfs();
    sys.addUsbTty("ttyUSB0", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    // The tty node exists for real here (a link to a character device), and a by-id style link to it.
    symlinkSync("/dev/null", join(sys.dev, "ttyUSB0"));
    const byId = join(sys.dev, "usb-FTDI_FT232R_USB_UART_A10KZ3QX-if00-port0");
    symlinkSync(join(sys.dev, "ttyUSB0"), byId);
    const resolver = new DeviceResolver({ sysfsRoot: sys.root, devRoot: sys.dev, cacheMs: 0 });
    const problems = findSharedDevices(
      [
        { field: "lanes[0].terminal", location: { path: byId } },
        { field: "lanes[0].scanner", location: { path: "/nonexistent/ttyUSB7" } }, // unplugged: not compared
        {
          field: "lanes[1].terminal",
          location: { usb: { vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" } },
        },
        { field: "lanes[1].display", location: { path: join(sys.dev, "ttyUSB0") } },
      ],
      resolver,
    );
    expect(problems).toEqual([
      {
        field: "lanes[1].terminal.usb",
        message: `usb 0403:6001 serial A10KZ3QX is the same device as lanes[0].terminal (${byId}, both /dev/null); each device serves one role`,
      },
      {
        field: "lanes[1].display.path",
        message: `${join(sys.dev, "ttyUSB0")} is the same device as lanes[0].terminal (${byId}, both /dev/null); each device serves one role`,
      },
    ]);
  });

  it("claims are per real path and owner", () => {
    const claims = new DeviceClaims();
    expect(claims.claim("/dev/ttyUSB0", "lane1 scanner")).toBeUndefined();
    expect(claims.claim("/dev/ttyUSB0", "lane1 scanner")).toBeUndefined(); // same owner again
    expect(claims.claim("/dev/ttyUSB0", "lane2 terminal")).toBe("lane1 scanner");
    claims.release("/dev/ttyUSB0", "lane2 terminal"); // not the holder: no effect
    expect(claims.holder("/dev/ttyUSB0")).toBe("lane1 scanner");
    claims.release("/dev/ttyUSB0", "lane1 scanner");
    expect(claims.claim("/dev/ttyUSB0", "lane2 terminal")).toBeUndefined();
  });

  it("describes locations for logs", () => {
    expect(describeLocation({ path: "/dev/ttyUSB0" })).toBe("/dev/ttyUSB0");
    expect(describeLocation({ usb: { vendorId: "0403", productId: "6001" } })).toBe("usb 0403:6001");
    expect(describeLocation({ usb: { vendorId: "0403", productId: "6001", serialNumber: "X1" } })).toBe(
      "usb 0403:6001 serial X1",
    );
  });
});
