import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import {
  type HidBackend,
  type HidDeviceInfo,
  type HidHandle,
  type HidScannerOptions,
  HidScannerPort,
  nodeHidBackend,
  RECONCILE_MS,
} from "../../../daemon/devices/hid-scanner-port.js";
import { loadNodeHid } from "../../../daemon/devices/native-modules.js";

interface Fixture {
  reports: Buffer[];
  expect: string[];
}

function fixture(name: string): Fixture {
  const raw = JSON.parse(readFileSync(new URL(`../../fixtures/hid/${name}`, import.meta.url), "utf8")) as {
    reports: string[];
    expect: string[];
  };
  return {
    reports: raw.reports.map((hex) => Buffer.from(hex.replace(/\s+/g, ""), "hex")),
    expect: raw.expect,
  };
}

const HONEYWELL = fixture("hid-pos-honeywell.json");
const BOOT = fixture("keyboard-wedge-boot.json");

/** A HID handle node-hid would give: 'data' with each input report, 'error' when a read fails. */
class FakeHandle extends EventEmitter implements HidHandle {
  closed = false;
  constructor(readonly path: string) {
    super();
  }
  close(): void {
    this.closed = true;
  }
  /** One report, as node-hid delivers it (a Buffer, report id first). */
  report(bytes: Buffer): void {
    if (!this.closed) this.emit("data", Buffer.from(bytes));
  }
}

/** The enumerated devices and the handles opened, scripted by the test; sync or async like node-hid. */
class FakeHid implements HidBackend {
  list: HidDeviceInfo[] = [];
  handles: FakeHandle[] = [];
  openError: Error | undefined;
  listCalls = 0;
  constructor(private readonly async = false) {}

  devices(): HidDeviceInfo[] | Promise<HidDeviceInfo[]> {
    this.listCalls++;
    const copy = this.list.map((d) => ({ ...d }));
    return this.async ? Promise.resolve(copy) : copy;
  }

  open(path: string): HidHandle | Promise<HidHandle> {
    const run = () => {
      if (this.openError) throw this.openError;
      if (!this.list.some((d) => d.path === path)) throw new Error(`cannot open device with path ${path}`);
      const handle = new FakeHandle(path);
      this.handles.push(handle);
      return handle;
    };
    return this.async ? Promise.resolve().then(run) : run();
  }

  get last(): FakeHandle {
    const handle = this.handles.at(-1);
    if (!handle) throw new Error("nothing opened");
    return handle;
  }
}

const POS_SCANNER: HidDeviceInfo = {
  path: "/dev/hidraw3",
  vendorId: 0x0c2e,
  productId: 0x0200,
  serialNumber: "21100B4F72",
  usagePage: 0x8c,
  usage: 0x02,
  product: "Honeywell HID POS",
};

const WEDGE_SCANNER: HidDeviceInfo = {
  path: "/dev/hidraw4",
  vendorId: 0x1eab,
  productId: 0x0d10,
  serialNumber: "NLS0000001",
  usagePage: 0x01,
  usage: 0x06,
};

/** A pino logger writing JSON lines (no time, pid or hostname) into an array, unfiltered. */
function captureLog() {
  const lines: string[] = [];
  const log = pino(
    { level: "debug", base: undefined, timestamp: false },
    { write: (s: string) => lines.push(s) },
  );
  return { log, lines };
}

/** No read, nor any run of its digits, reached a log line. */
function expectNoReadsLogged(lines: readonly string[], reads: readonly string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).not.toMatch(/\d{5,}/);
    for (const read of reads) expect(line).not.toContain(read.slice(0, 5));
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup(
  options: Partial<HidScannerOptions> = {},
  hid: FakeHid | (() => Promise<HidBackend>) = new FakeHid(),
) {
  const clock = new ManualClock();
  const { log, lines } = captureLog();
  const scans: string[] = [];
  const states: string[] = [];
  const port = new HidScannerPort(
    {
      kind: "hidpos",
      match: { vendorId: 0x0c2e, serialNumber: "21100B4F72" },
      maxLength: 128,
      retryMinMs: 100,
      retryMaxMs: 1000,
      random: () => 0.5,
      ...options,
    },
    { clock, log, hid },
    {
      onScan: (text) => scans.push(text),
      onState: (state, error) => states.push(`${state} ${error}`.trim()),
    },
  );
  return { clock, port, scans, states, lines, hid: hid instanceof FakeHid ? hid : new FakeHid() };
}

