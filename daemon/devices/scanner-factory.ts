// scanner config → the ScannerDevice that reads it:
//   serial   → ScannerPort (suffix-terminated reads on a serial port)
//   ssi      → SsiScannerPort (Zebra SSI packets on a serial port)
//   hidpos   → HidScannerPort kind "hidpos" (hidraw, node-hid)
//   keyboard → EvdevScannerPort (source evdev, the default) or HidScannerPort kind "keyboard"
//              (source hidraw)
// The serial line settings are ignored by the HID types. A fixed prefix and AIM ids are stripped
// the same way for every type (the serial decoder does it itself; the others through
// scanStripper in their ScannerLoop), so a lane sees the bare code whichever scanner it has, and a
// read without the prefix is a discard counted and logged the same way.
import type { ScannerConfig } from "../config/config-types.js";
import { EvdevScannerPort } from "./evdev-scanner-port.js";
import { type HidBackend, type HidMatch, HidScannerPort } from "./hid-scanner-port.js";
import type { PortDeps } from "./port-supervisor.js";
import type { ScannerDevice, ScannerHandlers } from "./scanner-device.js";
import { ScannerPort, SsiScannerPort, scanStripper } from "./scanner-port.js";

export interface ScannerFactoryDeps extends PortDeps {
  /** HID backend (tests); default node-hid, loaded on first use. */
  hid?: HidBackend | (() => Promise<HidBackend>);
  /** Evdev stream opener (tests, or a grabbing helper); default a plain read of the node. */
  openStream?: ConstructorParameters<typeof EvdevScannerPort>[1]["openStream"];
}

/** An absent HID scanner is looked for this often at most, so a replug is seen within ~1 s. */
const HID_RETRY_MAX_MS = 1_000;

export function createScannerDevice(
  config: ScannerConfig,
  deps: ScannerFactoryDeps,
  handlers: ScannerHandlers,
): ScannerDevice {
  switch (config.type) {
    case "serial":
      return new ScannerPort(config, deps, handlers);
    case "ssi":
      return new SsiScannerPort(config, deps, handlers);
    case "hidpos":
    case "keyboard": {
      // What the ScannerLoop of either port takes: retry pacing, the log window, prefix/AIM stripping.
      const loop = {
        retryMinMs: deps.retryMinMs ?? 250,
        retryMaxMs: deps.retryMaxMs ?? HID_RETRY_MAX_MS,
        ...(deps.random ? { random: deps.random } : {}),
        ...(deps.repeatWindowMs !== undefined ? { repeatWindowMs: deps.repeatWindowMs } : {}),
        ...stripping(config),
      };
      const terminator = config.suffix === "TAB" ? ("TAB" as const) : ("ENTER" as const);
      if (config.type === "keyboard" && (config.source ?? "evdev") === "evdev") {
        if (config.path === undefined) {
          // load-config refuses this; a hand-built config gets the same words.
          throw new TypeError(
            "a keyboard scanner read through evdev needs path (/dev/input/by-id/…-event-kbd)",
          );
        }
        return new EvdevScannerPort(
          { path: config.path, maxLength: config.maxLength, terminator, ...loop },
          { clock: deps.clock, log: deps.log, ...(deps.openStream ? { openStream: deps.openStream } : {}) },
          handlers,
        );
      }
      return new HidScannerPort(
        {
          kind: config.type,
          match: hidMatch(config),
          maxLength: config.maxLength,
          ...(config.type === "keyboard" ? { terminator } : {}),
          ...loop,
        },
        { clock: deps.clock, log: deps.log, ...(deps.hid ? { hid: deps.hid } : {}) },
        handlers,
      );
    }
  }
}

/** path → that hidraw node; usb → vendor/product (hex strings → numbers) and serial number. */
export function hidMatch(config: Pick<ScannerConfig, "path" | "usb">): HidMatch {
  if (config.path !== undefined) return { path: config.path };
  const usb = config.usb;
  if (!usb) return {};
  return {
    vendorId: Number.parseInt(usb.vendorId, 16),
    productId: Number.parseInt(usb.productId, 16),
    ...(usb.serialNumber !== undefined ? { serialNumber: usb.serialNumber } : {}),
  };
}

/** The prefix/AIM stripper of a HID or keyboard scanner, when its config asks for one. */
function stripping(config: ScannerConfig): { strip?: (read: string) => string | undefined } {
  const prefix = config.prefix ?? "";
  const stripAim = config.stripAim ?? false;
  if (prefix === "" && !stripAim) return {};
  return { strip: scanStripper(prefix, stripAim) };
}
