// A fake machine for the diagnostics: sysfs, /dev, /proc, /run/udev and /etc in one temp dir,
// shaped like the kernel's (class entries are links into /sys/devices; a tty's `device` link
// points at its port or USB interface; drivers are links into /sys/bus/*/drivers), so the code
// under test walks it exactly as it walks the real one.
//
// Device nodes are real character nodes (mknod, as root): the code stats them and tells a
// device from a regular file. `canMknod` says whether this run can make them (root, a
// filesystem without nodev); tests that need them are skipped otherwise.
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { SystemRoots } from "../../../daemon/diagnostics/system-roots.js";

export interface UsbIds {
  vendorId: string;
  productId: string;
  serial?: string;
  manufacturer?: string;
  product?: string;
  /** USB port path, e.g. "1-1.2"; default 3-<n>. */
  port?: string;
}

export interface NodeOptions {
  /** Node mode bits; default 0660. */
  mode?: number;
  /** Node group id; default 0. */
  gid?: number;
  uid?: number;
  /** Links to make, relative to /dev: "serial/by-id/usb-FTDI_…". */
  links?: string[];
  /** udev database entry: E: properties (undefined: no entry at all). */
  udev?: Record<string, string>;
  /** Make no node in /dev (sysfs has the device, udev has not made its node). */
  noNode?: boolean;
}

export interface FakeSystem {
  roots: SystemRoots;
  /** A USB serial adapter (ttyUSB*, driver ftdi_sio) or CDC-ACM device (ttyACM*, driver cdc_acm). */
  addUsbSerial(name: string, usb: UsbIds, node?: NodeOptions & { driver?: string }): string;
  /** A platform UART: type 4 (a 16550A answered) or 0 (a phantom ttyS a PC kernel registers). */
  addUart(name: string, type: number, node?: NodeOptions): string;
  addHidraw(name: string, usb: UsbIds & { hidName?: string }, node?: NodeOptions): string;
  addEvdev(name: string, input: { name: string; usb?: UsbIds }, node?: NodeOptions): string;
  /** A character node in /dev that sysfs does not list (stands for a pty). */
  addLoneNode(path: string, node?: NodeOptions): string;
  /** A process: its comm, cmdline and open fds (targets); fdinfo text per fd. */
  addProcess(
    pid: number,
    comm: string,
    cmdline: string[],
    fds?: string[],
    fdinfo?: Record<number, string>,
  ): void;
  /** A FLOCK line in /proc/locks for `path` held by `pid`. */
  addFlock(pid: number, path: string): void;
  accounts(passwd: string[], group: string[]): void;
  /** The udev database directory exists (an empty one: no entries). */
  udevDatabase(): void;
  remove(): void;
}

let mknodWorks: boolean | undefined;

export function canMknod(): boolean {
  if (mknodWorks !== undefined) return mknodWorks;
  const dir = mkdtempSync(join(tmpdir(), "pb-mknod-"));
  try {
    execFileSync("mknod", [join(dir, "n"), "c", "1", "3"], { stdio: "ignore" });
    mknodWorks = true;
  } catch {
    mknodWorks = false;
  }
  rmSync(dir, { recursive: true, force: true });
  return mknodWorks;
}

