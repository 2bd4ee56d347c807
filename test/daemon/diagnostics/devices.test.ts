// `posbridge devices` on a fake machine: which nodes are listed (and which are not), what is
// said about each, and how each configured lane device is matched, or why it is not.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../../daemon/config/config-types.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import { readAccounts } from "../../../daemon/diagnostics/accounts.js";
import { scanDeviceNodes } from "../../../daemon/diagnostics/device-nodes.js";
import { formatDevices, runDevices } from "../../../daemon/diagnostics/devices.js";
import { describeMatch, laneDevices, matchLaneDevice } from "../../../daemon/diagnostics/lane-devices.js";
import { canMknod, type FakeSystem, fakeSystem, STORE_PC_ACCOUNTS } from "./fake-system.js";

const HONEYWELL = { vendorId: "0c2e", productId: "0b61", manufacturer: "Honeywell", product: "Scanner" };
const FTDI_ID = "usb-FTDI_FT232R_USB_UART_A10KZ3QX-if00-port0";

function config(lanes: string): Config {
  const yaml = `store: S1\nbridge: PC1\nmqtt: { url: "mqtt://127.0.0.1:1883" }\nlanes:\n${lanes}`;
  return loadConfig({ path: "test.yaml", env: {}, readFile: () => yaml });
}

