// The daemon's own state for each lane device (while it runs): a device it reports ABSENT or
// FAULT that the other device checks did not already explain (not present, permission denied,
// held by another program) is reported in the daemon's words — a flapping port, a display that
// takes no data, a scanner of the wrong kind.
import { daemonDevice } from "../daemon-facts.js";
import { accessFor } from "../accounts.js";
import { type Check, finding, type Finding, type LaneDeviceFacts } from "./check.js";

export const deviceStateCheck: Check = {
  id: "device-state",
  title: "the daemon has every lane device open",
  run(ctx) {
    if (!ctx.daemon.running || !ctx.config) return [];
    const out: Finding[] = [];
    let connected = 0;
    for (const f of ctx.laneDevices()) {
      const d = daemonDevice(ctx.daemon, f.device.laneId, f.device.role);
      if (!d) continue;
      if (d.state === "CONNECTED") {
        connected++;
        continue;
      }
      if (explained(f, ctx.user.user)) continue;
      out.push(
        finding(this.id, "error", f.device.subject, `${d.state} in the daemon: ${d.error}`, {
          ...(d.node ? { detail: `node ${d.node}` } : {}),
          fix: "see docs/hardware.md, Troubleshooting, for this message",
        }),
      );
    }
    if (out.length === 0 && connected > 0)
      out.push(
        finding(
          this.id,
          "ok",
          "devices",
          `the daemon has ${connected} lane device${connected === 1 ? "" : "s"} open`,
        ),
      );
    return out;
  },
};

function explained(f: LaneDeviceFacts, user: Parameters<typeof accessFor>[0]): boolean {
  if (f.match.status !== "found") return true;
  if (f.holders.length > 0) return true;
  return f.stat !== undefined && !accessFor(user, f.stat, f.device.need).ok;
}
