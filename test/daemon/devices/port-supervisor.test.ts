import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../daemon/clock.js";
import { DeviceClaims, DeviceResolver } from "../../../daemon/devices/device-identity.js";
import { PortSupervisor, type SupervisorOptions } from "../../../daemon/devices/port-supervisor.js";
import type { OpenPort, SerialOpener } from "../../../daemon/devices/serial-binding.js";
import type { HotplugEvent, HotplugSource } from "../../../daemon/devices/usb-watch.js";
import { FaultyOpener, ioError } from "../../support/faulty-binding.js";
import { logSink } from "../../support/log-sink.js";
import { fakeSysfs } from "./fake-sysfs.js";

const line = { baudRate: 9600, dataBits: 8 as const, parity: "none" as const, stopBits: 1 as const };
const settings = { path: "/dev/ttyUSB9", ...line };
const silent = pino({ level: "silent" });

/** An opener whose answers the test scripts: an Error to fail, "ok" to succeed. */
function scriptedOpener(script: (Error | "ok")[]) {
  const ports: { port: OpenPort; close: (err?: Error) => void; path: string }[] = [];
  let calls = 0;
  const opener: SerialOpener = {
    async open(s) {
      calls++;
      const next = script.shift() ?? new Error("ENOENT: no such file or directory");
      if (next instanceof Error) throw next;
      const handlers: ((err?: Error) => void)[] = [];
      let closed = false;
      const close = (err?: Error) => {
        if (closed) return;
        closed = true;
        for (const fn of handlers) fn(err);
      };
      const port: OpenPort = {
        path: s.path,
        write: async () => {},
        close: async () => close(),
        onData: () => {},
        onClose: (fn) => {
          handlers.push(fn);
        },
      };
      ports.push({ port, close, path: s.path });
      return port;
    },
  };
  return { opener, ports, calls: () => calls };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const supervisors: PortSupervisor[] = [];
function supervise(opts: Partial<SupervisorOptions> & Pick<SupervisorOptions, "opener">) {
  const states: string[] = [];
  const opened: OpenPort[] = [];
  const sup = new PortSupervisor({
    settings,
    clock: systemClock,
    log: silent,
    claims: new DeviceClaims(),
    onOpen: (p) => opened.push(p),
    onState: (s, e) => states.push(`${s}${e ? `:${e}` : ""}`),
    ...opts,
  });
  supervisors.push(sup);
  return { sup, states, opened };
}

afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop();
});

