// What daemon/cloud/mqtt-internals.ts assumes about mqtt.js, checked against the installed version
// and a real Mosquitto (with the dynamic security plugin, which refuses a subscription with a
// SUBACK failure code where acl_file does not). An mqtt.js upgrade fails the first test on
// purpose: read the internals again against node_modules/mqtt/build/lib, then bump the version.
import { createRequire } from "node:module";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  heldPackets,
  pubackRefusalCode,
  sendNow,
  subackRefusalCode,
  unacknowledgedPublishIds,
  VERIFIED_MQTT_VERSION,
} from "../../../daemon/cloud/mqtt-internals.js";
import { createTestBroker, type TestBroker } from "../../support/mosquitto.js";

const installed = (createRequire(import.meta.url)("mqtt/package.json") as { version: string }).version;

describe("mqtt.js internals", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await createTestBroker({
      dynsec: {
        defaultACLAccess: {
          publishClientSend: true,
          publishClientReceive: true,
          subscribe: true,
          unsubscribe: true,
        },
        clients: [],
        groups: [{ groupname: "anon", roles: [{ rolename: "deny" }] }],
        roles: [
          {
            rolename: "deny",
            acls: [
              { acltype: "publishClientSend", topic: "denied/#", priority: 0, allow: false },
              { acltype: "subscribePattern", topic: "denied/#", priority: 0, allow: false },
            ],
          },
        ],
        anonymousGroup: "anon",
      },
    });
    await broker.start();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`were checked against the installed mqtt.js (${VERIFIED_MQTT_VERSION})`, () => {
    expect(installed, "mqtt.js changed: re-check daemon/cloud/mqtt-internals.ts, then update").toBe(
      VERIFIED_MQTT_VERSION,
    );
  });

  for (const protocolVersion of [5, 4] as const) {
    it(`MQTT ${protocolVersion}: outgoing holds an unacknowledged publish; refusals carry their reason codes`, async () => {
      const client = await mqtt.connectAsync(broker.url, { protocolVersion, reconnectPeriod: 0 });
      try {
        const acked = new Promise<unknown>((resolve) => client.publish("ok/x", "1", { qos: 1 }, resolve));
        expect(unacknowledgedPublishIds(client)).toHaveLength(1);
        expect(heldPackets(client)).toBe(1);
        expect(await acked).toBeFalsy();
        expect(unacknowledgedPublishIds(client)).toEqual([]);

        const refusedPublish = await new Promise<unknown>((resolve) =>
          client.publish("denied/req", "1", { qos: 1 }, resolve),
        );
        // MQTT 3.1.1 has no reason code in PUBACK: the broker drops it and acknowledges anyway.
        expect(pubackRefusalCode(refusedPublish)).toBe(protocolVersion === 5 ? 0x87 : undefined);

        const refusedSub = await new Promise<unknown>((resolve) =>
          client.subscribe("denied/res", { qos: 1 }, (err) => resolve(err)),
        );
        expect(subackRefusalCode(refusedSub)).toBe(protocolVersion === 5 ? 0x87 : 0x80);
        const grantedSub = await new Promise<unknown>((resolve) =>
          client.subscribe("ok/res", { qos: 1 }, (err) => resolve(err)),
        );
        expect(subackRefusalCode(grantedSub)).toBeUndefined();
      } finally {
        await client.endAsync(true);
      }
    });
  }

  it("publish() leaves its packet corked in the socket until the next tick; sendNow() puts it on the wire", async () => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const stream = client.stream as unknown as { writableCorked: number; writableLength: number };
    try {
      const acked = new Promise<unknown>((resolve) => client.publish("ok/x", "1", { qos: 1 }, resolve));
      expect(stream.writableCorked).toBe(1);
      expect(stream.writableLength).toBeGreaterThan(0); // held until the caller's code has ended
      sendNow(client);
      expect(stream.writableCorked).toBe(0);
      expect(stream.writableLength).toBe(0); // handed to the kernel now
      expect(await acked).toBeFalsy(); // the nextTick uncork after it changes nothing
      sendNow(client); // nothing corked: nothing to do
      expect(stream.writableCorked).toBe(0);
    } finally {
      await client.endAsync(true);
    }
  });

  it("an ack lost to a dropped connection carries no reason code", async () => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const lost = new Promise<unknown>((resolve) => client.publish("ok/x", "1", { qos: 1 }, resolve));
    const [id] = unacknowledgedPublishIds(client);
    client.removeOutgoingMessage(id as number);
    const err = await lost;
    expect(err).toBeInstanceOf(Error);
    expect(pubackRefusalCode(err)).toBeUndefined();
    expect(subackRefusalCode(err)).toBeUndefined();
    await client.endAsync(true);
  });
});
