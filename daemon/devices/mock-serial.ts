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
  /** Simulates an unplug: the daemon's next read fails and its port closes. */
  unplug(): Promise<void>;
}

export interface MockSerial {
  opener: SerialOpener;
  binding: BindingInterface;
  createPort(path: string, opts?: { maxReadSize?: number }): MockPeer;
}

export function createMockSerial(): MockSerial {
  const open = new Map<string, MockPortBinding>();
  const writeHandlers = new Map<string, ((bytes: Uint8Array) => void)[]>();
  const binding: BindingInterface = {
    list: () => MockBinding.list(),
    async open(options) {
      const port = await MockBinding.open(options);
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        await write(buffer);
        for (const fn of writeHandlers.get(options.path) ?? []) fn(new Uint8Array(buffer));
      };
      open.set(options.path, port);
      return port;
    },
  };
  return {
    binding,
    opener: openerForBinding(binding),
    createPort(path, opts = {}) {
      MockBinding.createPort(path, { echo: false, record: false, maxReadSize: opts.maxReadSize ?? 1024 });
      writeHandlers.set(path, []);
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
          writeHandlers.get(path)?.push(fn);
        },
        async unplug() {
          const port = open.get(path);
          if (port?.isOpen) await port.close();
        },
      };
    },
  };
}
