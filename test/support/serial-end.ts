// The test's end of a pty: a real serialport stream with every byte it receives recorded.
import { autoDetect } from "@serialport/bindings-cpp";
import { SerialPortStream } from "@serialport/stream";

export interface SerialEnd {
  received: Buffer;
  write(bytes: Uint8Array | string): Promise<void>;
  onData(fn: (bytes: Uint8Array) => void): void;
  /** Resolves when the bytes received so far contain `needle`. */
  waitFor(needle: Uint8Array, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openSerialEnd(path: string): Promise<SerialEnd> {
  const stream = new SerialPortStream({ binding: autoDetect(), path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => stream.open((err) => (err ? reject(err) : resolve())));
  const end: SerialEnd = {
    received: Buffer.alloc(0),
    write: (bytes) =>
      new Promise((resolve, reject) => {
        stream.write(typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes), (err) => {
          if (err) return reject(err);
          stream.drain(() => resolve());
        });
      }),
    onData: (fn) => stream.on("data", (b: Buffer) => fn(new Uint8Array(b))),
    async waitFor(needle, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (end.received.indexOf(Buffer.from(needle)) < 0) {
        if (Date.now() > deadline) {
          throw new Error(
            `${path}: expected bytes ${Buffer.from(needle).toString("hex")} not received; got ${end.received.toString("hex")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise((resolve) => (stream.isOpen ? stream.close(() => resolve()) : resolve())),
  };
  stream.on("data", (b: Buffer) => {
    end.received = Buffer.concat([end.received, b]);
  });
  return end;
}
