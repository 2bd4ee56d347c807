// The native modules, loaded the way the daemon loads them: the serialport binding (every
// serial device), node-hid (HID POS scanners and keyboard scanners read through hidraw) and usb
// (hot-plug events). A failure is reported with the loader's own reason and the fix
// (native-modules.ts#fixHint: libusb-1.0-0 for node-hid, a rebuild for another Node.js …); how
// bad it is depends on whether this config needs the module.
import {
  fixHint,
  loadNodeHid,
  loadUsb,
  type NativeImporter,
  SERIAL_BINDING_MODULE,
} from "../../devices/native-modules.js";
import { type Check, type DoctorContext, type Finding, finding } from "./check.js";

const SUBJECT = "native modules";

export const nativeModulesCheck: Check = {
  id: "native-modules",
  title: "the native modules load",
  async run(ctx) {
    const devices = ctx.config ? ctx.laneDevices() : [];
    const needsSerial = !ctx.config || devices.some((d) => d.device.kind === "serial");
    const needsHid = devices.some((d) => d.device.kind === "hidraw");
    const out: Finding[] = [];

    const serial = await tryLoad(() => loadSerialBinding(ctx.importer));
    if (serial.ok) out.push(finding(this.id, "ok", SUBJECT, `${SERIAL_BINDING_MODULE} (serial ports) loads`));
    else
      out.push(
        finding(
          this.id,
          needsSerial ? "error" : "ok",
          SUBJECT,
          `${SERIAL_BINDING_MODULE} (serial ports) does not load${needsSerial ? "" : " (no serial device configured)"}`,
          {
            code: "PB_DEVICE_UNAVAILABLE",
            detail: serial.reason,
            fix: needsSerial ? fixOr(SERIAL_BINDING_MODULE, serial.reason) : "",
          },
        ),
      );

    const hid = await tryLoad(async () => (await loadNodeHid(opts(ctx))).getHidapiVersion());
    if (hid.ok)
      out.push(finding(this.id, "ok", SUBJECT, `node-hid (HID scanners) loads, hidapi ${hid.value}`));
    else
      out.push(
        finding(
          this.id,
          needsHid ? "error" : "ok",
          SUBJECT,
          `node-hid (HID scanners) does not load${needsHid ? "" : " (no HID scanner configured)"}`,
          {
            code: "PB_DEVICE_UNAVAILABLE",
            detail: hid.reason,
            fix: needsHid ? fixOr("node-hid", hid.reason) : "",
          },
        ),
      );

    const usb = await tryLoad(() => loadUsb(opts(ctx)));
    if (usb.ok) out.push(finding(this.id, "ok", SUBJECT, "usb (hot-plug events) loads"));
    else
      out.push(
        finding(
          this.id,
          "warn",
          SUBJECT,
          "usb (hot-plug events) does not load: a replugged device is found by the once-a-second retry instead",
          {
            code: "PB_DEVICE_UNAVAILABLE",
            detail: usb.reason,
            fix: fixOr("usb", usb.reason),
          },
        ),
      );
    return out;
  },
};

function opts(ctx: DoctorContext) {
  return ctx.importer ? { importer: ctx.importer } : {};
}

async function loadSerialBinding(importer: NativeImporter | undefined): Promise<unknown> {
  const mod = (await (importer ?? ((s: string) => import(s)))(SERIAL_BINDING_MODULE)) as {
    autoDetect?: () => unknown;
    default?: { autoDetect?: () => unknown };
  };
  const autoDetect = mod.autoDetect ?? mod.default?.autoDetect;
  if (typeof autoDetect !== "function") throw new Error("unexpected module shape: autoDetect missing");
  // Loads the native binding (.node file) for this platform: a missing prebuild fails here.
  return autoDetect();
}

async function tryLoad<T>(
  load: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  try {
    return { ok: true, value: await load() };
  } catch (err) {
    // A PB_DEVICE_UNAVAILABLE wraps the loader's error: the loader's own first line is the reason.
    const cause = (err as { cause?: unknown }).cause ?? err;
    const message = cause instanceof Error ? cause.message : String(cause);
    return { ok: false, reason: message.split("\n", 1)[0]?.trim() || "unknown error" };
  }
}

function fixOr(module: Parameters<typeof fixHint>[0], reason: string): string {
  return (
    fixHint(module, reason) ||
    `reinstall on this PC (npm ci in the install); the reason above names what failed (docs/errors.md, PB_DEVICE_UNAVAILABLE)`
  );
}
