// The composition root on mock serial ports and the real broker: retained status with every
// lane's devices, and counters on P/event once a minute (time driven by a manual clock).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { COUNTERS_INTERVAL_MS, createApp } from "../../daemon/app.js";
import { ManualClock } from "../../daemon/clock.js";
import { decodeEvent, decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { loadConfig } from "../../daemon/config/load-config.js";
import { createMockSerial } from "../../daemon/devices/mock-serial.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";

describe("createApp", () => {
  it("publishes each lane's device states in the retained status and counters once a minute", async () => {
    const run = Math.random().toString(36).slice(2, 8);
    const prefix = `pbapp-${run}/v1`;
    const serial = createMockSerial();
    serial.createPort(`/dev/app-${run}-reg`);
    serial.createPort(`/dev/app-${run}-scan`);
    const config = loadConfig({
      path: "app.yaml",
      env: {},
      readFile: () => `
store: S${run}
bridge: B1
stateDir: ${join(mkdtempSync(join(tmpdir(), "posbridge-app-")), "state")}
mqtt: { url: "${BROKER}", topicPrefix: "${prefix}" }
lanes:
  - id: lane1
    terminal: { path: /dev/app-${run}-reg }
    scanner: { path: /dev/app-${run}-scan }
    display: { path: /dev/app-${run}-missing, type: cd5220 }
`,
    });
    const clock = new ManualClock(Date.now());
    const app = createApp({
      config,
      log: pino({ level: "silent" }),
      version: "test",
      clock,
      opener: serial.opener,
    });

    const watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    const events: { kind: string; detail: string }[] = [];
    const statuses: ReturnType<typeof decodeStatus>[] = [];
    watcher.on("message", (topic, payload) => {
      if (topic.endsWith("/event")) {
        const e = decodeEvent(new Uint8Array(payload));
        if (e.ok) events.push(e.value);
      } else statuses.push(decodeStatus(new Uint8Array(payload)));
    });
    await watcher.subscribeAsync([`${prefix}/S${run}/B1/event`, `${prefix}/S${run}/B1/status`], { qos: 1 });
    try {
      await app.start();
      await expect.poll(() => app.link.isOnline).toBe(true);
      await expect
        .poll(() => {
          const last = statuses.at(-1);
          return last?.ok ? last.value.lanes[0] : undefined;
        })
        .toMatchObject({ laneId: "lane1", terminal: "CONNECTED", scanner: "CONNECTED", display: "ABSENT" });

      expect(events.filter((e) => e.kind === "counters")).toEqual([]);
      clock.advance(COUNTERS_INTERVAL_MS);
      await expect.poll(() => events.filter((e) => e.kind === "counters").length).toBe(1);
      expect(events.find((e) => e.kind === "counters")?.detail).toMatch(
        /^scans=0 .*framesIn=0 .*linkFaults=0/,
      );
    } finally {
      await app.stop();
      await watcher.endAsync();
    }
  });
});
