// Can the service user open each present lane device? Judged from the node's owner, group and
// mode against the user's groups (accounts.ts), since the doctor usually runs as root; when the
// doctor runs as that user, its own open attempt decides. The fix names the group that would
// give access, or the udev rule that gives the node to group posbridge.
import { accessSync, constants } from "node:fs";
import { OPEN_HINTS } from "../../devices/open-errors.js";
import { accessFor, describeOwnership } from "../accounts.js";
import type { DeviceNode, NodeKind } from "../device-nodes.js";
import { type Check, finding, type Finding, type LaneDeviceFacts } from "./check.js";

const RULES = "systemd/99-posbridge.rules";
const RELOAD = "udevadm control --reload-rules && udevadm trigger (or replug it)";

export const deviceAccessCheck: Check = {
  id: "device-access",
  title: "the service user can open every lane device",
  run(ctx) {
    if (!ctx.config) return [];
    const { user, found } = ctx.user;
    const present = ctx.laneDevices().filter((f) => f.match.status === "found" && f.stat);
    if (present.length === 0) return [];
    if (!found && user.uid === 0)
      return [
        finding(
          this.id,
          "ok",
          "devices",
          "access not judged: no service user on this PC, and root opens anything",
          {
            detail: "see the service-user finding",
          },
        ),
      ];
    const self = user.uid === (process.getuid?.() ?? -1);
    const out: Finding[] = [];
    for (const f of present) {
      const st = f.stat as NonNullable<LaneDeviceFacts["stat"]>;
      const path = f.match.status === "found" ? f.match.realPath : "";
      const verdict = self ? tryOpen(path, f.device.need) : accessFor(user, st, f.device.need).ok;
      if (verdict) continue;
      const ownership = describeOwnership(ctx.accounts, st);
      const group = ctx.accounts.groupName(st.gid);
      const groupWouldDo =
        ((st.mode >> 3) & (f.device.need === "rw" ? 0o6 : 0o4)) === (f.device.need === "rw" ? 0o6 : 0o4);
      const node = f.match.status === "found" ? f.match.node : undefined;
      // A node sysfs does not list (a pty) is not udev's: whoever makes it sets its owner.
      const fix = groupWouldDo
        ? `add ${user.name} to group ${group} (usermod -aG ${group} ${user.name}; systemctl restart posbridge), or give the device to group posbridge with ${RULES}`
        : node
          ? `add this line to /etc/udev/rules.d/99-posbridge.rules (examples: ${RULES}): ${udevRule(f.device.kind, node)} then ${RELOAD}`
          : `it is not a device udev manages: the program that makes it must give it to the service user (socat: pty,link=…,user=${user.name},mode=600)`;
      out.push(
        finding(
          this.id,
          "error",
          f.device.subject,
          `${path}: permission denied for user ${user.name} (${ownership})`,
          {
            code: "PB_PORT_OPEN",
            detail: `${f.device.need === "rw" ? "read and write" : "read"} access needed; ${OPEN_HINTS.permission}`,
            fix,
          },
        ),
      );
    }
    if (out.length === 0)
      out.push(
        finding(
          this.id,
          "ok",
          "devices",
          `user ${user.name} can open every present lane device (${present.length})`,
        ),
      );
    return out;
  },
};

const SUBSYSTEM: Record<NodeKind, string> = { serial: "tty", hidraw: "hidraw", evdev: "input" };

/**
 * The rule that gives this device to group posbridge, in the shape of systemd/99-posbridge.rules:
 * matched by USB ids and serial number, or by USB port (KERNELS) for a device without one, or by
 * kernel name for a device not on USB.
 */
export function udevRule(kind: NodeKind, node: DeviceNode | undefined): string {
  const match = node?.usb
    ? [
        `ATTRS{idVendor}=="${node.usb.vendorId}"`,
        `ATTRS{idProduct}=="${node.usb.productId}"`,
        node.usb.serialNumber !== undefined
          ? `ATTRS{serial}=="${node.usb.serialNumber}"`
          : `KERNELS=="${node.usb.port}"`,
      ]
    : [`KERNEL=="${node?.name ?? "…"}"`];
  const mm = kind === "serial" ? [`ENV{ID_MM_DEVICE_IGNORE}="1"`] : [];
  return [`SUBSYSTEM=="${SUBSYSTEM[kind]}"`, ...match, 'GROUP="posbridge"', 'MODE="0660"', ...mm].join(", ");
}

function tryOpen(path: string, need: "r" | "rw"): boolean {
  try {
    accessSync(path, need === "rw" ? constants.R_OK | constants.W_OK : constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
