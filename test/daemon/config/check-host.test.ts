// check-config's warnings about this PC: a device path that does not exist, a device node the
// service user (groups posbridge, dialout) cannot open, and a stateDir it cannot write.
import { mkdirSync, mkdtempSync, type Stats, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkHost, nodeAccessProblem } from "../../../daemon/config/check-host.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import { DeviceResolver } from "../../../daemon/devices/device-identity.js";

function config(stateDir: string, terminal: string, scanner: string) {
  return loadConfig({
    path: "/etc/posbridge/posbridge.yaml",
    env: {},
    readFile: () =>
      `store: s\nbridge: b\nstateDir: ${stateDir}\nmqtt: { url: "mqtt://localhost" }\nlanes:\n  - id: l1\n    terminal: { path: ${terminal} }\n    scanner: { path: ${scanner} }\n`,
  });
}

const groups: Record<number, string> = { 0: "root", 20: "dialout", 990: "posbridge", 5: "tty" };
const charStat = (gid: number, mode: number) =>
  ({ ...statSync("/dev/null"), gid, mode: 0o20000 | mode, isDirectory: () => false }) as unknown as Stats;

describe("checkHost", () => {
  it("warns about a device path that does not exist, naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-host-"));
    const w = checkHost(config(dir, join(dir, "ttyUSB9"), "/dev/null"), {
      resolver: new DeviceResolver(),
      groupName: (gid) => groups[gid],
      canWrite: () => {},
      uid: 1000,
    });
    expect(w).toEqual([
      {
        path: "lanes[0].terminal.path",
        message: `${join(dir, "ttyUSB9")} does not exist: the terminal is not plugged in, or the path is wrong (ls -l /dev/serial/by-id); the daemon waits for it`,
      },
    ]);
  });

  it("judges a device node's group and mode against the service's groups", () => {
    const name = (gid: number) => groups[gid];
    expect(nodeAccessProblem(charStat(20, 0o660), name)).toBeUndefined();
    expect(nodeAccessProblem(charStat(990, 0o660), name)).toBeUndefined();
    expect(nodeAccessProblem(charStat(0, 0o666), name)).toBeUndefined();
    expect(nodeAccessProblem(charStat(5, 0o620), name)).toBe(
      "belongs to group tty (mode 0620), which the service user (groups posbridge, dialout) is not in: install systemd/99-posbridge.rules and replug, or add the service user to tty",
    );
    expect(nodeAccessProblem(charStat(20, 0o600), name)).toMatch(
      /has mode 0600: its group dialout cannot read and write it/,
    );
  });

  it("warns about a wrong group on a real node (through the resolver), and an unwritable stateDir", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-host-"));
    const link = join(dir, "scanner");
    symlinkSync("/dev/null", link);
    const state = join(dir, "state");
    mkdirSync(state);
    const w = checkHost(config(state, "/dev/zero", link), {
      groupName: (gid) => groups[gid],
      stat: (p) => (p === "/dev/null" ? charStat(5, 0o620) : statSync(p)),
      canWrite: (p) => {
        if (p === state) throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      },
      uid: 1000,
    });
    expect(w.map((x) => x.path)).toEqual(["lanes[0].scanner.path", "stateDir"]);
    expect(w[0]?.message).toMatch(/^\/dev\/null belongs to group tty \(mode 0620\)/);
    expect(w[1]?.message).toMatch(
      /is not writable \(EACCES\): the bridge refuses to start without its journal/,
    );
  });

  it("as root: a stateDir the service user does not own is a warning too (root may write anywhere, the service may not)", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-host-"));
    const w = checkHost(config(join(dir, "new", "state"), "/dev/zero", "/dev/null"), {
      groupName: (gid) => groups[gid],
      userName: (uid) => (uid === 0 ? "root" : undefined),
      serviceUserExists: true,
      stat: (p) =>
        p.startsWith("/dev/")
          ? charStat(20, 0o660)
          : ({ ...statSync(p), uid: 0, gid: 0, mode: 0o40755, isDirectory: () => true } as unknown as Stats),
      canWrite: () => {},
      uid: 0,
    });
    expect(w).toHaveLength(1);
    expect(w[0]?.path).toBe("stateDir");
    expect(w[0]?.message).toContain(
      "does not exist yet and would be created there) belongs to root:root with mode 0755",
    );
  });
});
