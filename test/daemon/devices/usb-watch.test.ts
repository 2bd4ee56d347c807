import pino from "pino";
import { describe, expect, it } from "vitest";
import type { UsbModule } from "../../../daemon/devices/native-modules.js";
import { UsbWatch } from "../../../daemon/devices/usb-watch.js";

type Listener = (event: { device: { vendorId: number; productId: number } }) => void;

function fakeUsb() {
  const listeners = { connect: new Set<Listener>(), disconnect: new Set<Listener>() };
  const mod: UsbModule = {
    usb: {
      getDevices: async () => [],
      addEventListener: (type, fn) => listeners[type].add(fn),
      removeEventListener: (type, fn) => listeners[type].delete(fn),
    },
  };
  const fire = (type: "connect" | "disconnect") => {
    for (const fn of listeners[type]) fn({ device: { vendorId: 0x0403, productId: 0x6001 } });
  };
  return { mod, listeners, fire };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}

describe("UsbWatch", () => {
  it("loads usb on the first subscriber, fans attach/detach out, and lets go after the last one leaves", async () => {
    const usb = fakeUsb();
    let loads = 0;
    const watch = new UsbWatch({
      load: async () => {
        loads++;
        return usb.mod;
      },
    });
    expect(loads).toBe(0);
    const a: string[] = [];
    const b: string[] = [];
    const offA = watch.subscribe((e) => a.push(e));
    const offB = watch.subscribe((e) => b.push(e));
    await watch.ready();
    expect(loads).toBe(1);
    expect(watch.available).toBe(true);
    usb.fire("connect");
    usb.fire("disconnect");
    expect(a).toEqual(["attach", "detach"]);
    expect(b).toEqual(["attach", "detach"]);
    offA();
    usb.fire("connect");
    expect(a).toHaveLength(2);
    offB();
    expect(usb.listeners.connect.size).toBe(0); // nothing left that could keep the process alive
    expect(usb.listeners.disconnect.size).toBe(0);
    const again = watch.subscribe(() => {});
    expect(usb.listeners.connect.size).toBe(1); // re-attached without loading again
    expect(loads).toBe(1);
    again();
  });

  it("when usb cannot load, says why once, and subscribers simply get no events", async () => {
    const { log, lines } = capture();
    let loads = 0;
    const watch = new UsbWatch({
      load: async () => {
        loads++;
        throw new Error("USB device detection unavailable: the native module usb could not load (boom)");
      },
    });
    const off1 = watch.subscribe(() => {}, log);
    await watch.ready();
    const off2 = watch.subscribe(() => {}, log);
    await watch.ready();
    expect(loads).toBe(1);
    expect(watch.available).toBe(false);
    const said = lines.filter((l) => String(l.msg).startsWith("USB hot-plug events unavailable"));
    expect(said).toHaveLength(1);
    expect(said[0]?.reason).toMatch(/could not load \(boom\)/);
    off1();
    off2();
  });
});
