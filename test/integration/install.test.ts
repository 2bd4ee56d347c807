// `posbridge install` / `uninstall` in a scratch root (--root), as store IT would run them but
// with no real systemd, users or /etc touched: what is written and with which modes, the owners
// and commands recorded in the manifest, the production tree (no dev packages, and it runs),
// an edited config never overwritten, the Node.js check, and uninstall with and without --purge.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../daemon/cli/install.js";
import { ManualClock } from "../../daemon/clock.js";
import { Journal } from "../../daemon/journal/journal.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { assertBuilt, BIN, UNIT_NODE_OPTIONS } from "../support/daemon-process.js";

const repo = new URL("../..", import.meta.url).pathname;

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function tree(root: string, dir = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = dir ? `${dir}/${name}` : name;
    const st = lstatSync(join(root, rel));
    if (st.isDirectory()) {
      out[`${rel}/`] = `0${(st.mode & 0o777).toString(8)}`;
      if (rel !== "opt/posbridge/node_modules" && rel !== "opt/posbridge/build")
        Object.assign(out, tree(root, rel));
    } else out[rel] = `0${(st.mode & 0o777).toString(8)}`;
  }
  return out;
}

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;
const manifestOf = (root: string) =>
  JSON.parse(readFileSync(join(root, "opt/posbridge/install-manifest.json"), "utf8")) as Manifest;

