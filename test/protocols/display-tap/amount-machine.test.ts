// The amount machine: only a stable total is charged, a tender never, a scan binds to the total
// on the display, and a total that changes between the scan and the send stops the send.
import { describe, expect, it } from "vitest";
import { isDurable } from "../../../protocols/display-tap/amount-effects.js";
import type { AmountEffect } from "../../../protocols/display-tap/amount-effects.js";
import {
  type AmountInput,
  type AmountState,
  amountDueMono,
  initialAmountState,
  standingTotal,
  stepAmount,
} from "../../../protocols/display-tap/amount-machine.js";
import type { Lamp, ScreenEvent } from "../../../protocols/display-tap/screen-event.js";
import { DEFAULT_AMOUNT_RULES, readScreen } from "../../../protocols/display-tap/amount-text.js";
import { formatYuan } from "../../../protocols/payment/amount.js";
import { prng } from "./tap-support.js";

const wire = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function lamp(l: Lamp, number: string): ScreenEvent {
  return {
    type: "update",
    change: "lines",
    screen: { lamp: l, lines: [number] },
    evidence: wire(`${l}:${number}`),
  };
}
function lines(...text: string[]): ScreenEvent {
  return {
    type: "update",
    change: "lines",
    screen: { lamp: null, lines: text },
    evidence: wire(text.join("|")),
  };
}
const total = (n: string) => lamp("total", n);
const clear: ScreenEvent = {
  type: "update",
  change: "clear",
  screen: { lamp: "total", lines: [""] },
  evidence: wire("FF"),
};

/** Runs inputs at given times; returns the final state and every effect with its time. */
function run(script: [number, AmountInput][], state: AmountState = initialAmountState()) {
  const effects: [number, AmountEffect][] = [];
  for (const [at, input] of script) {
    const step = stepAmount(state, input, at);
    state = step.state;
    for (const e of step.effects) effects.push([at, e]);
  }
  return { state, effects, types: effects.map(([, e]) => e.type) };
}

describe("a total is accepted only after it stands for stableMs", () => {
  it("not before, exactly then, with a rising sequence number", () => {
    let state = initialAmountState({ stableMs: 800 });
    state = stepAmount(state, total("12.50"), 1000).state;
    expect(amountDueMono(state)).toBe(1800);
    expect(stepAmount(state, { type: "tick" }, 1799).effects).toEqual([]);
    const at = stepAmount(state, { type: "tick" }, 1800);
    expect(at.effects).toEqual([
      { type: "totalAccepted", seq: 1, amountFen: 1250, screen: { lamp: "total", lines: ["12.50"] } },
    ]);
    expect(standingTotal(at.state)).toEqual({ seq: 1, amountFen: 1250 });
    expect(amountDueMono(at.state)).toBeNull();
  });

  it("a refresh of the same total keeps its clock; anything in between starts it over", () => {
    const refreshed = run([
      [0, total("12.50")],
      [500, total("12.50")],
      [800, { type: "tick" }],
    ]);
    expect(refreshed.types).toEqual(["totalAccepted"]);
    const interrupted = run([
      [0, total("12.50")],
      [500, clear],
      [510, total("12.50")],
      [800, { type: "tick" }],
      [1310, { type: "tick" }],
    ]);
    expect(interrupted.effects).toEqual([[1310, expect.objectContaining({ type: "totalAccepted", seq: 1 })]]);
  });

  it("numbers keep rising across totals and from the journal's last seq", () => {
    const r = run(
      [
        [0, total("12.50")],
        [1000, total("15.00")],
        [2000, { type: "tick" }],
      ],
      initialAmountState({ lastSeq: 41 }),
    );
    expect(r.effects.filter(([, e]) => e.type === "totalAccepted").map(([, e]) => e)).toEqual([
      expect.objectContaining({ seq: 42, amountFen: 1250 }),
      expect.objectContaining({ seq: 43, amountFen: 1500 }),
    ]);
  });

  it("the lamp-then-number transient (合计 over the last item's price) is never accepted", () => {
    const r = run([
      [0, lamp("price", "3.50")],
      [1000, lamp("total", "3.50")], // the lamp arrived first
      [1003, lamp("total", "12.50")],
      [2000, { type: "tick" }],
    ]);
    expect(r.effects.map(([, e]) => e)).toEqual([
      expect.objectContaining({ type: "totalAccepted", amountFen: 1250 }),
    ]);
  });

  it("options are checked: a TypeError names the option", () => {
    expect(() => initialAmountState({ stableMs: 50 })).toThrow(/stableMs/);
    expect(() => initialAmountState({ maxAmountFen: 0 })).toThrow(/maxAmountFen/);
    expect(() => initialAmountState({ lastSeq: -1 })).toThrow(/lastSeq/);
    expect(() => initialAmountState({ rules: { total: [] } })).toThrow(/total/);
  });
});

