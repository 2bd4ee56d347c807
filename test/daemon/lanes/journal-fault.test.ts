// A lane over a real Journal whose writes fail: ENOSPC and EROFS injected at the journal's write
// syscall (the line reached the file and is cut off again, as with a real full disk), and a
// state directory removed for real. The register is refused with the storage reason, never
// "busy"; the open sale's outcome waits for the journal and is answered once it is recorded,
// exactly once, and never before its record is on disk. (The same on a real full and read-only
// ext4 with the daemon as a child process: test/integration/journal-storage.test.ts.)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../../daemon/clock.js";
import type { CloudRpc } from "../../../daemon/cloud/rpc.js";
import type { LaneConfig } from "../../../daemon/config/config-types.js";
import { VirtualRegister } from "../../../daemon/demo/virtual-register.js";
import { BridgeError } from "../../../daemon/errors.js";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";
import type { SerialOpener } from "../../../daemon/devices/serial-binding.js";
import { JOURNAL_FILE, Journal, readJournal } from "../../../daemon/journal/journal.js";
import { Lane } from "../../../daemon/lanes/lane.js";
import type { CloudCommand, PaymentResult } from "../../../protocols/cloud/cloud-messages.js";
import type { PosAnswer } from "../../../protocols/pos/pos-messages.js";
import type { SaleRecord } from "../../../protocols/sale/records.js";
import type { SaleSettings } from "../../../protocols/sale/sale-types.js";
import { payment, SETTINGS, WECHAT } from "../../support/sale-harness.js";

const serial = { baudRate: 9600, dataBits: 8 as const, parity: "none" as const, stopBits: 1 as const };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;

type Errno = "ENOSPC" | "EROFS";

interface Rig {
  lane: Lane;
  journal: Journal;
  dir: string;
  register: VirtualRegister;
  sent: CloudCommand[];
  /** While set, every journal write fails with this errno (after the bytes reached the file). */
  failWith: Errno | null;
  /** For each RS the register port was handed: the sale's status in the journal file on disk then. */
  rsOnDisk: { seq: string; status: string; onDisk: string | undefined }[];
  scan(code: string): void;
  result(r: Partial<PaymentResult>): void;
  rsCount(seq: string): number;
}

