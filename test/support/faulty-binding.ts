// Fault injection for serial devices, on top of the mock serial ports (daemon/devices/mock-serial.ts).
//
// The faults are injected into the *binding* under the daemon's own `openerForBinding`, so every
// fault travels through the real SerialPortStream and the daemon's `wrapStream` exactly as a real
// port's would (serialport `packages/stream/lib/index.ts`):
//   - a binding read or write that fails with an error that is not `canceled` is a disconnect: the
//     stream closes the port and `OpenPort.onClose(err)` gets a DisconnectedError carrying the
//     original message (its `code` is lost on the way: serialport keeps only the message);
//   - a failed write also rejects that `OpenPort.write`.
// So "a read error that leaves the port open" or "a write error that leaves the port open" cannot
// happen through SerialPortStream, and cannot be injected here either.
//
// Controls are per device path and may be armed before the port is opened.
import { constants } from "node:os";
import { CanceledError } from "@serialport/binding-mock";
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from "@serialport/bindings-interface";
import { type Clock, systemClock, type TimerHandle } from "../../daemon/clock.js";
import type { SerialSettings } from "../../daemon/config/config-types.js";
import { createMockSerial, type MockPeer, type MockSerial } from "../../daemon/devices/mock-serial.js";
import { type OpenPort, openerForBinding, type SerialOpener } from "../../daemon/devices/serial-binding.js";

/** An Error shaped like the ones Node's fs/libuv produce (`code`, `errno`, `syscall`). */
export function ioError(code: string, message: string, syscall?: string): NodeJS.ErrnoException {
  const errno = (constants.errno as Record<string, number | undefined>)[code];
  return Object.assign(new Error(`${code}: ${message}${syscall ? `, ${syscall}` : ""}`), {
    code,
    errno: errno === undefined ? undefined : -errno, // libuv's sign
    syscall,
  });
}

interface ParkedWrite {
  buffer: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The faults armed for one device path. */
interface PathFaults {
  present: boolean;
  /** Error for the next read (applied at once to a read already waiting). */
  nextReadError?: Error;
  writeFailures: number;
  writeError: Error;
  maxBytesPerWrite: number; // 0 = whole writes
  writeDelayMs: number;
  neverDrain: boolean;
  ports: Set<FaultyPort>;
}

/**
 * A BindingPortInterface around a mock port. `dead` is set when its device went away: a loud
 * unplug fails the waiting read at once; a silent one leaves it waiting, so only the next write
 * finds out.
 */
class FaultyPort implements BindingPortInterface {
  isOpen = true;
  private dead: { err: Error; silent: boolean } | undefined;
  private pendingRead: ((err: Error) => void) | undefined;
  private parked: ParkedWrite | undefined;
  private delayed: { timer: TimerHandle; reject: (err: Error) => void } | undefined;
  /** The write in progress, for drain(). */
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly inner: BindingPortInterface,
    private readonly faults: PathFaults,
    private readonly clock: Clock,
  ) {}

  get openOptions() {
    return this.inner.openOptions;
  }

  /** The device is gone. The inner mock port is closed at once (its peer can no longer emit). */
  kill(err: Error, silent: boolean): void {
    if (this.dead) return;
    this.dead = { err, silent };
    if (this.inner.isOpen) this.inner.close().catch(() => {});
    if (silent) return;
    this.failRead(err);
    this.failWrite(err);
  }

  failRead(err: Error): boolean {
    const reject = this.pendingRead;
    if (!reject) return false;
    this.pendingRead = undefined;
    reject(err);
    return true;
  }

  private failWrite(err: Error): void {
    const parked = this.parked;
    this.parked = undefined;
    parked?.reject(err);
    const delayed = this.delayed;
    this.delayed = undefined;
    delayed?.timer.cancel();
    delayed?.reject(err);
  }