describe.skipIf(!canMknod())("devices: nodes and lanes on a fake machine", () => {
  let sys: FakeSystem;
  let terminal: string;
  beforeEach(() => {
    sys = fakeSystem();
    sys.accounts(STORE_PC_ACCOUNTS.passwd, STORE_PC_ACCOUNTS.group);
    terminal = sys.addUsbSerial(
      "ttyUSB0",
      {
        vendorId: "0403",
        productId: "6001",
        serial: "A10KZ3QX",
        manufacturer: "FTDI",
        product: "FT232R USB UART",
        port: "1-1.2",
      },
      {
        gid: 20,
        links: [`serial/by-id/${FTDI_ID}`, "serial/by-path/pci-0000:00:14.0-usb-0:1.2:1.0-port0"],
        udev: { ID_MM_DEVICE_IGNORE: "1", ID_SERIAL: "FTDI_FT232R_USB_UART_A10KZ3QX" },
      },
    );
    sys.addUsbSerial("ttyACM1", { ...HONEYWELL, serial: "21100B4F72", port: "1-4" }, { gid: 20 });
    sys.addUart("ttyS0", 4, { mode: 0o660, gid: 20 });
    sys.addUart("ttyS1", 0); // no UART answered: not listed
    sys.addHidraw(
      "hidraw0",
      { vendorId: "05e0", productId: "1300", serial: "S19224520501234", hidName: "Symbol Bar Code Scanner" },
      { mode: 0o600 },
    );
    sys.addEvdev("event0", { name: "Power Button" });
    sys.addEvdev(
      "event3",
      { name: "Newland Scanner", usb: { vendorId: "1eab", productId: "0d10", serial: "NLS0000001" } },
      { links: ["input/by-id/usb-Newland_Scanner_NLS0000001-event-kbd"] },
    );
  });
  afterEach(() => sys.remove());

  it("lists USB and UART serial ports, hidraw and evdev nodes, with links, ids, driver, owner and udev facts", () => {
    const nodes = scanDeviceNodes(sys.roots, readAccounts(sys.roots.etc));
    expect(nodes.map((n) => `${n.kind}:${n.name}`)).toEqual([
      "serial:ttyACM1",
      "serial:ttyS0",
      "serial:ttyUSB0",
      "hidraw:hidraw0",
      "evdev:event0",
      "evdev:event3",
    ]);
    expect(nodes.find((n) => n.name === "ttyUSB0")).toEqual({
      kind: "serial",
      name: "ttyUSB0",
      path: terminal,
      present: true,
      links: [
        `${sys.roots.dev}/serial/by-id/${FTDI_ID}`,
        `${sys.roots.dev}/serial/by-path/pci-0000:00:14.0-usb-0:1.2:1.0-port0`,
      ],
      devno: "188:0",
      usb: {
        vendorId: "0403",
        productId: "6001",
        serialNumber: "A10KZ3QX",
        manufacturer: "FTDI",
        product: "FT232R USB UART",
        port: "1-1.2",
      },
      driver: "ftdi_sio",
      access: { owner: "root", group: "dialout", mode: "0660" },
      udev: { mmDeviceIgnore: true, serial: "FTDI_FT232R_USB_UART_A10KZ3QX" },
    });
    const acm = nodes.find((n) => n.name === "ttyACM1");
    expect(acm).toMatchObject({ driver: "cdc_acm", usb: { serialNumber: "21100B4F72", port: "1-4" } });
    expect(acm?.udev).toBeUndefined(); // no udev entry: unknown, not "not ignored"
    expect(nodes.find((n) => n.name === "ttyS0")).toMatchObject({
      driver: "port",
      access: { group: "dialout" },
    });
    expect(nodes.find((n) => n.name === "ttyS0")?.usb).toBeUndefined();
    expect(nodes.find((n) => n.name === "hidraw0")).toMatchObject({
      driver: "hid-generic",
      label: "Symbol Bar Code Scanner",
      usb: { vendorId: "05e0", serialNumber: "S19224520501234" },
      access: { mode: "0600" },
    });
    expect(nodes.find((n) => n.name === "event3")).toMatchObject({
      path: `${sys.roots.dev}/input/event3`,
      label: "Newland Scanner",
      driver: "hid-generic",
      links: [`${sys.roots.dev}/input/by-id/usb-Newland_Scanner_NLS0000001-event-kbd`],
    });
    expect(nodes.find((n) => n.name === "event0")).toMatchObject({ label: "Power Button", driver: "button" });
  });

  it("matches each lane device: by-id link, USB ids, a hidraw scanner; or says what is present instead", () => {
    const c = config(
      [
        "  - id: lane-1",
        `    terminal: { path: ${sys.roots.dev}/serial/by-id/${FTDI_ID} }`,
        `    scanner: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F71" } }`,
        "  - id: lane-2",
        `    terminal: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F72" } }`,
        `    scanner: { type: hidpos, usb: { vendorId: "05e0", productId: "1300" } }`,
        `    display: { path: ${sys.roots.dev}/ttyUSB7 }`,
      ].join("\n"),
    );
    const nodes = scanDeviceNodes(sys.roots, readAccounts(sys.roots.etc));
    const said = laneDevices(c).map(
      (d) => `${d.subject}: ${describeMatch(matchLaneDevice(d, nodes, sys.roots), d.configured)}`,
    );
    expect(said).toEqual([
      `lane-1 terminal: ${sys.roots.dev}/serial/by-id/${FTDI_ID} is ${terminal} (0403:6001 serial A10KZ3QX)`,
      `lane-1 scanner: 0c2e:0b61 serial 21100B4F71 not present; 0c2e:0b61 serial 21100B4F72 is (${sys.roots.dev}/ttyACM1)`,
      `lane-2 terminal: usb 0c2e:0b61 serial 21100B4F72 is ${sys.roots.dev}/ttyACM1 (0c2e:0b61 serial 21100B4F72)`,
      `lane-2 scanner: usb 05e0:1300 is ${sys.roots.dev}/hidraw0 (05e0:1300 serial S19224520501234)`,
      `lane-2 display: ${sys.roots.dev}/ttyUSB7 not present; present serial ports: ${sys.roots.dev}/ttyACM1 (0c2e:0b61 serial 21100B4F72), ${sys.roots.dev}/ttyS0, ${sys.roots.dev}/serial/by-id/${FTDI_ID} (0403:6001 serial A10KZ3QX)`,
    ]);
  });

  it("a scanner in another interface mode: the same serial number present as another kind of node", () => {
    sys.addHidraw("hidraw1", { ...HONEYWELL, productId: "0b87", serial: "21100B4F71" });
    sys.addHidraw("hidraw2", { ...HONEYWELL, serial: "21100B4F70" });
    const c = config(
      `  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { usb: { vendorId: "0c2e", productId: "0b87", serialNumber: "21100B4F71" } }\n`,
    );
    const nodes = scanDeviceNodes(sys.roots, readAccounts(sys.roots.etc));
    const d = laneDevices(c)[1];
    if (!d) throw new Error("no scanner");
    expect(describeMatch(matchLaneDevice(d, nodes, sys.roots), d.configured)).toBe(
      `0c2e:0b87 serial 21100B4F71 not present; 0c2e:0b87 serial 21100B4F71 is present as ${sys.roots.dev}/hidraw1, a hidraw node (the device is in another interface mode)`,
    );
  });

  it("names what is wrong: a directory, a node of another kind, two matching ports, a node sysfs does not list", () => {
    sys.addUsbSerial("ttyUSB1", { vendorId: "1a86", productId: "7523" });
    sys.addUsbSerial("ttyUSB2", { vendorId: "1a86", productId: "7523" });
    const pty = sys.addLoneNode(`${sys.roots.dev}/pts/3`);
    const c = config(
      [
        "  - id: l1",
        `    terminal: { path: ${sys.roots.dev}/serial }`,
        `    scanner: { path: ${sys.roots.dev}/hidraw0 }`,
        `    display: { usb: { vendorId: "1a86", productId: "7523" } }`,
        "  - id: l2",
        `    terminal: { path: ${pty} }`,
        `    scanner: { type: keyboard, path: ${sys.roots.dev}/input/by-id/usb-Newland_Scanner_NLS0000001-event-kbd }`,
      ].join("\n"),
    );
    const nodes = scanDeviceNodes(sys.roots, readAccounts(sys.roots.etc));
    const said = laneDevices(c).map((d) => {
      const m = matchLaneDevice(d, nodes, sys.roots);
      return `${m.status}: ${describeMatch(m, d.configured)}`;
    });
    expect(said).toEqual([
      `wrong: ${sys.roots.dev}/serial is a directory, not a serial port`,
      `wrong: ${sys.roots.dev}/hidraw0 is ${sys.roots.dev}/hidraw0, a hidraw node, not a serial port`,
      "wrong: 2 serial ports match usb 1a86:7523 (ttyUSB1, ttyUSB2): add serialNumber, or name the port by its /dev/serial/by-id or by-path link",
      `found: ${pty} is present; ${pty} is a pty (a virtual serial line, not a device sysfs lists)`,
      `found: ${sys.roots.dev}/input/by-id/usb-Newland_Scanner_NLS0000001-event-kbd is ${sys.roots.dev}/input/event3 (1eab:0d10 serial NLS0000001)`,
    ]);
  });

  it("runDevices: the report marks which lane uses each node and carries the daemon's own state", async () => {
    const c = config(
      `  - id: lane-1\n    terminal: { path: ${sys.roots.dev}/serial/by-id/${FTDI_ID} }\n    scanner: { usb: { vendorId: "0c2e", productId: "0b61", serialNumber: "21100B4F71" } }\n`,
    );
    const report = await runDevices({
      config: c,
      configPath: "/etc/posbridge/posbridge.yaml",
      configProblem: "",
      roots: sys.roots,
      daemon: {
        running: true,
        facts: {
          link: { state: "online", reason: "" },
          lanes: [
            {
              id: "lane-1",
              devices: {
                terminal: { state: "CONNECTED", error: "", node: terminal },
                scanner: {
                  state: "ABSENT",
                  error: "no serial port of usb 0c2e:0b61 serial 21100B4F71 is plugged in",
                },
              },
            },
          ],
          journal: { fault: null },
          eventLoopDelayMs: 3,
          cloudClockSkewMs: null,
        },
      },
    });
    expect(report.nodes.find((n) => n.name === "ttyUSB0")?.usedBy).toEqual(["lane-1 terminal"]);
    expect(report.nodes.find((n) => n.name === "ttyACM1")?.usedBy).toEqual([]);
    expect(report.lanes).toEqual([
      expect.objectContaining({
        subject: "lane-1 terminal",
        status: "found",
        node: "ttyUSB0",
        realPath: terminal,
        daemon: { state: "CONNECTED", error: "", node: terminal },
      }),
      expect.objectContaining({
        subject: "lane-1 scanner",
        status: "absent",
        field: "lanes[0].scanner",
        kind: "serial",
      }),
    ]);
    const text = formatDevices(report);
    expect(text).toContain(
      `  ${terminal}  usb 0403:6001 serial A10KZ3QX port 1-1.2  driver ftdi_sio  root:dialout 0660  "FTDI FT232R USB UART"\n      ${sys.roots.dev}/serial/by-id/${FTDI_ID}\n`,
    );
    expect(text).toContain("      → lane-1 terminal\n");
    expect(text).toContain(
      `  lane-1 scanner   0c2e:0b61 serial 21100B4F71 not present; 0c2e:0b61 serial 21100B4F72 is (${sys.roots.dev}/ttyACM1) [daemon: ABSENT: no serial port of usb 0c2e:0b61 serial 21100B4F71 is plugged in]\n`,
    );
    expect(text).toContain("Daemon: running");
    expect(text).toContain("Ptys (/dev/pts/*) are virtual lines, not devices");
  });

  it("without a config: the nodes only, and why there are no lanes", async () => {
    const report = await runDevices({
      config: undefined,
      configPath: "/etc/posbridge/posbridge.yaml",
      configProblem: "configuration file not found: /etc/posbridge/posbridge.yaml (PB_CONFIG_NOT_FOUND)",
      roots: sys.roots,
      daemon: { running: false, reason: "no control socket at /run/posbridge/control.sock" },
    });
    expect(report.lanes).toEqual([]);
    expect(report.nodes).toHaveLength(6);
    const text = formatDevices(report);
    expect(text).toContain(
      "Lanes: none shown: configuration file not found: /etc/posbridge/posbridge.yaml (PB_CONFIG_NOT_FOUND)\n",
    );
    expect(text).toContain("Daemon: not running (no control socket at /run/posbridge/control.sock)");
  });
});
