// stateDir, where the sale journal lives: a directory the service can write (tried for real: a
// file created, fsync'd and removed, as the journal does; and judged for the service user from
// the owner and mode when the doctor is someone else), with room to spare. The journal restores
// itself after a fault by writing a whole copy, so a nearly full disk is worth a warning before
// the first failed write refuses sales.
import { closeSync, fsyncSync, openSync, type Stats, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { accessFor, describeOwnership } from "../accounts.js";
import { type Check, type DoctorContext, finding, type Finding } from "./check.js";

const SUBJECT = "stateDir";
/** Below this much free space the journal may fail its next write (or its restore copy). */
export const MIN_FREE_BYTES = 10 * 1024 * 1024;
/** Below this, or below WARN_FREE_RATIO of the filesystem, it is time to free space. */
export const WARN_FREE_BYTES = 100 * 1024 * 1024;
export const WARN_FREE_RATIO = 0.05;

const ERRNO_WORDS: Record<string, string> = {
  EROFS: "the filesystem is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is not a directory",
  EIO: "I/O error (a failing disk?)",
};

export const stateDirCheck: Check = {
  id: "state-dir",
  title: "stateDir is a writable directory with free space",
  run(ctx) {
    const config = ctx.config;
    if (!config) return [];
    const dir = config.stateDir;
    let st: Stats;
    try {
      st = statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      if (code === "ENOENT")
        return [
          finding(this.id, ctx.daemon.running ? "error" : "warn", SUBJECT, `${dir} does not exist`, {
            code: ctx.daemon.running ? "PB_JOURNAL_GONE" : undefined,
            detail:
              "the daemon creates it at start; so does the unit's StateDirectory= for /var/lib/posbridge",
            fix: `start the daemon, or create it: install -d -m 0700 -o ${ctx.user.wanted} -g ${ctx.user.wanted} ${dir}`,
          }),
        ];
      return [
        finding(this.id, "error", SUBJECT, `${dir} cannot be used: ${ERRNO_WORDS[code] ?? code} (${code})`, {
          code: "PB_JOURNAL_WRITE",
          fix: `make ${dir} a directory the service user owns (install -d -m 0700 -o ${ctx.user.wanted} -g ${ctx.user.wanted} ${dir})`,
        }),
      ];
    }
    if (!st.isDirectory())
      return [
        finding(this.id, "error", SUBJECT, `${dir} is not a directory`, {
          code: "PB_JOURNAL_WRITE",
          fix: `move that file away and create the directory (install -d -m 0700 -o ${ctx.user.wanted} -g ${ctx.user.wanted} ${dir})`,
        }),
      ];
    const out: Finding[] = [];
    const write = tryWrite(dir);
    if (write)
      out.push(
        finding(
          this.id,
          "error",
          SUBJECT,
          `${dir} is not writable: ${ERRNO_WORDS[write] ?? write} (${write})`,
          {
            code: "PB_JOURNAL_WRITE",
            detail: "the doctor's own test file could not be written: every sale would be refused",
            fix: fixFor(write, dir, ctx.user.wanted),
          },
        ),
      );
    else {
      const { user, found } = ctx.user;
      const self = user.uid === (process.getuid?.() ?? -1);
      if (found && !self && !accessFor(user, st, "rwx").ok)
        out.push(
          finding(
            this.id,
            "error",
            SUBJECT,
            `user ${user.name} cannot write ${dir} (${describeOwnership(ctx.accounts, st)})`,
            {
              code: "PB_JOURNAL_WRITE",
              fix: `chown ${user.name}:${user.name} ${dir} && chmod 0700 ${dir} (systemd's StateDirectory= does it when the unit starts)`,
            },
          ),
        );
    }
    out.push(...space(ctx, dir));
    if (!out.some((f) => f.level !== "ok"))
      out.unshift(finding(this.id, "ok", SUBJECT, `${dir} is writable`));
    return out;
  },
};

/** "" when a file could be created, written, fsync'd and removed; otherwise the errno. */
function tryWrite(dir: string): string {
  const path = join(dir, `.posbridge-doctor-${process.pid}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, "wx", 0o600);
    writeSync(fd, "posbridge doctor write test\n");
    fsyncSync(fd);
    return "";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "EIO";
  } finally {
    if (fd !== undefined) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}

function fixFor(errno: string, dir: string, user: string): string {
  if (errno === "EROFS")
    return `the filesystem of ${dir} went read-only (after an error?): see dmesg, then fsck and remount it read-write`;
  if (errno === "ENOSPC" || errno === "EDQUOT") return `free space on the filesystem of ${dir}`;
  return `make ${dir} writable for the service user (chown ${user}:${user} ${dir} && chmod 0700 ${dir})`;
}

function space(ctx: DoctorContext, dir: string): Finding[] {
  let s: { bsize: number; blocks: number; bavail: number };
  try {
    s = ctx.statfs(dir);
  } catch {
    return [];
  }
  const free = s.bavail * s.bsize;
  const total = s.blocks * s.bsize;
  const ratio = total > 0 ? free / total : 1;
  const said = `${mb(free)} free of ${mb(total)} (${(ratio * 100).toFixed(1)} %)`;
  if (free < MIN_FREE_BYTES)
    return [
      finding("state-dir", "error", SUBJECT, `the filesystem of ${dir} is full: ${said}`, {
        code: "PB_JOURNAL_WRITE",
        fix: "free space now: the journal's next write will fail and sales will be refused",
      }),
    ];
  if (free < WARN_FREE_BYTES || ratio < WARN_FREE_RATIO)
    return [
      finding("state-dir", "warn", SUBJECT, `the filesystem of ${dir} is nearly full: ${said}`, {
        code: "PB_JOURNAL_WRITE",
        fix: "free space (old logs: journalctl --vacuum-size=200M; apt clean)",
      }),
    ];
  return [finding("state-dir", "ok", SUBJECT, said)];
}

function mb(bytes: number): string {
  return bytes >= 10 * 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(0)} GB`
    : `${(bytes / 1024 ** 2).toFixed(0)} MB`;
}
