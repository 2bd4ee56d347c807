// Remote diagnostics under the ACL docs/cloud-contract.md gives (its acl_file block, used as it is
// written there): the support account reads a bridge's status through diag/req and diag/res, and
// can do nothing else; another account gets no answer.
import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeRig, startBridgeRig } from "../support/bridge-rig.js";
import { createTestBroker, type TestBroker } from "../support/mosquitto.js";

const contract = readFileSync(new URL("../../docs/cloud-contract.md", import.meta.url), "utf8");
/** The ACL file docs/cloud-contract.md gives a broker (the block marked cloud-contract:posbridge.acl). */
const ACL = /<!-- cloud-contract:posbridge\.acl[^\n]*-->\n```conf\n([\s\S]*?)```/.exec(contract)?.[1];

describe("remote diagnostics under the documented ACL", () => {
  let broker: TestBroker;
  let rig: BridgeRig;
  const store = "store-0042";

  beforeAll(async () => {
    expect(ACL, "docs/cloud-contract.md has no acl_file block").toBeDefined();
    broker = await createTestBroker({ acl: ACL });
    await broker.start();
    rig = await startBridgeRig({
      name: "acl",
      broker: broker.url,
      store,
      prefix: "posbridge/v1",
      logLevel: "info",
      diagnostics: "remote: true",
      env: { POSBRIDGE_MQTT__USERNAME: `${store}/PC1` },
    });
  });

  afterAll(async () => {
    await rig?.stop();
    await broker?.stop();
  });

  const remote = (user: string) => [
    "status",
    "--remote",
    "--broker",
    broker.url,
    "--store",
    store,
    "--bridge",
    "PC1",
    "--username",
    user,
    "--timeout",
    "3",
  ];

  it("the support account reads the status; another account gets nothing", async () => {
    const ok = await rig.cli(remote("support"));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^retained status: ONLINE/m);
    expect(ok.stdout).toMatch(/^lane lane1 {2}IDLE$/m);
    const other = await rig.cli(remote("someone-else"));
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/no answer on posbridge\/v1\/store-0042\/PC1\/diag\/res within 3 s/);
  });

  it("the support account cannot publish requests to the payment cloud's topic", async () => {
    const support = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: "support" });
    try {
      await expect(
        support.publishAsync(`posbridge/v1/${store}/PC1/req`, Buffer.from([0x0a, 0x01, 0x41]), { qos: 1 }),
      ).rejects.toThrow(/not authorized|0x87|135/i);
    } finally {
      await support.endAsync(true);
    }
  });
});
