// brltty (the braille display service, installed by default on Debian and Ubuntu desktops) claims
// USB serial adapters with CH340, CP210x and FTDI chips the moment they are plugged in: the tty
// appears and vanishes ("interface 0 claimed by … while 'brltty' sets config" in dmesg). Running
// at all on a till PC is worth a warning; holding a lane device is the device-holders finding.
import { running } from "../processes.js";
import { type Check, finding } from "./check.js";

export const brlttyCheck: Check = {
  id: "brltty",
  title: "brltty does not claim the serial adapters",
  run(ctx) {
    const b = running(ctx.processes(), "brltty");
    if (b.length === 0) return [finding(this.id, "ok", "brltty", "not running")];
    const serial = ctx.config ? ctx.laneDevices().filter((f) => f.device.kind === "serial") : [];
    const absent = serial.filter((f) => f.match.status === "absent").map((f) => f.device.subject);
    return [
      finding(
        this.id,
        "warn",
        "brltty",
        `running (pid ${b[0]?.pid}): it claims USB serial adapters (CH340, CP210x, FTDI) as they are plugged in`,
        {
          detail:
            absent.length > 0 ? `absent serial lane devices it may have taken: ${absent.join(", ")}` : "",
          fix: "apt purge brltty (a till PC has no braille display), then replug the adapters",
        },
      ),
    ];
  },
};
