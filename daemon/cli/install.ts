// `posbridge install` and `posbridge uninstall`: a store PC from a built checkout to a hardened,
// notify-supervised service in one command, and back out in one (docs/deployment.md).
//
// Each command first makes a plan — a list of actions (run a command, make a directory, copy the
// production tree, write a file, keep an edited file, remove something) — from what is on disk,
// then prints it (--dry-run) or carries it out. With --root DIR every path is taken under DIR and
// nothing outside it is touched: files are written there, owners are recorded (not set: the
// service user does not exist in DIR), and useradd/groupadd/systemctl/udevadm are recorded as
// "not run". Recording the commands, rather than writing passwd/group lines into DIR, keeps
// the test on what really runs on a store PC (the exact useradd arguments), and useradd --root
// would need a chroot and so root. What was written — paths, modes, owners, checksums, the
// commands — is kept in <prefix>/install-manifest.json for uninstall and the next install.
//
// Files under /etc are the admin's once written: one edited since the last install (its
// checksum differs from the manifest's, or there is no manifest) is never overwritten; the new
// version goes next to it as <file>.posbridge-new and the install says so.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isSettled } from "../../protocols/sale/records.js";
import { BridgeError, isBridgeError } from "../errors.js";
import { JOURNAL_FILE, readJournal } from "../journal/journal.js";
import { packageRoot, version } from "../version.js";
import {
  COMMAND_PATH,
  CONFIG_PATH,
  DEFAULT_PREFIX,
  ENV_PATH,
  ENV_STARTER,
  ETC_DIR,
  MANIFEST_FILE,
  MODULES_CONF,
  MODULES_PATH,
  NEW_SUFFIX,
  NODE_HINT,
  nodeLocationProblem,
  nodeVersionOk,
  RULES_PATH,
  RUNTIME_DIR,
  renderCommand,
  renderUnit,
  rulesGroups,
  SERIAL_GROUP,
  SERIAL_MODULES,
  SERVICE_GROUP,
  SERVICE_USER,
  STATE_DIR,
  UNIT_PATH,
} from "./install-layout.js";
import { productionTree, type TreeEntry } from "./production-tree.js";

export interface InstallOptions {
  prefix?: string;
  /** Scratch root: everything under it, no command run, owners recorded only. */
  root?: string;
  dryRun?: boolean;
  /** The Node.js the unit runs; default the one running this command. */
  node?: string;
  /** uninstall: also config, state (the sale journal), user and group. */
  purge?: boolean;
  /** uninstall --purge: even when the journal holds unsettled payments. */
  force?: boolean;
}

export interface Io {
  out(line: string): void;
}

type Owner = { owner: string; group: string };
type ManagedRole = "config" | "env" | "unit" | "udev" | "command" | "modules";

type Action =
  | {
      kind: "command";
      argv: string[];
      why: string;
      /** A failure is reported and the rest goes on (stopping a service that is not there). */
      mayFail?: boolean;
      skipIfGroupMissing?: string;
    }
  | ({ kind: "dir"; path: string; mode: number } & Owner)
  | { kind: "tree"; path: string; from: string; entries: TreeEntry[] }
  | ({ kind: "file"; path: string; mode: number; content: string; role: ManagedRole } & Owner)
  | {
      kind: "keep";
      path: string;
      why: string;
      newPath?: string;
      content?: string;
      mode?: number;
      /** The kept file's entry in the previous manifest: it stays "edited" for the next install. */
      record?: ManifestFile;
    }
  | { kind: "remove"; path: string; why: string };

interface ManifestFile extends Owner {
  path: string;
  mode: string;
  role: ManagedRole;
  sha256: string;
}

export interface Manifest {
  manifest: "posbridge-install";
  version: 1;
  posbridgeVersion: string;
  installedAt: string;
  prefix: string;
  node: string;
  nodeVersion: string;
  dirs: ({ path: string; mode: string } & Owner)[];
  files: ManifestFile[];
  tree: { path: string; files: number; bytes: number };
  commands: { argv: string[]; why: string; ran: boolean }[];
}

/** The checkout this command runs from: the directory of package.json above this file (from
 * build/daemon/cli/ and from the bundle in build/dist/ alike). */
