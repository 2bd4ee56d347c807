// "Journal fsync before publish and before the register hears" — asserted on the order of real
// calls: the journal's fsync (its onSyscall seam), the RPC publish and the register port's writes
// all append to one log as they happen.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../../daemon/clock.js";
import type { CloudRpc } from "../../../daemon/cloud/rpc.js";
import type { LaneConfig } from "../../../daemon/config/config-types.js";
import { VirtualRegister } from "../../../daemon/demo/virtual-register.js";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";
import type { SerialOpener } from "../../../daemon/devices/serial-binding.js";
import { Journal } from "../../../daemon/journal/journal.js";
import { Lane } from "../../../daemon/lanes/lane.js";
import type { CloudCommand } from "../../../protocols/cloud/cloud-messages.js";
import type { JournalRecord } from "../../../protocols/sale/records.js";
import { SETTINGS, WECHAT } from "../../support/sale-harness.js";
import { watchedJournal } from "../../support/watched-journal.js";

const serial = { baudRate: 9600, dataBits: 8 as const, parity: "none" as const, stopBits: 1 as const };
let n = 0;

function setup(opts: { failOn?: (r: JournalRecord) => boolean; groupCommit?: boolean } = {}) {
  const id = ++n;
  const log: string[] = [];
  const mock = createMockSerial();
  const reg = mock.createPort(`/dev/order-reg-${id}`);
  const scan = mock.createPort(`/dev/order-scan-${id}`);
  // Every write the lane starts on the register's port is logged when it is called.
  const opener: SerialOpener = {
    async open(settings) {
      const port = await mock.opener.open(settings);
      if (settings.path !== reg.path) return port;
      return {
        ...port,
        path: port.path,
        write(bytes) {
          const text = Buffer.from(bytes).toString("utf8");
          log.push(
            text.includes("RS\x1c")
              ? "register:RS"
              : text.includes("PR\x1c")
                ? "register:PR"
                : "register:ctl",
          );
          return port.write(bytes);
        },
        close: () => port.close(),
        onData: (fn) => port.onData(fn),
        onClose: (fn) => port.onClose(fn),
      };
    },
  };
  const real = Journal.open({
    dir: mkdtempSync(join(tmpdir(), "pb-order-")),
    clock: systemClock,
    log: pino({ level: "silent" }),
    onSyscall: (op) => log.push(`syscall:${op}`),
  });
  const journal = watchedJournal(real, { log, failOn: opts.failOn, groupCommit: opts.groupCommit });
  const sent: CloudCommand[] = [];
  const rpc = {
    send: (_lane: string, command: CloudCommand) => {
      log.push(`publish:${command.type}`);
      sent.push(command);
      return { ok: true, requestId: `R${sent.length}` };
    },
  } as unknown as CloudRpc;
  const config: LaneConfig = {
    id: "lane1",
    terminal: {
      path: reg.path,
      ...serial,
      profile: "ecr",
      ackTimeoutMs: 500,
      maxDataLength: 1024,
      encoding: "utf8",
    },
    scanner: { path: scan.path, ...serial, type: "serial", suffix: "CR", prefix: "", maxLength: 128 },
  };
  let ids = 0;
  const lane = new Lane(config, {
    settings: SETTINGS,
    opener,
    clock: systemClock,
    log: pino({ level: "silent" }),
    rpc,
    journal,
    newId: () => `ORDER_${id}_${++ids}`,
    cloudOnline: () => true,
    onStatusChange: () => {},
    onEvent: () => {},
  });
  const register = new VirtualRegister((bytes) => reg.emit(bytes));
  reg.onWrite((bytes) => register.receive(bytes));
  return { lane, reg, scan, register, sent, log, real };
}

describe("durable before visible", () => {
  const lanes: Lane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.stop()));
  });

  it.each([
    ["one fsync per record", false],
    ["group commit", true],
  ])(
    "fsyncs each record before the pay request is published and before the register hears (%s)",
    async (_, groupCommit) => {
      const s = setup({ groupCommit });
      lanes.push(s.lane);
      s.lane.start();
      await expect.poll(() => s.reg.isOpen && s.scan.isOpen).toBe(true);
      s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
      await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
      s.scan.emit(`${WECHAT}\r`);
      await expect.poll(() => s.sent.length).toBe(1);
      const attemptId = s.sent[0]?.attemptId ?? "";
      s.lane.onCloudResponse(
        {
          requestId: "R1",
          attemptId,
          sentAtMs: 0,
          result: {
            type: "payment",
            status: "PAID",
            amountFen: 100,
            scheme: "WECHAT",
            channelTradeNo: "4200000000000001",
            reasonCode: "",
            message: "",
            rescanAllowed: false,
          },
        },
        "pay",
      );
      await s.register.result("01", 3000);
      const log = s.log;
      const at = (entry: string) => log.indexOf(entry);
      // Each durable record is preceded by its write and fsync (with group commit, its batch's).
      log.forEach((e, i) => {
        if (!e.startsWith("durable:")) return;
        let j = i - 1;
        while (j >= 0 && !log[j]?.startsWith("syscall:")) j--;
        expect(log.slice(j - 1, j + 1)).toEqual(["syscall:write", "syscall:fsync"]);
      });
      expect(at("durable:sale:OPEN")).toBeGreaterThan(-1);
      expect(at("durable:sale:OPEN")).toBeLessThan(at("register:PR"));
      expect(at("durable:attempt:sent")).toBeLessThan(at("publish:pay"));
      expect(at("durable:attempt:paid")).toBeLessThan(at("register:RS"));
      expect(at("durable:sale:PAID")).toBeLessThan(at("register:RS"));
      expect(s.real.sale("lane1", "ORD1")).toMatchObject({ status: "PAID", answered: true });
    },
  );

  it.each([
    ["one fsync per record", false],
    ["group commit", true],
  ])(
    "a record that cannot be made durable is never acted on, and the lane stops taking sales (%s)",
    async (_, groupCommit) => {
      const s = setup({ failOn: (r) => r.kind === "attempt", groupCommit });
      lanes.push(s.lane);
      s.lane.start();
      await expect.poll(() => s.reg.isOpen && s.scan.isOpen).toBe(true);
      s.register.request({ type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 });
      await s.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN");
      const mark = s.register.answers.length;
      s.scan.emit(`${WECHAT}\r`);
      await expect.poll(() => s.lane.details().journalOk).toBe(false);
      expect(s.sent).toEqual([]);
      expect(s.log.filter((e) => e === "publish:pay")).toEqual([]);
      // The scan is refused with the reason; no RS: the sale is still open, waiting for a scan.
      await expect.poll(() => s.register.answers.length).toBe(mark + 1);
      expect(s.register.answers[mark]?.answer).toMatchObject({
        type: "progress",
        stage: "RETRY_SCAN",
        text: expect.stringContaining("存储空间已满"),
      });
      expect(s.lane.details().counters.journalFailures).toBe(1);
      expect(s.lane.details()).toMatchObject({ journalFault: "full", state: "WAIT_SCAN" });
    },
  );
});