describe("PortSupervisor back-off (scripted opener, manual clock)", () => {
  it("retries a missing device with growing back-off and reports ABSENT then CONNECTED once each", async () => {
    const clock = new ManualClock();
    const { opener, calls } = scriptedOpener([
      new Error("ENOENT: no such file"),
      new Error("ENOENT: no such file"),
      "ok",
    ]);
    const { sup, states, opened } = supervise({
      opener,
      clock,
      random: () => 0.999,
      retryMinMs: 100,
      retryMaxMs: 1000,
    });
    sup.start();
    await flush();
    expect(calls()).toBe(1);
    clock.advance(99);
    await flush();
    expect(calls()).toBe(1); // not before the back-off
    clock.advance(2);
    await flush();
    expect(calls()).toBe(2);
    clock.advance(200); // second delay may be up to 200 ms
    await flush();
    expect(calls()).toBe(3);
    expect(opened).toHaveLength(1);
    // The same failure twice is reported once: a dead scanner does not flood the journal.
    expect(states).toEqual(["ABSENT:ENOENT: no such file", "CONNECTED"]);
    expect(sup.status.state).toBe("CONNECTED");
  });

  it("never waits more than absentRetryMaxMs (1 s) between tries of an ABSENT device", async () => {
    const clock = new ManualClock();
    const { opener, calls } = scriptedOpener(Array.from({ length: 12 }, () => new Error("ENOENT: gone")));
    const { sup } = supervise({ opener, clock, random: () => 0.999, retryMaxMs: 30_000 });
    sup.start();
    await flush();
    for (let i = 2; i <= 10; i++) {
      clock.advance(1000);
      await flush();
      expect(calls()).toBe(i);
    }
  });

  it("reopens a device that closed under it, and says FAULT (with the fix) for a permission error", async () => {
    const clock = new ManualClock();
    const { opener, ports } = scriptedOpener(["ok", new Error("EACCES: permission denied"), "ok"]);
    const { sup, states } = supervise({ opener, clock, random: () => 0, retryMinMs: 50 });
    sup.start();
    await flush();
    clock.advance(300); // settled
    ports[0]?.close(new Error("device unplugged"));
    expect(sup.current).toBeUndefined();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    expect(states).toEqual([
      "CONNECTED",
      "ABSENT:device unplugged",
      expect.stringMatching(/^FAULT:EACCES: permission denied \(.*dialout.*99-posbridge\.rules/),
      "CONNECTED",
    ]);
    expect(sup.current).toBe(ports[1]?.port);
    await sup.stop();
    clock.advance(10_000);
    await flush();
    expect(ports).toHaveLength(2); // stopped: no more reopen attempts
  });

  it("closes a port its owner cannot use and reports FAULT instead of keeping it half open", async () => {
    const clock = new ManualClock();
    const { opener, ports } = scriptedOpener(["ok", "ok"]);
    const closed: number[] = [];
    let attempts = 0;
    const { sup, states } = supervise({
      opener,
      clock,
      random: () => 0,
      retryMinMs: 50,
      onOpen: (port) => {
        attempts++;
        port.onClose(() => closed.push(attempts));
        if (attempts === 1) throw new TypeError("prefix longer than maxLength");
      },
    });
    sup.start();
    await flush();
    expect(closed).toEqual([1]);
    expect(sup.current).toBeUndefined();
    expect(sup.status).toMatchObject({ state: "FAULT", error: "prefix longer than maxLength" });
    clock.advance(50);
    await flush();
    expect(states.map((s) => s.split(":")[0])).toEqual(["FAULT", "CONNECTED"]);
    expect(sup.current).toBe(ports[1]?.port);
  });

  it("a flapping port (opens, dies at once) is FAULT, backs off further each time, and is CONNECTED only once it stays open", async () => {
    const clock = new ManualClock();
    const { opener, ports, calls } = scriptedOpener(Array.from({ length: 8 }, () => "ok" as const));
    const { sup, states } = supervise({
      opener,
      clock,
      random: () => 0.999,
      retryMinMs: 100,
      retryMaxMs: 1600,
    });
    sup.start();
    await flush();
    const gaps: number[] = [];
    for (let flap = 0; flap < 5; flap++) {
      ports.at(-1)?.close(new Error("EIO: i/o error, read"));
      const before = calls();
      let waited = 0;
      while (calls() === before) {
        clock.advance(10);
        waited += 10;
        await flush();
      }
      gaps.push(waited);
    }
    // 100, 200, 400, 800, 1600: it doubles although the device is there each time.
    expect(gaps).toEqual([100, 200, 400, 800, 1600]);
    expect(sup.status).toMatchObject({ state: "FAULT", flaps: 5 });
    expect(sup.status.error).toMatch(/closed right after opening \(flapping\): EIO/);
    // Open now, but not CONNECTED until it has stayed open for 300 ms.
    clock.advance(299);
    await flush();
    expect(sup.status.state).toBe("FAULT");
    clock.advance(1);
    expect(sup.status.state).toBe("CONNECTED");
    expect(states.filter((s) => s === "CONNECTED")).toHaveLength(2); // the first open, and now
  });

  it("retries at once when a USB device is attached", async () => {
    const clock = new ManualClock();
    const { opener, calls } = scriptedOpener([new Error("ENOENT: gone"), "ok"]);
    let notify: ((e: HotplugEvent) => void) | undefined;
    const hotplug: HotplugSource = {
      subscribe(fn) {
        notify = fn;
        return () => {
          notify = undefined;
        };
      },
    };
    const { sup } = supervise({ opener, clock, hotplug, random: () => 0.999, retryMinMs: 500 });
    sup.start();
    await flush();
    expect(calls()).toBe(1);
    notify?.("attach");
    await flush();
    expect(calls()).toBe(2);
    expect(sup.status.state).toBe("CONNECTED");
    await sup.stop();
    expect(notify).toBeUndefined(); // unsubscribed
  });

  it("listens to hot-plug events only while its device is not open (an open port never loads usb)", async () => {
    const clock = new ManualClock();
    const { opener, ports } = scriptedOpener(["ok", "ok"]);
    let subscribed = 0;
    let listening = false;
    const hotplug: HotplugSource = {
      subscribe() {
        subscribed++;
        listening = true;
        return () => {
          listening = false;
        };
      },
    };
    const { sup } = supervise({ opener, clock, hotplug, random: () => 0, retryMinMs: 50 });
    sup.start();
    await flush();
    clock.advance(300); // settled
    expect(sup.status.state).toBe("CONNECTED");
    expect(subscribed).toBe(0);
    ports[0]?.close(new Error("device unplugged"));
    expect(listening).toBe(true);
    clock.advance(50);
    await flush();
    clock.advance(300); // reopened and settled
    expect(sup.current).toBe(ports[1]?.port);
    expect(listening).toBe(false);
    expect(subscribed).toBe(1);
    await sup.stop();
  });

  it("reports the owner's write failure, closes the port and reopens it", async () => {
    const clock = new ManualClock();
    const { opener, ports } = scriptedOpener(["ok", "ok"]);
    const { sup, states } = supervise({ opener, clock, random: () => 0, retryMinMs: 50 });
    sup.start();
    await flush();
    const first = sup.current as OpenPort;
    sup.fail(first, "ABSENT", "write failed: EIO");
    expect(sup.current).toBeUndefined();
    sup.fail(first, "FAULT", "late report of the same port"); // ignored: not current any more
    clock.advance(50);
    await flush();
    expect(sup.current).toBe(ports[1]?.port);
    expect(states).toEqual(["CONNECTED", "ABSENT:write failed: EIO", "CONNECTED"]);
  });
});

describe("PortSupervisor names its trouble with the codes docs/errors.md lists", () => {
  it("logs PB_PORT_LOCKED for a port another program holds, PB_PORT_OPEN for permissions, PB_PORT_CLOSED when it is lost", async () => {
    const sink = logSink();
    const { opener, ports } = scriptedOpener([
      new Error("Error Resource temporarily unavailable Cannot lock port"),
      new Error("Error: EACCES: permission denied, open '/dev/ttyUSB9'"),
      "ok",
    ]);
    const clock = new ManualClock();
    const { sup } = supervise({ opener, clock, log: sink.log, random: () => 0 });
    sup.start();
    await flush();
    expect(sup.status).toMatchObject({ state: "FAULT", code: "PB_PORT_LOCKED" });
    clock.advance(10_000);
    await flush();
    expect(sup.status).toMatchObject({ state: "FAULT", code: "PB_PORT_OPEN" });
    clock.advance(10_000);
    await flush();
    expect(sup.status).toMatchObject({ state: "CONNECTED", code: undefined });
    clock.advance(1_000); // settled
    ports[0]?.close(new Error("disconnected"));
    await flush();
    expect(sup.status).toMatchObject({ state: "ABSENT", code: "PB_PORT_CLOSED" });
    const codes = sink.entries
      .filter((e) => e.msg === "device unavailable; retrying in the background")
      .map((e) => e.errCode);
    expect(codes).toEqual(["PB_PORT_LOCKED", "PB_PORT_OPEN", "PB_PORT_CLOSED"]);
  });
});

describe("PortSupervisor on the fault-injecting binding", () => {
  let n = 0;
  const fast = { retryMinMs: 10, retryMaxMs: 200, absentRetryMaxMs: 50, settleMs: 30 };
  function device() {
    const faulty = new FaultyOpener();
    const path = `/dev/ttySUP${++n}`;
    const peer = faulty.createPort(path);
    return { faulty, path, peer };
  }

  it("an unplug (EIO on the waiting read) is ABSENT, retried, and back once replugged", async () => {
    const { faulty, path, peer } = device();
    const { sup, states, opened } = supervise({ opener: faulty, settings: { ...settings, path }, ...fast });
    sup.start();
    await waitUntil(() => sup.status.state === "CONNECTED", "connected");
    opened[0]?.onData(() => {});
    await sleep(40); // past settleMs: an unplug, not a flap
    faulty.unplug(path);
    await waitUntil(() => sup.status.state === "ABSENT", "absent");
    expect(states[1]).toMatch(/^ABSENT:.*EIO/); // the unplug itself…
    await sleep(120); // …then several tries while it is away
    expect(sup.status.error).toMatch(/ENOENT/);
    expect(opened).toHaveLength(1);
    faulty.replug(path);
    const t0 = Date.now();
    await waitUntil(() => sup.status.state === "CONNECTED", "reconnected");
    expect(Date.now() - t0).toBeLessThan(500);
    expect(opened).toHaveLength(2);
    opened[1]?.onData(() => {});
    await opened[1]?.write(new TextEncoder().encode("hi"));
    expect(peer.isOpen).toBe(true);
    expect(states.map((s) => s.split(":")[0])).toEqual(["CONNECTED", "ABSENT", "ABSENT", "CONNECTED"]);
  });

  it("a read error closes the port; the device is still there, so it is reopened at once", async () => {
    const { faulty, path } = device();
    const { sup, opened } = supervise({ opener: faulty, settings: { ...settings, path }, ...fast });
    sup.start();
    await waitUntil(() => opened.length === 1, "open");
    opened[0]?.onData(() => {});
    await sleep(40);
    faulty.failNextRead(path, ioError("EPROTO", "protocol error", "read"));
    await waitUntil(() => opened.length === 2, "reopen");
    await waitUntil(() => sup.status.state === "CONNECTED", "connected");
  });

  it("a silent unplug is noticed by the next write, which fails; the port is reopened after the replug", async () => {
    const { faulty, path } = device();
    const { sup, states, opened } = supervise({ opener: faulty, settings: { ...settings, path }, ...fast });
    sup.start();
    await waitUntil(() => opened.length === 1, "open");
    const port = opened[0] as OpenPort;
    port.onData(() => {});
    await sleep(40);
    faulty.silentUnplug(path);
    await sleep(60);
    expect(sup.status.state).toBe("CONNECTED"); // nothing said so far
    await expect(port.write(Uint8Array.of(1))).rejects.toThrow(/EIO/);
    await waitUntil(() => sup.status.state === "ABSENT", "absent after the write");
    faulty.replug(path);
    await waitUntil(() => opened.length === 2 && sup.status.state === "CONNECTED", "back");
    expect(states).toEqual(["CONNECTED", expect.stringMatching(/^ABSENT:.*EIO/), "CONNECTED"]);
  });

  it("a device path that is a directory is FAULT: is a directory, not a serial device", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-dir-"));
    const faulty = new FaultyOpener();
    const { sup, opened } = supervise({ opener: faulty, settings: { ...settings, path: dir }, ...fast });
    sup.start();
    await waitUntil(() => sup.status.state === "FAULT", "fault");
    expect(sup.status.error).toBe(`${dir} is a directory, not a serial device`);
    expect(opened).toHaveLength(0);
  });

  it("refuses to open one device under a second spelling while the first holds it, and takes it when freed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-spell-"));
    // Two links to one character device, the way /dev/serial/by-id and /dev/ttyUSB0 name one tty.
    const a = join(dir, "by-id-link");
    const b = join(dir, "ttyUSB0");
    symlinkSync("/dev/null", a);
    symlinkSync("/dev/null", b);
    const faulty = new FaultyOpener();
    faulty.createPort(a);
    faulty.createPort(b);
    const claims = new DeviceClaims();
    const first = supervise({
      opener: faulty,
      claims,
      name: "lane1 scanner",
      settings: { ...settings, path: a },
      ...fast,
    });
    first.sup.start();
    await waitUntil(() => first.sup.status.state === "CONNECTED", "first");
    const second = supervise({
      opener: faulty,
      claims,
      name: "lane2 display",
      settings: { ...settings, path: b },
      ...fast,
    });
    second.sup.start();
    await waitUntil(() => second.sup.status.state === "FAULT", "second refused");
    expect(second.sup.status.error).toBe(
      `${b} is the same device as lane1 scanner (/dev/null); each device serves one role`,
    );
    expect(second.opened).toHaveLength(0);
    await first.sup.stop();
    await waitUntil(() => second.sup.status.state === "CONNECTED", "second takes it");
  });

  it("notices a device node that vanished under an open port (rescan) and reopens when it is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-rescan-"));
    const link = join(dir, "scanner");
    symlinkSync("/dev/null", link);
    const faulty = new FaultyOpener();
    faulty.createPort(link);
    const { sup, states, opened } = supervise({
      opener: faulty,
      settings: { ...settings, path: link },
      reconcileMs: 20,
      ...fast,
    });
    sup.start();
    await waitUntil(() => sup.status.state === "CONNECTED", "connected");
    rmSync(link); // udev removed the node; the port itself never said a word
    await waitUntil(() => sup.status.state === "ABSENT", "absent");
    expect(sup.status.error).toBe(`${link} is gone (unplugged)`);
    symlinkSync("/dev/null", link);
    await waitUntil(() => sup.status.state === "CONNECTED" && opened.length === 2, "back");
    expect(states).toEqual(["CONNECTED", `ABSENT:${link} is gone (unplugged)`, "CONNECTED"]);
  });

  it("finds a device named by USB ids again when it comes back under another tty name", async () => {
    const sys = fakeSysfs();
    sys.addUsbTty("ttyUSB0", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    const faulty = new FaultyOpener();
    faulty.createPort(join(sys.dev, "ttyUSB0"));
    faulty.createPort(join(sys.dev, "ttyUSB1"));
    const resolver = new DeviceResolver({ sysfsRoot: sys.root, devRoot: sys.dev, cacheMs: 0 });
    const { sup, opened } = supervise({
      opener: faulty,
      resolver,
      settings: { ...line, usb: { vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" } },
      ...fast,
    });
    sup.start();
    await waitUntil(() => sup.status.state === "CONNECTED", "connected");
    expect(opened[0]?.path).toBe(join(sys.dev, "ttyUSB0"));
    expect(sup.status.device).toBe(join(sys.dev, "ttyUSB0"));
    opened[0]?.onData(() => {});
    await sleep(40);
    // Unplugged: the tty disappears from sysfs; replugged, the kernel names it ttyUSB1.
    faulty.unplug(join(sys.dev, "ttyUSB0"));
    sys.remove("ttyUSB0");
    await waitUntil(() => sup.status.state === "ABSENT", "absent");
    expect(sup.status.error).toMatch(/EIO|no serial port of usb 0403:6001 serial A10KZ3QX is plugged in/);
    await sleep(60);
    expect(sup.status.error).toBe("no serial port of usb 0403:6001 serial A10KZ3QX is plugged in");
    sys.addUsbTty("ttyUSB1", { vendorId: "0403", productId: "6001", serial: "A10KZ3QX" });
    await waitUntil(() => sup.status.state === "CONNECTED", "back");
    expect(opened[1]?.path).toBe(join(sys.dev, "ttyUSB1"));
  });

  it("stop() closes the port and stops retrying", async () => {
    const { faulty, path } = device();
    const { sup, opened } = supervise({ opener: faulty, settings: { ...settings, path }, ...fast });
    sup.start();
    await waitUntil(() => opened.length === 1, "open");
    await sup.stop();
    expect(faulty.isOpen(path)).toBe(false);
    await sleep(100);
    expect(opened).toHaveLength(1);
  });
});
