// USB attach/detach notifications, so that a replugged device is reopened at once instead of at
// its next retry. The `usb` module is optional and native: it is loaded on the first subscription
// (through native-modules.ts) and, when it cannot load, the reason is logged once and the ports
// rely on their periodic retry and rescan alone (≤ 1 s for an absent device), which is enough.
import { pino } from "pino";
import type { Logger } from "../log/logger.js";
import { loadUsb, type UsbModule } from "./native-modules.js";

export type HotplugEvent = "attach" | "detach";

/** Something that says "the set of USB devices changed". */
export interface HotplugSource {
  /**
   * Returns the unsubscribe function. `log` (the subscriber's) is where a source that cannot work
   * says so, once.
   */
  subscribe(fn: (event: HotplugEvent) => void, log?: Logger): () => void;
}

export interface UsbWatchOptions {
  load?: () => Promise<UsbModule>;
  log?: Logger;
}

/**
 * A HotplugSource over the `usb` module's connect/disconnect events. The module is loaded when
 * the first subscriber arrives and its listeners are removed when the last one leaves, so an
 * idle watch holds nothing that keeps the process alive.
 */
export class UsbWatch implements HotplugSource {
  private readonly subscribers = new Set<(event: HotplugEvent) => void>();
  private readonly load: () => Promise<UsbModule>;
  private log: Logger;
  private hasLog: boolean;
  private module: UsbModule | undefined;
  private loading: Promise<void> | undefined;
  private failed = false;
  private readonly onConnect = () => this.emit("attach");
  private readonly onDisconnect = () => this.emit("detach");
  private listening = false;

  constructor(options: UsbWatchOptions = {}) {
    this.load = options.load ?? (() => loadUsb());
    this.log = options.log ?? pino({ level: "silent" });
    this.hasLog = options.log !== undefined;
  }

  /** Resolves when the module has loaded (or failed to): for tests. */
  ready(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  get available(): boolean {
    return this.listening;
  }

  subscribe(fn: (event: HotplugEvent) => void, log?: Logger): () => void {
    if (log && !this.hasLog) {
      this.log = log;
      this.hasLog = true;
    }
    this.subscribers.add(fn);
    this.ensureListening();
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) this.stopListening();
    };
  }

  private ensureListening(): void {
    if (this.listening || this.failed) return;
    if (this.module) {
      this.startListening(this.module);
      return;
    }
    this.loading ??= (async () => {
      try {
        const mod = await this.load();
        // A machine without a USB bus (/sys/bus/usb missing: containers, some VMs) loads the module
        // but fails every enumeration, and the event listener's own enumeration would reject
        // unhandled: try one here first.
        await mod.usb.getDevices();
        this.module = mod;
        if (this.subscribers.size > 0) this.startListening(mod);
      } catch (err) {
        // Once: the ports work without it, retrying on their own timers.
        this.failed = true;
        this.log.info(
          { reason: (err as Error).message },
          "USB hot-plug events unavailable; devices are found again by the periodic rescan (≤ 1 s)",
        );
      }
    })();
  }

  private startListening(mod: UsbModule): void {
    if (this.listening) return;
    try {
      mod.usb.addEventListener("connect", this.onConnect);
      mod.usb.addEventListener("disconnect", this.onDisconnect);
      this.listening = true;
    } catch (err) {
      this.failed = true;
      this.log.info(
        { reason: (err as Error).message },
        "USB hot-plug events unavailable; devices are found again by the periodic rescan (≤ 1 s)",
      );
    }
  }

  private stopListening(): void {
    if (!this.listening || !this.module) return;
    this.listening = false;
    try {
      this.module.usb.removeEventListener("connect", this.onConnect);
      this.module.usb.removeEventListener("disconnect", this.onDisconnect);
    } catch {
      // nothing more to release
    }
  }

  private emit(event: HotplugEvent): void {
    for (const fn of [...this.subscribers]) {
      try {
        fn(event);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, "hot-plug subscriber threw");
      }
    }
  }
}

let shared: UsbWatch | undefined;

/** The process's one watch over the `usb` module (what nativeSerialOpener hands its ports). */
export function usbHotplug(): UsbWatch {
  shared ??= new UsbWatch();
  return shared;
}
