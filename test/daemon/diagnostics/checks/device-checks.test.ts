// The device checks on a fake machine: present (or what is there instead), the service user's
// access (and the group or udev rule that fixes it), other programs holding a port, ModemManager,
// brltty, and the daemon's own device states.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { brlttyCheck } from "../../../../daemon/diagnostics/checks/brltty.js";
import { deviceAccessCheck, udevRule } from "../../../../daemon/diagnostics/checks/device-access.js";
import { deviceHoldersCheck } from "../../../../daemon/diagnostics/checks/device-holders.js";
import { devicePresentCheck } from "../../../../daemon/diagnostics/checks/device-present.js";
import { deviceStateCheck } from "../../../../daemon/diagnostics/checks/device-state.js";
import { modemManagerCheck } from "../../../../daemon/diagnostics/checks/modem-manager.js";
import type { DeviceNode } from "../../../../daemon/diagnostics/device-nodes.js";
import { canMknod, type FakeSystem, fakeSystem, STORE_PC_ACCOUNTS } from "../fake-system.js";
import { findingsOf, harness, lines, runningDaemon, testConfig } from "../doctor-harness.js";

const FTDI = { vendorId: "0403", productId: "6001", serial: "A10KZ3QX", port: "1-1.2" };
const SCANNER = { vendorId: "0c2e", productId: "0b61" };