  /** Completes a write parked by neverDrain (the display drained after all). */
  releaseParked(): void {
    const parked = this.parked;
    if (!parked) return;
    this.parked = undefined;
    this.deliver(parked.buffer).then(parked.resolve, parked.reject);
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) throw new Error("Port is not open");
    await nextTick();
    if (!this.isOpen) throw new CanceledError("Read canceled");
    if (this.dead && !this.dead.silent) throw this.dead.err;
    const armed = this.faults.nextReadError;
    if (armed) {
      this.faults.nextReadError = undefined;
      throw armed;
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (this.pendingRead === fail) this.pendingRead = undefined;
        fn();
      };
      const fail = (err: Error) => settle(() => reject(err));
      this.pendingRead = fail;
      if (this.dead) return; // silently unplugged: waits until close cancels it
      this.inner.read(buffer, offset, length).then(
        (r) => settle(() => resolve(r)),
        (err: Error) => {
          // The inner port closed because the device went away silently: stay quiet.
          if (this.dead?.silent && this.isOpen) return;
          fail(err);
        },
      );
    });
  }

  write(buffer: Buffer): Promise<void> {
    const op = this.doWrite(buffer);
    this.inflight = op;
    const done = () => {
      if (this.inflight === op) this.inflight = undefined;
    };
    op.then(done, done);
    return op;
  }

  private async doWrite(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new Error("Port is not open");
    await nextTick();
    if (!this.isOpen) throw new CanceledError("Write canceled");
    if (this.dead) throw this.dead.err; // how a silent unplug is finally noticed
    const f = this.faults;
    if (f.writeFailures > 0) {
      f.writeFailures--;
      throw f.writeError;
    }
    if (f.neverDrain) {
      return new Promise((resolve, reject) => {
        this.parked = { buffer, resolve, reject };
      });
    }
    if (f.writeDelayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = this.clock.setTimeout(() => {
          this.delayed = undefined;
          resolve();
        }, f.writeDelayMs);
        this.delayed = { timer, reject };
      });
    }
    await this.deliver(buffer);
  }

  /** Hands bytes to the mock port, in pieces when partialWrites is on; the peer sees each piece. */
  private async deliver(buffer: Buffer): Promise<void> {
    const step = this.faults.maxBytesPerWrite > 0 ? this.faults.maxBytesPerWrite : buffer.length;
    for (let at = 0; at < buffer.length; at += step) {
      if (!this.isOpen) throw new CanceledError("Write canceled");
      if (this.dead) throw this.dead.err;
      await this.inner.write(buffer.subarray(at, at + step));
    }
  }

  async close(): Promise<void> {
    if (!this.isOpen) throw new Error("Port is not open");
    this.isOpen = false;
    this.faults.ports.delete(this);
    const canceled = new CanceledError("port is closed");
    this.failRead(canceled);
    this.failWrite(canceled);
    if (this.inner.isOpen) await this.inner.close();
  }

  private live(): BindingPortInterface {
    if (!this.isOpen) throw new Error("Port is not open");
    if (this.dead) throw this.dead.err;
    return this.inner;
  }

  update(options: UpdateOptions): Promise<void> {
    return this.live().update(options);
  }
  set(options: SetOptions): Promise<void> {
    return this.live().set(options);
  }
  get(): Promise<PortStatus> {
    return this.live().get();
  }
  getBaudRate(): Promise<{ baudRate: number }> {
    return this.live().getBaudRate();
  }
  flush(): Promise<void> {
    return this.live().flush();
  }
  /** Waits for the write in progress (forever, under neverDrain), like tcdrain(). */
  async drain(): Promise<void> {
    await this.inflight?.catch(() => {});
    await this.live().drain();
  }
}

function nextTick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

export interface FaultyOpenerOptions {
  /** Times slowWrites; default the system clock. A ManualClock makes slow writes deterministic. */
  clock?: Clock;
  /** The mock ports to wrap; default a fresh createMockSerial(). */
  serial?: MockSerial;
}

/**
 * A SerialOpener over mock serial ports whose devices can misbehave on command. Create devices
 * with `createPort` (the MockPeer is the device's end: `emit`, `onWrite`), hand `opener` — or this
 * object itself — to the code under test, then inject faults per path.
 */
export class FaultyOpener implements SerialOpener {
  readonly serial: MockSerial;
  /** The fault-injecting binding under `open` (for code that takes a BindingInterface). */
  readonly binding: BindingInterface;
  private readonly clock: Clock;
  private readonly paths = new Map<string, PathFaults>();
  private readonly opener: SerialOpener;

  constructor(options: FaultyOpenerOptions = {}) {
    this.serial = options.serial ?? createMockSerial();
    this.clock = options.clock ?? systemClock;
    const inner = this.serial.binding;
    this.binding = {
      list: () => inner.list(),
      open: async (opts: OpenOptions) => {
        const f = this.faults(opts.path);
        await nextTick();
        if (!f.present) throw ioError("ENOENT", "no such file or directory", `open '${opts.path}'`);
        const port = new FaultyPort(await inner.open(opts), f, this.clock);
        f.ports.add(port);
        return port;
      },
    };
    this.opener = openerForBinding(this.binding);
  }

