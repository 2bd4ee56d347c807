// Processes, read from /proc without `fuser` or `lsof` (neither is on a minimal store PC): which
// ones run (ModemManager, brltty), and which hold a device node open (the links in
// /proc/<pid>/fd), so the doctor can say "held by pid 4242 (minicom -D /dev/ttyUSB0)" instead of
// "Cannot lock port". A process of another user is visible only to root: the doctor says so when
// it ran without root and found nobody.
//
// A pty is not "held by another process" when that process owns the other end: the process with
// the pty's master (/dev/ptmx whose fdinfo says `tty-index: N`) is the line's far side (socat, a
// terminal emulator, a test), and socat keeps the slave open too.
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, join } from "node:path";

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm: the program's name (15 characters at most). */
  comm: string;
  /** /proc/<pid>/cmdline with spaces, cut at CMDLINE_MAX characters. */
  cmdline: string;
}

export interface Holder extends ProcessInfo {
  /** Also holds the node's flock (what serialport takes: "Cannot lock port"). */
  locks: boolean;
}

const CMDLINE_MAX = 160;

export function listProcesses(procRoot: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of pids(procRoot)) {
    const info = processInfo(procRoot, pid);
    if (info) out.push(info);
  }
  return out;
}

export function processInfo(procRoot: string, pid: number): ProcessInfo | undefined {
  const dir = join(procRoot, String(pid));
  let comm: string;
  try {
    comm = readFileSync(join(dir, "comm"), "utf8").trim();
  } catch {
    return undefined; // gone meanwhile
  }
  let cmdline = "";
  try {
    cmdline = readFileSync(join(dir, "cmdline"), "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    // a kernel thread, or hidden
  }
  if (cmdline.length > CMDLINE_MAX) cmdline = `${cmdline.slice(0, CMDLINE_MAX - 1)}…`;
  return { pid, comm, cmdline };
}

/** Processes named `comm` (exactly, as /proc/<pid>/comm has it). */
export function running(processes: readonly ProcessInfo[], comm: string): ProcessInfo[] {
  return processes.filter((p) => p.comm === comm);
}

export interface HoldersOptions {
  /** Not reported: this process, and the daemon itself when it holds its own port. */
  exclude?: ReadonlySet<number>;
}

/**
 * Every process with `realPath` open (by the links in /proc/<pid>/fd), except the excluded ones
 * and, for a pty, the holder of its master. Processes whose fds cannot be read are skipped.
 */
export function holdersOf(procRoot: string, realPath: string, options: HoldersOptions = {}): Holder[] {
  const ptyIndex = /\/pts\/(\d+)$/.exec(realPath)?.[1];
  const lockers = flockHolders(procRoot, realPath);
  const found = new Map<number, boolean>();
  for (const pid of pids(procRoot)) {
    if (options.exclude?.has(pid)) continue;
    const fdDir = join(procRoot, String(pid), "fd");
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      continue;
    }
    let holds = false;
    let ownsMaster = false;
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(fdDir, fd));
      } catch {
        continue;
      }
      if (target === realPath) holds = true;
      else if (ptyIndex !== undefined && basename(target) === "ptmx" && ptyOf(procRoot, pid, fd) === ptyIndex)
        ownsMaster = true;
    }
    if (holds && !ownsMaster) found.set(pid, true);
  }
  for (const pid of lockers) if (!options.exclude?.has(pid)) found.set(pid, true);
  const out: Holder[] = [];
  for (const pid of [...found.keys()].sort((a, b) => a - b)) {
    const info = processInfo(procRoot, pid);
    if (info) out.push({ ...info, locks: lockers.has(pid) });
  }
  return out;
}

/** "pid 4242 minicom (minicom -D /dev/ttyUSB0)", and whether it holds the lock. */
export function describeHolder(h: Holder): string {
  const cmd = h.cmdline && h.cmdline !== h.comm ? ` (${h.cmdline})` : "";
  return `pid ${h.pid} ${h.comm}${cmd}${h.locks ? ", holding its lock" : ""}`;
}

function pids(procRoot: string): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/** The pty index a ptmx fd is the master of (fdinfo `tty-index`, Linux ≥ 4.20 era kernels). */
function ptyOf(procRoot: string, pid: number, fd: string): string | undefined {
  try {
    return /^tty-index:\s*(\d+)/m.exec(readFileSync(join(procRoot, String(pid), "fdinfo", fd), "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Pids holding a flock on the node (serialport locks the ports it opens): /proc/locks names the
 * inode as `major:minor:inode` of the filesystem the node lives on (devtmpfs), majors and minors
 * in hex.
 */
function flockHolders(procRoot: string, realPath: string): Set<number> {
  const out = new Set<number>();
  let dev: number;
  let ino: number;
  let text: string;
  try {
    const st = statSync(realPath);
    dev = st.dev;
    ino = st.ino;
    text = readFileSync(join(procRoot, "locks"), "utf8");
  } catch {
    return out;
  }
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 3784 00:05:1234 0 EOF"
    const m = /^\d+:\s+(?:->\s+)?FLOCK\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/i.exec(line);
    if (!m) continue;
    if (
      Number.parseInt(m[2] as string, 16) === major &&
      Number.parseInt(m[3] as string, 16) === minor &&
      Number(m[4]) === ino
    )
      out.add(Number(m[1]));
  }
  return out;
}

/** A posbridge daemon (`… posbridge … run …`), by its command line. */
export function looksLikeBridge(p: ProcessInfo): boolean {
  return /posbridge/.test(p.cmdline) && /\brun\b/.test(p.cmdline);
}
