// ModemManager probes every new USB serial port with AT commands unless udev marks it
// ID_MM_DEVICE_IGNORE (systemd/99-posbridge.rules does): a register or scanner then sees garbage,
// or the bridge sees the port busy for the seconds the probe takes. Read from udev's database
// (/run/udev/data), not udevadm. A ModemManager holding a port is the device-holders finding.
import { udevDatabasePresent } from "../device-nodes.js";
import { running } from "../processes.js";
import { type Check, finding, type Finding } from "./check.js";

const FIX =
  'install systemd/99-posbridge.rules (its serial lines set ENV{ID_MM_DEVICE_IGNORE}="1"; udevadm control --reload-rules && udevadm trigger), or systemctl disable --now ModemManager (a till PC has no modem)';

export const modemManagerCheck: Check = {
  id: "modem-manager",
  title: "ModemManager leaves the serial lane devices alone",
  run(ctx) {
    const mm = running(ctx.processes(), "ModemManager");
    if (mm.length === 0) return [finding(this.id, "ok", "ModemManager", "not running")];
    if (!ctx.config) return [];
    const udev = udevDatabasePresent(ctx.roots);
    const out: Finding[] = [];
    for (const f of ctx.laneDevices()) {
      if (f.device.kind !== "serial" || f.match.status !== "found") continue;
      const node = f.match.node;
      if (!node?.usb) continue; // ModemManager probes USB ports (not UARTs, not ptys)
      if (f.holders.some((h) => h.comm === "ModemManager")) continue;
      if (node.udev?.mmDeviceIgnore) continue;
      out.push(
        finding(
          this.id,
          "warn",
          f.device.subject,
          udev
            ? `ModemManager (pid ${mm[0]?.pid}) runs and ${node.path} lacks ID_MM_DEVICE_IGNORE: it may send AT commands to it when it appears`
            : `ModemManager (pid ${mm[0]?.pid}) runs and udev's database is not readable here: cannot tell whether it leaves ${node.path} alone`,
          {
            fix: FIX,
          },
        ),
      );
    }
    if (out.length === 0)
      out.push(
        finding(
          this.id,
          "ok",
          "ModemManager",
          `running (pid ${mm[0]?.pid}), and every USB serial lane device has ID_MM_DEVICE_IGNORE`,
        ),
      );
    return out;
  },
};
