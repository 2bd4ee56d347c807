// The sale runner alone, over a real journal and a port that records what it is asked: the port
// hears of a step only once the step's records are durable, and never of a step that could not be
// journaled; what waited for the journal is stepped when it is back, results before timers.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { Journal } from "../../../daemon/journal/journal.js";
import { newLaneCounters } from "../../../daemon/lanes/lane-describe.js";
import { type SaleEffectsPort, SaleRunner } from "../../../daemon/lanes/sale-runner.js";
import { RepeatLimiter } from "../../../daemon/log/repeat-limiter.js";
import { payment, SETTINGS, WECHAT } from "../../support/sale-harness.js";
import { watchedJournal } from "../../support/watched-journal.js";

function rig() {
  const clock = new ManualClock();
  const log = pino({ level: "silent" });
  const order: string[] = [];
  const real = Journal.open({ dir: mkdtempSync(join(tmpdir(), "pb-runner-")), clock, log });
  let failing = false;
  const journal = watchedJournal(real, { log: order, failOn: () => failing });
  const port: SaleEffectsPort = {
    answer: (a) =>
      order.push(`answer:${a.type === "result" ? a.status : a.type === "progress" ? a.stage : a.type}`),
    display: (v) => order.push(`display:${v.type}`),
    pay: (a) => {
      order.push(`pay:${a.attemptId}`);
      return { ok: true };
    },
    send: (e) => order.push(`send:${e.type}`),
    event: (e) => order.push(`event:${e.kind}`),
    stepped: () => order.push("stepped"),
  };
  const runner = new SaleRunner({
    laneId: "l1",
    settings: SETTINGS,
    clock,
    log,
    journal,
    repeats: new RepeatLimiter(log, clock),
    counters: newLaneCounters(),
    crash: () => {},
    cloudOnline: true,
    onJournaled: (cause, writes) => order.push(`audit:${cause.input}:${writes.length}`),
    port,
  });
  const sale = () =>
    runner.feed({
      type: "pos",
      request: { type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 },
      newId: "S1",
    });
  const scan = () => runner.feed({ type: "scan", code: WECHAT, attemptId: "A1" });
  const paid = () =>
    runner.feed({
      type: "cloudResult",
      attemptId: "A1",
      result: payment({ status: "PAID", amountFen: 100, channelTradeNo: "T1" }),
      answers: "pay",
    });
  return {
    runner,
    clock,
    order,
    sale,
    scan,
    paid,
    failWrites: (on: boolean) => {
      failing = on;
    },
  };
}

describe("SaleRunner", () => {
  it("calls the port only once the step's records are durable, after the audit observer, in the machine's order", () => {
    const r = rig();
    r.sale();
    r.scan();
    const steps = r.order.join(" ").split("stepped").slice(0, -1);
    expect(steps).toHaveLength(2);
    for (const step of steps) {
      const calls = step.trim().split(" ");
      const lastDurable = calls.map((c) => c.startsWith("durable:")).lastIndexOf(true);
      const audit = calls.findIndex((c) => c.startsWith("audit:"));
      expect(lastDurable).toBeGreaterThanOrEqual(0);
      expect(audit).toBe(lastDurable + 1);
      expect(calls.slice(0, lastDurable).every((c) => c.startsWith("durable:"))).toBe(true);
    }
    expect(r.order).toContain("pay:A1");
    expect(r.order.indexOf("pay:A1")).toBeGreaterThan(r.order.indexOf("durable:attempt:queued"));
  });

  it("a step that cannot be journaled reaches no port and leaves the machine where it was; it is stepped once the journal is back", () => {
    const r = rig();
    r.sale();
    r.scan();
    const before = r.runner.state;
    r.failWrites(true);
    r.order.length = 0;
    r.paid();
    // The machine was told the journal is down (that step writes nothing); the PAID itself waits.
    expect(r.order.filter((c) => c.startsWith("answer:"))).toEqual([]);
    expect(r.runner.state.current).toEqual(before.current);
    expect(r.runner.state.journalFault).toBe("full");
    expect(r.runner.heldInputs).toBe(1);

    r.failWrites(false);
    r.order.length = 0;
    r.runner.setJournalHealth(null, "restored");
    expect(r.runner.heldInputs).toBe(0);
    expect(r.order).toContain("answer:PAID");
    expect(r.order.indexOf("answer:PAID")).toBeGreaterThan(r.order.indexOf("durable:sale:PAID"));
    expect(r.runner.state.current).toBeNull();
  });

  it("replays what the cloud said before what the timers ask, and each timer once", () => {
    const r = rig();
    r.sale();
    r.scan();
    r.failWrites(true);
    // The first query falls due while the disk is full: its step cannot be written, it waits.
    r.clock.advance(SETTINGS.attempt.firstQueryMs);
    expect(r.runner.heldInputs).toBe(1);
    r.runner.feed({ type: "timer", name: "attempts" }); // the same question again: not kept twice
    r.paid();
    expect(r.runner.heldInputs).toBe(2);
    r.failWrites(false);
    r.order.length = 0;
    r.runner.setJournalHealth(null, "restored");
    // The PAID is applied first: the sale is paid, nothing is queried after it.
    expect(r.order).toContain("answer:PAID");
    expect(r.order.filter((c) => c.startsWith("send:"))).toEqual([]);
  });

  it("no timer of the machine outlives stop", () => {
    const r = rig();
    r.sale();
    expect(r.clock.pendingTimers).toBeGreaterThan(0);
    r.runner.stop();
    expect(r.clock.pendingTimers).toBe(0);
  });
});
