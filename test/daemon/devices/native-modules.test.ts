import { describe, expect, it } from "vitest";
import {
  fixHint,
  loadNodeHid,
  loadUsb,
  type NativeImporter,
  nativeModuleReport,
} from "../../../daemon/devices/native-modules.js";
import { BridgeError, isBridgeError } from "../../../daemon/errors.js";

const LIBUSB_MISSING = "libusb-1.0.so.0: cannot open shared object file: No such file or directory";

/** An importer that fails every module the way a missing shared library does. */
const failing =
  (message: string): NativeImporter =>
  async () => {
    throw new Error(message);
  };

/** A node-hid look-alike whose native binding fails when first touched (node-hid loads it lazily). */
const lazyBindingFails: NativeImporter = async () => ({
  default: {
    HID: class {},
    HIDAsync: { open: async () => ({}) },
    devices: () => [],
    devicesAsync: async () => [],
    getHidapiVersion: () => {
      throw new Error(LIBUSB_MISSING);
    },
    setDriverType: () => {},
  },
});

const fakeModules: NativeImporter = async (specifier) =>
  specifier === "node-hid"
    ? {
        default: {
          HIDAsync: { open: async () => ({}) },
          devices: () => [],
          devicesAsync: async () => [],
          getHidapiVersion: () => "0.15.0",
        },
      }
    : { default: { usb: { getDevices: async () => [], addEventListener() {}, removeEventListener() {} } } };

describe("native module loaders with the real modules", () => {
  it("node-hid either loads with its binding or fails with PB_DEVICE_UNAVAILABLE and a reason", async () => {
    try {
      const hid = await loadNodeHid();
      expect(typeof hid.devicesAsync).toBe("function");
      expect(typeof hid.HIDAsync.open).toBe("function");
      expect(hid.getHidapiVersion()).toMatch(/^\d+\.\d+/);
    } catch (err) {
      expect(isBridgeError(err, "PB_DEVICE_UNAVAILABLE")).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(/node-hid could not load \(.+\)/);
      expect(message).toContain("(PB_DEVICE_UNAVAILABLE)");
    }
  });

  it("usb either loads or fails with PB_DEVICE_UNAVAILABLE and a reason", async () => {
    try {
      const usb = await loadUsb();
      expect(typeof usb.usb.getDevices).toBe("function");
    } catch (err) {
      expect(isBridgeError(err, "PB_DEVICE_UNAVAILABLE")).toBe(true);
      expect((err as Error).message).toMatch(/usb could not load \(.+\)/);
    }
  });

  it("caches a loaded module: the same object twice", async () => {
    const first = await loadUsb().catch(() => undefined);
    const second = await loadUsb().catch(() => undefined);
    if (first) expect(second).toBe(first);
  });

  it("reports both modules, with a non-empty reason exactly for those that did not load", async () => {
    const report = await nativeModuleReport();
    expect(report.map((r) => r.module)).toEqual(["node-hid", "usb"]);
    for (const entry of report) {
      if (entry.ok) expect(entry.reason).toBe("");
      else expect(entry.reason).toMatch(/could not load \(.+\).*PB_DEVICE_UNAVAILABLE/);
    }
    const hidLoads = await loadNodeHid().then(
      () => true,
      () => false,
    );
    expect(report[0]?.ok).toBe(hidLoads);
  });
});

describe("native module loaders with an injected importer", () => {
  it("node-hid: the import fails → BridgeError naming the module, the reason and the fix", async () => {
    const err = await loadNodeHid({ importer: failing(LIBUSB_MISSING) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as BridgeError).code).toBe("PB_DEVICE_UNAVAILABLE");
    expect((err as BridgeError).context).toEqual({ module: "node-hid" });
    expect((err as Error).message).toBe(
      `USB HID scanners unavailable: the native module node-hid could not load (${LIBUSB_MISSING}): ` +
        "install the libusb-1.0-0 package (Debian/Ubuntu: apt-get install libusb-1.0-0) (PB_DEVICE_UNAVAILABLE)",
    );
  });

  it("node-hid: a module that imports but whose binding fails on first use is caught at load", async () => {
    const err = await loadNodeHid({ importer: lazyBindingFails }).catch((e: unknown) => e);
    expect(isBridgeError(err, "PB_DEVICE_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain(LIBUSB_MISSING);
    expect((err as Error).message).toContain("install the libusb-1.0-0 package");
  });

  it("a module of the wrong shape (another major version) is refused with that reason", async () => {
    const err = await loadNodeHid({ importer: async () => ({ default: { devices: () => [] } }) }).catch(
      (e: unknown) => e,
    );
    expect(isBridgeError(err, "PB_DEVICE_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain("unexpected module shape");
  });

  it("usb: no binary for this platform → says so, naming the platform", async () => {
    const err = await loadUsb({
      importer: failing(
        "Cannot find native binding. npm has a bug related to optional dependencies (https://github.com/npm/cli/issues/4828).",
      ),
    }).catch((e: unknown) => e);
    expect(isBridgeError(err, "PB_DEVICE_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain(
      "the native module usb could not load (Cannot find native binding.",
    );
    expect((err as Error).message).toContain(`no prebuilt binary for this platform (${process.platform}-`);
  });

  it("keeps only the first line of a long loader message", async () => {
    const err = await loadNodeHid({
      importer: failing("Failed to find binding for HID_hidraw\nTried paths:\n/a/b.node\n/c/d.node"),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("(Failed to find binding for HID_hidraw)");
    expect((err as Error).message).not.toContain("Tried paths");
    expect((err as Error).message).toContain("no prebuilt binary for this platform");
  });

  it("a missing optional dependency and a Node ABI mismatch get their own fix", () => {
    expect(fixHint("node-hid", "Cannot find package 'node-hid' imported from /x.js")).toContain(
      "optional dependency node-hid is not installed",
    );
    expect(
      fixHint(
        "usb",
        "The module '/x/usb.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 108",
      ),
    ).toContain("npm rebuild usb");
    expect(fixHint("usb", "something nobody has seen")).toBe("");
  });

  it("does not cache injected results: a later good importer loads", async () => {
    await expect(loadNodeHid({ importer: failing(LIBUSB_MISSING) })).rejects.toThrow(/node-hid/);
    const hid = await loadNodeHid({ importer: fakeModules });
    expect(hid.getHidapiVersion()).toBe("0.15.0");
  });

  it("the report lists each failing module with its reason and never throws", async () => {
    const report = await nativeModuleReport({ importer: failing(LIBUSB_MISSING) });
    expect(report).toHaveLength(2);
    for (const entry of report) {
      expect(entry.ok).toBe(false);
      expect(entry.reason).toContain(`the native module ${entry.module} could not load (${LIBUSB_MISSING})`);
    }
    expect(await nativeModuleReport({ importer: fakeModules })).toEqual([
      { module: "node-hid", ok: true, reason: "" },
      { module: "usb", ok: true, reason: "" },
    ]);
  });
});