describe("only a total is charged", () => {
  it.each<[string, ScreenEvent, string]>([
    ["nothing shown yet", { type: "discarded", length: 3, reason: "noise" }, "noTotal"],
    ["a unit price", lamp("price", "3.50"), "price"],
    ["cash received (收款)", lamp("collect", "20.00"), "tender"],
    ["change (找零)", lamp("change", "7.50"), "tender"],
    ["找零 on a text display", lines("合计 12.50", "找零 7.50"), "tender"],
    ["a bare number", lamp("off", "12.50"), "noTotal"],
    ["a zero total", total("0.00"), "noTotal"],
    ["a total above the maximum", total("2000.00"), "overMax"],
    ["a total that cannot be read", total("12.505"), "unreadable"],
  ])("a scan over %s is refused (%s) and nothing is bound", (_what, shown, reason) => {
    const r = run(
      [
        [0, shown],
        [5000, { type: "scan" }],
      ],
      initialAmountState({ maxAmountFen: 100_000 }),
    );
    expect(r.types).toEqual(["scanRefused"]);
    expect(r.effects[0]?.[1]).toMatchObject({ type: "scanRefused", reason });
    expect(r.state.bound).toBeNull();
  });

  it("a scan binds to the accepted total: durable, with source, seq, amount and the wire bytes", () => {
    const r = run([
      [0, total("12.50")],
      [900, { type: "scan" }],
    ]);
    // Durable first: the binding is journaled before anything else of the step.
    expect(r.types).toEqual(["bound", "totalAccepted"]);
    const bound = r.effects.find(([, e]) => e.type === "bound")?.[1];
    expect(bound).toEqual({
      type: "bound",
      binding: {
        source: "displayTap",
        seq: 1,
        amountFen: 1250,
        screen: { lamp: "total", lines: ["12.50"] },
        evidence: wire("total:12.50"),
        shownMono: 0,
        acceptedMono: 800,
        boundMono: 900,
      },
    });
    expect(isDurable(bound as AmountEffect)).toBe(true);
  });

  it("a scan while the total settles waits for it, and binds when it stands", () => {
    const r = run([
      [0, total("12.50")],
      [300, { type: "scan" }],
      [800, { type: "tick" }],
    ]);
    expect(r.effects.map(([at, e]) => [at, e.type])).toEqual([
      [300, "scanWaiting"],
      // Durable first: the binding is journaled before anything else of the step.
      [800, "bound"],
      [800, "totalAccepted"],
    ]);
    expect(r.effects[0]?.[1]).toEqual({ type: "scanWaiting", amountFen: 1250, dueMono: 800 });
  });

  it("a waiting scan is refused when the total changes before it stands", () => {
    const r = run([
      [0, total("12.50")],
      [300, { type: "scan" }],
      [400, total("13.50")],
      [2000, { type: "tick" }],
    ]);
    expect(r.types).toEqual(["scanWaiting", "scanRefused", "totalAccepted"]);
    expect(r.effects[1]?.[1]).toEqual({ type: "scanRefused", reason: "changed", amountFen: 1250 });
    expect(r.state.bound).toBeNull();
  });
});

describe("a total cleared before the scan", () => {
  it("is withdrawn, and the scan is refused", () => {
    const r = run([
      [0, total("12.50")],
      [1000, { type: "tick" }],
      [2000, clear],
      [2100, { type: "scan" }],
    ]);
    expect(r.types).toEqual(["totalAccepted", "totalWithdrawn", "scanRefused"]);
    expect(r.effects[1]?.[1]).toEqual({ type: "totalWithdrawn", seq: 1, amountFen: 1250, now: "blank" });
    expect(r.effects[2]?.[1]).toMatchObject({ reason: "noTotal" });
    expect(standingTotal(r.state)).toBeNull();
  });
});

describe("a total changed between the scan and the send", () => {
  it("voids the binding (durable, first), refuses the send, and the new total needs a new scan", () => {
    const r = run([
      [0, total("12.50")],
      [900, { type: "scan" }],
      [950, total("15.00")],
      [960, { type: "send", seq: 1 }],
      [1800, { type: "tick" }],
      [1900, { type: "scan" }],
      [1910, { type: "send", seq: 2 }],
    ]);
    expect(r.effects.map(([at, e]) => [at, e.type])).toEqual([
      [900, "bound"],
      [900, "totalAccepted"],
      [950, "totalChanged"],
      [950, "totalWithdrawn"],
      [960, "sendRefused"],
      [1800, "totalAccepted"],
      [1900, "bound"],
      [1910, "sendApproved"],
    ]);
    expect(r.effects[2]?.[1]).toEqual({
      type: "totalChanged",
      seq: 1,
      amountFen: 1250,
      newAmountFen: 1500,
      now: "total",
    });
    expect(isDurable(r.effects[2]?.[1] as AmountEffect)).toBe(true);
    expect(r.effects.at(-1)?.[1]).toEqual({ type: "sendApproved", seq: 2, amountFen: 1500 });
  });

  it("a tender or clear after the scan voids it too, with no new amount", () => {
    for (const after of [lamp("collect", "20.00"), clear]) {
      const r = run([
        [0, total("12.50")],
        [900, { type: "scan" }],
        [950, after],
        [960, { type: "send", seq: 1 }],
      ]);
      expect(r.effects[2]?.[1]).toMatchObject({ type: "totalChanged", seq: 1, newAmountFen: null });
      expect(r.types.at(-1)).toBe("sendRefused");
    }
  });

  it("a refresh of the same total after the scan changes nothing: the send goes", () => {
    const r = run([
      [0, total("12.50")],
      [900, { type: "scan" }],
      [950, total("12.50")],
      [960, { type: "send", seq: 1 }],
    ]);
    expect(r.types).toEqual(["bound", "totalAccepted", "sendApproved"]);
  });
});

