// The broker reason-code table: which error each code is, how soon to retry, what to fix.
import { describe, expect, it } from "vitest";
import { describeReason, hexCode, isRefusal } from "../../../protocols/cloud/connack.js";

describe("broker reason codes", () => {
  it("MQTT 3.1.1 CONNACK return codes 1–5", () => {
    expect([1, 2, 3, 4, 5].map((rc) => describeReason("connack", rc, 4))).toMatchObject([
      { name: "1 unacceptable protocol version", code: "PB_MQTT_REFUSED", pace: "slow" },
      { name: "2 identifier rejected", code: "PB_MQTT_REFUSED", pace: "slow" },
      { name: "3 server unavailable", code: "PB_MQTT_REFUSED", pace: "backoff" },
      { name: "4 bad user name or password", code: "PB_MQTT_AUTH", pace: "slow" },
      { name: "5 not authorized", code: "PB_MQTT_AUTH", pace: "slow" },
    ]);
    expect(describeReason("connack", 1, 4).fix).toContain("mqtt.protocolVersion to 5");
  });

  it("every MQTT 5 CONNACK code from 0x80 to 0x9F has a row; credentials are PB_MQTT_AUTH", () => {
    for (let rc = 0x80; rc <= 0x9f; rc++) {
      if (rc === 0x92) continue; // not defined by MQTT 5
      const r = describeReason("connack", rc, 5);
      expect(r.name, hexCode(rc)).not.toContain("unknown reason");
      expect(r.fix.length, hexCode(rc)).toBeGreaterThan(10);
      expect(r.pace, hexCode(rc)).not.toBe("never"); // the daemon never gives up
    }
    const auth = [0x86, 0x87, 0x8a, 0x8c].map((rc) => describeReason("connack", rc, 5));
    expect(auth.every((r) => r.code === "PB_MQTT_AUTH" && r.pace === "slow")).toBe(true);
    expect(describeReason("connack", 0x86, 5)).toMatchObject({ name: "0x86 bad user name or password" });
    expect(describeReason("connack", 0x84, 5).fix).toContain("mqtt.protocolVersion to 4");
    expect(describeReason("connack", 0x89, 5)).toMatchObject({ code: "PB_MQTT_REFUSED", pace: "backoff" });
  });

  it("an MQTT 5 CONNECT answered with the 3.1.1 code 1 is a 3.1.1-only broker (NATS): use protocol 4", () => {
    const r = describeReason("connack", 1, 5);
    expect(r).toMatchObject({
      name: "0x01 unacceptable protocol version",
      code: "PB_MQTT_REFUSED",
      pace: "slow",
    });
    expect(r.fix).toContain("set mqtt.protocolVersion to 4");
  });

  it("on a PUBACK or SUBACK, 'not authorized' is the broker's ACL, not our credentials", () => {
    const pub = describeReason("puback", 0x87, 5);
    expect(pub).toMatchObject({ reasonCode: 0x87, name: "0x87 not authorized", code: "PB_MQTT_REFUSED" });
    expect(pub.fix).toContain("P/req");
    expect(pub.fix).toContain("Broker ACL");
    expect(describeReason("suback", 0x87, 5).fix).toContain("subscription");
    // MQTT 3.1.1 SUBACK has a single failure code, an ACL's or a cluster's that is not ready:
    // retried at the back-off pace, and the fix says both.
    const v3 = describeReason("suback", 0x80, 4);
    expect(v3).toMatchObject({ name: "0x80 failure", code: "PB_MQTT_REFUSED", pace: "backoff" });
    expect(v3.fix).toContain("Broker ACL");
    expect(v3.fix).toContain("could not make the subscription yet");
  });

  it("a session taken over names the likely cause: two bridges with one client id", () => {
    const r = describeReason("disconnect", 0x8e, 5);
    expect(r).toMatchObject({ name: "0x8e session taken over", code: "PB_MQTT_REFUSED", pace: "slow" });
    expect(r.fix).toContain("mqtt.clientId");
  });

  it("an unknown code is still a refusal, retried slowly", () => {
    expect(describeReason("connack", 0xfe, 5)).toMatchObject({
      name: "0xfe unknown reason",
      code: "PB_MQTT_REFUSED",
      pace: "slow",
    });
  });

  it("what counts as a refusal", () => {
    expect(isRefusal("connack", 0, 4)).toBe(false);
    expect(isRefusal("connack", 5, 4)).toBe(true);
    expect(isRefusal("puback", 0x10, 5)).toBe(false); // no matching subscribers: delivered to none, not refused
    expect(isRefusal("puback", 0x87, 5)).toBe(true);
    expect(isRefusal("suback", 0x01, 5)).toBe(false); // granted QoS 1
    expect(hexCode(0x8)).toBe("0x08");
  });
});