export function fakeSystem(): FakeSystem {
  const base = mkdtempSync(join(tmpdir(), "pb-fakesys-"));
  const roots: SystemRoots = {
    sys: join(base, "sys"),
    dev: join(base, "dev"),
    proc: join(base, "proc"),
    run: join(base, "run"),
    etc: join(base, "etc"),
  };
  for (const d of Object.values(roots)) mkdirSync(d, { recursive: true });
  for (const c of ["tty", "hidraw", "input"]) mkdirSync(join(roots.sys, "class", c), { recursive: true });
  // A virtual console: a class entry without a device link.
  mkdirSync(join(roots.sys, "devices", "virtual", "tty", "tty0"), { recursive: true });
  classLink("tty", "tty0", join(roots.sys, "devices", "virtual", "tty", "tty0"));
  writeFileSync(join(roots.proc, "locks"), "");
  let ports = 0;
  let minors = 0;
  const locks: string[] = [];

  function classLink(cls: string, name: string, target: string) {
    const link = join(roots.sys, "class", cls, name);
    symlinkSync(relative(dirname(link), target), link);
  }

  function driverLink(dir: string, bus: string, driver: string) {
    const target = join(roots.sys, "bus", bus, "drivers", driver);
    mkdirSync(target, { recursive: true });
    symlinkSync(relative(dir, target), join(dir, "driver"));
  }

  function usbDevice(usb: UsbIds): string {
    // Ports named by a test are on bus 1; the others get their own on bus 3, never the same.
    const port = usb.port ?? `3-${++ports}`;
    const dir = join(roots.sys, "devices", "pci0000:00", "0000:00:14.0", "usb1", port);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "idVendor"), `${usb.vendorId}\n`);
    writeFileSync(join(dir, "idProduct"), `${usb.productId}\n`);
    if (usb.serial !== undefined) writeFileSync(join(dir, "serial"), `${usb.serial}\n`);
    if (usb.manufacturer !== undefined) writeFileSync(join(dir, "manufacturer"), `${usb.manufacturer}\n`);
    if (usb.product !== undefined) writeFileSync(join(dir, "product"), `${usb.product}\n`);
    return dir;
  }

  function node(path: string, major: number, minor: number, o: NodeOptions = {}): string {
    if (o.noNode) return path;
    mkdirSync(dirname(path), { recursive: true });
    execFileSync("mknod", [path, "c", String(major), String(minor)]);
    chmodSync(path, o.mode ?? 0o660);
    chownSync(path, o.uid ?? 0, o.gid ?? 0);
    for (const l of o.links ?? []) {
      const link = join(roots.dev, l);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), path), link);
    }
    return path;
  }

  function udev(major: number, minor: number, o: NodeOptions = {}) {
    if (!o.udev) return;
    const dir = join(roots.run, "udev", "data");
    mkdirSync(dir, { recursive: true });
    const lines = [
      ...(o.links ?? []).map((l) => `S:${l}`),
      ...Object.entries(o.udev).map(([k, v]) => `E:${k}=${v}`),
    ];
    writeFileSync(join(dir, `c${major}:${minor}`), `${lines.join("\n")}\n`);
  }

  function ttyClass(name: string, ttyDir: string, deviceDir: string, major: number, minor: number) {
    mkdirSync(ttyDir, { recursive: true });
    writeFileSync(join(ttyDir, "dev"), `${major}:${minor}\n`);
    symlinkSync(relative(ttyDir, deviceDir), join(ttyDir, "device"));
    classLink("tty", name, ttyDir);
  }

  return {
    roots,
    addUsbSerial(name, usb, o = {}) {
      const dev = usbDevice(usb);
      const iface = join(dev, `${dev.split("/").pop()}:1.0`);
      mkdirSync(iface, { recursive: true });
      const acm = name.startsWith("ttyACM");
      const major = acm ? 166 : 188;
      const minor = minors++;
      let deviceDir: string;
      if (acm) {
        driverLink(iface, "usb", o.driver ?? "cdc_acm");
        deviceDir = iface;
      } else {
        deviceDir = join(iface, name);
        mkdirSync(deviceDir, { recursive: true });
        driverLink(deviceDir, "usb-serial", o.driver ?? "ftdi_sio");
      }
      ttyClass(name, join(deviceDir, "tty", name), deviceDir, major, minor);
      udev(major, minor, o);
      return node(join(roots.dev, name), major, minor, o);
    },
    addUart(name, type, o = {}) {
      const port = join(roots.sys, "devices", "platform", "serial8250", `serial8250:0.${minors}`);
      mkdirSync(port, { recursive: true });
      driverLink(port, "serial-base", "port");
      const minor = 64 + minors++;
      const ttyDir = join(port, "tty", name);
      ttyClass(name, ttyDir, port, 4, minor);
      writeFileSync(join(ttyDir, "type"), `${type}\n`);
      return node(join(roots.dev, name), 4, minor, o);
    },
    addHidraw(name, usb, o = {}) {
      const dev = usbDevice(usb);
      const iface = join(dev, `${dev.split("/").pop()}:1.0`);
      const hid = join(
        iface,
        `0003:${usb.vendorId.toUpperCase()}:${usb.productId.toUpperCase()}.000${minors}`,
      );
      mkdirSync(hid, { recursive: true });
      driverLink(hid, "hid", "hid-generic");
      writeFileSync(
        join(hid, "uevent"),
        `HID_ID=0003:0000${usb.vendorId}:0000${usb.productId}\nHID_NAME=${usb.hidName ?? ""}\n`,
      );
      const minor = minors++;
      const cls = join(hid, "hidraw", name);
      mkdirSync(cls, { recursive: true });
      writeFileSync(join(cls, "dev"), `243:${minor}\n`);
      symlinkSync(relative(cls, hid), join(cls, "device"));
      classLink("hidraw", name, cls);
      udev(243, minor, o);
      return node(join(roots.dev, name), 243, minor, o);
    },
    addEvdev(name, input, o = {}) {
      let parent: string;
      if (input.usb) {
        const dev = usbDevice(input.usb);
        parent = join(
          dev,
          `${dev.split("/").pop()}:1.0`,
          `0003:${input.usb.vendorId}:${input.usb.productId}.00${minors}`,
        );
        mkdirSync(parent, { recursive: true });
        driverLink(parent, "hid", "hid-generic");
      } else {
        parent = join(roots.sys, "devices", "LNXSYSTM:00", `LNXPWRBN:0${minors}`);
        mkdirSync(parent, { recursive: true });
        driverLink(parent, "acpi", "button");
      }
      const inputDir = join(parent, "input", `input${minors}`);
      mkdirSync(inputDir, { recursive: true });
      writeFileSync(join(inputDir, "name"), `${input.name}\n`);
      const minor = 64 + minors++;
      const cls = join(inputDir, name);
      mkdirSync(cls, { recursive: true });
      writeFileSync(join(cls, "dev"), `13:${minor}\n`);
      symlinkSync(relative(cls, inputDir), join(cls, "device"));
      classLink("input", name, cls);
      udev(13, minor, o);
      return node(join(roots.dev, "input", name), 13, minor, o);
    },
    addLoneNode(path, o = {}) {
      return node(path, 136, minors++, o);
    },
    addProcess(pid, comm, cmdline, fds = [], fdinfo = {}) {
      const dir = join(roots.proc, String(pid));
      mkdirSync(join(dir, "fd"), { recursive: true });
      mkdirSync(join(dir, "fdinfo"), { recursive: true });
      writeFileSync(join(dir, "comm"), `${comm}\n`);
      writeFileSync(join(dir, "cmdline"), `${cmdline.join("\0")}\0`);
      fds.forEach((target, i) => {
        symlinkSync(target, join(dir, "fd", String(i + 3)));
        writeFileSync(join(dir, "fdinfo", String(i + 3)), fdinfo[i + 3] ?? "pos:\t0\nflags:\t02\n");
      });
    },
    addFlock(pid, path) {
      // /proc/locks names the node by its filesystem's device (hex major:minor) and inode.
      const out = execFileSync("stat", ["-c", "%d %i", path], { encoding: "utf8" }).trim().split(" ");
      const dev = Number(out[0]);
      const major = (dev >> 8) & 0xfff;
      const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
      locks.push(
        `${locks.length + 1}: FLOCK  ADVISORY  WRITE ${pid} ${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${out[1]} 0 EOF`,
      );
      writeFileSync(join(roots.proc, "locks"), `${locks.join("\n")}\n`);
    },
    accounts(passwd, group) {
      writeFileSync(join(roots.etc, "passwd"), `${passwd.join("\n")}\n`);
      writeFileSync(join(roots.etc, "group"), `${group.join("\n")}\n`);
    },
    udevDatabase() {
      mkdirSync(join(roots.run, "udev", "data"), { recursive: true });
    },
    remove() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Accounts shaped like a Debian store PC after `posbridge install`. */
export const STORE_PC_ACCOUNTS = {
  passwd: [
    "root:x:0:0:root:/root:/bin/bash",
    "posbridge:x:998:998:posbridge:/nonexistent:/usr/sbin/nologin",
    "cashier:x:1000:1000:Cashier:/home/cashier:/bin/bash",
  ],
  group: ["root:x:0:", "tty:x:5:", "uucp:x:10:", "dialout:x:20:", "plugdev:x:46:cashier", "posbridge:x:998:"],
};
