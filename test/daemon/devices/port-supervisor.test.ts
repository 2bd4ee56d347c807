import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { PortSupervisor } from "../../../daemon/devices/port-supervisor.js";
import type { OpenPort, SerialOpener } from "../../../daemon/devices/serial-binding.js";

const settings = {
  path: "/dev/ttyUSB9",
  baudRate: 9600,
  dataBits: 8 as const,
  parity: "none" as const,
  stopBits: 1 as const,
};

/** An opener whose answers the test scripts: an Error to fail, "ok" to succeed. */
function scriptedOpener(script: (Error | "ok")[]) {
  const ports: { port: OpenPort; close: (err?: Error) => void }[] = [];
  let calls = 0;
  const opener: SerialOpener = {
    async open() {
      calls++;
      const next = script.shift() ?? new Error("ENOENT: no such file or directory");
      if (next instanceof Error) throw next;
      let onClose: (err?: Error) => void = () => {};
      const port: OpenPort = {
        path: settings.path,
        write: async () => {},
        close: async () => onClose(),
        onData: () => {},
        onClose: (fn) => {
          onClose = fn;
        },
      };
      ports.push({ port, close: (err) => onClose(err) });
      return port;
    },
  };
  return { opener, ports, calls: () => calls };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("PortSupervisor", () => {
  it("retries a missing device with growing back-off and reports ABSENT then CONNECTED once each", async () => {
    const clock = new ManualClock();
    const { opener, calls } = scriptedOpener([
      new Error("ENOENT: no such file"),
      new Error("ENOENT: no such file"),
      "ok",
    ]);
    const states: string[] = [];
    const opened: OpenPort[] = [];
    const sup = new PortSupervisor({
      settings,
      opener,
      clock,
      log: pino({ level: "silent" }),
      random: () => 0.999,
      retryMinMs: 100,
      retryMaxMs: 1000,
      onOpen: (p) => opened.push(p),
      onState: (s) => states.push(s),
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
    expect(states).toEqual(["ABSENT", "CONNECTED"]);
    expect(sup.status.state).toBe("CONNECTED");
  });

  it("reopens a device that closed under it, and says FAULT for errors other than a missing node", async () => {
    const clock = new ManualClock();
    const { opener, ports } = scriptedOpener(["ok", new Error("EACCES: permission denied"), "ok"]);
    const states: string[] = [];
    const sup = new PortSupervisor({
      settings,
      opener,
      clock,
      log: pino({ level: "silent" }),
      random: () => 0,
      retryMinMs: 50,
      onOpen: () => {},
      onState: (s, e) => states.push(`${s}${e ? `:${e}` : ""}`),
    });
    sup.start();
    await flush();
    ports[0]?.close(new Error("device unplugged"));
    expect(sup.current).toBeUndefined();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    expect(states).toEqual([
      "CONNECTED",
      "ABSENT:device unplugged",
      "FAULT:EACCES: permission denied",
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
    const states: string[] = [];
    let attempts = 0;
    const sup = new PortSupervisor({
      settings,
      opener,
      clock,
      log: pino({ level: "silent" }),
      random: () => 0,
      retryMinMs: 50,
      onOpen: (port) => {
        attempts++;
        port.onClose(() => closed.push(attempts));
        if (attempts === 1) throw new TypeError("prefix longer than maxLength");
      },
      onState: (s) => states.push(s),
    });
    sup.start();
    await flush();
    expect(closed).toEqual([1]);
    expect(sup.current).toBeUndefined();
    expect(sup.status).toEqual({ state: "FAULT", error: "prefix longer than maxLength" });
    clock.advance(50);
    await flush();
    expect(states).toEqual(["FAULT", "CONNECTED"]);
    expect(sup.current).toBe(ports[1]?.port);
  });
});
