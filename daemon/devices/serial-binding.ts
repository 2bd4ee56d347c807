// The only module that touches serialport (style-examples.md §2 item 5). Everything else gets an
// `OpenPort` through a `SerialOpener`, so tests and the demo inject mock bindings and a PC whose
// native serial module can't load still starts and says why.
import type { BindingInterface } from "@serialport/bindings-interface";
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
  nativeOpener ??= import("@serialport/bindings-cpp").then(
    (m) => openerForBinding(m.autoDetect() as unknown as BindingInterface),
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
