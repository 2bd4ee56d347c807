// What only this PC can tell about a valid config, for `check-config` (and the doctor): a device
// path that does not exist (unplugged, a typo, a udev link that was never made), a device node
// the service user cannot open (group and mode: the unit runs as posbridge with the groups
// posbridge and dialout, systemd/posbridge.service), and a stateDir the service cannot write.
// Warnings only: the daemon waits for an absent device, and a config may be written on another PC.
import { roleDevice } from "../diagnostics/lane-devices.js";
import { accessSync, constants, readFileSync, type Stats, statSync } from "node:fs";
import { dirname } from "node:path";
import { type DeviceResolver, defaultResolver, describeLocation } from "../devices/device-identity.js";
import type { ConfigWarning } from "./check-files.js";
import type { Config } from "./config-types.js";

/** The user and groups systemd/posbridge.service runs the bridge as (User=, Group=, SupplementaryGroups=). */
export const SERVICE_USER = "posbridge";
export const SERVICE_GROUPS: readonly string[] = ["posbridge", "dialout"];

export interface HostFacts {
  /** Resolves device paths and USB ids; tests inject a fake sysfs. */
  resolver?: DeviceResolver;
  /** gid → group name (default: /etc/group). */
  groupName?: (gid: number) => string | undefined;
  /** uid → user name (default: /etc/passwd). */
  userName?: (uid: number) => string | undefined;
  /** The uid running the check (default process.getuid()). */
  uid?: number;
  stat?: (path: string) => Stats;
  /** Whether the service user exists on this PC (default: looked up in /etc/passwd). */
  serviceUserExists?: boolean;
  /** access(2) for W_OK; throws when not writable (default fs.accessSync). */
  canWrite?: (path: string) => void;
}

export function checkHost(config: Config, facts: HostFacts = {}): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const resolver = facts.resolver ?? defaultResolver;
  const stat = facts.stat ?? ((p: string) => statSync(p));
  const groupName = facts.groupName ?? ((gid) => lookupName("/etc/group", gid));
  config.lanes.forEach((lane, i) => {
    for (const kind of ["terminal", "scanner", "display"] as const) {
      // No-integration mode: the display tap stands in the terminal's place, its real display in the display's.
      const found = roleDevice(lane, i, kind);
      const d = found?.location;
      if (!found || !d) continue;
      // A HID scanner named by USB ids is no tty: the resolver cannot look it up here.
      const hidByUsb =
        kind === "scanner" &&
        d.path === undefined &&
        lane.scanner.type !== "serial" &&
        lane.scanner.type !== "ssi";
      if (hidByUsb) continue;
      const field = `${found.field}.${d.path !== undefined ? "path" : "usb"}`;
      const r = resolver.resolve(d);
      if (!r.ok) {
        warnings.push({ path: field, message: `${r.error}${r.absent ? " (the daemon waits for it)" : ""}` });
        continue;
      }
      if (r.node === "missing") {
        warnings.push({
          path: field,
          message: `${describeLocation(d)} does not exist: the ${found.field.endsWith("displayTap") ? "register's display line" : kind} is not plugged in, or the path is wrong (ls -l /dev/serial/by-id); the daemon waits for it`,
        });
        continue;
      }
      if (r.node !== "char") continue; // a directory or a file: the daemon says so as a FAULT
      const problem = nodeAccessProblem(stat(r.realPath), groupName);
      if (problem) warnings.push({ path: field, message: `${r.realPath} ${problem}` });
    }
  });
  const state = stateDirProblem(config.stateDir, facts, stat);
  if (state) warnings.push({ path: "stateDir", message: state });
  return warnings;
}

/**
 * Why the service user (groups posbridge, dialout) cannot read and write a device node, or
 * undefined when its group or the world may.
 */
export function nodeAccessProblem(
  st: Stats,
  groupName: (gid: number) => string | undefined,
): string | undefined {
  const mode = st.mode & 0o777;
  if ((mode & 0o006) === 0o006) return undefined;
  const group = groupName(st.gid) ?? `gid ${st.gid}`;
  if (SERVICE_GROUPS.includes(group) && (mode & 0o060) === 0o060) return undefined;
  const modeText = mode.toString(8).padStart(4, "0");
  if (SERVICE_GROUPS.includes(group))
    return `has mode ${modeText}: its group ${group} cannot read and write it; install systemd/99-posbridge.rules (mode 0660) and replug`;
  const fix =
    group === "root"
      ? "install systemd/99-posbridge.rules (it gives the node to group posbridge, mode 0660) and replug"
      : `install systemd/99-posbridge.rules and replug, or add the service user to ${group}`;
  return `belongs to group ${group} (mode ${modeText}), which the service user (groups ${SERVICE_GROUPS.join(", ")}) is not in: ${fix}`;
}

/**
 * stateDir must be writable by the service: checked for the user running the check, and, when
 * that is root and the service user exists, against the directory's owner and mode too (root may
 * write anywhere; the service may not).
 */
function stateDirProblem(dir: string, facts: HostFacts, stat: (p: string) => Stats): string | undefined {
  const canWrite = facts.canWrite ?? ((p: string) => accessSync(p, constants.W_OK | constants.X_OK));
  // The daemon creates stateDir: the first directory that exists on its path must take that.
  let existing = dir;
  let st: Stats | undefined;
  for (;;) {
    try {
      st = stat(existing);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || dirname(existing) === existing)
        return `${existing} cannot be reached (${code}): the bridge refuses to start without its journal; the service user needs to reach and write it (chown ${SERVICE_USER} ${dir})`;
      existing = dirname(existing);
    }
  }
  const what =
    existing === dir ? dir : `${existing} (stateDir ${dir} does not exist yet and would be created there)`;
  if (!st.isDirectory()) return `${existing} is not a directory: the sale journal cannot be kept there`;
  try {
    canWrite(existing);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "not writable";
    return `${what} is not writable (${code}): the bridge refuses to start without its journal; give it to the service user (chown ${SERVICE_USER} ${existing}; systemd's StateDirectory= does this for /var/lib/posbridge)`;
  }
  const uid = facts.uid ?? process.getuid?.() ?? -1;
  if (uid !== 0) return undefined;
  const userName = facts.userName ?? ((id) => lookupName("/etc/passwd", id));
  const serviceUserExists = facts.serviceUserExists ?? lookupId("/etc/passwd", SERVICE_USER) !== undefined;
  if (!serviceUserExists) return undefined;
  const owner = userName(st.uid);
  const mode = st.mode & 0o777;
  if (owner === SERVICE_USER || (mode & 0o003) === 0o003) return undefined;
  const group = (facts.groupName ?? ((gid) => lookupName("/etc/group", gid)))(st.gid);
  if (group !== undefined && SERVICE_GROUPS.includes(group) && (mode & 0o030) === 0o030) return undefined;
  return `${what} belongs to ${owner ?? `uid ${st.uid}`}:${group ?? `gid ${st.gid}`} with mode ${mode.toString(8).padStart(4, "0")}: the service user ${SERVICE_USER} cannot write it (chown -R ${SERVICE_USER}:${SERVICE_USER} ${existing})`;
}

/** Name of the entry with this numeric id in /etc/group or /etc/passwd (third field). */
function lookupName(file: string, id: number): string | undefined {
  for (const fields of entries(file)) if (Number(fields[2]) === id) return fields[0];
  return undefined;
}

function lookupId(file: string, name: string): number | undefined {
  for (const fields of entries(file)) if (fields[0] === name) return Number(fields[2]);
  return undefined;
}

function entries(file: string): string[][] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}
