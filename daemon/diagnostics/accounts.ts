// Users and groups from <etc>/passwd and <etc>/group, and whether the service user can open a
// node. The doctor usually runs as root, who can open anything: what matters is what the unit's
// user can do (User=posbridge, Group=posbridge, SupplementaryGroups=dialout in
// systemd/posbridge.service), so access is judged from the node's owner, group and mode against
// that user's groups, as the kernel would. ACLs are not read (udev's uaccess gives them to desktop
// seat users, never to a service).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface Accounts {
  userByName(name: string): { uid: number; gid: number } | undefined;
  userName(uid: number): string;
  groupName(gid: number): string;
  groupByName(name: string): GroupEntry | undefined;
  groups: readonly GroupEntry[];
}

/** The user the service runs as, with every group the unit gives it. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  /** Primary, /etc/group memberships and the unit's SupplementaryGroups. */
  groups: number[];
}

/** What the unit adds to the user's own groups (systemd/posbridge.service). */
export const UNIT_SUPPLEMENTARY_GROUPS: readonly string[] = ["dialout"];

export const DEFAULT_SERVICE_USER = "posbridge";

export function readAccounts(etcRoot: string): Accounts {
  const users = new Map<string, { uid: number; gid: number }>();
  const names = new Map<number, string>();
  for (const fields of rows(join(etcRoot, "passwd"))) {
    const [name, , uid, gid] = fields;
    const u = Number(uid);
    const g = Number(gid);
    if (!name || !Number.isInteger(u) || !Number.isInteger(g)) continue;
    users.set(name, { uid: u, gid: g });
    if (!names.has(u)) names.set(u, name);
  }
  const groups: GroupEntry[] = [];
  for (const fields of rows(join(etcRoot, "group"))) {
    const [name, , gid, members] = fields;
    const g = Number(gid);
    if (!name || !Number.isInteger(g)) continue;
    groups.push({ name, gid: g, members: (members ?? "").split(",").filter(Boolean) });
  }
  return {
    userByName: (name) => users.get(name),
    userName: (uid) => names.get(uid) ?? String(uid),
    groupName: (gid) => groups.find((g) => g.gid === gid)?.name ?? String(gid),
    groupByName: (name) => groups.find((g) => g.name === name),
    groups,
  };
}

/** The service user as the unit runs it; undefined when there is no such user. */
export function serviceUser(accounts: Accounts, name: string): ServiceUser | undefined {
  const user = accounts.userByName(name);
  if (!user) return undefined;
  const groups = new Set<number>([user.gid]);
  for (const g of accounts.groups) if (g.members.includes(name)) groups.add(g.gid);
  for (const extra of UNIT_SUPPLEMENTARY_GROUPS) {
    const g = accounts.groupByName(extra);
    if (g) groups.add(g.gid);
  }
  return { name, uid: user.uid, gid: user.gid, groups: [...groups].sort((a, b) => a - b) };
}

/** This process as a ServiceUser (when the service user does not exist, or it is us). */
export function currentUser(accounts: Accounts): ServiceUser {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const groups = new Set<number>([gid, ...(process.getgroups?.() ?? [])]);
  return { name: accounts.userName(uid), uid, gid, groups: [...groups].sort((a, b) => a - b) };
}

/** rwx: a directory the service creates, renames and removes files in. */
export type AccessNeed = "r" | "rw" | "rwx";

export interface NodeOwnership {
  /** st_mode (the permission bits are used). */
  mode: number;
  uid: number;
  gid: number;
}

/** Whether `user` may open a node with `owner` for `need`, and which of its bits decided. */
export function accessFor(
  user: ServiceUser,
  node: NodeOwnership,
  need: AccessNeed,
): { ok: boolean; via: "root" | "owner" | "group" | "other" } {
  if (user.uid === 0) return { ok: true, via: "root" };
  const via = node.uid === user.uid ? "owner" : user.groups.includes(node.gid) ? "group" : "other";
  const shift = via === "owner" ? 6 : via === "group" ? 3 : 0;
  const bits = (node.mode >> shift) & 0o7;
  const wanted = need === "rwx" ? 0o7 : need === "rw" ? 0o6 : 0o4;
  return { ok: (bits & wanted) === wanted, via };
}

/** "crw-rw---- root:dialout" style: the mode in octal and the names. */
export function describeOwnership(accounts: Accounts, node: NodeOwnership): string {
  return `owner ${accounts.userName(node.uid)}, group ${accounts.groupName(node.gid)}, mode ${(node.mode & 0o7777).toString(8).padStart(4, "0")}`;
}

function rows(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}