function rig(settings: SaleSettings = SETTINGS): Rig {
  const id = ++n;
  const mock = createMockSerial();
  const reg = mock.createPort(`/dev/fault-reg-${id}`);
  const scanner = mock.createPort(`/dev/fault-scan-${id}`);
  const dir = join(mkdtempSync(join(tmpdir(), "pb-fault-")), "state");
  const r = { failWith: null, rsOnDisk: [] } as unknown as Rig;
  const journal = Journal.open({
    dir,
    clock: systemClock,
    log: pino({ level: "silent" }),
    checkIntervalMs: 0, // check() restores at once; the tests call it when they want
    onSyscall: (op, path) => {
      // journal.log and journal.log.tmp (a restore's rewrite) alike.
      if (op === "write" && path.includes(JOURNAL_FILE) && r.failWith)
        throw Object.assign(new Error(`${r.failWith}: injected, write`), { code: r.failWith });
    },
    onHealth: (health) =>
      r.lane.setJournalHealth(health?.fault ?? null, health ? health.error.message : "restored"),
  });
  const decoder = new VirtualRegister(() => {});
  // What the journal file on disk says about an order at the moment its RS goes to the register.
  const opener: SerialOpener = {
    async open(settings) {
      const port = await mock.opener.open(settings);
      if (settings.path !== reg.path) return port;
      return {
        ...port,
        path: port.path,
        write(bytes) {
          const before = decoder.answers.length;
          decoder.receive(bytes);
          for (const { answer } of decoder.answers.slice(before)) {
            if (answer.type !== "result") continue;
            const onDisk = readJournal(join(dir, JOURNAL_FILE)).records.find(
              (x): x is SaleRecord => x.kind === "sale" && x.orderRef === answer.orderRef,
            );
            r.rsOnDisk.push({ seq: answer.seq, status: answer.status, onDisk: onDisk?.status });
          }
          return port.write(bytes);
        },
        close: () => port.close(),
        onData: (fn) => port.onData(fn),
        onClose: (fn) => port.onClose(fn),
      };
    },
  };
  const sent: CloudCommand[] = [];
  const rpc = {
    send: (_lane: string, command: CloudCommand) => {
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
    scanner: { path: scanner.path, ...serial, type: "serial", suffix: "CR", prefix: "", maxLength: 128 },
  };
  let ids = 0;
  const lane = new Lane(config, {
    settings,
    opener,
    clock: systemClock,
    log: pino({ level: "silent" }),
    rpc,
    journal,
    newId: () => `ATTEMPT_${id}_${++ids}`,
    cloudOnline: () => true,
    onStatusChange: () => {},
    onEvent: () => {},
  });
  const register = new VirtualRegister((bytes) => reg.emit(bytes));
  reg.onWrite((bytes) => register.receive(bytes));
  return Object.assign(r, {
    lane,
    journal,
    dir,
    register,
    sent,
    scan: (code: string) => scanner.emit(`${code}\r`),
    result(p: Partial<PaymentResult>) {
      const attemptId = [...sent].reverse().find((c) => c.type === "pay")?.attemptId ?? "";
      lane.onCloudResponse({ requestId: "R", attemptId, sentAtMs: 0, result: payment(p) }, "pay");
    },
    rsCount: (seq: string) =>
      register.answers.filter((a) => a.answer.type === "result" && a.answer.seq === seq).length,
  });
}

async function started(r: Rig): Promise<void> {
  r.lane.start();
  // EC answered: the terminal port is open.
  await expect
    .poll(async () => {
      const mark = r.register.answers.length;
      r.register.request({ type: "echo", seq: "99" });
      await sleep(20);
      return r.register.answers.slice(mark).some((a) => a.answer.type === "echoReply");
    })
    .toBe(true);
}

/** SA + scan + the pay request out: the sale is open with its attempt in flight. */
async function openSale(r: Rig, seq: string, orderRef: string, amountFen: number, code: string) {
  const mark = r.register.answers.length;
  r.register.request({ type: "sale", seq, orderRef, amountFen });
  await r.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 3000, mark);
  const pays = r.sent.filter((c) => c.type === "pay").length;
  r.scan(code);
  await expect.poll(() => r.sent.filter((c) => c.type === "pay").length).toBe(pays + 1);
}

async function rs(r: Rig, seq: string): Promise<Extract<PosAnswer, { type: "result" }>> {
  return r.register.result(seq, 3000);
}

