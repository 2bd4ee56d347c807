// The doctor's own broker connection against brokers that misbehave below MQTT: one that never
// answers CONNECT, one that hangs up at once; and TLS files it cannot read (not tried at all).
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeBroker } from "../../../daemon/diagnostics/broker-probe.js";
import { testConfig } from "./doctor-harness.js";

const LANES = "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n";

describe("probeBroker", () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    server?.close();
    server = undefined;
  });
  async function listen(onConnection: (s: Socket) => void): Promise<number> {
    server = createServer((s) => {
      sockets.push(s);
      onConnection(s);
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    return (server.address() as { port: number }).port;
  }
  const probe = (port: number) =>
    probeBroker({
      config: testConfig(LANES, "", `{ url: "mqtt://127.0.0.1:${port}" }`),
      timeoutMs: 300,
      nowMs: Date.now(),
    });

  it("a port that accepts and never answers CONNECT: no CONNACK within the timeout", async () => {
    const p = await probe(await listen(() => {}));
    expect(p).toMatchObject({
      connected: false,
      subscription: "notTried",
      clientId: "posbridge-S1-PC1-doctor",
      problem: {
        code: "PB_MQTT_CONNECT",
        reason: "the broker did not answer CONNECT within mqtt.connectTimeoutMs",
      },
    });
    expect(p.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(p.elapsedMs).toBeLessThan(2_000);
  });

  it("a port that hangs up at once: the connection closed before any answer", async () => {
    const p = await probe(await listen((s) => s.destroy()));
    expect(p).toMatchObject({
      connected: false,
      subscription: "notTried",
      problem: { code: "PB_MQTT_CONNECT" },
    });
    expect(p.problem?.reason).toMatch(/closed the connection before answering CONNECT|reset|ECONNRESET/);
  });

  it("TLS files it cannot read: not tried, saying which", async () => {
    const p = await probeBroker({
      config: testConfig(LANES, "", '{ url: "mqtts://127.0.0.1:8883", tls: { ca: /nonexistent/ca.pem } }'),
      timeoutMs: 300,
      nowMs: Date.now(),
    });
    expect(p).toMatchObject({
      skipped: "mqtt.tls.ca: cannot read /nonexistent/ca.pem (ENOENT)",
      connected: false,
      subscription: "notTried",
      elapsedMs: 0,
    });
  });
});