  open(settings: SerialSettings): Promise<OpenPort> {
    return this.opener.open(settings);
  }

  /** Creates a mock device at `path` (see MockSerial.createPort). */
  createPort(path: string, opts?: { maxReadSize?: number }): MockPeer {
    const peer = this.serial.createPort(path, opts);
    this.faults(path);
    return peer;
  }

  /** True while `path` has a port opened through this opener and not closed yet. */
  isOpen(path: string): boolean {
    return (this.paths.get(path)?.ports.size ?? 0) > 0;
  }

  /**
   * The USB adapter goes away: the open port's waiting read fails with EIO (so the port closes and
   * `onClose(err)` fires), its writes fail, and opening `path` fails with ENOENT until `replug`.
   */
  unplug(path: string, err: Error = ioError("EIO", "i/o error", "read")): void {
    const f = this.faults(path);
    f.present = false;
    for (const p of f.ports) p.kill(err, false);
  }

  /**
   * Like `unplug`, but nothing is reported: no close event, the read just never completes. The
   * next write fails with `err` (EIO), and that is when the port closes — the way a port without a
   * reader notices an unplug (device-protocols.md §4.3).
   */
  silentUnplug(path: string, err: Error = ioError("EIO", "i/o error", "write")): void {
    const f = this.faults(path);
    f.present = false;
    for (const p of f.ports) p.kill(err, true);
  }

  /** The device is back: `open(path)` works again. A port from before the unplug stays dead. */
  replug(path: string): void {
    this.faults(path).present = true;
  }

  /**
   * The next read fails with `err` — at once if a read is waiting (the daemon always has one).
   * Through SerialPortStream that closes the port: `onClose` gets an error with `err`'s message.
   * The device stays present, so it can be reopened.
   */
  failNextRead(path: string, err: Error = ioError("EIO", "i/o error", "read")): void {
    const f = this.faults(path);
    for (const p of f.ports) if (p.failRead(err)) return;
    f.nextReadError = err;
  }

  /**
   * The next `count` writes on `path` fail with `err`, across reopens. Each failed write rejects
   * its `OpenPort.write` and (SerialPortStream's rule) closes the port.
   */
  failWrites(path: string, count: number, err: Error = ioError("EIO", "i/o error", "write")): void {
    const f = this.faults(path);
    f.writeFailures = count;
    f.writeError = err;
  }

  /** Each write reaches the device in pieces of at most `maxBytesPerWrite` bytes, in order; 0 = off. */
  partialWrites(path: string, maxBytesPerWrite: number): void {
    if (!Number.isInteger(maxBytesPerWrite) || maxBytesPerWrite < 0) {
      throw new TypeError(`maxBytesPerWrite must be a non-negative integer, got ${maxBytesPerWrite}`);
    }
    this.faults(path).maxBytesPerWrite = maxBytesPerWrite;
  }

  /** Each write takes `ms` on the opener's clock before its bytes reach the device; 0 = off. */
  slowWrites(path: string, ms: number): void {
    this.faults(path).writeDelayMs = Math.max(0, ms);
  }

  /**
   * Writes never complete (a display that never drains): the bytes do not reach the device and
   * `OpenPort.write` stays pending until the port closes (then it rejects) or `clearFaults`.
   */
  neverDrain(path: string): void {
    this.faults(path).neverDrain = true;
  }

  /** Removes every write/read fault on `path` and completes a write that neverDrain held back. */
  clearFaults(path: string): void {
    const f = this.faults(path);
    f.nextReadError = undefined;
    f.writeFailures = 0;
    f.maxBytesPerWrite = 0;
    f.writeDelayMs = 0;
    f.neverDrain = false;
    for (const p of f.ports) p.releaseParked();
  }

  private faults(path: string): PathFaults {
    let f = this.paths.get(path);
    if (!f) {
      f = {
        present: true,
        writeFailures: 0,
        writeError: ioError("EIO", "i/o error", "write"),
        maxBytesPerWrite: 0,
        writeDelayMs: 0,
        neverDrain: false,
        ports: new Set(),
      };
      this.paths.set(path, f);
    }
    return f;
  }
}
