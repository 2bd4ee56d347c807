// A lane in no-integration mode on mock serial ports (daemon/lanes/lane-tap.ts): a scan while a
// stable total stands is charged exactly that total through the same sale engine, journaled with
// where the amount came from; a cash tender, a cleared total and a total changed between the scan
// and the send never charge anything.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { CloudCommand, CloudResponse } from "../../../protocols/cloud/cloud-messages.js";
import { encodeLed8View } from "../../../protocols/display/led8.js";
import type { SaleRecord } from "../../../protocols/sale/records.js";
import { systemClock } from "../../../daemon/clock.js";
import type { CloudRpc } from "../../../daemon/cloud/rpc.js";
import type { DisplayTapConfig, LaneConfig } from "../../../daemon/config/config-types.js";
import type { DisplayTap } from "../../../daemon/devices/display-tap-port.js";
import { createMockSerial } from "../../../daemon/devices/mock-serial.js";
import { Journal } from "../../../daemon/journal/journal.js";
import { Lane } from "../../../daemon/lanes/lane.js";
import { payment, SETTINGS } from "../../support/sale-harness.js";
import { fixture } from "../../protocols/display-tap/tap-support.js";

const CODE = "134567890123456789";
const serialSettings = {
  baudRate: 9600,
  dataBits: 8 as const,
  parity: "none" as const,
  stopBits: 1 as const,
};
const led = (lamp: string, value: string) =>
  Uint8Array.from([0x1b, 0x73, lamp.charCodeAt(0), 0x1b, 0x51, 0x41, ...Buffer.from(value), 0x0d]);
let n = 0;

function setup(opts: { sendOk?: () => boolean; crash?: (point: string) => void; dir?: string } = {}) {
  const id = ++n;
  const serial = createMockSerial();
  const reg = serial.createPort(`/dev/lane-tap-reg-${id}`);
  const disp = serial.createPort(`/dev/lane-tap-disp-${id}`);
  const scan = serial.createPort(`/dev/lane-tap-scan-${id}`);
  const toDisplay: number[] = [];
  disp.onWrite((b) => toDisplay.push(...b));
  const sent: CloudCommand[] = [];
  const rpc = {
    send: (_lane: string, command: CloudCommand) => {
      sent.push(command);
      return (opts.sendOk ?? (() => true))()
        ? { ok: true, requestId: `R${sent.length}` }
        : { ok: false, reason: "broker not connected" };
    },
  } as unknown as CloudRpc;
  const displayTap: DisplayTapConfig = {
    mode: "passThrough",
    path: reg.path,
    baudRate: 2400,
    dataBits: 8,
    parity: "none",
    stopBits: 1,
    rtscts: false,
    dialect: "led8-ascii",
    encoding: "gb18030",
    idleMs: 50,
    stableMs: 200,
    wholeNumbers: "refuse",
    detectSampleMs: 4000,
    display: { path: disp.path },
  };
  const config: LaneConfig = {
    id: "lane1",
    displayTap,
    scanner: { path: scan.path, ...serialSettings, type: "serial", suffix: "CR", prefix: "", maxLength: 128 },
  };
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "pb-lane-tap-"));
  const journal = Journal.open({ dir, clock: systemClock, log: pino({ level: "silent" }) });
  let ids = 0;
  const lane = new Lane(config, {
    settings: SETTINGS,
    opener: serial.opener,
    clock: systemClock,
    log: pino({ level: "silent" }),
    rpc,
    journal,
    newId: () => `T${id}X${++ids}`,
    cloudOnline: () => true,
    onStatusChange: () => {},
    onEvent: () => {},
    ...(opts.crash ? { crashPoint: opts.crash } : {}),
  });
  const tap = (lane as unknown as { terminal: DisplayTap }).terminal;
  const sales = () =>
    readFileSync(join(dir, "journal.log"), "utf8")
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((l) => JSON.parse(l.split("\t")[1] ?? "{}") as { kind: string })
      .filter((r): r is SaleRecord => r.kind === "sale");
  const journalText = () => readFileSync(join(dir, "journal.log"), "utf8");
  return { lane, tap, reg, disp, scan, sent, toDisplay, sales, journalText, dir, journal };
}

