// A lane on mock serial ports with a scripted cloud: the runner carries out the sale machine's
// effects in order, and it never sends the same code twice.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { CloudCommand, CloudResponse } from "../../../protocols/cloud/cloud-messages.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PosAnswer } from "../../../protocols/pos/pos-messages.js";
import { systemClock } from "../../../daemon/clock.js";
import type { PublishRefusal } from "../../../daemon/cloud/mqtt-link.js";
import type { CloudRpc } from "../../../daemon/cloud/rpc.js";
import type { LaneConfig } from "../../../daemon/config/config-types.js";
import { VirtualRegister } from "../../../daemon/demo/virtual-register.js";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";
import { Journal } from "../../../daemon/journal/journal.js";
import { Lane } from "../../../daemon/lanes/lane.js";
import { SETTINGS } from "../../support/sale-harness.js";

const serialSettings = {
  baudRate: 9600,
  dataBits: 8 as const,
  parity: "none" as const,
  stopBits: 1 as const,
};
let n = 0;

function setup(
  sendResult: () => { ok: true; requestId: string } | { ok: false; reason: string },
  log: pino.Logger = pino({ level: "silent" }),
) {
  const id = ++n;
  const serial = createMockSerial();
  const reg = serial.createPort(`/dev/lane-test-reg-${id}`);
  const scan = serial.createPort(`/dev/lane-test-scan-${id}`);
  const sent: CloudCommand[] = [];
  type OnAck = (acked: boolean, refusal?: PublishRefusal) => void;
  const acks: OnAck[] = [];
  const rpc = {
    send: (_lane: string, command: CloudCommand, opts?: { onAck?: OnAck }) => {
      sent.push(command);
      if (opts?.onAck) acks.push(opts.onAck);
      return sendResult();
    },
  } as unknown as CloudRpc;
  const config: LaneConfig = {
    id: "lane1",
    terminal: {
      path: reg.path,
      ...serialSettings,
      profile: "ecr",
      ackTimeoutMs: 500,
      maxDataLength: 1024,
      encoding: "utf8",
    },
    scanner: { path: scan.path, ...serialSettings, type: "serial", suffix: "CR", prefix: "", maxLength: 128 },
  };
  let ids = 0;
  const lane = new Lane(config, {
    settings: SETTINGS,
    opener: serial.opener,
    clock: systemClock,
    log,
    rpc,
    journal: Journal.open({
      dir: mkdtempSync(join(tmpdir(), "pb-lane-")),
      clock: systemClock,
      log: pino({ level: "silent" }),
    }),
    newId: () => `ATTEMPT_${id}_${++ids}`,
    cloudOnline: () => true,
    onStatusChange: () => {},
    onEvent: () => {},
  });
  const register = new VirtualRegister((bytes) => reg.emit(bytes));
  reg.onWrite((bytes) => register.receive(bytes));
  return { lane, reg, scan, register, sent, acks };
}

const stages = (r: VirtualRegister) =>
  r.answers.flatMap(({ answer }: { answer: PosAnswer }) =>
    answer.type === "progress" ? [answer.stage] : [],
  );

