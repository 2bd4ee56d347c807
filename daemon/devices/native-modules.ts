// Lazy loaders for the optional native USB modules, node-hid (HID POS and hidraw keyboard
// scanners) and usb (device lists, hot-plug). Both are optionalDependencies with prebuilt binaries;
// either may be missing or fail to load on a given PC (node-hid's Linux build links
// libusb-1.0.so.0, which minimal images lack). A failure is a BridgeError("PB_DEVICE_UNAVAILABLE")
// naming the module, the loader's own reason and the fix; it is thrown to the one port that needs
// the module and never takes the process down. Only successes are cached: once the missing
// library is installed, the next attempt loads the module without a restart.
import { BridgeError } from "../errors.js";

/** One entry of node-hid's `devices()` (hidapi's hid_device_info). */
export interface NodeHidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  release?: number;
  interface?: number;
  usagePage?: number;
  usage?: number;
}

/** node-hid's HIDAsync device: reads on its own thread, not in libuv's pool (node-hid README). */
export interface NodeHidAsyncDevice {
  on(event: "data", fn: (data: Buffer) => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  close(): Promise<void>;
}

/** The part of node-hid (3.x) the daemon uses. */
export interface NodeHidModule {
  devices(): NodeHidDeviceInfo[];
  devicesAsync(): Promise<NodeHidDeviceInfo[]>;
  HIDAsync: { open(path: string, options?: { nonExclusive?: boolean }): Promise<NodeHidAsyncDevice> };
  getHidapiVersion(): string;
}

/** One device of usb (3.x, WebUSB-style API). */
export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  serialNumber?: string;
  productName?: string;
}

/** The part of usb (3.x) the daemon uses: device list and hot-plug events. */
export interface UsbModule {
  usb: {
    getDevices(): Promise<UsbDeviceInfo[]>;
    addEventListener(type: "connect" | "disconnect", fn: (event: { device: UsbDeviceInfo }) => void): void;
    removeEventListener(type: "connect" | "disconnect", fn: (event: { device: UsbDeviceInfo }) => void): void;
  };
}

/** `import()` by another name, so tests can make a module fail to load. */
export type NativeImporter = (specifier: string) => Promise<unknown>;

export interface LoadOptions {
  /** Replaces `import()`; results obtained through it are never cached. */
  importer?: NativeImporter;
}

export type NativeModuleName = "node-hid" | "usb";

const defaultImporter: NativeImporter = (specifier) => import(specifier);

let hidCache: Promise<NodeHidModule> | undefined;
let usbCache: Promise<UsbModule> | undefined;

/** node-hid, with its native binding loaded (node-hid loads the binding lazily, on first use). */
export function loadNodeHid(options: LoadOptions = {}): Promise<NodeHidModule> {
  if (options.importer) return importNodeHid(options.importer);
  hidCache ??= importNodeHid(defaultImporter).catch((err: unknown) => {
    hidCache = undefined;
    throw err;
  });
  return hidCache;
}

/** usb, whose native binding loads when the module is imported. */
export function loadUsb(options: LoadOptions = {}): Promise<UsbModule> {
  if (options.importer) return importUsb(options.importer);
  usbCache ??= importUsb(defaultImporter).catch((err: unknown) => {
    usbCache = undefined;
    throw err;
  });
  return usbCache;
}

/** For diagnostics: each optional native module, whether it loads on this PC, and why not. */
export async function nativeModuleReport(
  options: LoadOptions = {},
): Promise<{ module: NativeModuleName; ok: boolean; reason: string }[]> {
  const check = async (module: NativeModuleName, load: () => Promise<unknown>) => {
    try {
      await load();
      return { module, ok: true, reason: "" };
    } catch (err) {
      return { module, ok: false, reason: (err as Error).message };
    }
  };
  return Promise.all([check("node-hid", () => loadNodeHid(options)), check("usb", () => loadUsb(options))]);
}