describe("HidScannerPort, HID POS", () => {
  it("replays the recorded Honeywell reports through the node-hid data path into reads", async () => {
    const { clock, port, scans, states, lines, hid } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    expect(states).toEqual(["CONNECTED"]);
    expect(hid.last.path).toBe("/dev/hidraw3");
    for (const report of HONEYWELL.reports) {
      hid.last.report(report);
      clock.advance(3);
    }
    expect(scans).toEqual(HONEYWELL.expect);
    expect(port.status).toEqual({ state: "CONNECTED", error: "", reads: 3, discardedBytes: 0 });
    expect(
      lines.some((l) => l.includes('"msg":"scanner connected"') && l.includes('"hidPath":"/dev/hidraw3"')),
    ).toBe(true);
    expect(lines.filter((l) => l.includes('"msg":"scanner read"'))).toHaveLength(3);
    expectNoReadsLogged(lines, HONEYWELL.expect);
    await port.stop();
  });

  it("works the same with a backend whose calls return promises (node-hid's async API)", async () => {
    const hid = new FakeHid(true);
    hid.list = [POS_SCANNER];
    const { port, scans } = setup({}, hid);
    port.start();
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    for (const report of HONEYWELL.reports) hid.last.report(report);
    expect(scans).toEqual(HONEYWELL.expect);
    await port.stop();
    expect(hid.last.closed).toBe(true);
  });

  it("picks the HID POS interface of a composite scanner, not its vendor-specific one", async () => {
    const { port, hid } = setup();
    hid.list = [{ ...POS_SCANNER, path: "/dev/hidraw2", usagePage: 0xff00, usage: 0x01 }, POS_SCANNER];
    port.start();
    await flush();
    expect(hid.last.path).toBe("/dev/hidraw3");
    await port.stop();
  });

  it("with an empty match takes the first device on usage page 0x8C, and is ABSENT without one", async () => {
    const { port, hid, states } = setup({ match: {} });
    hid.list = [{ ...WEDGE_SCANNER }];
    port.start();
    await flush();
    expect(states).toEqual(["ABSENT no HID POS scanner (usage page 0x8c) found"]);
    hid.list.push(POS_SCANNER);
    await port.stop();
    port.start();
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    expect(hid.last.path).toBe("/dev/hidraw3");
    await port.stop();
  });

  it("a hidraw node as match.path is matched as is", async () => {
    const { port, hid } = setup({ match: { path: "/dev/hidraw3" } });
    hid.list = [{ ...POS_SCANNER, path: "/dev/hidraw2", usagePage: 0xff00 }, POS_SCANNER];
    port.start();
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    expect(hid.last.path).toBe("/dev/hidraw3");
    await port.stop();
  });

  it("a udev link as match.path follows its target, also after a replug re-points it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posbridge-hid-"));
    try {
      const [node3, node7, link] = [join(dir, "hidraw3"), join(dir, "hidraw7"), join(dir, "scanner-lane3")];
      writeFileSync(node3, "");
      writeFileSync(node7, "");
      symlinkSync(node3, link);
      const { clock, port, hid } = setup({ match: { path: link } });
      hid.list = [{ ...POS_SCANNER, path: node3 }];
      port.start(); // realpath is real fs I/O: wait for it rather than flush
      await vi.waitFor(() => expect(port.status.state).toBe("CONNECTED"));
      expect(hid.last.path).toBe(node3);
      // Unplug and replug: udev removes the link and makes it again for the new node.
      hid.list = [{ ...POS_SCANNER, path: node7 }];
      unlinkSync(link);
      symlinkSync(node7, link);
      clock.advance(RECONCILE_MS);
      await vi.waitFor(() => expect(port.status.state).toBe("ABSENT"));
      clock.advance(1000);
      await vi.waitFor(() => expect(port.status.state).toBe("CONNECTED"));
      expect(hid.last.path).toBe(node7);
      await port.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("drops an unfinished read after staleMs of silence, counted and logged by length and reason only", async () => {
    const { clock, port, scans, lines, hid } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    hid.last.report(HONEYWELL.reports[1] as Buffer); // 56 bytes, "more reports follow"
    clock.advance(499);
    expect(port.status.discardedBytes).toBe(0);
    clock.advance(1);
    expect(scans).toEqual([]);
    expect(port.status.discardedBytes).toBe(56);
    const warn = lines.find((l) => l.includes("scanner input discarded"));
    expect(warn).toContain('"length":56');
    expect(warn).toContain('"reason":"incomplete"');
    // The next read is whole again.
    hid.last.report(HONEYWELL.reports[3] as Buffer);
    expect(scans).toEqual(["5901234123457"]);
    expectNoReadsLogged(lines, HONEYWELL.expect);
    await port.stop();
  });

  it("unplug seen only by the reconcile: ABSENT within one reconcile; replug under a new hidraw → reads again", async () => {
    const { clock, port, scans, states, hid, lines } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    const first = hid.last;
    hid.last.report(HONEYWELL.reports[0] as Buffer);
    expect(scans).toHaveLength(1);

    hid.list = []; // node-hid says nothing: the device just is no longer listed
    clock.advance(RECONCILE_MS);
    await flush();
    expect(port.status.state).toBe("ABSENT");
    expect(port.status.error).toBe("/dev/hidraw3 was unplugged (no longer listed)");
    expect(first.closed).toBe(true);

    hid.list = [{ ...POS_SCANNER, path: "/dev/hidraw7" }];
    clock.advance(1000); // past the back-off
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    expect(hid.last.path).toBe("/dev/hidraw7");
    hid.last.report(HONEYWELL.reports[3] as Buffer);
    first.report(HONEYWELL.reports[0] as Buffer); // the dead handle is not listened to any more
    expect(scans).toEqual([HONEYWELL.expect[0], "5901234123457"]);
    expect(states).toEqual([
      "CONNECTED",
      "ABSENT /dev/hidraw3 was unplugged (no longer listed)",
      "CONNECTED",
    ]);
    expectNoReadsLogged(lines, HONEYWELL.expect);
    await port.stop();
  });

  it("keeps checking while the device stays listed", async () => {
    const { clock, port, hid } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    const calls = hid.listCalls;
    for (let i = 0; i < 3; i++) {
      clock.advance(RECONCILE_MS);
      await flush();
    }
    expect(hid.listCalls).toBe(calls + 3);
    expect(port.status.state).toBe("CONNECTED");
    await port.stop();
    clock.advance(RECONCILE_MS * 3);
    await flush();
    expect(hid.listCalls).toBe(calls + 3); // stopped: no more enumeration
  });

  it("unplug reported as a read 'error': ABSENT at once, then found again", async () => {
    const { clock, port, hid } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    hid.list = [];
    hid.last.emit("error", new Error("could not read from HID device: No such device"));
    await flush();
    expect(port.status.state).toBe("ABSENT");
    expect(port.status.error).toBe(
      "/dev/hidraw3 was unplugged (could not read from HID device: No such device)",
    );
    hid.list = [{ ...POS_SCANNER, path: "/dev/hidraw9" }];
    clock.advance(1000);
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    expect(hid.last.path).toBe("/dev/hidraw9");
    await port.stop();
  });

  it("a read error on a device still listed is a FAULT, retried with back-off", async () => {
    const { clock, port, hid, states } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    hid.last.emit("error", new Error("could not read from HID device: Input/output error"));
    await flush();
    expect(port.status).toMatchObject({
      state: "FAULT",
      error: "/dev/hidraw3: could not read from HID device: Input/output error",
    });
    clock.advance(1000);
    await flush();
    expect(states.at(-1)).toBe("CONNECTED");
    expect(hid.handles).toHaveLength(2);
    await port.stop();
  });

  it("a matching device that is not a scanner: FAULT saying so, retried slowly", async () => {
    const { clock, port, hid, states } = setup();
    hid.list = [{ ...POS_SCANNER, usagePage: 0xff00, usage: 0x01 }];
    port.start();
    await flush();
    expect(port.status.state).toBe("FAULT");
    expect(port.status.error).toMatch(
      /^\/dev\/hidraw3: not a barcode scanner \(usage page 0xff00, usage 0x01\); /,
    );
    expect(port.status.error).toContain("set the scanner to HID POS mode");
    const calls = hid.listCalls;
    clock.advance(5_000);
    await flush();
    expect(hid.listCalls).toBe(calls); // not on the fast back-off
    clock.advance(25_000); // 30 s with random() = 0.5
    await flush();
    expect(hid.listCalls).toBe(calls + 1);
    expect(states).toHaveLength(1); // the same fault is reported once
    expect(hid.handles).toHaveLength(0);
    await port.stop();
  });

  it("EACCES: FAULT naming the udev rule; found once the rule is in place", async () => {
    const { clock, port, hid } = setup();
    hid.list = [POS_SCANNER];
    hid.openError = new Error(
      "cannot open device with path /dev/hidraw3: Failed to open a device with path '/dev/hidraw3': Permission denied",
    );
    port.start();
    await flush();
    expect(port.status).toMatchObject({
      state: "FAULT",
      error: "/dev/hidraw3: permission denied: see systemd/99-posbridge.rules (group posbridge)",
    });
    hid.openError = undefined;
    clock.advance(1000);
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    await port.stop();
  });

  it("nothing matching: ABSENT naming the match, with growing back-off", async () => {
    const { clock, port, hid, states } = setup({ random: () => 0.999 });
    hid.list = [{ ...POS_SCANNER, serialNumber: "OTHER" }];
    port.start();
    await flush();
    expect(states).toEqual(['ABSENT no HID device matches vendorId 0x0c2e, serialNumber "21100B4F72"']);
    expect(hid.listCalls).toBe(1);
    clock.advance(100);
    await flush();
    expect(hid.listCalls).toBe(2);
    clock.advance(199);
    await flush();
    expect(hid.listCalls).toBe(2);
    clock.advance(1);
    await flush();
    expect(hid.listCalls).toBe(3);
    await port.stop();
  });

  it("node-hid cannot load: FAULT with the PB_DEVICE_UNAVAILABLE reason, the port keeps trying slowly", async () => {
    let loads = 0;
    const { clock, port, states } = setup({}, () => {
      loads++;
      return nodeHidBackend({
        importer: async () => {
          throw new Error("libusb-1.0.so.0: cannot open shared object file: No such file or directory");
        },
      });
    });
    port.start();
    await flush();
    expect(port.status.state).toBe("FAULT");
    expect(port.status.error).toContain("the native module node-hid could not load (libusb-1.0.so.0");
    expect(port.status.error).toContain("install the libusb-1.0-0 package");
    expect(port.status.error).toContain("(PB_DEVICE_UNAVAILABLE)");
    clock.advance(36_000);
    await flush();
    expect(loads).toBe(2);
    expect(states).toHaveLength(1);
    await port.stop();
  });

  it("with the real node-hid: FAULT with PB_DEVICE_UNAVAILABLE if it cannot load here, else enumerates", async () => {
    const loads = await loadNodeHid().then(
      () => true,
      () => false,
    );
    const clock = new ManualClock();
    const port = new HidScannerPort(
      {
        kind: "hidpos",
        match: { vendorId: 0x0c2e, productId: 0xbeef, serialNumber: "NO-SUCH-SCANNER" },
        maxLength: 128,
      },
      { clock, log: pino({ level: "silent" }) },
      { onScan: () => {} },
    );
    port.start();
    await vi.waitFor(() => expect(port.status.error).not.toBe(""), { timeout: 5_000 });
    if (loads) {
      expect(port.status.state).toBe("ABSENT");
    } else {
      expect(port.status.state).toBe("FAULT");
      expect(port.status.error).toMatch(/node-hid could not load \(.+\).*\(PB_DEVICE_UNAVAILABLE\)$/);
    }
    await port.stop();
  });

  it("stop() closes the handle; reports after it go nowhere; stop during an open closes what it opened", async () => {
    const { port, hid, scans } = setup();
    hid.list = [POS_SCANNER];
    port.start();
    await flush();
    const handle = hid.last;
    await port.stop();
    expect(handle.closed).toBe(true);
    handle.emit("data", HONEYWELL.reports[0]);
    expect(scans).toEqual([]);

    const slow = new FakeHid(true);
    slow.list = [POS_SCANNER];
    const second = setup({}, slow);
    second.port.start();
    await second.port.stop(); // while devices()/open() are still pending
    await flush();
    expect(slow.handles.every((h) => h.closed)).toBe(true);
    expect(second.states).toEqual([]);
  });
});

