// A serial barcode scanner: port → suffix decoder → one callback per read. What a scanner reads
// is a payment code more often than not, so reads are logged by length only.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { type ScanChunk, SerialScannerDecoder } from "../../protocols/scanner/serial-scanner.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { ScannerConfig } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import { PortSupervisor } from "./port-supervisor.js";

/** Silence after which an unterminated read is dropped (a 128-byte read takes 133 ms at 9600 baud). */
export const STALE_READ_MS = 500;

export class ScannerPort {
  private readonly supervisor: PortSupervisor;
  private discarded = 0;
  private reads = 0;

  constructor(
    config: ScannerConfig,
    deps: { opener: import("./serial-binding.js").SerialOpener; clock: Clock; log: Logger },
    handlers: { onScan(text: string): void; onState?(state: DeviceState, error: string): void },
  ) {
    const newDecoder = () =>
      new SerialScannerDecoder({ suffix: config.suffix, prefix: config.prefix, maxLength: config.maxLength });
    this.supervisor = new PortSupervisor({
      settings: config,
      opener: deps.opener,
      clock: deps.clock,
      log: deps.log,
      onState: (state, error) => handlers.onState?.(state, error),
      onOpen: (port) => {
        const decoder = newDecoder();
        let idle: TimerHandle | undefined;
        const handle = (chunks: ScanChunk[]) => {
          for (const chunk of chunks) {
            if (chunk.type === "scan") {
              this.reads++;
              deps.log.debug({ length: chunk.text.length }, "scanner read");
              handlers.onScan(chunk.text);
            } else {
              this.discarded += chunk.length;
              deps.log.warn({ length: chunk.length, reason: chunk.reason }, "scanner bytes discarded");
            }
          }
        };
        port.onData((bytes) => {
          handle(decoder.push(bytes));
          // A scanner sends a read in one burst: bytes left without their suffix after a pause are
          // a broken read and must not be glued onto the next one.
          idle?.cancel();
          idle = deps.clock.setTimeout(() => handle(decoder.reset()), STALE_READ_MS);
        });
      },
    });
  }

  get status() {
    return { ...this.supervisor.status, reads: this.reads, discardedBytes: this.discarded };
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }
}