export function sourceRoot(): string {
  return packageRoot();
}

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;
const ROOT_OWNED: Owner = { owner: "root", group: "root" };
const SERVICE_READABLE: Owner = { owner: "root", group: SERVICE_GROUP };

/** Maps system paths under the scratch root (or "/"), and says whether this is the live system. */
class Target {
  readonly live: boolean;
  constructor(readonly root: string) {
    this.live = resolve(root) === "/";
  }
  path(systemPath: string): string {
    return this.live ? systemPath : join(this.root, systemPath);
  }
  read(systemPath: string): string | undefined {
    try {
      return readFileSync(this.path(systemPath), "utf8");
    } catch {
      return undefined;
    }
  }
  exists(systemPath: string): boolean {
    return existsSync(this.path(systemPath));
  }
  /** name → members, from <root>/etc/group; undefined when the file is absent (a bare scratch root). */
  groups(): Map<string, string[]> | undefined {
    const text = this.read("/etc/group");
    if (text === undefined) return undefined;
    return new Map(
      text
        .split("\n")
        .filter((l) => l.includes(":"))
        .map((l) => {
          const [name, , , members] = l.split(":");
          return [name as string, (members ?? "").split(",").filter(Boolean)];
        }),
    );
  }
  /** The user's primary gid from <root>/etc/passwd; undefined when there is no such user. */
  userGid(name: string): number | undefined {
    const line = (this.read("/etc/passwd") ?? "").split("\n").find((l) => l.split(":")[0] === name);
    return line === undefined ? undefined : Number(line.split(":")[3]);
  }
  gid(group: string): number | undefined {
    const line = (this.read("/etc/group") ?? "").split("\n").find((l) => l.split(":")[0] === group);
    const gid = Number(line?.split(":")[2]);
    return Number.isInteger(gid) ? gid : undefined;
  }
}

function fail(message: string): never {
  throw new BridgeError("PB_INSTALL_FAILED", message);
}

function readManifest(target: Target, prefix: string): Manifest | undefined {
  const text = target.read(join(prefix, MANIFEST_FILE));
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Manifest;
    return m.manifest === "posbridge-install" ? m : undefined;
  } catch {
    return undefined;
  }
}

function isEmptyOrAbsent(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return true;
  }
}

