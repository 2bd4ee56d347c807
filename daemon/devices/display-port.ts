// The customer display: remembers the current view and repaints it whenever the port (re)opens,
// so a display that was unplugged comes back showing the sale's real state.
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import { CD5220_INIT, encodeCd5220 } from "../../protocols/display/cd5220.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import type { Clock } from "../clock.js";
import type { DisplayConfig } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import { PortSupervisor } from "./port-supervisor.js";
import type { OpenPort, SerialOpener } from "./serial-binding.js";

export class DisplayPort {
  private readonly supervisor: PortSupervisor;
  private view: DisplayView = { type: "idle" };

  constructor(
    config: DisplayConfig,
    private readonly deps: { opener: SerialOpener; clock: Clock; log: Logger },
    handlers: { onState?(state: DeviceState, error: string): void } = {},
  ) {
    this.supervisor = new PortSupervisor({
      settings: config,
      opener: deps.opener,
      clock: deps.clock,
      log: deps.log,
      onState: (state, error) => handlers.onState?.(state, error),
      onOpen: (port) => {
        port.onData(() => {}); // keep a reader attached so an unplug is noticed at once
        this.write(port, CD5220_INIT);
        this.write(port, encodeCd5220(this.view));
      },
    });
  }

  get status() {
    return this.supervisor.status;
  }

  get currentView(): DisplayView {
    return this.view;
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  show(view: DisplayView): void {
    this.view = view;
    const port = this.supervisor.current;
    if (port) this.write(port, encodeCd5220(view));
  }

  private write(port: OpenPort, bytes: Uint8Array): void {
    port
      .write(bytes)
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, "write to display failed"));
  }
}
