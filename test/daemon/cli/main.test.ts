// The command table: `posbridge <command> --help` prints that command's usage (it printed the
// global help before), the global help lists the table, and each command parses only its own
// options (an option of another command is a usage error, exit 64).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import type { Io } from "../../../daemon/cli/command.js";
import { COMMAND_TABLE, loadCommands } from "../../../daemon/cli/commands.js";
import { main } from "../../../daemon/main.js";

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env: {},
    clock: new ManualClock(),
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

const COMMANDS = await loadCommands();

describe("posbridge <command> --help", () => {
  it("the table names each command by the name its module gives it", () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(COMMAND_TABLE.map((c) => c.name));
  });

  it.each(COMMANDS.map((c) => [c.name]))("%s --help and help %s print its own usage", async (name) => {
    for (const argv of [
      [name, "--help"],
      [name, "-h"],
      ["help", name],
    ]) {
      const t = fakeIo();
      expect(await main(argv, t.io)).toBe(0);
      expect(t.out()).toMatch(new RegExp(`^Usage: posbridge ${name}\\b`));
      expect(t.out()).not.toContain("Commands:");
    }
  });

  it("the global help lists every command of the table with its summary", async () => {
    const t = fakeIo();
    expect(await main(["--help"], t.io)).toBe(0);
    for (const c of COMMANDS)
      expect(t.out()).toMatch(
        new RegExp(`^ {2}${c.name} +${c.summary.slice(0, 20).replace(/[()[\]|.*+?]/g, "\\$&")}`, "m"),
      );
  });

  it("each command takes only its own options: exit 64 naming the command", async () => {
    const t = fakeIo();
    expect(await main(["run", "--date", "2026-01-01"], t.io)).toBe(64);
    expect(t.err()).toMatch(/^posbridge run: Unknown option '--date'/);
    expect(t.err()).toContain("Try 'posbridge run --help'.");
    const u = fakeIo();
    expect(await main(["status", "--purge"], u.io)).toBe(64);
    const v = fakeIo();
    expect(await main(["frobnicate"], v.io)).toBe(64);
    expect(v.err()).toContain("unknown command 'frobnicate'");
    const w = fakeIo();
    expect(await main(["help", "frobnicate"], w.io)).toBe(64);
  });

  it("test and log-level check their arguments before asking the daemon", async () => {
    const t = fakeIo();
    expect(await main(["test", "sale", "lane1", "12.34"], t.io)).toBe(64);
    expect(t.err()).toContain("test sale needs a lane and an amount in fen");
    const u = fakeIo();
    expect(await main(["log-level", "mqtt", "loud"], u.io)).toBe(64);
    expect(u.err()).toMatch(/level must be one of fatal, error, warn, info, debug, trace, silent/);
    const v = fakeIo();
    expect(await main(["test", "frob", "lane1"], v.io)).toBe(64);
  });
});
