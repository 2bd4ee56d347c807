// Is a lane device held open by another program? serialport locks the ports it opens, so a second
// opener gets "Cannot lock port"; a program that opened the port without a lock (cat, a
// terminal program, ModemManager's probe) takes bytes meant for the bridge. The finding names
// each holder by pid, program and command line. A posbridge holding it is the daemon itself only
// when the daemon answered and said it has the device open.
import { describeHolder, type Holder, looksLikeBridge } from "../processes.js";
import { type Check, finding, type Finding } from "./check.js";

export const deviceHoldersCheck: Check = {
  id: "device-holders",
  title: "no other program holds a lane device",
  run(ctx) {
    if (!ctx.config) return [];
    const present = ctx.laneDevices().filter((f) => f.match.status === "found");
    if (present.length === 0) return [];
    const out: Finding[] = [];
    for (const f of present) {
      if (f.holders.length === 0 || f.match.status !== "found") continue;
      const path = f.match.realPath;
      const bridges = f.holders.filter(looksLikeBridge);
      const title = `${path} is held by ${f.holders.map(describeHolder).join("; ")}`;
      out.push(
        finding(this.id, "error", f.device.subject, title, {
          code: "PB_PORT_LOCKED",
          detail:
            bridges.length > 0 && !ctx.daemon.running
              ? "a posbridge holds it but did not answer on the control socket: a second bridge, or the daemon's socket is not reachable (/run/posbridge)"
              : f.holders.some((h) => h.locks)
                ? "it holds the port's lock: the bridge's open fails with 'Cannot lock port'"
                : "it has the port open without its lock: it reads bytes meant for the bridge",
          fix: fixFor(f.holders, bridges.length > 0),
        }),
      );
    }
    if (out.length === 0) {
      const root = (process.getuid?.() ?? 0) === 0;
      out.push(
        finding(this.id, "ok", "devices", "no other program holds a lane device", {
          detail: root ? "" : "run as root to see other users' processes too",
        }),
      );
    }
    return out;
  },
};

function fixFor(holders: readonly Holder[], bridge: boolean): string {
  if (holders.some((h) => h.comm === "ModemManager"))
    return `ModemManager probes it: install systemd/99-posbridge.rules (ENV{ID_MM_DEVICE_IGNORE}="1") or systemctl disable --now ModemManager`;
  if (holders.some((h) => h.comm === "brltty"))
    return "brltty claimed it: apt purge brltty (a till PC has no braille display)";
  if (bridge) return "stop the other bridge (systemctl status posbridge; one bridge per device)";
  return `stop that program (kill ${holders.map((h) => h.pid).join(" ")}) or configure it to leave the port alone`;
}
