// A serial barcode scanner: port → suffix decoder → one callback per read. What a scanner reads
// is a payment code more often than not, so reads are logged by length only.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { SerialScannerDecoder } from "../../protocols/scanner/serial-scanner.js";
import type { Clock } from "../clock.js";
import type { ScannerConfig } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import { PortSupervisor } from "./port-supervisor.js";

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
        port.onData((bytes) => {
          for (const chunk of decoder.push(bytes)) {
            if (chunk.type === "scan") {
              this.reads++;
              deps.log.debug({ length: chunk.text.length }, "scanner read");
              handlers.onScan(chunk.text);
            } else {
              this.discarded += chunk.length;
              deps.log.warn({ length: chunk.length, reason: chunk.reason }, "scanner bytes discarded");
            }
          }
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
