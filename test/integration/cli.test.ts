// The `posbridge` executable: help, version, usage errors, and the standalone cloud simulator.
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { decodeResponse, encodeRequest } from "../../daemon/cloud/proto-codec.js";
import { startDaemon } from "../support/daemon-process.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";

describe("posbridge CLI", () => {
  it("prints --help with every command and exits 0", async () => {
    const d = startDaemon(["--help"]);
    expect(await d.exit).toBe(0);
    const text = d.lines.join("\n");
    for (const cmd of [
      "run",
      "check-config",
      "demo",
      "cloud-sim",
      "install",
      "uninstall",
      "conformance register --port PATH",
      "--purge",
      "--config",
      "POSBRIDGE_",
    ])
      expect(text).toContain(cmd);
  });

  it("prints the package version", async () => {
    const d = startDaemon(["--version"]);
    expect(await d.exit).toBe(0);
    expect(d.lines[0]).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("exits 64 on an unknown command or option", async () => {
    const a = startDaemon(["frobnicate"]);
    expect(await a.exit).toBe(64);
    expect(a.lines.join("\n")).toContain("unknown command 'frobnicate'");
    const b = startDaemon(["run", "--no-such-option"]);
    expect(await b.exit).toBe(64);
  });

  it("cloud-sim runs on its own against a broker, as a fleet of workers, and answers a pay request", async () => {
    const prefix = `pbcli-${Math.random().toString(36).slice(2, 8)}/v1`;
    const d = startDaemon(["cloud-sim", "--broker", BROKER, "--prefix", prefix, "--workers", "2"]);
    try {
      await expect
        .poll(() => d.lines.some((l) => l.includes("cloud-sim: answering")), { timeout: 10_000 })
        .toBe(true);
      expect(d.lines.join("\n")).toContain("with 2 workers");
      const client = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
      const answers: string[] = [];
      client.on("message", (_t, payload) => {
        const r = decodeResponse(new Uint8Array(payload));
        if (r.ok) answers.push(r.value.result.status);
      });
      await client.subscribeAsync(`${prefix}/S1/B1/res`, { qos: 1 });
      const now = Date.now();
      const req = encodeRequest({
        requestId: "CLI1",
        sentAtMs: now,
        laneId: "l1",
        command: {
          type: "pay",
          attemptId: "CLI_ATTEMPT_1",
          orderRef: "O1",
          amountFen: 100,
          authCode: "134567890123456789",
          scheme: "WECHAT",
          scannedAtMs: now,
          deadlineMs: now + 60_000,
        },
      });
      await client.publishAsync(`${prefix}/S1/B1/req`, Buffer.from(req), { qos: 1 });
      await expect.poll(() => answers).toEqual(["PAID"]);
      await client.endAsync();
      expect(d.lines.join("\n")).not.toContain("134567890123456789");
    } finally {
      expect(await d.stop("SIGINT")).toBe(0);
    }
  });

  it("cloud-sim --workers takes a whole number from 1 to 64 (64 otherwise)", async () => {
    for (const bad of ["0", "65", "two"]) {
      const d = startDaemon(["cloud-sim", "--broker", BROKER, "--workers", bad]);
      expect(await d.exit).toBe(64);
      expect(d.lines.join("\n")).toContain("--workers must be a whole number from 1 to 64");
    }
  });
});
