import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import pino from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import {
  defaultRecordSize,
  type EvdevScannerOptions,
  EvdevScannerPort,
  interceptStreamOpener,
} from "../../../daemon/devices/evdev-scanner-port.js";

const raw = JSON.parse(
  readFileSync(new URL("../../fixtures/hid/evdev-keyboard-wedge.json", import.meta.url), "utf8"),
) as { reports: string[]; expect: string[] };
/** Each entry is one 100-byte read() of /dev/input/eventN: records are split across entries. */
const READS = raw.reports.map((hex) => Buffer.from(hex.replace(/\s+/g, ""), "hex"));
const EXPECT = raw.expect;
const ALL = Buffer.concat(READS);

const EV_KEY = 1;
const EV_SYN = 0;
const KEY_1 = 2;
const KEY_2 = 3;

/** One 64-bit `struct input_event`. */
function record(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64LE(1_700_000_000n, 0);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}
const tap = (code: number) =>
  Buffer.concat([
    record(EV_KEY, code, 1),
    record(EV_SYN, 0, 0),
    record(EV_KEY, code, 0),
    record(EV_SYN, 0, 0),
  ]);

const dir = mkdtempSync(join(tmpdir(), "posbridge-evdev-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captureLog() {
  const lines: string[] = [];
  const log = pino(
    { level: "debug", base: undefined, timestamp: false },
    { write: (s: string) => lines.push(s) },
  );
  return { log, lines };
}

function expectNoReadsLogged(lines: readonly string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).not.toMatch(/\d{5,}/);
    for (const read of EXPECT) expect(line).not.toContain(read.slice(0, 4));
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A stream that is not open yet, like an fs.ReadStream before its 'ready'. */
class PendingStream extends PassThrough {
  pending = true;
}

function setup(options: Partial<EvdevScannerOptions> = {}, openStream?: (path: string) => Readable) {
  const clock = new ManualClock();
  const { log, lines } = captureLog();
  const scans: string[] = [];
  const states: string[] = [];
  const port = new EvdevScannerPort(
    {
      path: "/dev/input/by-id/usb-Newland_NLS-event-kbd",
      maxLength: 128,
      recordSize: 24,
      retryMinMs: 100,
      retryMaxMs: 1000,
      random: () => 0.5,
      ...options,
    },
    { clock, log, openStream },
    {
      onScan: (text) => scans.push(text),
      onState: (state, error) => states.push(`${state} ${error}`.trim()),
    },
  );
  return { clock, port, scans, states, lines };
}

/** openStream handing out PassThrough streams the test writes event bytes into. */
function fakeStreams() {
  const streams: PassThrough[] = [];
  const paths: string[] = [];
  const open = (path: string) => {
    const s = new PassThrough();
    streams.push(s);
    paths.push(path);
    return s;
  };
  return {
    open,
    streams,
    paths,
    get last(): PassThrough {
      const s = streams.at(-1);
      if (!s) throw new Error("nothing opened");
      return s;
    },
  };
}

describe("EvdevScannerPort with a fake event stream", () => {
  it("decodes the recorded input_event reads, records split across reads, into reads", async () => {
    const fake = fakeStreams();
    const { port, scans, states, lines } = setup({}, fake.open);
    port.start();
    await flush();
    expect(states).toEqual(["CONNECTED"]);
    expect(fake.paths).toEqual(["/dev/input/by-id/usb-Newland_NLS-event-kbd"]);
    for (const read of READS) fake.last.write(read);
    await flush();
    expect(scans).toEqual(EXPECT);
    expect(port.status).toEqual({ state: "CONNECTED", error: "", reads: 3, discardedBytes: 0 });
    expectNoReadsLogged(lines);
    await port.stop();
    expect(fake.last.destroyed).toBe(true);
  });

  it("the same bytes one byte at a time give the same reads", async () => {
    const fake = fakeStreams();
    const { port, scans } = setup({}, fake.open);
    port.start();
    await flush();
    for (let i = 0; i < ALL.length; i++) fake.last.write(ALL.subarray(i, i + 1));
    await flush();
    expect(scans).toEqual(EXPECT);
    await port.stop();
  });

  it("drops a read left without Enter after staleMs, by length and reason only", async () => {
    const fake = fakeStreams();
    const { clock, port, scans, lines } = setup({}, fake.open);
    port.start();
    await flush();
    fake.last.write(Buffer.concat([tap(KEY_1), tap(KEY_2)]));
    await flush();
    clock.advance(299);
    expect(port.status.discardedBytes).toBe(0);
    clock.advance(1);
    expect(port.status.discardedBytes).toBe(2);
    expect(scans).toEqual([]);
    const warn = lines.find((l) => l.includes("scanner input discarded"));
    expect(warn).toContain('"length":2');
    expect(warn).toContain('"reason":"incomplete"');
    await port.stop();
  });

  it("unplug (ENODEV from the read) → ABSENT, then reopened and reading again", async () => {
    const fake = fakeStreams();
    const { clock, port, scans, states } = setup({}, fake.open);
    port.start();
    await flush();
    const first = fake.last;
    first.destroy(Object.assign(new Error("ENODEV: no such device, read"), { code: "ENODEV" }));
    await flush();
    expect(port.status).toMatchObject({
      state: "ABSENT",
      error: "/dev/input/by-id/usb-Newland_NLS-event-kbd: device unplugged",
    });
    clock.advance(1000);
    await flush();
    expect(fake.streams).toHaveLength(2);
    for (const read of READS) fake.last.write(read);
    await flush();
    expect(scans).toEqual(EXPECT);
    expect(states).toEqual([
      "CONNECTED",
      "ABSENT /dev/input/by-id/usb-Newland_NLS-event-kbd: device unplugged",
      "CONNECTED",
    ]);
    await port.stop();
  });

  it("EACCES while opening → FAULT naming the udev rule, without a CONNECTED first", async () => {
    const { port, states } = setup({}, () => {
      const s = new PendingStream();
      setImmediate(() =>
        s.destroy(
          Object.assign(new Error("EACCES: permission denied, open '/dev/input/event5'"), { code: "EACCES" }),
        ),
      );
      return s;
    });
    port.start();
    await flush();
    expect(states).toEqual([
      'FAULT /dev/input/by-id/usb-Newland_NLS-event-kbd: permission denied: see systemd/99-posbridge.rules (SUBSYSTEM=="input" rule, group posbridge)',
    ]);
    await port.stop();
  });

  it("a pending stream counts as open at 'ready'", async () => {
    let stream: PendingStream | undefined;
    const { port, scans } = setup({}, () => {
      stream = new PendingStream();
      return stream;
    });
    port.start();
    await flush();
    expect(port.status.state).toBe("ABSENT"); // not yet
    stream!.pending = false;
    stream!.emit("ready");
    await flush();
    expect(port.status.state).toBe("CONNECTED");
    stream!.write(ALL);
    await flush();
    expect(scans).toEqual(EXPECT);
    await port.stop();
  });

  it("Tab as terminator when asked", async () => {
    const fake = fakeStreams();
    const { port, scans } = setup({ terminator: "TAB" }, fake.open);
    port.start();
    await flush();
    fake.last.write(Buffer.concat([tap(KEY_1), tap(KEY_2), tap(15 /* KEY_TAB */)]));
    await flush();
    expect(scans).toEqual(["12"]);
    await port.stop();
  });
});

describe("EvdevScannerPort on the real filesystem", () => {
  it("reads recorded event bytes from a file once, then stays FAULT instead of replaying them", async () => {
    const file = join(dir, "event-capture.bin");
    writeFileSync(file, ALL);
    const { clock, port, scans, states, lines } = setup({ path: file });
    port.start();
    await vi.waitFor(() => expect(port.status.state).toBe("FAULT"), { timeout: 5_000 });
    expect(scans).toEqual(EXPECT);
    expect(states).toEqual([
      "CONNECTED",
      `FAULT ${file}: end of file: a regular file, not an input device (read once, not reopened)`,
    ]);
    clock.advance(600_000);
    await flush();
    expect(scans).toHaveLength(3); // never reopened: a replay would be three new scans
    expectNoReadsLogged(lines);
    await port.stop();
  });

  it("a missing path is ABSENT and is picked up once it appears", async () => {
    const file = join(dir, "event-later.bin");
    const { clock, port, scans, states } = setup({ path: file });
    port.start();
    await vi.waitFor(() => expect(states).toEqual([`ABSENT ${file} not found (scanner unplugged?)`]), {
      timeout: 5_000,
    });
    writeFileSync(file, READS[0] as Buffer);
    clock.advance(1000);
    await vi.waitFor(() => expect(states[1]).toBe("CONNECTED"), { timeout: 5_000 });
    await port.stop();
    expect(scans).toEqual([]);
  });

  it("a directory is FAULT 'is a directory, not an input device'", async () => {
    const sub = join(dir, "input");
    mkdirSync(sub, { recursive: true });
    const { port, states } = setup({ path: sub });
    port.start();
    await vi.waitFor(() => expect(port.status.state).toBe("FAULT"), { timeout: 5_000 });
    expect(states).toEqual([`FAULT ${sub} is a directory, not an input device`]);
    await port.stop();
  });

  it("defaults the record size to the process's word size", () => {
    expect(defaultRecordSize("x64")).toBe(24);
    expect(defaultRecordSize("arm64")).toBe(24);
    expect(defaultRecordSize("arm")).toBe(16);
    expect(defaultRecordSize("ia32")).toBe(16);
  });

  it("rejects bad options at construction", () => {
    const deps = { clock: new ManualClock(), log: pino({ level: "silent" }) };
    expect(() => new EvdevScannerPort({ path: "", maxLength: 128 }, deps, { onScan: () => {} })).toThrow(
      /path/,
    );
    expect(
      () =>
        new EvdevScannerPort({ path: "/dev/input/event3", maxLength: 128, recordSize: 20 as 24 }, deps, {
          onScan: () => {},
        }),
    ).toThrow(/recordSize/);
    expect(
      () => new EvdevScannerPort({ path: "/dev/input/event3", maxLength: 0 }, deps, { onScan: () => {} }),
    ).toThrow(/maxLength/);
  });
});

describe("interceptStreamOpener (a grabbing helper process)", () => {
  const node = process.execPath;

  it("reads the helper's stdout as input_event records; its normal exit means the device is gone", async () => {
    const opener = interceptStreamOpener({
      command: node,
      args: () => ["-e", 'process.stdout.write(Buffer.from(process.argv[1], "hex"))', ALL.toString("hex")],
      settleMs: 5_000,
    });
    const { port, scans, states } = setup({}, opener);
    port.start();
    await vi.waitFor(() => expect(states).toHaveLength(2), { timeout: 10_000 });
    expect(scans).toEqual(EXPECT);
    expect(states).toEqual([
      "CONNECTED",
      "ABSENT /dev/input/by-id/usb-Newland_NLS-event-kbd: input stream ended",
    ]);
    await port.stop();
  });

  it("the helper cannot open the node: its 'Permission denied' becomes the EACCES fault", async () => {
    const opener = interceptStreamOpener({
      command: node,
      args: () => ["-e", 'process.stderr.write("open failed: Permission denied\\n"); process.exit(1)'],
      settleMs: 5_000,
    });
    const { port, states } = setup({}, opener);
    port.start();
    await vi.waitFor(() => expect(port.status.state).toBe("FAULT"), { timeout: 10_000 });
    expect(states).toEqual([
      'FAULT /dev/input/by-id/usb-Newland_NLS-event-kbd: permission denied: see systemd/99-posbridge.rules (SUBSYSTEM=="input" rule, group posbridge)',
    ]);
    await port.stop();
  });

  it("the helper is not installed: FAULT saying which package to install", async () => {
    const opener = interceptStreamOpener({ command: join(dir, "no-such-intercept") });
    const { port } = setup({}, opener);
    port.start();
    await vi.waitFor(() => expect(port.status.state).toBe("FAULT"), { timeout: 10_000 });
    expect(port.status.error).toContain("not found: install the interception-tools package");
    await port.stop();
  });

  it("stop() kills the helper, which releases its grab", async () => {
    const pidFile = join(dir, "helper.pid");
    const opener = interceptStreamOpener({
      command: node,
      args: () => [
        "-e",
        'require("fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)',
        pidFile,
      ],
      settleMs: 50,
    });
    const { port } = setup({}, opener);
    port.start();
    await vi.waitFor(() => expect(port.status.state).toBe("CONNECTED"), { timeout: 10_000 });
    await vi.waitFor(() => expect(existsSync(pidFile)).toBe(true), { timeout: 10_000 });
    const pid = Number(readFileSync(pidFile, "utf8"));
    await port.stop();
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 10_000 });
  });
});
