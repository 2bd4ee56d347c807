// Each device the config names: is it present, and which node is it? Absent devices say what
// similar is present instead (another unit of the same model, the device in another interface
// mode), so "the scanner was swapped for a spare" reads as that, not as "not found".
import { describeIds } from "../device-nodes.js";
import { describeMatch } from "../lane-devices.js";
import { type Check, finding } from "./check.js";

export const devicePresentCheck: Check = {
  id: "device-present",
  title: "every configured device is present",
  run(ctx) {
    if (!ctx.config) return [];
    return ctx.laneDevices().map(({ device: d, match: m }) => {
      const text = describeMatch(m, d.configured);
      if (m.status === "found") return finding(this.id, "ok", d.subject, text);
      if (m.status === "wrong")
        return finding(this.id, "error", d.subject, text, {
          detail: `configured as ${d.field}`,
          fix: `correct ${d.field} (posbridge devices lists what is present)`,
        });
      const usb = d.location.usb;
      const other = m.instead.some((i) => / is \(/.test(i));
      return finding(this.id, "error", d.subject, text, {
        detail: `configured as ${d.field}`,
        fix: usb
          ? other
            ? `if the device listed is its replacement, set ${d.field}.usb.serialNumber to its serial number; otherwise plug ${describeIds(usb)} in (cable, USB hub)`
            : `plug it in (check the cable and the USB hub; lsusb should list ${describeIds(usb)}); posbridge devices lists what is present`
          : `plug it in, or correct ${d.field}.path (ls -l /dev/serial/by-id/; posbridge devices)`,
      });
    });
  },
};
