// The only module that touches serialport (style-examples.md §2 item 5). Everything else gets an
// `OpenPort` through a `SerialOpener`, so tests and the demo inject mock bindings and a PC whose
// native serial module can't load still starts and says why.
import { readSync, writeSync } from "node:fs";
import type { BindingInterface, BindingPortInterface } from "@serialport/bindings-interface";
import { SerialPortStream } from "@serialport/stream";
import type { SerialSettings } from "../config/config-types.js";
import { BridgeError } from "../errors.js";
import { type HotplugSource, usbHotplug } from "./usb-watch.js";

export interface OpenPort {
  readonly path: string;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Registers the data handler (a reader is always attached so unplug is noticed promptly). */
  onData(fn: (bytes: Uint8Array) => void): void;
  /**
   * Called once when the port closes for any reason; `err` set when it was not our close().
   * Several handlers may be registered; each is called once.
   */
  onClose(fn: (err?: Error) => void): void;
}

export interface SerialOpener {
  open(settings: SerialSettings): Promise<OpenPort>;
  /** USB attach/detach notifications for openers of real hardware (daemon/devices/usb-watch.ts). */
  readonly hotplug?: HotplugSource;
}

/** Opens ports through any serialport binding (the native one, the mock one). */
export function openerForBinding(binding: BindingInterface): SerialOpener {
  return {
    open(settings) {
      return new Promise((resolve, reject) => {
        const stream = new SerialPortStream({
          binding,
          path: settings.path,
          baudRate: settings.baudRate,
          dataBits: settings.dataBits,
          parity: settings.parity,
          stopBits: settings.stopBits,
          rtscts: settings.rtscts ?? false,
          autoOpen: false,
        });
        stream.open((err) => {
          if (err) reject(err);
          else resolve(wrapStream(settings.path, stream));
        });
      });
    },
  };
}