describe("HidScannerPort, keyboard mode through hidraw", () => {
  const keyboardOptions: Partial<HidScannerOptions> = { kind: "keyboard", match: { vendorId: 0x1eab } };

  it("replays the recorded boot keyboard reports into reads, warning that keys still reach the desktop", async () => {
    const { clock, port, scans, lines, hid } = setup(keyboardOptions);
    hid.list = [WEDGE_SCANNER];
    port.start();
    await flush();
    expect(hid.last.path).toBe("/dev/hidraw4");
    for (const report of BOOT.reports) {
      hid.last.report(report);
      clock.advance(2);
    }
    expect(scans).toEqual(BOOT.expect);
    expect(lines.some((l) => l.includes("keyboard-mode scanner read through hidraw"))).toBe(true);
    expectNoReadsLogged(lines, BOOT.expect);
    await port.stop();
  });

  it("Tab as terminator when asked", async () => {
    const { port, scans, hid } = setup({ ...keyboardOptions, terminator: "TAB" });
    hid.list = [WEDGE_SCANNER];
    port.start();
    await flush();
    for (const usage of [0x1e, 0x1f, 0x2b]) {
      hid.last.report(Buffer.from([0, 0, usage, 0, 0, 0, 0, 0]));
      hid.last.report(Buffer.alloc(8));
    }
    expect(scans).toEqual(["12"]);
    await port.stop();
  });

  it("a matching interface that is not a keyboard: FAULT 'not a barcode scanner'", async () => {
    const { port, hid } = setup(keyboardOptions);
    hid.list = [{ ...WEDGE_SCANNER, usagePage: 0x01, usage: 0x02 }];
    port.start();
    await flush();
    expect(port.status.state).toBe("FAULT");
    expect(port.status.error).toMatch(
      /^\/dev\/hidraw4: not a barcode scanner \(usage page 0x01, usage 0x02\); /,
    );
    await port.stop();
  });

  it("refuses an empty match (it would read the cashier's keyboard) and bad options at construction", () => {
    const deps = { clock: new ManualClock(), log: pino({ level: "silent" }), hid: new FakeHid() };
    expect(
      () => new HidScannerPort({ kind: "keyboard", match: {}, maxLength: 128 }, deps, { onScan: () => {} }),
    ).toThrow(/needs match.path, match.vendorId or match.serialNumber/);
    expect(
      () => new HidScannerPort({ kind: "hidpos", match: {}, maxLength: 0 }, deps, { onScan: () => {} }),
    ).toThrow(/maxLength/);
  });
});