async function importNodeHid(importer: NativeImporter): Promise<NodeHidModule> {
  try {
    const mod = exportsOf(await importer("node-hid")) as Partial<NodeHidModule>;
    if (
      typeof mod.devices !== "function" ||
      typeof mod.devicesAsync !== "function" ||
      typeof mod.HIDAsync?.open !== "function" ||
      typeof mod.getHidapiVersion !== "function"
    ) {
      throw new Error("unexpected module shape: devices/devicesAsync/HIDAsync.open missing (node-hid < 3?)");
    }
    // Loads the native binding now, so a missing libusb is reported here and not on first use.
    mod.getHidapiVersion();
    return mod as NodeHidModule;
  } catch (err) {
    throw unavailable("node-hid", "USB HID scanners", err);
  }
}

async function importUsb(importer: NativeImporter): Promise<UsbModule> {
  try {
    const mod = exportsOf(await importer("usb")) as Partial<UsbModule>;
    if (typeof mod.usb?.getDevices !== "function") {
      throw new Error("unexpected module shape: usb.getDevices missing (usb < 3?)");
    }
    return mod as UsbModule;
  } catch (err) {
    throw unavailable("usb", "USB device detection", err);
  }
}

/** CommonJS modules come through `import()` as `{ default: module.exports, …named exports found }`. */
function exportsOf(mod: unknown): Record<string, unknown> {
  const ns = (mod ?? {}) as Record<string, unknown>;
  const dflt = ns.default;
  return dflt !== null && typeof dflt === "object" ? (dflt as Record<string, unknown>) : ns;
}

function unavailable(module: NativeModuleName, what: string, err: unknown): BridgeError {
  const reason = firstLine(err);
  const hint = fixHint(module, reason);
  return new BridgeError(
    "PB_DEVICE_UNAVAILABLE",
    `${what} unavailable: the native module ${module} could not load (${reason})${hint ? `: ${hint}` : ""}`,
    { cause: err, context: { module } },
  );
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split("\n", 1)[0]?.trim() || "unknown error";
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

/** The serialport binding (a dependency, not optional): the doctor checks it with the other two. */
export const SERIAL_BINDING_MODULE = "@serialport/bindings-cpp";

/** The fix for the usual load failures; "" when the reason is not one we know. */
export function fixHint(module: NativeModuleName | typeof SERIAL_BINDING_MODULE, reason: string): string {
  const platform = `${process.platform}-${process.arch}, Node ${process.versions.node}`;
  // package.json "allowScripts" denies node-hid's build script (its prebuilds load as shipped):
  // a build from source must be allowed first.
  const rebuild =
    module === "node-hid"
      ? "npm install-scripts approve node-hid && npm rebuild node-hid"
      : `npm rebuild ${module}`;
  if (/libusb-1\.0\.so/.test(reason)) {
    return "install the libusb-1.0-0 package (Debian/Ubuntu: apt-get install libusb-1.0-0)";
  }
  if (/libudev\.so/.test(reason)) return "install the libudev1 package (apt-get install libudev1)";
  if (/GLIBC_|GLIBCXX_/.test(reason)) {
    return `the prebuilt binary needs a newer C library than this system has (${platform}): upgrade the OS or build it with ${rebuild}`;
  }
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(reason)) {
    return `the binary was built for another Node.js version: run ${rebuild}`;
  }
  if (
    /Cannot find package|Cannot find module|ERR_MODULE_NOT_FOUND/.test(reason) &&
    !/\.node\b/.test(reason)
  ) {
    return module === SERIAL_BINDING_MODULE
      ? `${module} is not installed: run npm ci in the install`
      : `the optional dependency ${module} is not installed: run npm ci without --omit=optional`;
  }
  if (
    /Failed to find binding|Cannot find native binding|Failed to load native binding|No native build|\.node\b|invalid ELF header|wrong ELF class/.test(
      reason,
    )
  ) {
    return `no prebuilt binary for this platform (${platform}): build it with ${rebuild} (needs a C++ toolchain)`;
  }
  return "";
}
