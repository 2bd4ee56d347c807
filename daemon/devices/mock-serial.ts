// Virtual serial devices on @serialport/binding-mock, for the demo and unit tests. The daemon
// opens them through the same SerialPortStream path as real ports; the "other end" of each port
// is a `MockPeer` that can inject bytes (emitData) and sees every write the daemon makes.
import type { BindingInterface } from "@serialport/bindings-interface";
import { MockBinding, type MockPortBinding } from "@serialport/binding-mock";
import { openerForBinding, type SerialOpener } from "./serial-binding.js";

export interface MockPeer {
  readonly path: string;
  readonly isOpen: boolean;
  /** Bytes from the device to the daemon. */
  emit(bytes: Uint8Array | string): void;
  /** Called with every write the daemon makes to this device. */
  onWrite(fn: (bytes: Uint8Array) => void): void;
  /**
   * Simulates an unplug: the daemon's waiting read fails with EIO, so its port closes and its
   * OpenPort.onClose handlers get the error; opening the path fails with ENOENT until replug().
   */
  unplug(): Promise<void>;
  /** The device is back: the path can be opened again. */
  replug(): void;
}

export interface MockSerial {
  opener: SerialOpener;
  binding: BindingInterface;
  createPort(path: string, opts?: { maxReadSize?: number }): MockPeer;
}

interface PortState {
  present: boolean;
  writeHandlers: ((bytes: Uint8Array) => void)[];
  /** Rejects the daemon's read in progress (the mock's own read only ever fails as "canceled"). */
  failRead: ((err: Error) => void) | undefined;
}

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export function createMockSerial(): MockSerial {
  const open = new Map<string, MockPortBinding>();
  const ports = new Map<string, PortState>();
  const binding: BindingInterface = {
    list: () => MockBinding.list(),
    async open(options) {
      const state = ports.get(options.path);
      if (state && !state.present) {
        throw ioError("ENOENT", `no such file or directory, cannot open ${options.path}`);
      }
      const port = await MockBinding.open(options);
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        if (state && !state.present) throw ioError("EIO", "i/o error, write");
        await write(buffer);
        for (const fn of state?.writeHandlers ?? []) fn(new Uint8Array(buffer));
      };
      const read = port.read.bind(port);
      port.read = (buffer: Buffer, offset: number, length: number) =>
        new Promise((resolve, reject) => {
          let settled = false;
          const settle = (fn: () => void) => {
            if (settled) return;
            settled = true;
            if (state?.failRead === fail) state.failRead = undefined;
            fn();
          };
          const fail = (err: Error) => settle(() => reject(err));
          if (state && !state.present) {
            fail(ioError("EIO", "i/o error, read"));
            return;
          }
          if (state) state.failRead = fail;
          read(buffer, offset, length).then(
            (r) => settle(() => resolve(r)),
            (err: Error) => fail(err),
          );
        });
      open.set(options.path, port);
      return port;
    },
  };
  return {
    binding,
    opener: openerForBinding(binding),
    createPort(path, opts = {}) {
      MockBinding.createPort(path, { echo: false, record: false, maxReadSize: opts.maxReadSize ?? 1024 });
      const state: PortState = { present: true, writeHandlers: [], failRead: undefined };
      ports.set(path, state);
      return {
        path,
        get isOpen() {
          return open.get(path)?.isOpen ?? false;
        },
        emit(bytes) {
          const port = open.get(path);
          if (!port?.isOpen) throw new Error(`mock port ${path} is not open`);
          port.emitData(typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes));
        },
        onWrite(fn) {
          state.writeHandlers.push(fn);
        },
        async unplug() {
          state.present = false;
          // A read error that is not "canceled" is a disconnect for SerialPortStream: it closes
          // the port and reports the error. (Closing the mock port ourselves would only cancel
          // the read, and a canceled read closes nothing.) Without a read waiting, the next read
          // or write fails the same way.
          state.failRead?.(ioError("EIO", "i/o error, read"));
          const port = open.get(path);
          const deadline = Date.now() + 1000;
          while (port?.isOpen && Date.now() < deadline) await new Promise((r) => setImmediate(r));
        },
        replug() {
          state.present = true;
        },
      };
    },
  };
}
