// The broker check: the daemon's link state while it runs; otherwise the doctor's own probe,
// each failure told apart (network, DNS, TLS, credentials, ACL on res) with the daemon's words.
import { describe, expect, it } from "vitest";
import type { BrokerProbe } from "../../../../daemon/diagnostics/broker-probe.js";
import { brokerCheck } from "../../../../daemon/diagnostics/checks/broker.js";
import { classifyLinkError, brokerProblem } from "../../../../daemon/cloud/link-errors.js";
import { fakeSystem } from "../fake-system.js";
import { findingsOf, GRANTED, harness, lines, runningDaemon, testConfig } from "../doctor-harness.js";

const sys = fakeSystem();
const config = testConfig(
  "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n",
);

async function probed(p: Partial<BrokerProbe>) {
  let calls = 0;
  const f = await findingsOf(
    brokerCheck,
    harness(sys, {
      config,
      probeBroker: async () => {
        calls++;
        return { ...GRANTED, ...p };
      },
    }).input,
  );
  return { f, calls };
}

describe("broker check", () => {
  it("connected and granted res: ok, and it says what it could not check", async () => {
    const { f } = await probed({});
    expect(lines(f)).toEqual([
      "ok broker: connected to mqtt://127.0.0.1:1883 as posbridge-S1-PC1-doctor (4 ms)",
      "ok broker: the broker grants the subscription to posbridge/v1/S1/PC1/res",
    ]);
    expect(f[1]?.detail).toContain("publish to req is not checked");
  });

  it("tells apart nothing listening, DNS, TLS and bad credentials", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
      address: "127.0.0.1",
      port: 1,
    });
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND broker.invalid"), {
      code: "ENOTFOUND",
      hostname: "broker.invalid",
    });
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    const auth = Object.assign(new Error("Connection refused: Bad User Name or Password"), { code: 134 });
    const said = [];
    for (const err of [refused, dns, tls, auth]) {
      const { f } = await probed({
        connected: false,
        subscription: "notTried",
        problem: classifyLinkError(err, 5),
      });
      said.push(`${f[0]?.code} ${f[0]?.title}`);
    }
    expect(said).toEqual([
      "PB_MQTT_CONNECT cannot connect to mqtt://127.0.0.1:1883: nothing listens on the broker's port: 127.0.0.1:1 (ECONNREFUSED)",
      "PB_MQTT_CONNECT cannot connect to mqtt://127.0.0.1:1883: the broker's host name does not resolve: broker.invalid (ENOTFOUND)",
      "PB_MQTT_TLS cannot connect to mqtt://127.0.0.1:1883: TLS: the broker's certificate is self-signed and not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)",
      "PB_MQTT_AUTH cannot connect to mqtt://127.0.0.1:1883: broker refused the connection: 0x86 bad user name or password",
    ]);
  });

  it("an ACL refusing the subscription to res is an error: the bridge could not hear answers", async () => {
    const { f } = await probed({
      subscription: "refused",
      subscriptionProblem: brokerProblem(
        "suback",
        0x87,
        5,
        "subscription to posbridge/v1/S1/PC1/res refused",
      ),
    });
    expect(f[1]).toMatchObject({
      level: "error",
      code: "PB_MQTT_REFUSED",
      title: "subscription to posbridge/v1/S1/PC1/res refused: 0x87 not authorized",
      fix: expect.stringContaining("Broker ACL"),
    });
  });

  it("a broker refusing the doctor's own client id is a warning, not bad credentials", async () => {
    const { f } = await probed({
      connected: false,
      subscription: "notTried",
      problem: brokerProblem("connack", 0x85, 5, "broker refused the connection"),
    });
    expect(lines(f)).toEqual([
      "warn broker: the broker refuses the doctor's client id posbridge-S1-PC1-doctor: credentials and ACL cannot be checked from here",
    ]);
  });

  it("with the daemon running: its link state, and no connection of its own", async () => {
    let calls = 0;
    const run = async (link: Parameters<typeof runningDaemon>[0]) =>
      findingsOf(
        brokerCheck,
        harness(sys, {
          config,
          daemon: runningDaemon(link),
          probeBroker: async () => {
            calls++;
            return GRANTED;
          },
        }).input,
      );
    expect(lines(await run({ link: { state: "online", reason: "" } }))).toEqual([
      "ok broker: the daemon is online: connected to mqtt://127.0.0.1:1883 and subscribed to res",
    ]);
    const refused = await run({
      link: {
        state: "refused",
        code: "PB_MQTT_AUTH",
        reason: "broker refused the connection: 0x86 bad user name or password",
      },
    });
    expect(refused).toEqual([
      expect.objectContaining({
        level: "error",
        code: "PB_MQTT_AUTH",
        title: "the daemon is refused: broker refused the connection: 0x86 bad user name or password",
        fix: expect.stringContaining("mqtt.username"),
      }),
    ]);
    expect(lines(await run({ link: { state: "connecting", reason: "" } }))).toEqual([
      "warn broker: the daemon is connecting",
    ]);
    expect(calls).toBe(0);
  });

  it("unreadable TLS files: not tried (the config check names the file)", async () => {
    const { f } = await probed({
      skipped: "mqtt.tls.ca: cannot read /etc/posbridge/ca.pem (ENOENT)",
      connected: false,
      subscription: "notTried",
    });
    expect(lines(f)).toEqual([
      "warn broker: not tried: mqtt.tls.ca: cannot read /etc/posbridge/ca.pem (ENOENT)",
    ]);
  });
});