describe("Lane", () => {
  const lanes: Lane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.stop()));
  });

  async function started(s: ReturnType<typeof setup>) {
    lanes.push(s.lane);
    s.lane.start();
    await expect.poll(() => s.reg.isOpen && s.scan.isOpen).toBe(true);
  }

  it("a pay request that cannot leave waits for the link, saying so, and was never spent", async () => {
    const s = setup(() => ({ ok: false, reason: "broker not connected" }));
    await started(s);
    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => stages(s.register).length).toBe(3);
    expect(stages(s.register)).toEqual(["WAIT_SCAN", "SUBMITTED", "SUBMITTED"]);
    const texts = s.register.answers.flatMap(({ answer }: { answer: PosAnswer }) =>
      answer.type === "progress" ? [answer.text] : [],
    );
    expect(texts.at(-1)).toBe("网络中断，等待发送");
    expect(s.lane.details().attempt).toMatchObject({ phase: "queued" });
    expect(s.sent).toHaveLength(1);
  });

  it("never sends the same code twice: after a failure, a rescan of it is refused with a hint", async () => {
    const s = setup(() => ({ ok: true, requestId: "R" }));
    await started(s);
    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(1);
    const attemptId = s.sent[0]?.attemptId ?? "";
    const failed: CloudResponse = {
      requestId: "R",
      attemptId,
      sentAtMs: 0,
      result: {
        type: "payment",
        status: "FAILED",
        amountFen: 100,
        scheme: "WECHAT",
        channelTradeNo: "",
        reasonCode: "AUTHCODEEXPIRE",
        message: "",
        rescanAllowed: true,
      },
    };
    s.lane.onCloudResponse(failed, "pay");
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "RETRY_SCAN");
    const mark = s.register.answers.length;
    s.scan.emit("134567890123456789\r");
    const hint = await s.register.waitFor(
      (a) => a.type === "progress" && a.stage === "RETRY_SCAN",
      5000,
      mark,
    );
    expect(hint.type === "progress" && hint.text).toContain("同一付款码");
    expect(s.sent).toHaveLength(1);
  });

  it("resends a pay request the broker never acknowledged, same attempt id, once the link is back", async () => {
    const s = setup(() => ({ ok: true, requestId: "R" }));
    await started(s);
    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(1);
    s.acks[0]?.(false); // the link dropped before the PUBACK
    s.lane.setCloudOnline(false);
    s.lane.setCloudOnline(true);
    const pays = s.sent.filter((c) => c.type === "pay");
    expect(pays).toHaveLength(2);
    expect(pays[1]?.attemptId).toBe(pays[0]?.attemptId);
    expect(s.lane.details().counters.paysResent).toBe(1);
    // Acknowledged this time: a further reconnect sends nothing new.
    s.acks[1]?.(true);
    s.lane.setCloudOnline(false);
    s.lane.setCloudOnline(true);
    expect(s.sent.filter((c) => c.type === "pay")).toHaveLength(2);
  });

  it("junk scans are one line and a count, reported when the customer's code is read; refused requests all logged", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const events = (kind: string) => lines.filter((l) => l.event === kind);
    const s = setup(() => ({ ok: true, requestId: "R" }), log);
    await started(s);
    for (let i = 0; i < 200; i++) s.scan.emit(`JUNK${i}X\r`); // no sale open
    await expect.poll(() => s.lane.counters.scansIgnored).toBe(200);
    expect(events("scanIgnored")).toHaveLength(1);

    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    for (let i = 0; i < 30; i++) s.scan.emit(`NOTACODE${i}\r`);
    await expect.poll(() => s.lane.counters.scansRejected).toBe(30);
    expect(events("scanRejected")).toHaveLength(1);

    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(1);
    expect(events("scanIgnored").map((l) => l.repeated)).toEqual([undefined, 199]);
    expect(events("scanRejected").map((l) => l.repeated)).toEqual([undefined, 29]);
    const order = lines.map((l) => l.event).filter((e) => e !== undefined);
    expect(order.indexOf("attemptSubmitted")).toBeGreaterThan(order.lastIndexOf("scanRejected"));

    // Real requests refused (a second sale while one is open): each one logged.
    for (const seq of ["02", "03", "04"])
      s.register.request({ type: "sale", seq, orderRef: `ORD${seq}`, amountFen: 100 });
    await expect.poll(() => events("saleRejected").length).toBe(3);
    expect(events("saleRejected").every((l) => l.repeated === undefined)).toBe(true);
    expect(events("saleStarted")).toHaveLength(1);
  });

  it("a pay request the broker refused was never spent: the cashier is told, the same code may be rescanned", async () => {
    const s = setup(() => ({ ok: true, requestId: "R" }));
    await started(s);
    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(1);
    s.acks[0]?.(false, { reasonCode: 0x87, name: "0x87 not authorized" });
    const hint = await s.register.waitFor((a) => a.type === "progress" && a.stage === "RETRY_SCAN");
    expect(hint.type === "progress" && hint.text).toBe("支付请求被拒绝(MQTT 0x87)，未扣款，请重扫或取消");
    expect(s.lane.details().heldCodes).toBe(0);
    // The same code again is a new attempt, not "the same code read twice".
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(2);
    expect(s.sent[1]).toMatchObject({ type: "pay" });
    expect(s.sent[1]?.attemptId).not.toBe(s.sent[0]?.attemptId);
  });

  it("a refusal of a resent pay request proves nothing about the first copy: the attempt goes on", async () => {
    const s = setup(() => ({ ok: true, requestId: "R" }));
    await started(s);
    s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
    await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
    s.scan.emit("134567890123456789\r");
    await expect.poll(() => s.sent.length).toBe(1);
    s.acks[0]?.(false); // the first copy may have arrived
    s.lane.setCloudOnline(false);
    s.lane.setCloudOnline(true);
    // Resent, and queried at once (once the step that queries is committed).
    await expect.poll(() => s.sent.map((c) => c.type)).toEqual(["pay", "pay", "query"]);
    s.acks[1]?.(false, { reasonCode: 0x87, name: "0x87 not authorized" }); // the resend refused
    await new Promise((r) => setTimeout(r, 20));
    expect(s.lane.details().attempt).toMatchObject({ phase: "unknown" }); // still being resolved
    expect(stages(s.register)).not.toContain("RETRY_SCAN");
  });
});
