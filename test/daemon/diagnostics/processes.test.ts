// Who holds a device node, read from a fake /proc: fd links, a pty's master holder (the other
// end of the line, not a thief), flock holders from /proc/locks, and the processes excluded.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeHolder, holdersOf, listProcesses, running } from "../../../daemon/diagnostics/processes.js";
import { canMknod, type FakeSystem, fakeSystem } from "./fake-system.js";

describe.skipIf(!canMknod())("processes and holders", () => {
  let sys: FakeSystem;
  let tty: string;
  let pty: string;
  beforeEach(() => {
    sys = fakeSystem();
    tty = sys.addUsbSerial("ttyUSB0", { vendorId: "0403", productId: "6001" });
    pty = sys.addLoneNode(join(sys.roots.dev, "pts", "4"));
    sys.addProcess(100, "ModemManager", ["/usr/sbin/ModemManager"]);
    sys.addProcess(4242, "minicom", ["minicom", "-D", tty], ["/dev/null", tty]);
    sys.addProcess(4300, "bash", ["-bash"], ["/dev/null"]);
    // socat made the pty: it holds the master (ptmx, tty-index 4) and the slave.
    sys.addProcess(5000, "socat", ["socat", "pty,link=/tmp/reg", "pty"], [join(sys.roots.dev, "ptmx"), pty], {
      3: "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t91\ntty-index:\t4\n",
    });
    sys.addProcess(5100, "sleep", ["sleep", "30"], [pty]);
  });
  afterEach(() => sys.remove());

  it("lists processes with comm and cmdline, and finds them by name", () => {
    const all = listProcesses(sys.roots.proc);
    expect(all.map((p) => p.pid)).toEqual([100, 4242, 4300, 5000, 5100]);
    expect(running(all, "ModemManager")).toEqual([
      { pid: 100, comm: "ModemManager", cmdline: "/usr/sbin/ModemManager" },
    ]);
    expect(running(all, "brltty")).toEqual([]);
  });

  it("names the process holding a node, by pid, program and command line", () => {
    const holders = holdersOf(sys.roots.proc, tty);
    expect(holders).toEqual([{ pid: 4242, comm: "minicom", cmdline: `minicom -D ${tty}`, locks: false }]);
    expect(describeHolder(holders[0] as (typeof holders)[0])).toBe(`pid 4242 minicom (minicom -D ${tty})`);
    expect(holdersOf(sys.roots.proc, tty, { exclude: new Set([4242]) })).toEqual([]);
  });

  it("a pty's master holder is the other end of the line, not a holder; another opener of the slave is", () => {
    expect(holdersOf(sys.roots.proc, pty).map((h) => h.pid)).toEqual([5100]);
  });

  it("marks the holder of the node's flock (serialport's lock: 'Cannot lock port')", () => {
    sys.addFlock(4242, tty);
    expect(holdersOf(sys.roots.proc, tty)).toEqual([expect.objectContaining({ pid: 4242, locks: true })]);
    expect(describeHolder(holdersOf(sys.roots.proc, tty)[0] as never)).toBe(
      `pid 4242 minicom (minicom -D ${tty}), holding its lock`,
    );
  });

  it("a lock on another inode is not this node's", () => {
    writeFileSync(join(sys.roots.proc, "locks"), "1: FLOCK  ADVISORY  WRITE 4300 00:05:1 0 EOF\n");
    expect(holdersOf(sys.roots.proc, tty).map((h) => h.locks)).toEqual([false]);
  });
});
