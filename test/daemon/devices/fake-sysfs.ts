// A fake /sys tree in a temp dir, shaped like the kernel's for USB serial adapters:
//   class/tty/<name>/device → ../../../devices/pci0000:00/usb1/<port>/<port>:1.0/<name>
//   devices/pci0000:00/usb1/<port>/{idVendor,idProduct,serial}
// plus non-USB ttys (a platform UART, a virtual console) that the resolver must skip.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeSysfs {
  root: string;
  /** Where the tty nodes would be (the resolver's devRoot). */
  dev: string;
  addUsbTty(name: string, ids: { vendorId: string; productId: string; serial?: string; port?: string }): void;
  remove(name: string): void;
}

export function fakeSysfs(): FakeSysfs {
  const base = mkdtempSync(join(tmpdir(), "pb-sysfs-"));
  const root = join(base, "sys");
  const dev = join(base, "dev");
  mkdirSync(join(root, "class", "tty"), { recursive: true });
  mkdirSync(dev, { recursive: true });
  // ttyS0: a platform UART (no USB device above it); tty0: a virtual console (no device link).
  const uart = join(root, "devices", "platform", "serial8250", "tty", "ttyS0");
  mkdirSync(uart, { recursive: true });
  mkdirSync(join(root, "class", "tty", "ttyS0"));
  symlinkSync("../../../devices/platform/serial8250", join(root, "class", "tty", "ttyS0", "device"));
  mkdirSync(join(root, "class", "tty", "tty0"));
  let ports = 0;
  return {
    root,
    dev,
    addUsbTty(name, ids) {
      const port = ids.port ?? `1-${++ports}`;
      const usbDir = join(root, "devices", "pci0000:00", "usb1", port);
      const ttyDir = join(usbDir, `${port}:1.0`, name);
      mkdirSync(join(ttyDir, "tty", name), { recursive: true });
      writeFileSync(join(usbDir, "idVendor"), `${ids.vendorId}\n`);
      writeFileSync(join(usbDir, "idProduct"), `${ids.productId}\n`);
      if (ids.serial !== undefined) writeFileSync(join(usbDir, "serial"), `${ids.serial}\n`);
      mkdirSync(join(root, "class", "tty", name));
      symlinkSync(
        `../../../devices/pci0000:00/usb1/${port}/${port}:1.0/${name}`,
        join(root, "class", "tty", name, "device"),
      );
    },
    remove(name) {
      rmSync(join(root, "class", "tty", name), { recursive: true, force: true });
    },
  };
}