function wrapStream(path: string, stream: SerialPortStream): OpenPort {
  const closeHandlers: ((err?: Error) => void)[] = [];
  let closed = false;
  let closingByUs = false;
  let closeError: Error | undefined;
  const fireClose = (err?: Error) => {
    // serialport can emit 'close' twice after an unplug (device-protocols.md §4.3): once only.
    if (closed) return;
    closed = true;
    closeError = closingByUs ? undefined : (err ?? new Error("port closed"));
    for (const fn of closeHandlers.splice(0)) fn(closeError);
  };
  let lastError: Error | undefined;
  stream.on("error", (err: Error) => {
    lastError = err;
  });
  stream.on("close", (err?: Error) => fireClose(err ?? lastError));
  return {
    path,
    write(bytes) {
      return new Promise((resolve, reject) => {
        if (closed) {
          reject(new BridgeError("PB_PORT_CLOSED", `port ${path} is closed`));
          return;
        }
        stream.write(Buffer.from(bytes), (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    },
    close() {
      closingByUs = true;
      return new Promise((resolve) => {
        if (closed || !stream.isOpen) {
          fireClose();
          resolve();
          return;
        }
        stream.close(() => {
          fireClose();
          resolve();
        });
      });
    },
    onData(fn) {
      stream.on("data", (chunk: Buffer) =>
        fn(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      );
    },
    onClose(fn) {
      if (closed) fn(closeError);
      else closeHandlers.push(fn);
    },
  };
}

let nativeOpener: Promise<SerialOpener> | undefined;

/**
 * The native binding, loaded on first use. When it cannot load (no prebuild for this platform),
 * opening fails with PB_DEVICE_UNAVAILABLE naming the reason instead of crashing the daemon.
 */
export function nativeSerialOpener(): SerialOpener {
  // USB attach/detach events make a replugged adapter reopen at once; loaded lazily on first use.
  const hotplug = usbHotplug();
  nativeOpener ??= Promise.all([
    import("@serialport/bindings-cpp"),
    import("@serialport/bindings-cpp/dist/unix-read.js"),
    import("@serialport/bindings-cpp/dist/unix-write.js"),
  ]).then(
    ([m, r, w]) =>
      openerForBinding(
        directIo(m.autoDetect() as unknown as BindingInterface, {
          unixRead: r.unixRead as unknown as UnixIo["unixRead"],
          unixWrite: w.unixWrite as unknown as UnixIo["unixWrite"],
        }),
      ),
    (err: Error) => ({
      open: () =>
        Promise.reject(
          new BridgeError(
            "PB_DEVICE_UNAVAILABLE",
            `serial ports unavailable: the native serialport module did not load (${err.message})`,
          ),
        ),
    }),
  );
  const loaded = nativeOpener;
  return { open: async (settings) => (await loaded).open(settings), hotplug };
}

/** bindings-cpp's own unix read/write loops (EAGAIN → wait for the poller; disconnect errors). */
export interface UnixIo {
  unixRead(o: {
    binding: BindingPortInterface;
    buffer: Buffer;
    offset: number;
    length: number;
    fsReadAsync: (
      fd: number,
      b: Buffer,
      o: number,
      l: number,
      p: null,
    ) => Promise<{ bytesRead: number; buffer: Buffer }>;
  }): Promise<{ bytesRead: number; buffer: Buffer }>;
  unixWrite(o: {
    binding: BindingPortInterface;
    buffer: Buffer;
    offset?: number;
    fsWriteAsync: (
      fd: number,
      b: Buffer,
      o: number,
      l: number,
    ) => Promise<{ bytesWritten: number; buffer: Buffer }>;
  }): Promise<void>;
}

/** The native port's fields the unix read/write loops use. */
interface UnixPort extends BindingPortInterface {
  fd: number | null;
  poller: { once(event: "readable", fn: (err: Error | null) => void): unknown };
  writeOperation: Promise<void> | null;
}

/** The port's fd has bytes to read (or the poller failed, or was stopped by a close). */
function readable(port: UnixPort): Promise<void> {
  return new Promise((resolve, reject) => {
    port.poller.once("readable", (err) => (err ? reject(err) : resolve()));
  });
}

// The fd is opened O_NONBLOCK (bindings-cpp): a read or write returns at once, EAGAIN included.
const readNow = async (fd: number, buffer: Buffer, offset: number, length: number, position: null) => {
  const bytesRead = readSync(fd, buffer, offset, length, position);
  // 0 (end of file: a tty hung up, a closed pipe) makes unixRead read again at once: a turn of
  // the event loop in between, as the thread pool gave, or the loop would starve everything else.
  if (bytesRead === 0) await new Promise((resolve) => setImmediate(resolve));
  return { bytesRead, buffer };
};
const writeNow = async (fd: number, buffer: Buffer, offset: number, length: number) => ({
  bytesWritten: writeSync(fd, buffer, offset, length),
  buffer,
});

/**
 * The native binding with each read and write made as a non-blocking syscall on the main thread
 * instead of a job on libuv's thread pool (docs/performance.md, "Where the CPU goes"): the pool's
 * hand-offs (a mutex, a wake-up, an async callback, two of them per chunk as the first read of a
 * chunk finds nothing) cost more than the syscall. Waiting (EAGAIN), disconnects and errors stay
 * bindings-cpp's own: its read/write loops, given a synchronous fs call. Ports without an fd and a
 * poller (Windows) are left as they are.
 */
export function directIo(binding: BindingInterface, io: UnixIo): BindingInterface {
  return {
    list: () => binding.list(),
    async open(options) {
      const port = (await binding.open(options)) as UnixPort;
      if (typeof port.fd !== "number" || !port.poller) return port;
      // A read that got less than it asked for took all the kernel had: the next one waits for
      // the poller first instead of trying a read bound to fail with EAGAIN (an error built and
      // thrown per chunk). A poller error or a close rejects as bindings-cpp's own wait does.
      let drained = false;
      port.read = async (buffer, offset, length) => {
        if (!port.isOpen) throw new Error("Port is not open");
        if (drained) await readable(port);
        const got = await io.unixRead({ binding: port, buffer, offset, length, fsReadAsync: readNow });
        drained = got.bytesRead < length;
        return got;
      };
      port.write = async (buffer) => {
        if (!port.isOpen) throw new Error("Port is not open");
        if (buffer.length === 0) return;
        port.writeOperation = (async () => {
          await io.unixWrite({ binding: port, buffer, fsWriteAsync: writeNow });
          port.writeOperation = null;
        })();
        return port.writeOperation;
      };
      return port;
    },
  };
}
