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

describe("SaleRunner with group commit", () => {
  /** Two lanes' runners over one real journal that group-commits; each lane's port calls apart. */
  function lanes() {
    const clock = new ManualClock();
    const log = pino({ level: "silent" });
    const syscalls: string[] = [];
    const real = Journal.open({
      dir: mkdtempSync(join(tmpdir(), "pb-runner-gc-")),
      clock,
      log,
      onSyscall: (op) => syscalls.push(op),
    });
    syscalls.length = 0;
    const make = (laneId: string) => {
      const order: string[] = [];
      const journal = watchedJournal(real, { log: order, groupCommit: true });
      const runner = new SaleRunner({
        laneId,
        settings: SETTINGS,
        clock,
        log,
        journal,
        repeats: new RepeatLimiter(log, clock),
        counters: newLaneCounters(),
        crash: () => {},
        cloudOnline: true,
        port: {
          answer: (a) =>
            order.push(`answer:${a.type === "result" ? a.status : a.type === "progress" ? a.stage : a.type}`),
          display: () => {},
          pay: (a) => {
            order.push(`pay:${a.attemptId}`);
            return { ok: true };
          },
          send: (e) => order.push(`send:${e.type}`),
          event: () => {},
          stepped: () => order.push("stepped"),
        },
      });
      return { runner, order };
    };
    return { real, syscalls, a: make("l1"), b: make("l2") };
  }

  it("two lanes' steps share one write and one fsync; each lane hears of its step only after its own records are durable", async () => {
    const { syscalls, a, b } = lanes();
    for (const [lane, ref] of [
      [a, "ORD1"],
      [b, "ORD2"],
    ] as const)
      lane.runner.feed({
        type: "pos",
        request: { type: "sale", seq: "01", orderRef: ref, amountFen: 100 },
        newId: `S${ref}`,
      });
    // Nothing of either step has happened yet: both wait for their commit.
    expect([...a.order, ...b.order]).toEqual([]);
    await expect.poll(() => a.order.includes("stepped") && b.order.includes("stepped")).toBe(true);
    expect(syscalls).toEqual(["write", "fsync"]);
    for (const { order } of [a, b]) {
      expect(order[0]).toBe("durable:sale:OPEN");
      expect(order).toContain("answer:WAIT_SCAN");
    }
  });

  it("a lane's inputs are stepped strictly in order: one that comes while a commit is pending waits for it", async () => {
    const { real, a } = lanes();
    a.runner.feed({
      type: "pos",
      request: { type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 },
      newId: "S1",
    });
    a.runner.feed({ type: "scan", code: WECHAT, attemptId: "A1" });
    a.runner.feed({
      type: "cloudResult",
      attemptId: "A1",
      result: payment({ status: "PAID", amountFen: 100, channelTradeNo: "T1" }),
      answers: "pay",
    });
    expect(a.order).toEqual([]);
    await expect.poll(() => a.order.includes("answer:PAID")).toBe(true);
    const at = (e: string) => a.order.indexOf(e);
    expect(at("answer:WAIT_SCAN")).toBeLessThan(at("pay:A1"));
    expect(at("durable:attempt:sent")).toBeLessThan(at("pay:A1"));
    expect(at("pay:A1")).toBeLessThan(at("durable:attempt:paid"));
    expect(at("durable:sale:PAID")).toBeLessThan(at("answer:PAID"));
    expect(real.sale("l1", "ORD1")?.status).toBe("PAID");
    expect(a.runner.state.current).toBeNull();
  });

  it("an input fed as a function is made when its turn comes, from the state the commits before it left", async () => {
    const { a } = lanes();
    a.runner.feed({
      type: "pos",
      request: { type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 },
      newId: "S1",
    });
    let sawOpen: string | undefined;
    a.runner.feed(() => {
      sawOpen = a.runner.state.current?.record.orderRef;
      return { type: "scan", code: WECHAT, attemptId: "A1" };
    });
    expect(sawOpen).toBeUndefined(); // not made yet: the sale's step is committing
    await expect.poll(() => a.order.includes("pay:A1")).toBe(true);
    expect(sawOpen).toBe("ORD1");
  });

  it("a commit that fails leaves the machine where it was and holds the result until the journal is back", async () => {
    const clock = new ManualClock();
    const log = pino({ level: "silent" });
    let failing = false;
    const real = Journal.open({ dir: mkdtempSync(join(tmpdir(), "pb-runner-gc-")), clock, log });
    const order: string[] = [];
    const journal = watchedJournal(real, { log: order, groupCommit: true, failOn: () => failing });
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
      port: {
        answer: (a) => order.push(`answer:${a.type === "result" ? a.status : a.type}`),
        display: () => {},
        pay: () => ({ ok: true }),
        send: () => {},
        event: () => {},
        stepped: () => order.push("stepped"),
      },
    });
    runner.feed({
      type: "pos",
      request: { type: "sale", seq: "01", orderRef: "ORD1", amountFen: 100 },
      newId: "S1",
    });
    runner.feed({ type: "scan", code: WECHAT, attemptId: "A1" });
    await expect.poll(() => real.attempt("A1")?.phase).toBe("sent");
    await expect.poll(() => runner.state.current?.attempt?.phase).toBe("sent");
    const before = runner.state.current;
    failing = true;
    order.length = 0;
    runner.feed({
      type: "cloudResult",
      attemptId: "A1",
      result: payment({ status: "PAID", amountFen: 100, channelTradeNo: "T1" }),
      answers: "pay",
    });
    await expect.poll(() => runner.heldInputs).toBe(1);
    expect(order.filter((c) => c.startsWith("answer:"))).toEqual([]);
    expect(runner.state.current).toEqual(before);
    expect(runner.state.journalFault).toBe("full");
    failing = false;
    runner.setJournalHealth(null, "restored");
    await expect.poll(() => order.includes("answer:PAID")).toBe(true);
    expect(order.indexOf("durable:sale:PAID")).toBeLessThan(order.indexOf("answer:PAID"));
    expect(runner.heldInputs).toBe(0);
  });
});