describe("posbridge install into a scratch root", () => {
  const root = mkdtempSync(join(tmpdir(), "posbridge-install-"));
  let first: ReturnType<typeof cli>;

  beforeAll(() => {
    assertBuilt();
    first = cli(["install", "--root", root]);
  });

  it("writes the production tree, /etc/posbridge, the unit, the rules and the command, with these modes", () => {
    expect(first.code, first.out).toBe(0);
    const t = tree(root);
    expect(t).toMatchObject({
      "etc/posbridge/": "0750",
      "etc/posbridge/posbridge.yaml": "0640",
      "etc/posbridge/posbridge.env": "0640",
      "etc/systemd/system/posbridge.service": "0644",
      "etc/udev/rules.d/99-posbridge.rules": "0644",
      "etc/modules-load.d/posbridge.conf": "0644",
      "usr/local/bin/posbridge": "0755",
      "opt/posbridge/": "0755",
      "opt/posbridge/bin/posbridge.js": "0755",
      "opt/posbridge/package.json": "0644",
      "opt/posbridge/install-manifest.json": "0644",
      "opt/posbridge/docs/deployment.md": "0644",
    });
    // Nothing of the checkout's development side.
    for (const path of Object.keys(t))
      expect(path).not.toMatch(/^opt\/posbridge\/(\.git|test|bench|scripts|\.ci)\b/);
    // The bundle bin/posbridge.js runs, and tsc's output it was made from (PB_NO_BUNDLE=1).
    expect(readdirSync(join(root, "opt/posbridge/build")).sort()).toEqual([
      "daemon",
      "dist",
      "gen",
      "protocols",
    ]);
    expect(mode(join(root, "opt/posbridge/build/dist/main.js"))).toBe("0644");
    // Only what was asked for: no state or runtime directory (systemd makes those), nothing else.
    expect(
      Object.keys(t)
        .filter((p) => !p.startsWith("opt/posbridge/"))
        .sort(),
    ).toEqual([
      "etc/",
      "etc/modules-load.d/",
      "etc/modules-load.d/posbridge.conf",
      "etc/posbridge/",
      "etc/posbridge/posbridge.env",
      "etc/posbridge/posbridge.yaml",
      "etc/systemd/",
      "etc/systemd/system/",
      "etc/systemd/system/posbridge.service",
      "etc/udev/",
      "etc/udev/rules.d/",
      "etc/udev/rules.d/99-posbridge.rules",
      "opt/",
      "usr/",
      "usr/local/",
      "usr/local/bin/",
      "usr/local/bin/posbridge",
    ]);
  });

  it("records owners and the commands it would run, without running them", () => {
    const m = manifestOf(root);
    const owners = Object.fromEntries(m.files.map((f) => [f.path, `${f.mode} ${f.owner}:${f.group}`]));
    expect(owners).toEqual({
      "/etc/posbridge/posbridge.yaml": "0640 root:posbridge",
      "/etc/posbridge/posbridge.env": "0640 root:posbridge",
      "/etc/systemd/system/posbridge.service": "0644 root:root",
      "/etc/udev/rules.d/99-posbridge.rules": "0644 root:root",
      "/etc/modules-load.d/posbridge.conf": "0644 root:root",
      "/usr/local/bin/posbridge": "0755 root:root",
    });
    expect(m.dirs).toEqual([{ path: "/etc/posbridge", mode: "0750", owner: "root", group: "posbridge" }]);
    expect(m.commands.map((c) => c.argv.join(" "))).toEqual([
      "groupadd --system posbridge",
      "useradd --system --gid posbridge --groups dialout --home-dir /var/lib/posbridge --no-create-home --shell /usr/sbin/nologin --comment posbridge payment bridge posbridge",
      "modprobe -a usbserial cdc_acm",
      "systemctl daemon-reload",
      "udevadm control --reload-rules",
      "udevadm trigger --action=change --subsystem-match=tty --subsystem-match=hidraw --subsystem-match=input",
    ]);
    expect(m.commands.every((c) => !c.ran)).toBe(true);
    expect(m.node).toBe(process.execPath);
    expect(m.prefix).toBe("/opt/posbridge");
  });

  it("renders the unit and the command for this Node.js and prefix; the rules' group is the service's", () => {
    const unit = readFileSync(join(root, "etc/systemd/system/posbridge.service"), "utf8");
    expect(unit).toContain(
      `ExecStart=${process.execPath} /opt/posbridge/bin/posbridge.js run --config /etc/posbridge/posbridge.yaml`,
    );
    expect(unit).toMatch(/^Type=notify$/m);
    expect(readFileSync(join(root, "usr/local/bin/posbridge"), "utf8")).toContain(
      `exec '${process.execPath}' '/opt/posbridge/bin/posbridge.js' "$@"`,
    );
    const rules = readFileSync(join(root, "etc/udev/rules.d/99-posbridge.rules"), "utf8");
    expect([...rules.matchAll(/GROUP="([^"]+)"/g)].map((m) => m[1])).toSatisfy((g: string[]) =>
      g.every((x) => x === "posbridge"),
    );
    expect(unit).toMatch(/^Group=posbridge$/m);
  });

  it("ships production dependencies only: no demo or development package", () => {
    const nm = join(root, "opt/posbridge/node_modules");
    for (const pkg of [
      "aedes",
      "pino-pretty",
      "@serialport/binding-mock",
      "vitest",
      "typescript",
      "@biomejs/biome",
      "protobufjs-cli",
      ".bin",
    ])
      expect(existsSync(join(nm, pkg)), pkg).toBe(false);
    for (const pkg of [
      "mqtt",
      "pino",
      "protobufjs",
      "ajv",
      "yaml",
      "@serialport/bindings-cpp",
      "@serialport/stream",
    ])
      expect(existsSync(join(nm, pkg, "package.json")), pkg).toBe(true);
    const sizeMb = manifestOf(root).tree.bytes / 1e6;
    expect(sizeMb).toBeLessThan(80);
  });

  it("runs from the installed tree: version, check-config, report, and the demo says it is not there", () => {
    const installed = join(root, "opt/posbridge/bin/posbridge.js");
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync(process.execPath, [installed, ...args], {
        encoding: "utf8",
        cwd: tmpdir(),
        env: { ...process.env, ...env },
      });
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
    expect(run(["--version"]).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run(["--version"], { PB_NO_BUNDLE: "1" }).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // The starter config is the annotated example: valid as installed; its devices are not here.
    const check = run(["check-config", "-c", join(root, "etc/posbridge/posbridge.yaml")]);
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/warning: lanes\[0\]\.terminal\.path: .* does not exist/);
    expect(run(["status", "--help"]).out).toMatch(/^Usage: posbridge status/);
    const demo = run(["demo"]);
    expect(demo.code).toBe(1);
    expect(demo.out).toContain("the demo is not part of a production install");
    expect(demo.out).toContain("PB_DEMO_UNAVAILABLE");
  });

  it("logs JSON with a one-line note when pretty logs are asked for and pino-pretty is absent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posbridge-prod-"));
    const config = join(dir, "c.yaml");
    writeFileSync(
      config,
      `store: S1\nbridge: B1\nstateDir: ${join(dir, "state")}\nlog: { format: pretty }\nmqtt: { url: "mqtt://127.0.0.1:1", reconnectMinMs: 100, reconnectMaxMs: 1000 }\nlanes:\n  - id: l1\n    terminal: { path: ${join(dir, "none")} }\n    scanner: { path: ${join(dir, "none2")} }\n`,
    );
    const { spawn } = await import("node:child_process");
    const proc = spawn(
      process.execPath,
      [join(root, "opt/posbridge/bin/posbridge.js"), "run", "-c", config],
      {
        stdio: ["ignore", "pipe", "pipe"],
        // Its own control socket: not /run/posbridge, where another test's daemon may be. The
        // unit's V8 flags: the installed tree's code cache (bin/code-cache.js) is made for them.
        env: {
          ...process.env,
          POSBRIDGE_DIAGNOSTICS__SOCKET: join(dir, "control.sock"),
          NODE_OPTIONS: UNIT_NODE_OPTIONS,
          PB_CODE_CACHE: "",
        },
      },
    );
    let out = "";
    proc.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    await expect.poll(() => out.includes('"posbridge started"'), { timeout: 10_000 }).toBe(true);
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    const first = JSON.parse(out.split("\n")[0] ?? "") as { msg: string };
    expect(first.msg).toContain("pretty log output needs pino-pretty");
    // The installed tree starts from its code cache, like the checkout it was built in.
    const started = out
      .split("\n")
      .filter((l) => l.includes('"posbridge started"'))
      .map((l) => JSON.parse(l) as { loaded?: string });
    expect(started[0]?.loaded).toBe("bundle, code cache");
  });

  it("keeps an edited config on a second install and puts the new one next to it", () => {
    const config = join(root, "etc/posbridge/posbridge.yaml");
    writeFileSync(config, "store: edited-by-store-it\n");
    const again = cli(["install", "--root", root]);
    expect(again.code, again.out).toBe(0);
    expect(readFileSync(config, "utf8")).toBe("store: edited-by-store-it\n");
    expect(again.out).toContain("keep /etc/posbridge/posbridge.yaml: edited since it was installed");
    expect(readFileSync(`${config}.posbridge-new`, "utf8")).toContain("store: store-0042");
    expect(mode(`${config}.posbridge-new`)).toBe("0640");
    // The unedited files were simply written again.
    expect(again.out).toContain("write /etc/posbridge/posbridge.env 0640 root:posbridge");
    // Still "edited" for the install after that: the manifest kept the original checksum.
    const third = cli(["install", "--root", root]);
    expect(third.out).toContain("keep /etc/posbridge/posbridge.yaml: edited since it was installed");
  });

  it("never takes over a directory that is not a posbridge install, nor uninstalls one", () => {
    const scratch = mkdtempSync(join(tmpdir(), "posbridge-prefix-"));
    mkdirSync(join(scratch, "usr/local/bin"), { recursive: true });
    writeFileSync(join(scratch, "usr/local/bin/tool"), "x");
    const r = cli(["install", "--root", scratch, "--prefix", "/usr/local"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("/usr/local exists and is not a posbridge install");
    expect(readFileSync(join(scratch, "usr/local/bin/tool"), "utf8")).toBe("x");
    // A checkout has bin/posbridge.js but no manifest: uninstall leaves it alone.
    const u = cli(["uninstall", "--root", "/", "--prefix", repo, "--dry-run"]);
    expect(u.code).toBe(1);
    expect(u.out).toContain("no install-manifest.json");
  });

  it("prints a plan and changes nothing with --dry-run", () => {
    const scratch = mkdtempSync(join(tmpdir(), "posbridge-dry-"));
    const r = cli(["install", "--root", scratch, "--dry-run"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("write /etc/systemd/system/posbridge.service 0644 root:root");
    expect(readdirSync(scratch)).toEqual([]);
  });
});

describe("install with existing users and groups", () => {
  it("adds the existing service user to the groups it lacks instead of creating it", () => {
    const root = mkdtempSync(join(tmpdir(), "posbridge-users-"));
    mkdirSync(join(root, "etc"));
    // Made by hand with another primary group (users), in neither device group.
    writeFileSync(join(root, "etc/group"), "root:x:0:\nusers:x:100:\ndialout:x:20:\nposbridge:x:998:\n");
    const passwd = (gid: number) =>
      writeFileSync(
        join(root, "etc/passwd"),
        `root:x:0:0::/root:/bin/bash\nposbridge:x:998:${gid}::/var/lib/posbridge:/usr/sbin/nologin\n`,
      );
    passwd(100);
    const r = cli(["install", "--root", root, "--dry-run"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain("groupadd");
    expect(r.out).not.toContain("useradd");
    expect(r.out).toContain("usermod --append --groups posbridge,dialout posbridge");
    // A user whose primary group is posbridge and who is in dialout lacks nothing.
    passwd(998);
    writeFileSync(join(root, "etc/group"), "root:x:0:\ndialout:x:20:posbridge\nposbridge:x:998:\n");
    const again = cli(["install", "--root", root, "--dry-run"]);
    expect(again.out).not.toContain("usermod");
  });

  it("refuses a system without the dialout group", () => {
    const root = mkdtempSync(join(tmpdir(), "posbridge-nodialout-"));
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    const r = cli(["install", "--root", root, "--dry-run"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("no 'dialout' group");
  });
});

describe("the Node.js the service will run", () => {
  // Outside /tmp: a Node.js under /tmp or /home is refused for its place before its version.
  const fakeDir = join(repo, "build/test-fake-node");

  it("refuses a Node.js older than 20 and says how to get one", () => {
    mkdirSync(fakeDir, { recursive: true });
    const fake = join(fakeDir, "node");
    writeFileSync(fake, "#!/bin/sh\necho 18.19.0\n");
    chmodSync(fake, 0o755);
    const r = cli(["install", "--root", mkdtempSync(join(tmpdir(), "posbridge-old-")), "--node", fake]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`posbridge needs Node.js 20 or later; ${fake} is 18.19.0`);
    expect(r.out).toContain("NodeSource");
    expect(r.out).toContain("PB_INSTALL_NODE");
  });

  it("refuses a Node.js 20 the sandbox hides (under /tmp or a home directory, where nvm puts it)", () => {
    const hidden = mkdtempSync(join(tmpdir(), "posbridge-hidden-node-"));
    const fake = join(hidden, "node");
    writeFileSync(fake, "#!/bin/sh\necho 20.11.1\n");
    chmodSync(fake, 0o755);
    const r = cli(["install", "--root", mkdtempSync(join(tmpdir(), "posbridge-nvm-")), "--node", fake]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("which the service cannot see (ProtectHome=yes, PrivateTmp=yes");
  });
});

describe("posbridge uninstall in a scratch root", () => {
  let root: string;
  const silent = pino({ level: "silent" });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "posbridge-uninstall-"));
    expect(cli(["install", "--root", root]).code).toBe(0);
  });
  afterAll(() => {});

  it("removes the program, the unit, the command and unedited rules; keeps config and state", () => {
    mkdirSync(join(root, "var/lib/posbridge"), { recursive: true });
    const r = cli(["uninstall", "--root", root]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("would run (not under --root): systemctl disable --now posbridge.service");
    for (const gone of [
      "opt/posbridge",
      "etc/systemd/system/posbridge.service",
      "usr/local/bin/posbridge",
      "etc/udev/rules.d/99-posbridge.rules",
    ])
      expect(existsSync(join(root, gone)), gone).toBe(false);
    expect(existsSync(join(root, "etc/posbridge/posbridge.yaml"))).toBe(true);
    expect(existsSync(join(root, "var/lib/posbridge"))).toBe(true);
    expect(r.out).toContain("keep /etc/posbridge: kept: --purge removes it");
  });

  it("--purge refuses while the journal holds an unsettled payment, and --force removes everything", () => {
    expect(cli(["install", "--root", root]).code).toBe(0);
    const open: SaleRecord = {
      kind: "sale",
      laneId: "l1",
      orderRef: "O1",
      amountFen: 100,
      seq: "01",
      openedAt: Date.now(),
      status: "PENDING",
      answered: false,
      scheme: null,
      channelTradeNo: "",
      attemptId: null,
      attempts: 0,
      text: "",
      endedAt: null,
      attention: "",
      attentionAt: null,
      training: false,
      updatedAt: Date.now(),
    };
    const journal = Journal.open({
      dir: join(root, "var/lib/posbridge"),
      clock: new ManualClock(),
      log: silent,
    });
    journal.write(open);
    journal.close();
    const refused = cli(["uninstall", "--root", root, "--purge"]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("holds 1 unsettled payment record(s)");
    expect(refused.out).toContain("PB_INSTALL_REFUSED");
    expect(existsSync(join(root, "opt/posbridge"))).toBe(true);
    const purged = cli(["uninstall", "--root", root, "--purge", "--force"]);
    expect(purged.code, purged.out).toBe(0);
    for (const gone of [
      "opt/posbridge",
      "etc/posbridge",
      "var/lib/posbridge",
      "etc/udev/rules.d/99-posbridge.rules",
    ])
      expect(existsSync(join(root, gone)), gone).toBe(false);
    expect(purged.out).toContain("would run (not under --root): userdel posbridge");
    expect(purged.out).toContain("would run (not under --root): groupdel posbridge");
  });

  it("says so when there is nothing to uninstall", () => {
    const r = cli(["uninstall", "--root", mkdtempSync(join(tmpdir(), "posbridge-none-"))]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("no posbridge install found in /opt/posbridge");
  });
});