/** For printing a command: an argument with spaces or quotes is single-quoted, as a shell needs it. */
function shellWords(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** The version first (the most basic problem), then whether the service can see that node at all. */
function checkNode(nodePath: string): string {
  let found: string;
  if (nodePath === process.execPath) {
    found = process.versions.node;
  } else {
    const r = spawnSync(nodePath, ["-p", "process.versions.node"], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) {
      throw new BridgeError(
        "PB_INSTALL_NODE",
        `${nodePath} does not run as Node.js (${r.error?.message ?? r.stderr.trim()}). ${NODE_HINT}`,
      );
    }
    found = r.stdout.trim();
  }
  if (!nodeVersionOk(found)) {
    throw new BridgeError(
      "PB_INSTALL_NODE",
      `posbridge needs Node.js 20 or later; ${nodePath} is ${found}. ${NODE_HINT}`,
    );
  }
  const where = nodeLocationProblem(nodePath);
  if (where) throw new BridgeError("PB_INSTALL_NODE", `${where}. ${NODE_HINT}`);
  return found;
}

function checkPrivileges(target: Target): void {
  if (target.live && process.getuid?.() !== 0) {
    fail("installing a service needs root: run it with sudo, or with --root DIR to write a scratch tree");
  }
}

/** A managed /etc file: written when new, unchanged or still as last installed; else kept. */
function managedFile(
  target: Target,
  previous: Manifest | undefined,
  file: { path: string; mode: number; content: string; role: ManagedRole } & Owner,
): Action {
  const current = target.read(file.path);
  if (current === undefined || current === file.content) return { kind: "file", ...file };
  const record = previous?.files.find((f) => f.path === file.path);
  if (record !== undefined && record.sha256 === sha256(current)) return { kind: "file", ...file };
  return {
    kind: "keep",
    path: file.path,
    why: record === undefined ? "it was there before posbridge install" : "edited since it was installed",
    newPath: `${file.path}${NEW_SUFFIX}`,
    content: file.content,
    mode: file.mode,
    ...(record ? { record } : {}),
  };
}

function userActions(target: Target): Action[] {
  const groups = target.groups();
  const actions: Action[] = [];
  if (groups && !groups.has(SERIAL_GROUP)) {
    fail(
      `this system has no '${SERIAL_GROUP}' group (serial devices); create it or adjust the unit's SupplementaryGroups=`,
    );
  }
  if (!groups?.has(SERVICE_GROUP)) {
    actions.push({
      kind: "command",
      argv: ["groupadd", "--system", SERVICE_GROUP],
      why: `the service's group; 99-posbridge.rules gives the scanner, hidraw and input nodes to it`,
    });
  }
  const userGid = target.userGid(SERVICE_USER);
  if (userGid === undefined) {
    actions.push({
      kind: "command",
      argv: [
        "useradd",
        "--system",
        "--gid",
        SERVICE_GROUP,
        "--groups",
        SERIAL_GROUP,
        "--home-dir",
        STATE_DIR,
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "posbridge payment bridge",
        SERVICE_USER,
      ],
      why: "the service user: owns nothing but its state directory",
    });
  } else {
    // A user made by hand (the old README) may lack a group. Its primary group counts, though
    // /etc/group does not list it as a member there.
    const missing = [SERVICE_GROUP, SERIAL_GROUP].filter(
      (g) => !groups?.get(g)?.includes(SERVICE_USER) && target.gid(g) !== userGid,
    );
    if (missing.length > 0) {
      actions.push({
        kind: "command",
        argv: ["usermod", "--append", "--groups", missing.join(","), SERVICE_USER],
        why: "the existing service user joins the device groups",
      });
    }
  }
  return actions;
}

function reloadActions(): Action[] {
  return [
    {
      kind: "command",
      argv: ["modprobe", "-a", ...SERIAL_MODULES],
      why: "the serial drivers now, as at every boot from now on",
      mayFail: true,
    },
    { kind: "command", argv: ["systemctl", "daemon-reload"], why: "systemd reads the unit" },
    { kind: "command", argv: ["udevadm", "control", "--reload-rules"], why: "udev reads the rules" },
    {
      kind: "command",
      argv: [
        "udevadm",
        "trigger",
        "--action=change",
        "--subsystem-match=tty",
        "--subsystem-match=hidraw",
        "--subsystem-match=input",
      ],
      why: "devices already plugged in get the rules' group and names",
    },
  ];
}

export function planInstall(
  opts: InstallOptions,
  from = sourceRoot(),
): { actions: Action[]; manifest: Manifest } {
  const target = new Target(opts.root ?? "/");
  const prefix = resolve(opts.prefix ?? DEFAULT_PREFIX);
  if (resolve(from) === resolve(target.path(prefix))) {
    fail(`${prefix} is the tree this command runs from: run the install from the new checkout`);
  }
  const node = opts.node ?? process.execPath;
  const nodeVersion = checkNode(node);
  if (!opts.dryRun) checkPrivileges(target);
  const entries = productionTree(from);
  const previous = readManifest(target, prefix);
  // The prefix is replaced whole on an upgrade: never a directory that holds anything else.
  if (
    !previous &&
    !target.exists(join(prefix, "bin/posbridge.js")) &&
    !isEmptyOrAbsent(target.path(prefix))
  ) {
    fail(`${prefix} exists and is not a posbridge install: choose a new or empty directory with --prefix`);
  }
  const rules = readFileSync(join(from, "systemd/99-posbridge.rules"), "utf8");
  const strangers = rulesGroups(rules).filter((g) => g !== SERVICE_GROUP);
  if (strangers.length > 0) {
    fail(
      `systemd/99-posbridge.rules gives devices to group ${strangers.join(", ")}, but the service runs as group ${SERVICE_GROUP}`,
    );
  }
  const unit = renderUnit(readFileSync(join(from, "systemd/posbridge.service"), "utf8"), { node, prefix });
  const actions: Action[] = [
    ...userActions(target),
    { kind: "tree", path: prefix, from, entries },
    { kind: "dir", path: ETC_DIR, mode: 0o750, ...SERVICE_READABLE },
    managedFile(target, previous, {
      path: CONFIG_PATH,
      mode: 0o640,
      ...SERVICE_READABLE,
      role: "config",
      content: readFileSync(join(from, "schema/posbridge.example.yaml"), "utf8"),
    }),
    managedFile(target, previous, {
      path: ENV_PATH,
      mode: 0o640,
      ...SERVICE_READABLE,
      role: "env",
      content: ENV_STARTER,
    }),
    managedFile(target, previous, {
      path: UNIT_PATH,
      mode: 0o644,
      ...ROOT_OWNED,
      role: "unit",
      content: unit,
    }),
    managedFile(target, previous, {
      path: RULES_PATH,
      mode: 0o644,
      ...ROOT_OWNED,
      role: "udev",
      content: rules,
    }),
    managedFile(target, previous, {
      path: MODULES_PATH,
      mode: 0o644,
      ...ROOT_OWNED,
      role: "modules",
      content: MODULES_CONF,
    }),
    managedFile(target, previous, {
      path: COMMAND_PATH,
      mode: 0o755,
      ...ROOT_OWNED,
      role: "command",
      content: renderCommand({ node, prefix }),
    }),
    ...reloadActions(),
  ];
  const manifest: Manifest = {
    manifest: "posbridge-install",
    version: 1,
    posbridgeVersion: version(),
    installedAt: new Date().toISOString(),
    prefix,
    node,
    nodeVersion,
    dirs: [],
    files: [],
    tree: { path: prefix, files: entries.length, bytes: entries.reduce((n, e) => n + e.bytes, 0) },
    commands: [],
  };
  return { actions, manifest };
}

/** Unsettled sales, attempts and refunds in <stateDir>/journal.log (0 when there is none). */
function unsettledInJournal(target: Target): number {
  try {
    return readJournal(target.path(join(STATE_DIR, JOURNAL_FILE))).records.filter((r) => !isSettled(r))
      .length;
  } catch (err) {
    if (isBridgeError(err)) return 0; // unreadable: nothing we could protect by refusing
    throw err;
  }
}

export function planUninstall(opts: InstallOptions): Action[] {
  const target = new Target(opts.root ?? "/");
  const prefix = resolve(opts.prefix ?? DEFAULT_PREFIX);
  if (!opts.dryRun) checkPrivileges(target);
  const manifest = readManifest(target, prefix);
  // Only a tree `posbridge install` wrote (it has the manifest) is removed: never a checkout.
  if (!manifest) {
    fail(
      `no posbridge install found in ${prefix} (no ${MANIFEST_FILE}); pass --prefix if it is elsewhere. ` +
        "A copy made by hand before `posbridge install` existed is removed by hand",
    );
  }
  if (opts.purge && !opts.force) {
    const open = unsettledInJournal(target);
    if (open > 0) {
      throw new BridgeError(
        "PB_INSTALL_REFUSED",
        `${STATE_DIR}/${JOURNAL_FILE} holds ${open} unsettled payment record(s) (posbridge report day lists them): ` +
          "let the bridge settle them, or back up the state directory first (docs/deployment.md, 'Backup'), " +
          "then run uninstall --purge --force",
      );
    }
  }
  const recorded = (path: string) => manifest.files.find((f) => f.path === path)?.sha256;
  const edited = (path: string) => {
    const current = target.read(path);
    return current !== undefined && recorded(path) !== sha256(current);
  };
  const actions: Action[] = [
    {
      kind: "command",
      argv: ["systemctl", "disable", "--now", "posbridge.service"],
      why: "stop the service and remove it from boot",
    },
  ];
  const removeIfThere = (path: string, why: string) => {
    if (target.exists(path)) actions.push({ kind: "remove", path, why });
  };
  removeIfThere(UNIT_PATH, "the unit");
  removeIfThere(`${UNIT_PATH}${NEW_SUFFIX}`, "a unit version install left");
  removeIfThere(COMMAND_PATH, "the posbridge command");
  removeIfThere(MODULES_PATH, "the serial drivers' boot list");
  if (opts.purge || !edited(RULES_PATH)) removeIfThere(RULES_PATH, "the udev rules");
  else actions.push({ kind: "keep", path: RULES_PATH, why: "edited (device ids): --purge removes it" });
  removeIfThere(`${RULES_PATH}${NEW_SUFFIX}`, "a rules version install left");
  removeIfThere(prefix, "the program");
  actions.push(
    ...reloadActions().filter(
      (a) => a.kind === "command" && a.argv[1] !== "trigger" && a.argv[0] !== "modprobe",
    ),
  );
  if (opts.purge) {
    removeIfThere(ETC_DIR, "configuration and secrets");
    removeIfThere(STATE_DIR, "the sale journal and the audit trail");
    removeIfThere(RUNTIME_DIR, "runtime files");
    actions.push(
      { kind: "command", argv: ["userdel", SERVICE_USER], why: "the service user" },
      {
        kind: "command",
        argv: ["groupdel", SERVICE_GROUP],
        why: "the service group (userdel usually removed it already)",
        skipIfGroupMissing: SERVICE_GROUP,
      },
    );
  } else {
    for (const path of [ETC_DIR, STATE_DIR]) {
      if (target.exists(path)) actions.push({ kind: "keep", path, why: "kept: --purge removes it" });
    }
  }
  return actions;
}

function describe(action: Action, live: boolean): string {
  switch (action.kind) {
    case "command":
      return `${live ? "run" : "would run (not under --root)"}: ${shellWords(action.argv)}   # ${action.why}`;
    case "dir":
      return `directory ${action.path} ${octal(action.mode)} ${action.owner}:${action.group}`;
    case "tree":
      return `copy ${action.entries.length} files of the production tree to ${action.path} (root:root, 0644/0755)`;
    case "file":
      return `write ${action.path} ${octal(action.mode)} ${action.owner}:${action.group}`;
    case "keep":
      return `keep ${action.path}: ${action.why}${action.newPath ? `; the new version is ${action.newPath}` : ""}`;
    case "remove":
      return `remove ${action.path}   # ${action.why}`;
  }
}

/** Carries out the actions; commands run only on the live system. Returns what ran. */
function apply(actions: Action[], target: Target, io: Io, manifest?: Manifest): void {
  const systemdRunning = existsSync("/run/systemd/system");
  const chown = (path: string, o: Owner) => {
    if (!target.live) return;
    const uid = o.owner === "root" ? 0 : undefined;
    const gid = o.group === "root" ? 0 : target.gid(o.group);
    if (uid === undefined || gid === undefined) fail(`cannot resolve ${o.owner}:${o.group} for ${path}`);
    chownSync(target.path(path), uid, gid);
  };
  for (const action of actions) {
    switch (action.kind) {
      case "command": {
        const needsSystemd = ["systemctl", "udevadm", "modprobe"].includes(action.argv[0] as string);
        let ran = false;
        if (!target.live) {
          io.out(describe(action, false));
        } else if (needsSystemd && !systemdRunning) {
          io.out(`skip: ${shellWords(action.argv)}   # systemd is not running here`);
        } else if (action.skipIfGroupMissing && target.gid(action.skipIfGroupMissing) === undefined) {
          io.out(`skip: ${shellWords(action.argv)}   # already gone`);
        } else {
          io.out(describe(action, true));
          const r = spawnSync(action.argv[0] as string, action.argv.slice(1), { stdio: "inherit" });
          const why = r.error?.message ?? `exit ${r.status}`;
          if (r.status !== 0 && !action.mayFail) fail(`${action.argv.join(" ")} failed (${why})`);
          if (r.status !== 0) io.out(`  (${action.argv[0]} failed: ${why}; going on)`);
          ran = r.status === 0;
        }
        manifest?.commands.push({ argv: action.argv, why: action.why, ran });
        break;
      }
      case "dir": {
        mkdirSync(target.path(action.path), { recursive: true });
        chmodSync(target.path(action.path), action.mode);
        chown(action.path, action);
        manifest?.dirs.push({
          path: action.path,
          mode: octal(action.mode),
          owner: action.owner,
          group: action.group,
        });
        io.out(describe(action, target.live));
        break;
      }
      case "tree": {
        copyTree(action, target);
        io.out(describe(action, target.live));
        break;
      }
      case "file": {
        writeManaged(target, action.path, action.content, action.mode);
        chown(action.path, action);
        manifest?.files.push({
          path: action.path,
          mode: octal(action.mode),
          owner: action.owner,
          group: action.group,
          role: action.role,
          sha256: sha256(action.content),
        });
        io.out(describe(action, target.live));
        break;
      }
      case "keep": {
        if (action.newPath && action.content !== undefined) {
          writeManaged(target, action.newPath, action.content, action.mode ?? 0o640);
        }
        if (action.record) manifest?.files.push(action.record);
        io.out(describe(action, target.live));
        break;
      }
      case "remove": {
        rmSync(target.path(action.path), { recursive: true, force: true });
        io.out(describe(action, target.live));
        break;
      }
    }
  }
}

function writeManaged(target: Target, path: string, content: string, mode: number): void {
  const abs = target.path(path);
  mkdirSync(dirname(abs), { recursive: true });
  // Written aside and renamed: a reader never sees half a unit or a config.
  const tmp = `${abs}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, abs);
}

/**
 * The tree is built next to the prefix and swapped in, so a failed copy leaves the old install
 * whole. The manifest goes in last, written by the caller once everything else is done.
 */
function copyTree(action: Extract<Action, { kind: "tree" }>, target: Target): void {
  const dest = target.path(action.path);
  const fresh = `${dest}.new-${process.pid}`;
  const old = `${dest}.old-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  for (const entry of action.entries) {
    const to = join(fresh, entry.rel);
    mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
    if (entry.kind === "symlink") {
      symlinkSync(readlinkSync(join(action.from, entry.rel)), to);
    } else {
      copyFileSync(join(action.from, entry.rel), to);
      chmodSync(to, entry.mode);
    }
  }
  chmodSync(fresh, 0o755);
  const hadOld = existsSync(dest);
  if (hadOld) renameSync(dest, old);
  mkdirSync(dirname(dest), { recursive: true });
  renameSync(fresh, dest);
  if (hadOld) rmSync(old, { recursive: true, force: true });
  if (target.live) chownTree(dest);
}

/** Everything in the tree belongs to root: the service user must not be able to change its code. */
function chownTree(dir: string): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return;
  chownSync(dir, 0, 0);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(dir)) chownTree(join(dir, name));
}

