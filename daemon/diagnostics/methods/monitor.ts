// "monitor": live decoded traffic until the client goes away. Subscribes to the diagnostics
// channels (channels.ts) only while someone watches; events go through a bounded queue, so a
// client that reads too slowly loses the oldest events (and is told how many), never slows a sale.
import type { Channel } from "node:diagnostics_channel";
import { BoundedQueue } from "../bounded-queue.js";
import { CHANNELS, type MissedEvent, type MonitorEvent } from "../channels.js";
import type { DiagMethod } from "../methods.js";
import { paramsOf, requestError, stringParam } from "../params.js";

/** Events held for a slow client before the oldest are dropped. */
export const MONITOR_BUFFER = 2_000;

export type MonitorDevice = "terminal" | "scanner" | "display" | "cloud";
const DEVICES: readonly MonitorDevice[] = ["terminal", "scanner", "display", "cloud"];

/** The device an event is about (a lane-wide state change is about every device). */
function deviceOf(e: MonitorEvent): MonitorDevice | undefined {
  switch (e.type) {
    case "frame":
    case "tap": // the register's display line stands in for its link
      return "terminal";
    case "scan":
      return "scanner";
    case "display":
      return "display";
    case "cloud":
      return "cloud";
    case "state":
      return e.subject === "terminal" || e.subject === "scanner" || e.subject === "display"
        ? e.subject
        : e.subject === "link"
          ? "cloud"
          : undefined;
  }
}

export const monitorMethod: DiagMethod = {
  name: "monitor",
  remote: false,
  mutates: false,
  run(ctx, params, signal) {
    const p = paramsOf(params);
    const lane = stringParam(p, "lane");
    const device = stringParam(p, "device");
    if (lane !== undefined && !ctx.lanes.some((l) => l.id === lane))
      throw requestError(`no lane '${lane}' (lanes: ${ctx.lanes.map((l) => l.id).join(", ")})`);
    if (device !== undefined && !(DEVICES as readonly string[]).includes(device))
      throw requestError(`device must be one of ${DEVICES.join(", ")}`);
    const queue = new BoundedQueue<MonitorEvent, MissedEvent>(MONITOR_BUFFER, (count) => ({
      type: "missed",
      count,
    }));
    const onEvent = (message: unknown) => {
      const e = message as MonitorEvent;
      // Bridge-wide events (the link, the journal: lane "") are shown whatever the lane filter.
      if (lane !== undefined && e.lane !== "" && e.lane !== lane) return;
      if (device !== undefined) {
        const of = deviceOf(e);
        if (of !== undefined && of !== device) return;
      }
      queue.push(e);
    };
    for (const ch of CHANNELS as readonly Channel[]) ch.subscribe(onEvent);
    const end = () => {
      for (const ch of CHANNELS as readonly Channel[]) ch.unsubscribe(onEvent);
      queue.close();
    };
    if (signal.aborted) end();
    else signal.addEventListener("abort", end, { once: true });
    return queue;
  },
};
