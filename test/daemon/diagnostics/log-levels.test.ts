// posbridge log-level: every child the daemon made (logger.ts caches them) follows a change, and
// so does one made after it; the change names one component, device kind or lane.
import { describe, expect, it } from "vitest";
import { LogLevels } from "../../../daemon/log/log-levels.js";
import { createLogger, deviceLogger, laneLogger } from "../../../daemon/log/logger.js";
import { Writable } from "node:stream";

function setup() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const levels = new LogLevels();
  const root = createLogger({ level: "info", format: "json", destination, onChild: levels.track });
  levels.setRoot(root);
  const mqtt = root.child({ component: "mqtt" });
  const lane1 = laneLogger(root, "l1");
  const lane2 = laneLogger(root, "l2");
  const scanner1 = deviceLogger(lane1, "scanner", "/dev/a");
  const scanner2 = deviceLogger(lane2, "scanner", "/dev/b");
  const terminal1 = deviceLogger(lane1, "terminal", "/dev/c");
  const debugFrom = () => lines.filter((l) => l.level === 20).map((l) => String(l.msg));
  return { levels, root, mqtt, lane1, lane2, scanner1, scanner2, terminal1, debugFrom };
}

describe("LogLevels", () => {
  it("a device kind: that device of every lane, nothing else; children made before the change included", () => {
    const t = setup();
    expect(t.levels.set("scanner", "debug")).toBe(2);
    t.scanner1.debug("s1");
    t.scanner2.debug("s2");
    t.terminal1.debug("t1");
    t.mqtt.debug("m");
    t.lane1.debug("l1");
    expect(t.debugFrom()).toEqual(["s1", "s2"]);
    expect(t.levels.levels()).toMatchObject({
      all: "info",
      mqtt: "info",
      "lane-l1/scanner": "debug",
      "lane-l1/terminal": "info",
    });
  });

  it("a lane (lane-<id> or its id): the lane and its devices", () => {
    const t = setup();
    t.levels.set("lane-l1", "debug");
    t.scanner1.debug("s1");
    t.terminal1.debug("t1");
    t.lane1.debug("l1");
    t.scanner2.debug("s2");
    expect(t.debugFrom()).toEqual(["s1", "t1", "l1"]);
    expect(t.levels.isKnown("lane-l1", ["l1"])).toBe(true);
    expect(t.levels.isKnown("l1", ["l1"])).toBe(true);
    expect(t.levels.isKnown("lane-l9", ["l1"])).toBe(false);
    expect(t.levels.isKnown("frobnicator", ["l1"])).toBe(false);
  });

  it("a component, and a child made after the change gets it too", () => {
    const t = setup();
    t.levels.set("rpc", "debug");
    const rpc = t.root.child({ component: "rpc" });
    rpc.debug("late child");
    t.mqtt.debug("m");
    expect(t.debugFrom()).toEqual(["late child"]);
  });

  it("all: the root and every child; back to quiet with another level", () => {
    const t = setup();
    t.levels.set("all", "debug");
    t.root.debug("root");
    t.mqtt.debug("m");
    t.scanner2.debug("s2");
    t.levels.set("all", "warn");
    t.mqtt.info("quiet now");
    expect(t.debugFrom()).toEqual(["root", "m", "s2"]);
    expect(t.levels.levels().all).toBe("warn");
  });
});