export function runInstall(opts: InstallOptions, io: Io): number {
  const target = new Target(opts.root ?? "/");
  const { actions, manifest } = planInstall(opts);
  if (opts.dryRun) {
    io.out(`posbridge install --dry-run: nothing is changed${target.live ? "" : ` (root ${target.root})`}`);
    for (const a of actions) io.out(describe(a, target.live));
    return 0;
  }
  apply(actions, target, io, manifest);
  writeFileSync(target.path(join(manifest.prefix, MANIFEST_FILE)), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: 0o644,
  });
  const kept = actions.filter((a) => a.kind === "keep");
  io.out("");
  io.out(
    `posbridge ${manifest.posbridgeVersion} installed in ${manifest.prefix}, run by ${manifest.node} (Node.js ${manifest.nodeVersion}).`,
  );
  for (const k of kept) io.out(`NOTE: ${describe(k, target.live)}`);
  io.out("Next:");
  io.out(`  1. edit ${CONFIG_PATH} (store, bridge, broker, lanes) and ${ENV_PATH} (the MQTT password)`);
  io.out(`     and the device ids in ${RULES_PATH}; check with: posbridge check-config`);
  io.out("  2. systemctl enable --now posbridge && systemctl status posbridge");
  io.out("  (an upgrade: systemctl restart posbridge)");
  return 0;
}

export function runUninstall(opts: InstallOptions, io: Io): number {
  const target = new Target(opts.root ?? "/");
  const actions = planUninstall(opts);
  if (opts.dryRun) {
    io.out(`posbridge uninstall --dry-run: nothing is changed${target.live ? "" : ` (root ${target.root})`}`);
    for (const a of actions) io.out(describe(a, target.live));
    return 0;
  }
  apply(actions, target, io);
  io.out("");
  io.out(
    opts.purge ? "posbridge removed, with its configuration, sale journal and user." : "posbridge removed.",
  );
  return 0;
}
