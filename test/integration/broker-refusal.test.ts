// A broker that refuses the bridge's requests or its subscription (issue 8, item 3), on real parts:
// the built daemon as a child process, its own Mosquitto with an ACL, socat ptys and the virtual
// register. Before the fix a refused pay request was taken for an unanswered one: 95 s of queries
// (refused too), then `30` UNKNOWN for good, with EC saying the broker was online; and a bridge
// that could not subscribe to its answers said it was online and took sales.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { decodeEvent, decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createTestBroker, type TestBroker, type TestBrokerOptions } from "../support/mosquitto.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const PREFIX = "pbacl/v1";
const P = `${PREFIX}/S1/PC1`;
const CODE = "134567890123456789";

interface Rig {
  broker: TestBroker;
  daemon: DaemonProcess;
  register: VirtualRegister;
  scanner: SerialEnd;
  events: { kind: string; detail: string }[];
  statuses: { online: boolean; reason: string }[];
}

describe("a broker that refuses the bridge", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function rig(brokerOptions: TestBrokerOptions, waitFor: string): Promise<Rig> {
    const dir = mkdtempSync(join(tmpdir(), "posbridge-acl-"));
    const broker = await createTestBroker(brokerOptions);
    await broker.start();
    cleanups.push(() => broker.stop());
    const ptys: PtyPair[] = await Promise.all([
      createPtyPair(dir, "register"),
      createPtyPair(dir, "scanner"),
    ]);
    cleanups.push(() => Promise.all(ptys.map((p) => p.close())));
    const [regPty, scanPty] = ptys as [PtyPair, PtyPair];
    // The fleet's view: the bridge's events and retained status, as a client the ACL lets read them.
    const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => watcher.endAsync(true));
    const events: Rig["events"] = [];
    const statuses: Rig["statuses"] = [];
    watcher.on("message", (topic, payload) => {
      if (topic === `${P}/event`) {
        const e = decodeEvent(new Uint8Array(payload));
        if (e.ok) events.push(e.value);
      } else {
        const s = decodeStatus(new Uint8Array(payload));
        if (s.ok) statuses.push({ online: s.value.online, reason: s.value.reason });
      }
    });
    await watcher.subscribeAsync([`${P}/event`, `${P}/status`], { qos: 1 });
    const configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: S1
bridge: PC1
stateDir: ${dir}
log: { level: info, format: json }
mqtt: { url: "${broker.url}", topicPrefix: ${PREFIX}, reconnectMinMs: 100, reconnectMaxMs: 1000 }
sale: { firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 5000, reverseRetryMs: 1000 }
lanes:
  - id: lane1
    terminal: { path: ${regPty.daemonPath}, profile: ecr }
    scanner: { path: ${scanPty.daemonPath}, type: serial, suffix: CR }
`,
    );
    const daemon = startDaemon(["run", "--config", configPath]);
    cleanups.push(() => daemon.stop("SIGKILL"));
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "terminal");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
    await daemon.waitForLog((e) => String(e.msg).startsWith(waitFor));
    const reg = await openSerialEnd(regPty.testPath);
    const scanner = await openSerialEnd(scanPty.testPath);
    cleanups.push(() => Promise.all([reg.close(), scanner.close()]));
    const register = new VirtualRegister((b) => void reg.write(b));
    reg.onData((b) => register.receive(b));
    return { broker, daemon, register, scanner, events, statuses };
  }

  let seq = 10;
  const next = () => String(seq++);
  async function echo(r: Rig): Promise<Extract<PosAnswer, { type: "echoReply" }>> {
    const s = next();
    r.register.request({ type: "echo", seq: s });
    return (await r.register.waitFor((a) => a.type === "echoReply" && a.seq === s)) as Extract<
      PosAnswer,
      { type: "echoReply" }
    >;
  }

  it("an ACL that denies publishing to req: the cashier hears it at once, the code is not spent, no 30", async () => {
    // Everything the bridge needs except `req` (acl_file: what is not granted is denied).
    const r = await rig(
      {
        acl: `topic readwrite ${PREFIX}/+/+/res\ntopic readwrite ${PREFIX}/+/+/status\ntopic readwrite ${PREFIX}/+/+/event\n`,
      },
      "broker connected",
    );
    expect((await echo(r)).brokerOnline).toBe(true);
    const sa = next();
    r.register.request({ type: "sale", seq: sa, orderRef: "ACL-1", amountFen: 100 });
    await r.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    const scannedAt = Date.now();
    await r.scanner.write(`${CODE}\r`);
    const retry = await r.register.waitFor((a) => a.type === "progress" && a.stage === "RETRY_SCAN", 5000);
    expect(Date.now() - scannedAt).toBeLessThan(2_500);
    expect(retry).toMatchObject({
      orderRef: "ACL-1",
      text: "支付请求被拒绝(MQTT 0x87)，未扣款，请重扫或取消",
    });

    const refused = await r.daemon.waitForLog(
      (e) => e.errCode === "PB_MQTT_REFUSED" && e.topic === `${P}/req`,
    );
    expect(refused).toMatchObject({ level: 50, reason: "0x87 not authorized" });
    expect(String(refused.msg)).toContain(`${P}/req`);
    expect(String(refused.msg)).toContain("0x87 not authorized");
    await expect.poll(() => r.events.filter((e) => e.kind === "alarm")).toHaveLength(1);
    expect(r.events.find((e) => e.kind === "alarm")?.detail).toBe(
      `publish to ${P}/req refused: 0x87 not authorized (PB_MQTT_REFUSED)`,
    );

    // During the hold-off the bridge does not claim to be online, and says why.
    expect((await echo(r)).brokerOnline).toBe(false);
    expect(r.statuses.at(-1)).toEqual({
      online: false,
      reason: `publish to ${P}/req refused: 0x87 not authorized (PB_MQTT_REFUSED)`,
    });
    const ca = next();
    r.register.request({ type: "cancel", seq: ca, orderRef: "ACL-1" });
    expect(await r.register.result(ca)).toMatchObject({ status: "CANCELLED" });
    expect(await r.register.result(sa)).toMatchObject({ status: "CANCELLED" });
    const sa2 = next();
    r.register.request({ type: "sale", seq: sa2, orderRef: "ACL-2", amountFen: 100 });
    expect(await r.register.result(sa2)).toMatchObject({
      status: "REJECTED",
      text: "支付平台拒绝访问(MQTT 0x87)，请联系管理员",
    });

    // After it the link is online again, so the next request probes the broker.
    await expect.poll(async () => (await echo(r)).brokerOnline, { timeout: 8_000, interval: 500 }).toBe(true);
    // No UNKNOWN anywhere, no queries sent for an attempt the cloud never got.
    expect(
      r.register.answers.some(({ answer }) => answer.type === "result" && answer.status === "UNKNOWN"),
    ).toBe(false);
    expect(r.daemon.lines.filter((l) => l.includes('"request published"') && l.includes('"query"'))).toEqual(
      [],
    );
    expect(r.daemon.lines.join("\n")).not.toContain(CODE);
  }, 30_000);

  it("a broker that refuses the subscription to res: not online, SA refused, the status and the log say why", async () => {
    // acl_file in Mosquitto 2.0 grants every subscription (it filters deliveries instead): the
    // dynamic security plugin answers a denied SUBSCRIBE with SUBACK 0x87.
    const r = await rig(
      {
        dynsec: {
          defaultACLAccess: {
            publishClientSend: true,
            publishClientReceive: true,
            subscribe: true,
            unsubscribe: true,
          },
          clients: [],
          groups: [{ groupname: "anon", roles: [{ rolename: "bridge" }] }],
          roles: [
            {
              rolename: "bridge",
              acls: [{ acltype: "subscribePattern", topic: `${PREFIX}/+/+/res`, priority: 0, allow: false }],
            },
          ],
          anonymousGroup: "anon",
        },
      },
      "broker refused the subscription",
    );
    const line = await r.daemon.waitForLog((e) => e.errCode === "PB_MQTT_REFUSED" && e.topic === `${P}/res`);
    expect(line).toMatchObject({
      level: 50,
      state: "refused",
      reason: `subscription to ${P}/res refused: 0x87 not authorized`,
    });
    expect(String(line.fix)).toContain("Broker ACL");
    expect(r.daemon.lines.some((l) => l.includes('"broker connected"'))).toBe(false);
    await expect
      .poll(() => r.statuses.at(-1))
      .toEqual({
        online: false,
        reason: `subscription to ${P}/res refused: 0x87 not authorized (PB_MQTT_REFUSED)`,
      });
    expect((await echo(r)).brokerOnline).toBe(false);
    const sa = next();
    r.register.request({ type: "sale", seq: sa, orderRef: "SUB-1", amountFen: 100 });
    expect(await r.register.result(sa)).toMatchObject({
      status: "REJECTED",
      text: "支付平台拒绝访问(MQTT 0x87)，请联系管理员",
    });
    await expect.poll(() => r.events.map((e) => e.kind)).toContain("alarm");
    expect(r.daemon.proc.exitCode).toBeNull();
  }, 30_000);
});
