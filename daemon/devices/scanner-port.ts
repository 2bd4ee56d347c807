// Scanners on a serial port (RS-232 or USB CDC): `serial` (reads end with a suffix) and `ssi`
// (Zebra Simple Serial Interface packets). What a scanner reads is a payment code more often than
// not, so reads are logged by length only and discarded input by length and reason only.
// A scanner that sends junk sends a lot of it (a wrong baud rate, the wrong mode, a stuck key):
// each kind of junk is one line per window with a count (RepeatLimiter), never a line per read.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { type ScanChunk, SerialScannerDecoder } from "../../protocols/scanner/serial-scanner.js";
import { SSI_OPCODE, type SsiItem, SsiDecoder, ssiCommand } from "../../protocols/scanner/ssi.js";
import type { TimerHandle } from "../clock.js";
import type { ScannerConfig } from "../config/config-types.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { type PortDeps, PortSupervisor } from "./port-supervisor.js";
import type { ScannerDevice, ScannerHandlers, ScannerStatus } from "./scanner-device.js";
import type { OpenPort } from "./serial-binding.js";

/** Silence after which an unterminated read is dropped (a 128-byte read takes 133 ms at 9600 baud). */
export const STALE_READ_MS = 500;

type SerialScannerSettings = Pick<
  ScannerConfig,
  | "path"
  | "usb"
  | "baudRate"
  | "dataBits"
  | "parity"
  | "stopBits"
  | "suffix"
  | "prefix"
  | "maxLength"
  | "stripAim"
>;

/** The common part: supervisor, read/discard accounting, the stale-read timer. */
abstract class SerialScannerBase implements ScannerDevice {
  protected readonly supervisor: PortSupervisor;
  /** This scanner's repeated warnings, keyed by kind of trouble (a discard reason, a NAK, a failed write). */
  protected readonly repeats: RepeatLimiter;
  private discarded = 0;
  private reads = 0;

  constructor(
    protected readonly config: SerialScannerSettings,
    protected readonly deps: PortDeps,
    protected readonly handlers: ScannerHandlers,
  ) {
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
    this.supervisor = new PortSupervisor({
      ...deps,
      settings: config,
      onState: (state: DeviceState, error: string) => handlers.onState?.(state, error),
      onOpen: (port) => this.attach(port),
    });
  }

  get status(): ScannerStatus & { device: string; opens: number; flaps: number } {
    return { ...this.supervisor.status, reads: this.reads, discardedBytes: this.discarded };
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
    this.repeats.clearAll(); // says what is still held back
  }

  protected abstract attach(port: OpenPort): void;

  protected read(text: string): void {
    this.reads++;
    this.deps.log.debug({ length: text.length }, "scanner read");
    this.handlers.onScan(text);
  }

  protected discard(length: number, reason: string): void {
    this.discarded += length;
    // One line per reason per window. A read does not end the trouble: junk that happens to end
    // in the suffix decodes as a read (the lane refuses it), so junk alternates reads and discards.
    this.repeats.warn(`discarded:${reason}`, { length, reason }, "scanner bytes discarded");
  }

  /** Runs `flush` after STALE_READ_MS of silence (re-armed on every call). */
  protected staleTimer(flush: () => void): () => void {
    let idle: TimerHandle | undefined;
    return () => {
      idle?.cancel();
      idle = this.deps.clock.setTimeout(flush, STALE_READ_MS);
    };
  }
}

/** `type: serial`: port → suffix decoder → one callback per read. */
export class ScannerPort extends SerialScannerBase {
  protected attach(port: OpenPort): void {
    const { suffix, prefix, maxLength, stripAim } = this.config;
    const decoder = new SerialScannerDecoder({ suffix, prefix, maxLength, stripAim: stripAim ?? false });
    const handle = (chunks: ScanChunk[]) => {
      for (const chunk of chunks) {
        if (chunk.type === "scan") this.read(chunk.text);
        else this.discard(chunk.length, chunk.reason);
      }
    };
    // A scanner sends a read in one burst: bytes left without their suffix after a pause are a
    // broken read and must not be glued onto the next one.
    const rearm = this.staleTimer(() => handle(decoder.reset()));
    port.onData((bytes) => {
      handle(decoder.push(bytes));
      rearm();
    });
  }
}

/**
 * `type: ssi`: Zebra SSI packets over serial. Every packet is answered as ssi.ts says (ACK, or NAK
 * for a bad checksum), and scanning is enabled (SCAN_ENABLE) each time the port opens, since a
 * scanner that was power-cycled or left disabled by another host would otherwise stay silent.
 * A fixed prefix and an AIM id are stripped from decode data as for `serial`.
 */
export class SsiScannerPort extends SerialScannerBase {
  protected attach(port: OpenPort): void {
    const decoder = new SsiDecoder({ maxLength: this.config.maxLength });
    const strip = scanStripper(this.config.prefix, this.config.stripAim ?? false);
    const reply = (bytes: Uint8Array) => this.write(port, bytes);
    const handle = (items: SsiItem[]) => {
      for (const item of items) {
        switch (item.type) {
          case "decodeData": {
            reply(item.reply);
            const text = strip(item.text);
            if (text === undefined) this.discard(item.text.length, "prefixMismatch");
            else this.read(text);
            break;
          }
          case "noRead":
          case "continued":
          case "other":
            reply(item.reply);
            break;
          case "discarded":
            if (item.reply) reply(item.reply);
            this.discard(item.length, item.reason);
            break;
          case "nak":
            this.repeats.warn("nak", { cause: item.cause }, "scanner refused a command (SSI NAK)");
            break;
          case "ack":
            this.repeats.clear("nak");
            break;
        }
      }
    };
    const rearm = this.staleTimer(() => handle(decoder.reset()));
    port.onData((bytes) => {
      handle(decoder.push(bytes));
      rearm();
    });
    this.write(port, ssiCommand(SSI_OPCODE.SCAN_ENABLE));
  }

  private write(port: OpenPort, bytes: Uint8Array): void {
    port.write(bytes).then(
      () => this.repeats.clear("writeFailed"),
      (err: Error) => {
        // The port is reopened after each failure and SCAN_ENABLE written again: a scanner whose
        // writes keep failing would say so on every reopen.
        this.repeats.warn("writeFailed", { err: err.message }, "write to scanner failed");
        this.supervisor.fail(port, "ABSENT", `write failed: ${err.message}`);
      },
    );
  }
}

// `]` + symbology letter + modifier (ISO/IEC 15424), as serial-scanner.ts strips it.
const AIM_ID = /^\][A-Za-z][0-9A-Za-z]/;

/**
 * The same prefix / AIM rules as the serial decoder, for scanners whose reads come whole (SSI,
 * HID): returns the code, or undefined when a configured prefix is missing (the read is dropped).
 */
export function scanStripper(prefix: string, stripAim: boolean): (text: string) => string | undefined {
  return (read) => {
    let text = read;
    if (prefix) {
      if (!text.startsWith(prefix)) return undefined;
      text = text.slice(prefix.length);
    }
    if (stripAim && AIM_ID.test(text)) text = text.slice(3);
    return text.length === 0 ? undefined : text;
  };
}