describe("a lane whose journal cannot be written", () => {
  const rigs: Rig[] = [];
  afterEach(async () => {
    for (const r of rigs.splice(0)) {
      await r.lane.stop();
      r.journal.close();
    }
  });

  it("disk full mid-sale: new SA refused with the storage text (not busy); the open sale's PAID is answered once, after it is on disk", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    await openSale(r, "01", "ORD1", 100, WECHAT);

    r.failWith = "ENOSPC";
    r.result({ status: "PAID", amountFen: 100, channelTradeNo: "4200000000000000000000000001" });
    // The outcome is known but not recorded: nothing about it reaches the register, and a new
    // sale hears the real reason.
    r.register.request({ type: "sale", seq: "02", orderRef: "ORD2", amountFen: 200 });
    const refused = await rs(r, "02");
    expect(refused).toMatchObject({ status: "REJECTED", text: expect.stringContaining("存储空间已满") });
    expect(refused.text).not.toContain("忙");
    expect(r.rsCount("01")).toBe(0);
    expect(r.journal.sale("lane1", "ORD1")?.status).toBe("OPEN");
    expect(r.lane.details()).toMatchObject({ journalFault: "full", heldInputs: 1, state: "SUBMITTED" });
    r.register.request({ type: "query", seq: "03", orderRef: "ORD1" });
    expect(await rs(r, "03")).toMatchObject({ status: "PENDING" });
    r.register.request({ type: "cancel", seq: "04", orderRef: "ORD1" });
    expect(await rs(r, "04")).toMatchObject({
      status: "REJECTED",
      text: expect.stringContaining("存储空间已满"),
    });
    expect(r.sent.filter((c) => c.type === "cancel")).toEqual([]);

    // Space comes back: the journal is written again from memory, the held PAID is stepped.
    r.journal.check(); // still full: the rewrite fails too
    expect(r.journal.health()?.fault).toBe("full");
    r.failWith = null;
    r.journal.check();
    expect(r.journal.health()).toBeNull();
    expect(await rs(r, "01")).toMatchObject({ status: "PAID", amountFen: 100 });
    await sleep(200);
    expect(r.rsCount("01")).toBe(1);
    expect(r.rsOnDisk.find((x) => x.seq === "01")).toEqual({ seq: "01", status: "PAID", onDisk: "PAID" });
    expect(r.lane.details()).toMatchObject({ journalOk: true, heldInputs: 0, state: "IDLE" });

    // Sales resume, and what the register was told survives a restart.
    r.register.request({ type: "sale", seq: "05", orderRef: "ORD3", amountFen: 300 });
    await r.register.waitFor(
      (a) => a.type === "progress" && a.orderRef === "ORD3" && a.stage === "WAIT_SCAN",
    );
    const again = Journal.open({ dir: r.dir, clock: systemClock, log: pino({ level: "silent" }) });
    expect(again.sale("lane1", "ORD1")).toMatchObject({ status: "PAID", answered: true });
    again.close();
  });

  it("read-only storage: SA and RF refused with the read-only text; a waiting payment and its PAID are both held, in order", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    await openSale(r, "10", "ORD10", 100, WECHAT);
    r.result({ status: "PAID", amountFen: 100, channelTradeNo: "4200000000000000000000000010" });
    expect(await rs(r, "10")).toMatchObject({ status: "PAID" });
    await openSale(r, "11", "ORD11", 177, "134567890123456780");
    r.failWith = "EROFS";
    r.result({ status: "WAITING_CUSTOMER", amountFen: 177, reasonCode: "USERPAYING" });
    r.result({ status: "PAID", amountFen: 177, channelTradeNo: "4200000000000000000000000011" });
    r.register.request({ type: "sale", seq: "12", orderRef: "ORD12", amountFen: 100 });
    expect(await rs(r, "12")).toMatchObject({
      status: "REJECTED",
      text: expect.stringContaining("存储只读"),
    });
    expect(r.lane.details()).toMatchObject({ journalFault: "readOnly", heldInputs: 2 });
    r.register.request({ type: "refund", seq: "13", orderRef: "ORD10", refundRef: "RF1", amountFen: 1 });
    expect(await rs(r, "13")).toMatchObject({
      status: "REJECTED",
      text: expect.stringContaining("存储只读"),
    });
    await sleep(100);
    expect(r.rsCount("11")).toBe(0);

    r.failWith = null;
    r.journal.check();
    expect(await rs(r, "11")).toMatchObject({ status: "PAID" });
    await sleep(200);
    expect(r.rsCount("11")).toBe(1);
    const attempt = r.journal.attemptsOf("lane1", "ORD11")[0];
    expect(attempt).toMatchObject({ phase: "paid" });
    expect(r.register.answers.map((a) => a.answer)).toContainEqual(
      expect.objectContaining({ type: "progress", orderRef: "ORD11", stage: "WAIT_CUSTOMER" }),
    );
  });

  it("a PAID held behind a due query is applied first: a reversal deadline passed while waiting reverses nothing", async () => {
    const fast = { firstQueryMs: 50, queryIntervalMs: 50, reverseAfterMs: 400 };
    const r = rig({ ...SETTINGS, attempt: { ...SETTINGS.attempt, ...fast } });
    rigs.push(r);
    await started(r);
    await openSale(r, "41", "ORD41", 100, WECHAT);
    r.failWith = "ENOSPC";
    await expect.poll(() => r.lane.details().heldInputs).toBe(1); // the first query could not be recorded
    expect(r.sent.filter((c) => c.type === "query")).toEqual([]);
    r.result({ status: "PAID", amountFen: 100, channelTradeNo: "4200000000000000000000000041" });
    await sleep(500); // past reverseAfterMs
    r.failWith = null;
    r.journal.check();
    expect(await rs(r, "41")).toMatchObject({ status: "PAID" });
    expect(r.sent.filter((c) => c.type === "cancel")).toEqual([]);
    expect(r.journal.attemptsOf("lane1", "ORD41")[0]).toMatchObject({ phase: "paid" });
  });

  it("a reason code with a long digit run is kept masked: the journal takes it and the sale ends", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    await openSale(r, "51", "ORD51", 100, WECHAT);
    // A reason code of 12+ digits passes the wire guards; it could be a code, so it is masked.
    r.result({ status: "FAILED", amountFen: 100, reasonCode: "123456789012345", rescanAllowed: false });
    expect(await rs(r, "51")).toMatchObject({ status: "CANCELLED" });
    expect(r.journal.attemptsOf("lane1", "ORD51")[0]?.reasonCode).toBe("…2345");
    expect(r.journal.health()).toBeNull();
  });

  it("a record the journal refuses for its content (a bug, not the storage) is dropped: the lane is not stopped", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    await openSale(r, "53", "ORD53", 100, WECHAT);
    // The lane writes through the group commit (Journal.commit): the refusal comes from there.
    const commit = r.journal.commit.bind(r.journal);
    let refuseNext = true;
    r.journal.commit = (records) => {
      if (refuseNext) {
        refuseNext = false;
        return Promise.reject(
          new BridgeError("PB_JOURNAL_WRITE", "journal record refused: attempt.reasonCode must …", {
            context: { refused: true },
          }),
        );
      }
      return commit(records);
    };
    r.result({ status: "FAILED", amountFen: 100, reasonCode: "SYSTEMERROR", rescanAllowed: false });
    await expect.poll(() => refuseNext).toBe(false);
    await sleep(20); // the refusal is taken
    expect(r.lane.details()).toMatchObject({ journalOk: true, heldInputs: 0, state: "SUBMITTED" });
    expect(r.journal.health()).toBeNull();
    r.register.request({ type: "cancel", seq: "54", orderRef: "ORD53" });
    await expect.poll(() => r.sent.filter((c) => c.type === "cancel").length).toBe(1);
  });

  it("a scan while the journal is down is refused with the reason and never published", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    const mark = r.register.answers.length;
    r.register.request({ type: "sale", seq: "21", orderRef: "ORD21", amountFen: 100 });
    await r.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 3000, mark);
    r.failWith = "ENOSPC";
    r.scan(WECHAT);
    await r.register.waitFor(
      (a) => a.type === "progress" && a.stage === "RETRY_SCAN" && a.text.includes("存储空间已满"),
      3000,
      mark,
    );
    expect(r.sent).toEqual([]);
    // Nothing of the refused step stays behind: no attempt in the journal's memory or file.
    expect(r.journal.attemptsOf("lane1", "ORD21")).toEqual([]);
    expect(r.lane.details()).toMatchObject({ heldCodes: 0, state: "WAIT_SCAN" });
  });

  it("the state directory removed: SA refused (gone), QY answers from memory, the journal is written again when the directory can be created", async () => {
    const r = rig();
    rigs.push(r);
    await started(r);
    await openSale(r, "31", "ORD31", 100, WECHAT);
    r.result({ status: "PAID", amountFen: 100, channelTradeNo: "4200000000000000000000000031" });
    expect(await rs(r, "31")).toMatchObject({ status: "PAID" });

    rmSync(r.dir, { recursive: true, force: true });
    r.register.request({ type: "sale", seq: "32", orderRef: "ORD32", amountFen: 200 });
    expect(await rs(r, "32")).toMatchObject({
      status: "REJECTED",
      text: expect.stringContaining("交易记录文件丢失"),
    });
    expect(r.journal.health()).toMatchObject({ fault: "gone", error: { code: "PB_JOURNAL_GONE" } });
    r.register.request({ type: "query", seq: "33", orderRef: "ORD31" });
    expect(await rs(r, "33")).toMatchObject({ status: "PAID" });
    // An SA for the paid order is answered from memory too, and charges nothing.
    r.register.request({ type: "sale", seq: "34", orderRef: "ORD31", amountFen: 100 });
    expect(await rs(r, "34")).toMatchObject({ status: "PAID" });

    r.journal.check();
    expect(r.journal.health()).toBeNull();
    const restored = readJournal(join(r.dir, JOURNAL_FILE)).records;
    expect(restored.find((x) => x.kind === "sale" && x.orderRef === "ORD31")).toMatchObject({
      status: "PAID",
    });
    r.register.request({ type: "sale", seq: "35", orderRef: "ORD32", amountFen: 200 });
    await r.register.waitFor(
      (a) => a.type === "progress" && a.orderRef === "ORD32" && a.stage === "WAIT_SCAN",
    );
  });
});
