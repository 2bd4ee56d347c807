// The checks of the setup around the devices: the daemon answering, the config, the service
// user, the native modules, and the daemon's event loop.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configCheck } from "../../../../daemon/diagnostics/checks/config.js";
import { daemonRunningCheck } from "../../../../daemon/diagnostics/checks/daemon-running.js";
import { eventLoopCheck } from "../../../../daemon/diagnostics/checks/event-loop.js";
import { nativeModulesCheck } from "../../../../daemon/diagnostics/checks/native-modules.js";
import { serviceUserCheck } from "../../../../daemon/diagnostics/checks/service-user.js";
import { fakeSystem, STORE_PC_ACCOUNTS } from "../fake-system.js";
import {
  fakeImporter,
  findingsOf,
  harness,
  lines,
  NOT_RUNNING,
  runningDaemon,
  testConfig,
} from "../doctor-harness.js";

const sys = fakeSystem();

function configFile(text: string): string {
  const dir = join(sys.roots.etc, "posbridge");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe("daemon", () => {
  it("running, or not and why", async () => {
    expect(
      lines(await findingsOf(daemonRunningCheck, harness(sys, { daemon: runningDaemon() }).input)),
    ).toEqual(["ok daemon: running: it answered on its control socket"]);
    expect(await findingsOf(daemonRunningCheck, harness(sys, { daemon: NOT_RUNNING }).input)).toEqual([
      expect.objectContaining({
        level: "warn",
        title: "not running: no control socket at /run/posbridge/control.sock",
        fix: "systemctl start posbridge (journalctl -u posbridge -n 50 says why it stopped)",
      }),
    ]);
  });
});

describe("config", () => {
  it("missing file, one error per invalid field, a device named twice; valid: one ok line", async () => {
    const missing = join(sys.roots.etc, "nope.yaml");
    expect(await findingsOf(configCheck, harness(sys, { configPath: missing }).input)).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_CONFIG_NOT_FOUND",
        title: `no configuration file at ${missing}`,
      }),
    ]);
    const invalid = configFile(
      'store: S1\nbridge: "bad id!"\nmqtt: { url: "mqtt://127.0.0.1:1883", keepaliveSec: 1 }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n',
    );
    const f = await findingsOf(configCheck, harness(sys, { configPath: invalid }).input);
    expect(f.map((x) => `${x.level} ${x.code} ${x.title.split(":")[0]}`)).toEqual([
      "error PB_CONFIG_INVALID bridge",
      "error PB_CONFIG_INVALID mqtt.keepaliveSec",
    ]);
    // The same device under two spellings: found by the start-time checks, not the schema.
    const link = join(sys.roots.etc, "null-link");
    symlinkSync("/dev/null", link);
    const twice = configFile(
      `store: S1\nbridge: PC1\nmqtt: { url: "mqtt://127.0.0.1:1883" }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: ${link} }\n`,
    );
    expect(lines(await findingsOf(configCheck, harness(sys, { configPath: twice }).input))).toEqual([
      `error config: lanes[0].scanner.path: ${link} is the same device as lanes[0].terminal (/dev/null, both /dev/null); each device serves one role`,
    ]);
    const valid = configFile(
      'store: S1\nbridge: PC1\nmqtt: { url: "mqtt://127.0.0.1:1883" }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n',
    );
    expect(lines(await findingsOf(configCheck, harness(sys, { configPath: valid }).input))).toEqual([
      `ok config: ${valid} is valid: store S1, bridge PC1, 1 lane`,
    ]);
  });
});

describe("service-user", () => {
  it("found with its groups; missing: judged for whoever runs the doctor", async () => {
    sys.accounts(STORE_PC_ACCOUNTS.passwd, STORE_PC_ACCOUNTS.group);
    expect(lines(await findingsOf(serviceUserCheck, harness(sys).input))).toEqual([
      "ok service user: access is judged for user posbridge (groups dialout, posbridge)",
    ]);
    const f = await findingsOf(serviceUserCheck, harness(sys, { serviceUser: "kassa" }).input);
    expect(f[0]).toMatchObject({
      level: "warn",
      title: expect.stringMatching(/^there is no user kassa: access is judged for \S+ instead$/),
    });
  });
});

