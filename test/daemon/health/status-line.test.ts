// STATUS=: what is wrong first, in a technician's words; "ready" when nothing is.
import { describe, expect, it } from "vitest";
import type { DeviceState, LaneStatusView } from "../../../protocols/cloud/cloud-messages.js";
import { type StatusSource, statusLine } from "../../../daemon/health/status-line.js";

function lane(
  id: string,
  devices: Partial<Record<"terminal" | "scanner" | "display", DeviceState>>,
  display = false,
  pending = 0,
) {
  const status: LaneStatusView = {
    laneId: id,
    terminal: devices.terminal ?? "CONNECTED",
    scanner: devices.scanner ?? "CONNECTED",
    display: devices.display ?? (display ? "CONNECTED" : "ABSENT"),
    lastError: "",
    pendingAttempts: pending,
    pendingRefunds: 0,
  };
  return { id, config: display ? { display: {} } : {}, status: () => status };
}

const app = (
  online: boolean,
  lanes: StatusSource["lanes"],
  reason = "",
  state: StatusSource["link"]["status"]["state"] = online ? "online" : "offline",
): StatusSource => ({
  link: { isOnline: online, status: { state, reason } },
  lanes,
});

describe("statusLine", () => {
  it("says ready when the broker is online and every device is there", () => {
    expect(statusLine(app(true, [lane("lane-1", {}), lane("lane-2", {}, true)]))).toBe(
      "ready: 2 lanes, broker online",
    );
  });

  it("names the broker's reason and each device that is absent or faulty", () => {
    const line = statusLine(
      app(
        false,
        [lane("lane-1", {}), lane("lane-2", { scanner: "ABSENT", display: "FAULT" }, true)],
        "connect ECONNREFUSED 10.0.0.5:8883",
      ),
    );
    expect(line).toBe(
      "broker unreachable: connect ECONNREFUSED 10.0.0.5:8883; lane-2 scanner absent; lane-2 display fault",
    );
  });

  it("names the node of a broker cluster the link is on, and nothing for a single broker", () => {
    const on = (node: string, nodes: number): StatusSource => ({
      link: { isOnline: true, status: { state: "online", reason: "", node, nodes } },
      lanes: [lane("lane-1", {})],
    });
    expect(statusLine(on("mqtt://10.0.0.6:1883", 3))).toBe(
      "ready: 1 lane, broker online (node mqtt://10.0.0.6:1883 of 3)",
    );
    expect(statusLine(on("mqtt://10.0.0.6:1883", 1))).toBe("ready: 1 lane, broker online");
  });

  it("does not call a display that is not configured absent", () => {
    expect(statusLine(app(true, [lane("1", {})]))).toBe("ready: 1 lane, broker online");
  });

  it("adds the health problems and the payments still being resolved", () => {
    expect(statusLine(app(true, [lane("lane-1", {}, false, 2)]))).toBe(
      "ready: 1 lane, broker online; 2 payments being resolved",
    );
    expect(statusLine(app(true, [lane("lane-1", {})]), ["lane-1 journal unwritable"])).toBe(
      "lane-1 journal unwritable",
    );
  });

  it("tells a broker that refuses us from one that cannot be reached", () => {
    expect(
      statusLine(app(false, [lane("lane-1", {})], "0x87 not authorized (PUBACK on P/req)", "refused")),
    ).toBe("broker refused us: 0x87 not authorized (PUBACK on P/req)");
    expect(statusLine(app(false, [lane("lane-1", {})], "", "connecting"))).toBe("broker connecting");
  });
});