describe.skipIf(!canMknod())("device checks", () => {
  let sys: FakeSystem;
  let tty: string;
  let acm: string;
  let hidraw: string;
  const lanes = () =>
    testConfig(
      [
        "  - id: lane-1",
        `    terminal: { path: ${sys.roots.dev}/serial/by-id/usb-FTDI-A10KZ3QX }`,
        `    scanner: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F71" } }`,
        "  - id: lane-2",
        `    terminal: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F72" } }`,
        `    scanner: { type: hidpos, usb: { vendorId: "05e0", productId: "1300" } }`,
      ].join("\n"),
    );
  beforeEach(() => {
    sys = fakeSystem();
    sys.accounts(STORE_PC_ACCOUNTS.passwd, STORE_PC_ACCOUNTS.group);
    tty = sys.addUsbSerial("ttyUSB0", FTDI, {
      gid: 20,
      links: ["serial/by-id/usb-FTDI-A10KZ3QX"],
      udev: { ID_MM_DEVICE_IGNORE: "1" },
    });
    acm = sys.addUsbSerial("ttyACM0", { ...SCANNER, serial: "21100B4F72" }, { gid: 20, udev: {} });
    hidraw = sys.addHidraw(
      "hidraw0",
      { vendorId: "05e0", productId: "1300", serial: "S1922" },
      { mode: 0o600 },
    );
  });
  afterEach(() => sys.remove());

  describe("device-present", () => {
    it("one ok line per present device; an absent one names the unit present instead and how to take it", async () => {
      const f = await findingsOf(devicePresentCheck, harness(sys, { config: lanes() }).input);
      expect(lines(f)).toEqual([
        `ok lane-1 terminal: ${sys.roots.dev}/serial/by-id/usb-FTDI-A10KZ3QX is ${tty} (0403:6001 serial A10KZ3QX)`,
        `error lane-1 scanner: 0c2e:0b61 serial 21100B4F71 not present; 0c2e:0b61 serial 21100B4F72 is (${acm})`,
        `ok lane-2 terminal: usb 0c2e:0b61 serial 21100B4F72 is ${acm} (0c2e:0b61 serial 21100B4F72)`,
        `ok lane-2 scanner: usb 05e0:1300 is ${hidraw} (05e0:1300 serial S1922)`,
      ]);
      expect(f[1]).toMatchObject({
        detail: "configured as lanes[0].scanner",
        fix: "if the device listed is its replacement, set lanes[0].scanner.usb.serialNumber to its serial number; otherwise plug 0c2e:0b61 serial 21100B4F71 in (cable, USB hub)",
      });
    });

    it("a path that is not there, or a directory", async () => {
      const c = testConfig(
        `  - id: l1\n    terminal: { path: ${sys.roots.dev}/ttyUSB9 }\n    scanner: { path: ${sys.roots.dev}/serial }\n`,
      );
      const f = await findingsOf(devicePresentCheck, harness(sys, { config: c }).input);
      expect(lines(f)).toEqual([
        `error l1 terminal: ${sys.roots.dev}/ttyUSB9 not present; present serial ports: ${acm} (0c2e:0b61 serial 21100B4F72), ${sys.roots.dev}/serial/by-id/usb-FTDI-A10KZ3QX (0403:6001 serial A10KZ3QX)`,
        `error l1 scanner: ${sys.roots.dev}/serial is a directory, not a serial port`,
      ]);
      expect(f[0]?.fix).toBe(
        "plug it in, or correct lanes[0].terminal.path (ls -l /dev/serial/by-id/; posbridge devices)",
      );
    });
  });

  describe("device-access", () => {
    it("judged for user posbridge: dialout comes with the unit; a root-only hidraw needs the udev rule", async () => {
      const f = await findingsOf(deviceAccessCheck, harness(sys, { config: lanes() }).input);
      expect(f).toEqual([
        {
          id: "device-access",
          level: "error",
          subject: "lane-2 scanner",
          code: "PB_PORT_OPEN",
          title: `${hidraw}: permission denied for user posbridge (owner root, group root, mode 0600)`,
          detail:
            "read and write access needed; the service user needs access: group dialout, or systemd/99-posbridge.rules; docs/hardware.md",
          fix: 'add this line to /etc/udev/rules.d/99-posbridge.rules (examples: systemd/99-posbridge.rules): SUBSYSTEM=="hidraw", ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1300", ATTRS{serial}=="S1922", GROUP="posbridge", MODE="0660" then udevadm control --reload-rules && udevadm trigger (or replug it)',
        },
      ]);
    });

    it("a node whose group would do: add the user to that group", async () => {
      sys.addUsbSerial("ttyUSB1", { vendorId: "067b", productId: "2303", serial: "P1" }, { gid: 10 }); // uucp
      const c = testConfig(
        `  - id: l1\n    terminal: { path: ${sys.roots.dev}/ttyUSB1 }\n    scanner: { path: ${tty} }\n`,
      );
      const f = await findingsOf(deviceAccessCheck, harness(sys, { config: c }).input);
      expect(lines(f)).toEqual([
        `error l1 terminal: ${sys.roots.dev}/ttyUSB1: permission denied for user posbridge (owner root, group uucp, mode 0660)`,
      ]);
      expect(f[0]?.fix).toBe(
        "add posbridge to group uucp (usermod -aG uucp posbridge; systemctl restart posbridge), or give the device to group posbridge with systemd/99-posbridge.rules",
      );
    });

    it("the udev rule it proposes: ids and serial number, the USB port without one, the kernel name off USB", () => {
      const node = (usb: object | undefined, name = "ttyUSB3") =>
        ({
          kind: "serial",
          name,
          path: `/dev/${name}`,
          present: true,
          links: [],
          ...(usb ? { usb } : {}),
        }) as DeviceNode;
      expect(udevRule("serial", node({ vendorId: "1a86", productId: "7523", port: "1-1.3" }))).toBe(
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523", KERNELS=="1-1.3", GROUP="posbridge", MODE="0660", ENV{ID_MM_DEVICE_IGNORE}="1"',
      );
      expect(
        udevRule(
          "evdev",
          node({ vendorId: "1eab", productId: "0d10", serialNumber: "N1", port: "1-2" }, "event3"),
        ),
      ).toBe(
        'SUBSYSTEM=="input", ATTRS{idVendor}=="1eab", ATTRS{idProduct}=="0d10", ATTRS{serial}=="N1", GROUP="posbridge", MODE="0660"',
      );
      expect(udevRule("serial", node(undefined, "ttyS1"))).toBe(
        'SUBSYSTEM=="tty", KERNEL=="ttyS1", GROUP="posbridge", MODE="0660", ENV{ID_MM_DEVICE_IGNORE}="1"',
      );
    });

    it("a pty the user cannot open: not udev's, so the fix is the program that makes it", async () => {
      const pty = sys.addLoneNode(join(sys.roots.dev, "pts", "7"), { mode: 0o600 });
      const c = testConfig(`  - id: l1\n    terminal: { path: ${pty} }\n    scanner: { path: ${tty} }\n`);
      const f = await findingsOf(deviceAccessCheck, harness(sys, { config: c }).input);
      expect(f).toMatchObject([
        {
          title: `${pty}: permission denied for user posbridge (owner root, group root, mode 0600)`,
          fix: "it is not a device udev manages: the program that makes it must give it to the service user (socat: pty,link=…,user=posbridge,mode=600)",
        },
      ]);
    });

    it("all reachable: one ok line; --user names another service user", async () => {
      const c = testConfig(`  - id: l1\n    terminal: { path: ${tty} }\n    scanner: { path: ${acm} }\n`);
      expect(lines(await findingsOf(deviceAccessCheck, harness(sys, { config: c }).input))).toEqual([
        "ok devices: user posbridge can open every present lane device (2)",
      ]);
      expect(
        lines(await findingsOf(deviceAccessCheck, harness(sys, { config: c, serviceUser: "cashier" }).input)),
      ).toEqual(["ok devices: user cashier can open every present lane device (2)"]);
    });
  });

  describe("device-holders", () => {
    it("names the program holding a lane device, with its lock; the doctor and the daemon are not holders", async () => {
      sys.addProcess(4242, "minicom", ["minicom", "-D", tty], [tty]);
      sys.addFlock(4242, tty);
      sys.addProcess(process.pid, "node", ["node", "doctor"], [acm]);
      sys.addProcess(777, "node", ["node", "/opt/posbridge/bin/posbridge.js", "run"], [acm]);
      const input = harness(sys, {
        config: lanes(),
        daemon: runningDaemon({ pid: 777 }),
      }).input;
      const f = await findingsOf(deviceHoldersCheck, input);
      expect(f).toEqual([
        {
          id: "device-holders",
          level: "error",
          subject: "lane-1 terminal",
          code: "PB_PORT_LOCKED",
          title: `${tty} is held by pid 4242 minicom (minicom -D ${tty}), holding its lock`,
          detail: "it holds the port's lock: the bridge's open fails with 'Cannot lock port'",
          fix: "stop that program (kill 4242) or configure it to leave the port alone",
        },
      ]);
    });

    it("a posbridge holding a port while the daemon did not answer: a second bridge, or an unreachable socket", async () => {
      sys.addProcess(
        777,
        "node",
        ["node", "/opt/posbridge/bin/posbridge.js", "run", "--config", "/etc/posbridge/posbridge.yaml"],
        [acm],
      );
      const f = await findingsOf(deviceHoldersCheck, harness(sys, { config: lanes() }).input);
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({
        subject: "lane-2 terminal",
        detail: expect.stringContaining("did not answer on the control socket"),
        fix: "stop the other bridge (systemctl status posbridge; one bridge per device)",
      });
    });

    it("the daemon holding its own port, its pid unknown: not a holder when it says it has the device open", async () => {
      sys.addProcess(777, "node", ["node", "/opt/posbridge/bin/posbridge.js", "run"], [acm]);
      const daemon = runningDaemon({
        lanes: [{ id: "lane-2", devices: { terminal: { state: "CONNECTED", error: "", node: acm } } }],
      });
      expect(
        lines(await findingsOf(deviceHoldersCheck, harness(sys, { config: lanes(), daemon }).input)),
      ).toEqual(["ok devices: no other program holds a lane device"]);
    });
  });

  describe("modem-manager", () => {
    it("running: warns for a USB serial lane device without ID_MM_DEVICE_IGNORE; not running: ok", async () => {
      const input = harness(sys, { config: lanes() }).input;
      expect(lines(await findingsOf(modemManagerCheck, input))).toEqual(["ok ModemManager: not running"]);
      sys.addProcess(321, "ModemManager", ["/usr/sbin/ModemManager"]);
      const f = await findingsOf(modemManagerCheck, input);
      expect(lines(f)).toEqual([
        `warn lane-2 terminal: ModemManager (pid 321) runs and ${acm} lacks ID_MM_DEVICE_IGNORE: it may send AT commands to it when it appears`,
      ]);
      expect(f[0]?.fix).toContain('ENV{ID_MM_DEVICE_IGNORE}="1"');
      expect(f[0]?.fix).toContain("systemctl disable --now ModemManager");
    });

    it("holding the port: the holders finding says it, with ModemManager's fix", async () => {
      sys.addProcess(321, "ModemManager", ["/usr/sbin/ModemManager"], [acm]);
      const input = harness(sys, { config: lanes() }).input;
      expect(await findingsOf(modemManagerCheck, input)).toMatchObject([{ level: "ok" }]);
      const held = await findingsOf(deviceHoldersCheck, input);
      expect(held).toMatchObject([
        { subject: "lane-2 terminal", fix: expect.stringContaining("ModemManager probes it") },
      ]);
    });
  });

  describe("brltty", () => {
    it("running: a warning naming the absent serial lane devices it may have taken", async () => {
      const input = harness(sys, { config: lanes() }).input;
      expect(lines(await findingsOf(brlttyCheck, input))).toEqual(["ok brltty: not running"]);
      sys.addProcess(55, "brltty", ["/sbin/brltty"]);
      expect(await findingsOf(brlttyCheck, input)).toEqual([
        expect.objectContaining({
          level: "warn",
          title:
            "running (pid 55): it claims USB serial adapters (CH340, CP210x, FTDI) as they are plugged in",
          detail: "absent serial lane devices it may have taken: lane-1 scanner",
          fix: "apt purge brltty (a till PC has no braille display), then replug the adapters",
        }),
      ]);
    });
  });

  describe("device-state", () => {
    it("reports a FAULT the other checks do not explain, in the daemon's words; skips what they explain", async () => {
      const daemon = runningDaemon({
        lanes: [
          {
            id: "lane-1",
            devices: {
              terminal: {
                state: "FAULT",
                error: "port closed right after opening (flapping): EIO",
                node: tty,
              },
              scanner: {
                state: "ABSENT",
                error: "no serial port of usb 0c2e:0b61 serial 21100B4F71 is plugged in",
              },
            },
          },
          {
            id: "lane-2",
            devices: {
              terminal: { state: "CONNECTED", error: "" },
              scanner: {
                state: "FAULT",
                error: `${hidraw}: permission denied: see systemd/99-posbridge.rules`,
              },
            },
          },
        ],
      });
      const f = await findingsOf(deviceStateCheck, harness(sys, { config: lanes(), daemon }).input);
      expect(lines(f)).toEqual([
        "error lane-1 terminal: FAULT in the daemon: port closed right after opening (flapping): EIO",
      ]);
      expect(f[0]?.detail).toBe(`node ${tty}`);
    });

    it("nothing without the daemon; one ok line when it has every device open", async () => {
      expect(await findingsOf(deviceStateCheck, harness(sys, { config: lanes() }).input)).toEqual([]);
      const daemon = runningDaemon({
        lanes: [{ id: "lane-2", devices: { terminal: { state: "CONNECTED", error: "" } } }],
      });
      expect(
        lines(await findingsOf(deviceStateCheck, harness(sys, { config: lanes(), daemon }).input)),
      ).toEqual(["ok devices: the daemon has 1 lane device open"]);
    });
  });

  it("without a config the device checks say nothing (the config check does)", async () => {
    const input = harness(sys, { configPath: join(sys.roots.etc, "missing.yaml") }).input;
    for (const check of [devicePresentCheck, deviceAccessCheck, deviceHoldersCheck, deviceStateCheck])
      expect(await findingsOf(check, input)).toEqual([]);
  });
});