describe("native-modules", () => {
  const LIBUSB = "libusb-1.0.so.0: cannot open shared object file: No such file or directory";
  const failing = (which: string, message: string) => async (s: string) => {
    if (s === which) throw new Error(message);
    return fakeImporter(s);
  };
  const hidLane = testConfig(
    "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { type: hidpos, path: /dev/hidraw0 }\n",
  );
  const serialLane = testConfig(
    "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n",
  );

  it("all load: three ok lines", async () => {
    expect(lines(await findingsOf(nativeModulesCheck, harness(sys, { config: serialLane }).input))).toEqual([
      "ok native modules: @serialport/bindings-cpp (serial ports) loads",
      "ok native modules: node-hid (HID scanners) loads, hidapi 0.15.0",
      "ok native modules: usb (hot-plug events) loads",
    ]);
  });

  it("node-hid without libusb: an error when a HID scanner is configured, with the package to install", async () => {
    const f = await findingsOf(
      nativeModulesCheck,
      harness(sys, { config: hidLane, importer: failing("node-hid", LIBUSB) }).input,
    );
    expect(f[1]).toEqual({
      id: "native-modules",
      level: "error",
      subject: "native modules",
      code: "PB_DEVICE_UNAVAILABLE",
      title: "node-hid (HID scanners) does not load",
      detail: LIBUSB,
      fix: "install the libusb-1.0-0 package (Debian/Ubuntu: apt-get install libusb-1.0-0)",
    });
    const notNeeded = await findingsOf(
      nativeModulesCheck,
      harness(sys, { config: serialLane, importer: failing("node-hid", LIBUSB) }).input,
    );
    expect(notNeeded[1]).toMatchObject({
      level: "ok",
      title: "node-hid (HID scanners) does not load (no HID scanner configured)",
      fix: "",
    });
  });

  it("the serial binding built for another Node.js: an error with the rebuild; usb failing: a warning", async () => {
    const abi = "The module was compiled against a different Node.js version using NODE_MODULE_VERSION 108";
    const f = await findingsOf(
      nativeModulesCheck,
      harness(sys, { config: serialLane, importer: failing("@serialport/bindings-cpp", abi) }).input,
    );
    expect(f[0]).toMatchObject({
      level: "error",
      title: "@serialport/bindings-cpp (serial ports) does not load",
      fix: "the binary was built for another Node.js version: run npm rebuild @serialport/bindings-cpp",
    });
    const usb = await findingsOf(
      nativeModulesCheck,
      harness(sys, {
        config: serialLane,
        importer: failing("usb", "No native build was found for platform=linux arch=riscv64"),
      }).input,
    );
    expect(usb[2]).toMatchObject({
      level: "warn",
      code: "PB_DEVICE_UNAVAILABLE",
      fix: expect.stringContaining("npm rebuild usb"),
    });
  });
});

describe("event-loop", () => {
  it("only with the daemon: ok, held up (warn), blocked (error)", async () => {
    expect(await findingsOf(eventLoopCheck, harness(sys).input)).toEqual([]);
    const at = async (ms: number) =>
      lines(
        await findingsOf(
          eventLoopCheck,
          harness(sys, { daemon: runningDaemon({ eventLoopDelayMs: ms }) }).input,
        ),
      );
    expect(await at(12.4)).toEqual(["ok event loop: delay 12 ms"]);
    expect(await at(350)).toEqual(["warn event loop: held up 350 ms (limit 200 ms)"]);
    expect(await at(4000)).toEqual(["error event loop: held up 4000 ms (limit 200 ms)"]);
  });
});
