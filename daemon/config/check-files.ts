// Files the config names must be readable before the daemon starts anything: a TLS file that
// cannot be read, does not parse, or a key that is not the certificate's, is a configuration error
// (exit 78, the field named: check-tls.ts), found by `check-config` too, not a failure discovered
// after the lanes have opened their ports. Likewise two lanes naming
// one plugged-in device under two spellings (a by-id link and /dev/ttyUSB0, a path and USB ids).
import { roleDevice } from "../diagnostics/lane-devices.js";
import {
  type DeviceResolver,
  defaultResolver,
  findSharedDevices,
  type NamedLocation,
} from "../devices/device-identity.js";
import { BridgeError } from "../errors.js";
import { checkTls, clearTextWarnings } from "./check-tls.js";
import type { Config } from "./config-types.js";

export interface CheckFilesOptions {
  /** Resolves device paths and USB ids (tests inject a fake sysfs). */
  resolver?: DeviceResolver;
  /** Wall clock for certificate dates; default now. */
  nowMs?: number;
}

/** What is worth a warning at start (check-config prints it, run logs it) but does not stop the daemon. */
export interface ConfigWarning {
  path: string;
  message: string;
}

export function checkConfigFiles(
  config: Config,
  source: string,
  options: CheckFilesOptions = {},
): { warnings: ConfigWarning[] } {
  const tls = checkTls(config.mqtt.tls, options.nowMs ?? Date.now());
  const problems: { path: string; message: string }[] = [...tls.problems];
  const devices: NamedLocation[] = config.lanes.flatMap((lane, i) =>
    (["terminal", "scanner", "display"] as const).flatMap((kind) => {
      const found = roleDevice(lane, i, kind);
      const d = found?.location;
      return found && d ? [{ field: found.field, location: { path: d.path, usb: d.usb } }] : [];
    }),
  );
  for (const p of findSharedDevices(
    usbIdsOfSerialOnly(devices, config),
    options.resolver ?? defaultResolver,
  )) {
    problems.push({ path: p.field, message: p.message });
  }
  if (problems.length === 0) return { warnings: [...tls.warnings, ...clearTextWarnings(config.mqtt)] };
  const lines = problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n");
  throw new BridgeError(
    "PB_CONFIG_INVALID",
    `invalid configuration in ${source} (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${lines}\n`,
    {
      context: { problems },
    },
  );
}

/** USB ids of HID scanners name a HID device, not a tty: only their paths can be compared here. */
function usbIdsOfSerialOnly(devices: NamedLocation[], config: Config): NamedLocation[] {
  return devices.filter((d) => {
    const m = /^lanes\[(\d+)\]\.scanner$/.exec(d.field);
    if (!m || d.location.usb === undefined) return true;
    const type = config.lanes[Number(m[1])]?.scanner.type;
    return type === "serial" || type === "ssi";
  });
}