describe("a sent total is spent", () => {
  it("a second scan on the same standing total is refused until it is released or replaced", () => {
    const r = run([
      [0, total("12.50")],
      [900, { type: "scan" }],
      [910, { type: "send", seq: 1 }],
      [5000, { type: "scan" }],
      [5100, { type: "release", seq: 1 }],
      [5200, { type: "scan" }],
    ]);
    expect(r.types).toEqual(["bound", "totalAccepted", "sendApproved", "scanRefused", "bound"]);
    expect(r.effects[3]?.[1]).toEqual({ type: "scanRefused", reason: "spent", amountFen: 1250 });
  });

  it("one binding at a time: a second scan is busy; a send for another seq is refused", () => {
    const r = run([
      [0, total("12.50")],
      [900, { type: "scan" }],
      [905, { type: "scan" }],
      [910, { type: "send", seq: 7 }],
    ]);
    expect(r.types).toEqual(["bound", "totalAccepted", "scanRefused", "sendRefused"]);
    expect(r.effects[2]?.[1]).toMatchObject({ reason: "busy" });
    expect(r.state.bound?.seq).toBe(1);
  });
});

describe("no sequence with 收款/找零 ever charges", () => {
  // Random interleavings of what registers show and what cashiers and customers do. The model: a
  // bind or an approved send happens only while the display shows, unchanged for stableMs (for a
  // bind), a chargeable total of that amount — never while a tender is shown. Effects of a step are
  // judged against the display before the step's input: the machine first settles what stood
  // until now, then applies the input (a binding made so and voided by the same input comes with
  // its totalChanged in the same step).
  it("holds over 3000 random sessions", () => {
    const random = prng(99);
    const pool: ScreenEvent[] = [
      total("12.50"),
      total("15.00"),
      total("0.00"),
      lamp("price", "3.50"),
      lamp("collect", "20.00"),
      lamp("change", "7.50"),
      lamp("off", "12.50"),
      clear,
      lines("合计 12.50"),
      lines("合计 12.50", "找零 7.50"),
      lines("实收 20.00"),
      lines("TOTAL", "15.00"),
      lines("CASH 20.00"),
    ];
    let binds = 0;
    let sends = 0;
    for (let session = 0; session < 3000; session++) {
      let state = initialAmountState({ stableMs: 800 });
      let now = 0;
      let shown: ScreenEvent | null = null;
      let since = 0;
      for (let n = 0; n < 40; n++) {
        now += Math.floor(random() * 700);
        const r = random();
        let input: AmountInput;
        if (r < 0.45) input = pool[Math.floor(random() * pool.length)] as ScreenEvent;
        else if (r < 0.7) input = { type: "scan" };
        else if (r < 0.9) input = { type: "send", seq: state.bound?.seq ?? 1 + Math.floor(random() * 3) };
        else if (r < 0.95) input = { type: "release", seq: state.spentSeq ?? 1 };
        else input = { type: "tick" };
        const step = stepAmount(state, input, now);
        const text = shown?.type === "update" ? JSON.stringify(shown.screen) : "";
        for (const e of step.effects) {
          if (e.type !== "bound" && e.type !== "sendApproved") continue;
          const amount = e.type === "bound" ? e.binding.amountFen : e.amountFen;
          if (e.type === "bound") binds++;
          else sends++;
          expect(text).not.toMatch(/collect|change|找零|实收|CASH/);
          expect(/"lamp":"total"|合计|TOTAL/.test(text)).toBe(true);
          expect(text).toContain(formatYuan(amount));
          expect(amount).toBeGreaterThan(0);
          if (e.type === "bound") expect(now - since).toBeGreaterThanOrEqual(800);
        }
        if (input.type === "update") {
          const before = shown?.type === "update" ? readScreen(shown.screen, DEFAULT_AMOUNT_RULES) : null;
          const after = readScreen(input.screen, DEFAULT_AMOUNT_RULES);
          const same =
            before?.kind === "total" && after.kind === "total" && before.amountFen === after.amountFen;
          if (!same || (after.amountFen ?? 0) === 0) since = now;
          shown = input;
        }
        state = step.state;
      }
    }
    // The sessions did bind and send: the property was not vacuous.
    expect(binds).toBeGreaterThan(100);
    expect(sends).toBeGreaterThan(50);
  });
});
