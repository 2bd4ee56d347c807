// systemd/99-posbridge.rules: store IT copies a line and edits the ids, so every line must stay a
// well-formed, self-contained example that gives the node to posbridge and keeps ModemManager away.
// When a udevadm with the `verify` verb (systemd >= 253) is installed, udev's own checker runs too.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const RULES_PATH = fileURLToPath(new URL("../../systemd/99-posbridge.rules", import.meta.url));

type Op = "==" | "!=" | "=" | "+=" | "-=" | ":=";

interface Pair {
  /** "SUBSYSTEM", or "ATTRS{idVendor}" for keys with an attribute. */
  key: string;
  op: Op;
  value: string;
}

interface Rule {
  line: number;
  pairs: Pair[];
}

/** Match keys (udev(7) "==" / "!="), with the attribute-taking ones written KEY{}. */
const MATCH_KEYS = new Set([
  "ACTION",
  "SUBSYSTEM",
  "KERNEL",
  "KERNELS",
  "SUBSYSTEMS",
  "DRIVERS",
  "ATTRS{}",
  "ENV{}",
]);
/** Assignment keys and the operators this file may use with them. */
const ASSIGN_KEYS: Record<string, Op[]> = {
  SYMLINK: ["+="],
  GROUP: ["=", ":="],
  MODE: ["=", ":="],
  "ENV{}": ["="],
  TAG: ["+="],
};

const PAIR = /([A-Z]+)(\{[A-Za-z0-9_]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"/y;

/** Parses one rule line strictly: `KEY<op>"value"` pairs separated by ", ", nothing else. */
function parseRuleLine(text: string, line: number): Rule {
  const pairs: Pair[] = [];
  let at = 0;
  for (;;) {
    PAIR.lastIndex = at;
    const m = PAIR.exec(text);
    if (!m) throw new Error(`line ${line}: expected KEY=="value" at column ${at + 1}: ${text.slice(at)}`);
    const [, name, attr, op, value] = m as unknown as [string, string, string | undefined, Op, string];
    const keyClass = attr ? `${name}{}` : name;
    const isMatch = op === "==" || op === "!=";
    if (isMatch && !MATCH_KEYS.has(keyClass)) throw new Error(`line ${line}: ${name} is not a match key`);
    if (!isMatch && !ASSIGN_KEYS[keyClass]?.includes(op)) {
      throw new Error(`line ${line}: ${name}${attr ?? ""}${op} is not a known assignment`);
    }
    pairs.push({ key: `${name}${attr ?? ""}`, op, value });
    at = PAIR.lastIndex;
    if (at === text.length) break;
    if (!text.startsWith(", ", at)) throw new Error(`line ${line}: expected ", " at column ${at + 1}`);
    at += 2;
  }
  if (!pairs.some((p) => p.op === "==" || p.op === "!=")) throw new Error(`line ${line}: matches nothing`);
  if (!pairs.some((p) => p.op !== "==" && p.op !== "!=")) throw new Error(`line ${line}: assigns nothing`);
  return { line, pairs };
}

function parseRules(text: string): Rule[] {
  const rules: Rule[] = [];
  text.split("\n").forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    if (raw !== trimmed) throw new Error(`line ${i + 1}: leading or trailing blanks`);
    rules.push(parseRuleLine(raw, i + 1));
  });
  return rules;
}

const get = (r: Rule, key: string, op?: Op) =>
  r.pairs.find((p) => p.key === key && (!op || p.op === op))?.value;

const text = readFileSync(RULES_PATH, "utf8");
const rules = parseRules(text);
const subsystem = (r: Rule) => get(r, "SUBSYSTEM", "==");

/** A udevadm that knows `verify`, if one is installed. */
function findUdevadm(): string | undefined {
  const dirs = ["/bin", "/usr/bin", "/sbin", "/usr/sbin", ...(process.env.PATH ?? "").split(delimiter)];
  const bin = dirs
    .filter((d) => d.startsWith("/"))
    .map((d) => join(d, "udevadm"))
    .find((p) => existsSync(p));
  if (!bin) return undefined;
  const help = spawnSync(bin, ["verify", "--help"], { encoding: "utf8", timeout: 10_000 });
  return help.status === 0 ? bin : undefined;
}
const udevadm = findUdevadm();

