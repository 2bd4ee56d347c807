// The one line systemd shows for the bridge (`systemctl status posbridge`, "Status:"), sent as
// STATUS= whenever it changes: what is wrong first, in words a technician can act on, e.g.
//   "broker unreachable: connect ECONNREFUSED 10.0.0.5:8883; lane-2 scanner absent"
// and "ready: 2 lanes, broker online" when nothing is. Never a payment code: only device states,
// the link's reason and counts go in.
import type { DeviceState, LaneStatusView } from "../../protocols/cloud/cloud-messages.js";
import { laneName } from "./health.js";

/** What the line is made from (daemon/app.ts App; the link's status is MqttLink.status). */
export interface StatusSource {
  link: {
    readonly isOnline: boolean;
    readonly status: {
      readonly state: "connecting" | "online" | "refused" | "offline";
      readonly reason: string;
      /** The broker node (URL) the link is on, and how many mqtt.url names (a cluster: > 1). */
      readonly node?: string;
      readonly nodes?: number;
    };
  };
  lanes: readonly { readonly id: string; readonly config: { display?: unknown }; status(): LaneStatusView }[];
}

const DEVICE_WORD: Record<DeviceState, string> = { CONNECTED: "connected", ABSENT: "absent", FAULT: "fault" };

/**
 * Broker, then each device that is not connected, then `problems` (the health verdict's), then
 * payments still being resolved. Device errors are left to the log: the line must stay short.
 */
export function statusLine(app: StatusSource, problems: readonly string[] = []): string {
  const parts: string[] = [];
  if (!app.link.isOnline) parts.push(brokerWords(app.link.status));
  let pending = 0;
  for (const lane of app.lanes) {
    const s = lane.status();
    pending += s.pendingAttempts + s.pendingRefunds;
    const devices: [string, DeviceState][] = [
      ["register link", s.terminal],
      ["scanner", s.scanner],
    ];
    if (lane.config.display) devices.push(["display", s.display]);
    for (const [name, state] of devices) {
      if (state !== "CONNECTED") parts.push(`${laneName(lane.id)} ${name} ${DEVICE_WORD[state]}`);
    }
  }
  parts.push(...problems);
  if (pending > 0) parts.push(`${pending} payment${pending === 1 ? "" : "s"} being resolved`);
  if (parts.length === 0 || (parts.length === 1 && pending > 0)) {
    const lanes = `${app.lanes.length} lane${app.lanes.length === 1 ? "" : "s"}`;
    return [`ready: ${lanes}, broker online${nodeWords(app.link.status)}`, ...parts].join("; ");
  }
  return parts.join("; ");
}

/** On a cluster, which node: " (node mqtt://10.0.0.6:1883 of 3)"; nothing for a single broker. */
function nodeWords(status: StatusSource["link"]["status"]): string {
  return status.node && (status.nodes ?? 1) > 1 ? ` (node ${status.node} of ${status.nodes})` : "";
}

/** The broker link in a few words: refused (the broker said no, and why), or unreachable. */
function brokerWords(status: StatusSource["link"]["status"]): string {
  const what =
    status.state === "refused"
      ? "broker refused us"
      : status.state === "connecting"
        ? "broker connecting"
        : "broker unreachable";
  return status.reason ? `${what}: ${status.reason}` : what;
}
