// daemon/devices/serial-binding.ts directIo: the native port's reads as non-blocking syscalls on
// the main thread, through bindings-cpp's own read loop; here on a real FIFO.
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BindingInterface, BindingPortInterface } from "@serialport/bindings-interface";
import { unixRead } from "@serialport/bindings-cpp/dist/unix-read.js";
import { unixWrite } from "@serialport/bindings-cpp/dist/unix-write.js";
import { afterEach, describe, expect, it } from "vitest";
import { directIo, type UnixIo } from "../../../daemon/devices/serial-binding.js";

const io: UnixIo = {
  unixRead: unixRead as unknown as UnixIo["unixRead"],
  unixWrite: unixWrite as unknown as UnixIo["unixWrite"],
};
const dirs: string[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A FIFO's non-blocking read end as a native port would hold it, and its write end. */
function fifoPort(): {
  port: BindingPortInterface & { fd: number | null };
  writer: number;
  wake: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), "pb-direct-io-"));
  dirs.push(dir);
  const path = join(dir, "fifo");
  execFileSync("mkfifo", [path]);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY);
  fds.push(fd);
  let waiting: ((err: Error | null) => void) | undefined;
  const port = {
    fd,
    isOpen: true,
    poller: {
      once(_event: string, fn: (err: Error | null) => void) {
        waiting = fn;
      },
    },
    read: () => Promise.reject(new Error("the thread-pool read was used")),
    write: () => Promise.reject(new Error("the thread-pool write was used")),
  } as unknown as BindingPortInterface & { fd: number | null };
  return {
    port,
    writer,
    wake: () => {
      const fn = waiting;
      waiting = undefined;
      fn?.(null);
    },
  };
}

async function open(port: BindingPortInterface): Promise<BindingPortInterface> {
  const binding = { list: async () => [], open: async () => port } as unknown as BindingInterface;
  return directIo(binding, io).open({ path: "/dev/ttyTEST", baudRate: 9600 });
}

describe("directIo", () => {
  it("reads what is there, then waits for the poller instead of reading into EAGAIN", async () => {
    const { port, writer, wake } = fifoPort();
    fds.push(writer);
    const opened = await open(port);
    writeSync(writer, "1234\r");
    const buf = Buffer.alloc(64);
    const first = await opened.read(buf, 0, 64);
    expect(buf.subarray(0, first.bytesRead).toString()).toBe("1234\r");
    let second: number | undefined;
    const next = opened.read(buf, 0, 64).then((r) => {
      second = r.bytesRead;
    });
    writeSync(writer, "5678\r");
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeUndefined(); // waiting for the poller, not reading
    wake();
    await next;
    expect(buf.subarray(0, second).toString()).toBe("5678\r");
  });

  it("a read at end of file (a hung-up line) does not starve the event loop", async () => {
    const { port, writer } = fifoPort();
    closeSync(writer); // no writer: every read returns 0
    const opened = await open(port);
    const pending = opened.read(Buffer.alloc(64), 0, 64);
    pending.catch(() => {});
    let timerFired = false;
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        timerFired = true;
        resolve();
      }, 20),
    );
    expect(timerFired).toBe(true);
    (port as { isOpen: boolean }).isOpen = false; // closed: bindings-cpp's loop ends, canceled
    (port as { fd: number | null }).fd = null;
    await expect(pending).rejects.toMatchObject({ canceled: true });
  });
});