describe("systemd/99-posbridge.rules", () => {
  it('is made of comments and rules whose every pair is KEY<op>"value" with a known key', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(text.endsWith("\n")).toBe(true);
    expect(text).not.toMatch(/\\\n/); // no continuation lines: each rule can be copied alone
  });

  it("matches a tty, hidraw or input node of one vendor, with ids as udevadm prints them", () => {
    for (const r of rules) {
      expect(["tty", "hidraw", "input"], `line ${r.line}`).toContain(subsystem(r));
      const kernel = get(r, "KERNEL", "==");
      expect(kernel, `line ${r.line}`).toMatch(/^(ttyUSB|ttyACM|hidraw|event)\[0-9\]\*$/);
      expect(get(r, "ATTRS{idVendor}", "=="), `line ${r.line}`).toMatch(/^[0-9a-f]{4}$/);
      const product = get(r, "ATTRS{idProduct}", "==");
      if (product !== undefined) expect(product, `line ${r.line}`).toMatch(/^[0-9a-f]{4}$/);
    }
  });

  it("every rule gives the node to group posbridge with MODE 0660, never wider", () => {
    for (const r of rules) {
      expect(get(r, "GROUP"), `line ${r.line}`).toBe("posbridge");
      expect(get(r, "MODE"), `line ${r.line}`).toBe("0660");
    }
  });

  it("every tty rule tells ModemManager to keep away", () => {
    const tty = rules.filter((r) => subsystem(r) === "tty");
    expect(tty.length).toBeGreaterThanOrEqual(4);
    for (const r of tty) expect(get(r, "ENV{ID_MM_DEVICE_IGNORE}", "="), `line ${r.line}`).toBe("1");
  });

  it("names each device under /dev/posbridge/, once, and pins it to one unit (serial number or USB port)", () => {
    const names: string[] = [];
    for (const r of rules) {
      const link = get(r, "SYMLINK", "+=");
      expect(link, `line ${r.line}`).toMatch(/^posbridge\/[a-z0-9][a-z0-9-]*$/);
      names.push(link as string);
      const serial = get(r, "ATTRS{serial}", "==");
      const port = get(r, "KERNELS", "==");
      expect(serial ?? port, `line ${r.line} must match ATTRS{serial} or KERNELS`).toBeDefined();
      if (port !== undefined) expect(port, `line ${r.line}`).toMatch(/^\d+-\d+(\.\d+)*$/);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it("has an example for each common POS part", () => {
    const ids = (r: Rule) => `${get(r, "ATTRS{idVendor}")}:${get(r, "ATTRS{idProduct}") ?? "*"}`;
    const tty = rules.filter((r) => subsystem(r) === "tty").map(ids);
    for (const adapter of ["0403:6001", "067b:2303", "1a86:7523", "10c4:ea60"])
      expect(tty).toContain(adapter);
    const vendorsBySubsystem = (s: string) =>
      rules.filter((r) => subsystem(r) === s).map((r) => get(r, "ATTRS{idVendor}"));
    for (const scanner of ["0c2e", "05e0", "1eab"]) {
      expect([
        ...vendorsBySubsystem("hidraw"),
        ...vendorsBySubsystem("input"),
        ...vendorsBySubsystem("tty"),
      ]).toContain(scanner);
    }
    expect(vendorsBySubsystem("hidraw").length).toBeGreaterThan(0);
  });

  it("explains every rule in a comment right above it", () => {
    const lines = text.split("\n");
    for (const r of rules) expect(lines[r.line - 2], `line ${r.line}`).toMatch(/^# \S/);
  });

  it("the checker itself rejects what udev would misread or refuse", () => {
    const bad = [
      'SUBSYSTEM=="tty" GROUP="posbridge"', // missing comma
      'SUBSYSTEM=="tty", GROUP=posbridge', // unquoted value
      'SUBSYSTEM=="tty", GROUP=="posbridge"', // match on an assignment-only key
      'KERNEL="ttyUSB0", GROUP="posbridge"', // assignment to a match-only key
      'SUBSYSTEM=="tty", OWNR="root"', // unknown key
      'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403"', // assigns nothing
      'GROUP="posbridge"', // matches nothing
    ];
    for (const line of bad) expect(() => parseRuleLine(line, 1), line).toThrow();
    expect(parseRuleLine('SUBSYSTEM=="tty", ENV{ID_MM_DEVICE_IGNORE}="1"', 1).pairs).toHaveLength(2);
  });

  it.skipIf(!udevadm)("passes `udevadm verify`", () => {
    // --resolve-names=never: the posbridge group need not exist on the machine running the tests.
    const r = spawnSync(udevadm!, ["verify", "--resolve-names=never", RULES_PATH], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