const pays = (sent: CloudCommand[]) => sent.filter((c) => c.type === "pay");
const contains = (hay: number[], needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

describe("Lane in no-integration mode", () => {
  const lanes: Lane[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.stop()));
  });

  async function started(s: ReturnType<typeof setup>) {
    lanes.push(s.lane);
    s.lane.start();
    await expect.poll(() => s.reg.isOpen && s.disp.isOpen && s.scan.isOpen).toBe(true);
  }

  it("a scan while a stable total stands charges exactly that total, journaled with its source, seq and evidence hash", async () => {
    const s = setup();
    await started(s);
    s.reg.emit(led("1", "3.50")); // a unit price: not chargeable
    s.reg.emit(led("2", "12.50")); // the total
    await expect.poll(() => s.tap.standing).toEqual({ seq: 1, amountFen: 1250 });
    s.scan.emit(`${CODE}\r`);
    await expect.poll(() => pays(s.sent).length).toBe(1);
    expect(pays(s.sent)[0]).toMatchObject({ type: "pay", amountFen: 1250 });
    const sale = s.sales().at(-1);
    expect(sale).toMatchObject({
      amountFen: 1250,
      seq: "T1",
      amountSource: "displayTap",
      tapSeq: 1,
      status: "OPEN",
    });
    expect(sale?.tapEvidence).toMatch(/^[0-9a-f]{16}$/);
    // Never a payment code in the journal.
    expect(s.journalText()).not.toContain(CODE);
    expect(s.journalText()).not.toContain(CODE.slice(0, 12));

    // The cloud says PAID: the result goes to the real display, after the register's bytes.
    const attemptId = pays(s.sent)[0]?.attemptId ?? "";
    const before = s.toDisplay.length;
    const paid: CloudResponse = {
      requestId: "R1",
      attemptId,
      sentAtMs: 0,
      result: payment({ amountFen: 1250, channelTradeNo: "4200001" }),
    };
    s.lane.onCloudResponse(paid, "pay");
    await expect.poll(() => s.sales().at(-1)?.status).toBe("PAID");
    const shown = encodeLed8View({ type: "paid", amountFen: 1250 });
    await expect.poll(() => contains(s.toDisplay.slice(before), shown)).toBe(true);

    // The same total still standing is spent: scanning again charges nothing.
    s.scan.emit("134567890123450000\r");
    await new Promise((r) => setTimeout(r, 200));
    expect(pays(s.sent)).toHaveLength(1);
  });

  it("cash tender and change (收款/找零) never charge, whatever is scanned when", async () => {
    const s = setup();
    await started(s);
    const [total, cash, change] = fixture("cash-tender.hex").chunks;
    s.reg.emit(total?.bytes ?? new Uint8Array());
    await expect.poll(() => s.tap.standing?.amountFen).toBe(1250);
    s.reg.emit(cash?.bytes ?? new Uint8Array());
    await expect.poll(() => s.tap.reading()?.kind).toBe("tender");
    s.scan.emit(`${CODE}\r`);
    s.reg.emit(change?.bytes ?? new Uint8Array());
    await expect.poll(() => s.tap.reading()?.amountFen).toBe(750);
    s.scan.emit("134567890123451111\r");
    await new Promise((r) => setTimeout(r, 400)); // longer than stableMs: nothing settles into a charge
    expect(s.sent).toEqual([]);
    expect(s.sales()).toEqual([]);
  });

  it("a total cleared before the scan refuses the scan: no sale, nothing sent", async () => {
    const s = setup();
    await started(s);
    s.reg.emit(led("2", "12.50"));
    await expect.poll(() => s.tap.standing?.amountFen).toBe(1250);
    s.reg.emit(Uint8Array.of(0x0c)); // FF: cleared
    await expect.poll(() => s.tap.standing).toBeNull();
    s.scan.emit(`${CODE}\r`);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.sent).toEqual([]);
    expect(s.sales()).toEqual([]);
  });

  it("a total changed between the scan and the send: nothing is sent, the display asks for the new total", async () => {
    let tapRef: DisplayTap | undefined;
    let injected = false;
    const s = setup({
      // Between the attempt's journal record and its pay request: the register rings up more.
      crash: (point) => {
        if (point === "journal:attempt:sent" && !injected) {
          injected = true;
          tapRef?.receive(led("2", "15.00"));
        }
      },
    });
    tapRef = s.tap;
    await started(s);
    s.reg.emit(led("2", "12.50"));
    await expect.poll(() => s.tap.standing?.amountFen).toBe(1250);
    s.scan.emit(`${CODE}\r`);
    await expect.poll(() => injected).toBe(true);
    await expect.poll(() => s.sales().at(-1)?.status).toBe("CANCELLED");
    expect(s.sent).toEqual([]); // no pay request, and no reversal of one never sent
    expect(s.sales().at(-1)).toMatchObject({ amountFen: 1250, amountSource: "displayTap", tapSeq: 1 });
    // The real display asks for the new total (the register's bytes went through unchanged too).
    const asks = encodeLed8View({ type: "amountDue", amountFen: 1500 });
    await expect.poll(() => contains(s.toDisplay, asks)).toBe(true);
    // Once the new total stands, a rescan charges it, as a new sale.
    await expect.poll(() => s.tap.standing).toEqual({ seq: 2, amountFen: 1500 });
    s.scan.emit("134567890123452222\r");
    await expect.poll(() => pays(s.sent).length).toBe(1);
    expect(pays(s.sent)[0]).toMatchObject({ amountFen: 1500 });
    expect(s.sales().at(-1)).toMatchObject({ amountFen: 1500, tapSeq: 2, seq: "T2" });
  });

  it("a pay request queued while the broker was away goes only if its total still stands", async () => {
    let online = false;
    const s = setup({ sendOk: () => online });
    await started(s);
    s.reg.emit(led("2", "12.50"));
    await expect.poll(() => s.tap.standing?.amountFen).toBe(1250);
    s.scan.emit(`${CODE}\r`);
    await expect.poll(() => s.lane.details().attempt?.phase).toBe("queued");
    s.reg.emit(led("2", "15.00")); // the register changed the total meanwhile
    await expect.poll(() => s.tap.standing?.amountFen).toBe(1500);
    const tried = pays(s.sent).length;
    online = true;
    s.lane.setCloudOnline(false);
    s.lane.setCloudOnline(true);
    await expect.poll(() => s.sales().at(-1)?.status).toBe("CANCELLED");
    expect(pays(s.sent)).toHaveLength(tried); // the queued request never went out
  });

  it("after a restart, the total of the last paid sale still on the display is not charged again; numbers keep rising", async () => {
    const first = setup();
    await started(first);
    first.reg.emit(led("2", "12.50"));
    await expect.poll(() => first.tap.standing?.seq).toBe(1);
    first.scan.emit(`${CODE}\r`);
    await expect.poll(() => pays(first.sent).length).toBe(1);
    first.lane.onCloudResponse(
      {
        requestId: "R1",
        attemptId: pays(first.sent)[0]?.attemptId ?? "",
        sentAtMs: 0,
        result: payment({ amountFen: 1250, channelTradeNo: "4200001" }),
      },
      "pay",
    );
    await expect.poll(() => first.sales().at(-1)?.status).toBe("PAID");
    await first.lane.stop();
    first.journal.close();

    // The bridge restarts; the register refreshes its display with the same total.
    const again = setup({ dir: first.dir });
    await started(again);
    again.reg.emit(led("2", "12.50"));
    await expect.poll(() => again.tap.standing).toEqual({ seq: 2, amountFen: 1250 });
    again.scan.emit("134567890123453333\r");
    await new Promise((r) => setTimeout(r, 300));
    expect(again.sent).toEqual([]);
    // The register clears and rings up a new sale of the same amount: that one is charged.
    again.reg.emit(Uint8Array.of(0x0c));
    again.reg.emit(led("2", "12.50"));
    await expect.poll(() => again.tap.standing?.seq).toBe(3);
    again.scan.emit("134567890123454444\r");
    await expect.poll(() => pays(again.sent).length).toBe(1);
    expect(again.sales().at(-1)).toMatchObject({ amountFen: 1250, tapSeq: 3, status: "OPEN" });
  });
});
