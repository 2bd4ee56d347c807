// What a sale event does beyond the machine: its counter, its fleet event, its log line (held
// back as a repeat only for junk, never for what matters for money).
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { SaleEventKind } from "../../../protocols/sale/sale-types.js";
import { ManualClock } from "../../../daemon/clock.js";
import { newLaneCounters } from "../../../daemon/lanes/lane-describe.js";
import { repeatKey, reportSaleEvent, type SaleEvent } from "../../../daemon/lanes/sale-events.js";
import { RepeatLimiter } from "../../../daemon/log/repeat-limiter.js";

function sinks() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const fleet: { kind: string; detail: string }[] = [];
  const counters = newLaneCounters();
  const to = {
    log,
    repeats: new RepeatLimiter(log, new ManualClock()),
    counters,
    onEvent: (kind: string, detail: string) => fleet.push({ kind, detail }),
  };
  return { to, lines, fleet, counters };
}

const event = (kind: SaleEventKind, level: SaleEvent["level"] = "warn"): SaleEvent => ({
  type: "event",
  kind,
  detail: `${kind} happened`,
  level,
});

describe("sale events", () => {
  it("never holds back a sale event that matters for money", () => {
    for (const kind of [
      "saleStarted",
      "saleEnded",
      "attemptSubmitted",
      "attemptFailed",
      "attemptResolved",
      "amountMismatch",
      "notFound",
      "recovered",
      "refundEnded",
      "journalFault",
    ] as const) {
      expect(repeatKey(kind, "pos")).toBeUndefined();
      expect(repeatKey(kind, "cloudResult")).toBeUndefined();
      expect(repeatKey(kind, "timer")).toBeUndefined();
    }
    expect(repeatKey("saleRejected", "pos")).toBeUndefined(); // a real request refused
    expect(repeatKey("saleRejected", "badRequest")).toBe("badRequest"); // a frame that means nothing
    expect(repeatKey("scanIgnored", "scan")).toBe("scanIgnored");
  });

  it("an alarm counts, reaches the fleet as an alarm and is logged every time", () => {
    const s = sinks();
    for (const kind of ["amountMismatch", "latePaid", "orderAlreadyPaid", "latePaid"] as const)
      reportSaleEvent(event(kind, "error"), "cloudResult", s.to);
    expect(s.counters.alarms).toBe(4);
    expect(s.fleet.map((f) => f.kind)).toEqual(["alarm", "alarm", "alarm", "alarm"]);
    expect(s.fleet[0]?.detail).toBe("amountMismatch happened");
    expect(s.lines.map((l) => l.event)).toEqual([
      "amountMismatch",
      "latePaid",
      "orderAlreadyPaid",
      "latePaid",
    ]);
    // The cloud contradicting its own final answer carries the code a technician greps for.
    expect(s.lines.map((l) => l.errCode)).toEqual([
      undefined,
      "PB_CLOUD_CONTRADICTION",
      undefined,
      "PB_CLOUD_CONTRADICTION",
    ]);
  });

  it("a resolved attempt and a recovery reach the fleet under their own kind and count nowhere", () => {
    const s = sinks();
    reportSaleEvent(event("attemptResolved", "info"), "cloudResult", s.to);
    reportSaleEvent(event("recovered", "info"), "recover", s.to);
    reportSaleEvent(event("saleStarted", "info"), "pos", s.to);
    expect(s.fleet.map((f) => f.kind)).toEqual(["attemptResolved", "recovered"]);
    expect(s.counters).toEqual(newLaneCounters());
    expect(s.lines).toHaveLength(3);
  });

  it("junk counts every time and logs once; the code read ends it, saying how much there was", () => {
    const s = sinks();
    for (let i = 0; i < 5; i++) reportSaleEvent(event("scanIgnored"), "scan", s.to);
    reportSaleEvent(event("resultIgnored", "info"), "cloudResult", s.to);
    expect(s.counters).toMatchObject({ scansIgnored: 5, resultsIgnored: 1 });
    expect(s.lines.filter((l) => l.event === "scanIgnored")).toHaveLength(1);
    reportSaleEvent(event("attemptSubmitted", "info"), "scan", s.to);
    expect(s.lines.map((l) => [l.event, l.repeated])).toEqual([
      ["scanIgnored", undefined],
      ["resultIgnored", undefined],
      ["scanIgnored", 4],
      ["attemptSubmitted", undefined],
    ]);
    expect(s.fleet).toEqual([]);
  });
});
