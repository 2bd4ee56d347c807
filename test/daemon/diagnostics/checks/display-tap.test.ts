// The display-tap doctor check and the devices line of a lane in no-integration mode: what the
// daemon reads the register's display line at (configured or detected), what it shows, and the
// warning with its fix while detection has not placed the line.
import { describe, expect, it } from "vitest";
import type { DoctorContext } from "../../../../daemon/diagnostics/checks/check.js";
import { displayTapCheck } from "../../../../daemon/diagnostics/checks/display-tap.js";
import { tapLines } from "../../../../daemon/diagnostics/devices.js";
import type { TapSnapshot } from "../../../../daemon/diagnostics/snapshot.js";
import { runningDaemon, testConfig } from "../doctor-harness.js";

const config = testConfig(
  [
    "  - id: lane-1",
    "    displayTap: { mode: listen, path: /dev/ttyUSB0, baudRate: auto, parity: auto }",
    "    scanner: { path: /dev/ttyACM0 }",
  ].join("\n"),
);

function tap(over: Partial<TapSnapshot["detection"]>, reading: TapSnapshot["reading"] = null): TapSnapshot {
  return {
    mode: "listen",
    detection: {
      state: "locked",
      baudRate: 2400,
      parity: "none",
      dialect: "led8-ascii",
      confidence: 0.93,
      reason: "led8-ascii reads 100% of the bytes at this setting",
      tried: 12,
      ...over,
    },
    reading,
    realDisplay: null,
  };
}

function run(t: TapSnapshot) {
  const daemon = runningDaemon({
    lanes: [{ id: "lane-1", devices: { terminal: { state: "CONNECTED", error: "", tap: t } } }],
  });
  return displayTapCheck.run({ config, daemon } as unknown as DoctorContext) as ReturnType<
    typeof displayTapCheck.run
  > &
    { level: string; title: string; fix: string }[];
}

describe("display-tap check", () => {
  it("ok: the line the daemon found, and what the display shows", () => {
    const reading = {
      lamp: "total" as const,
      lines: ["12.50"],
      amountFen: 1250,
      chargeable: true,
      kind: "total",
      standingTotal: { seq: 3, amountFen: 1250 },
    };
    const [f] = run(tap({}, reading));
    expect(f).toMatchObject({ level: "ok", subject: "lane-1 display tap" });
    expect(f?.title).toBe(
      'reads the display line at 2400 baud, parity none, dialect led8-ascii (detected, confidence 0.93); it shows "12.50"',
    );
  });

  it("warns while detecting, and when nothing was found, with what to do", () => {
    const [detecting] = run(
      tap({ state: "detecting", baudRate: null, parity: null, dialect: null, tried: 5 }),
    );
    expect(detecting).toMatchObject({ level: "warn" });
    expect(detecting?.title).toContain("5 setting(s)");
    expect(detecting?.fix).toContain("ring up a sale");
    const [nothing] = run(
      tap({
        state: "nothing",
        reason: "the line was silent (at most 0 bytes at any setting): ring up a sale while listening",
      }),
    );
    expect(nothing).toMatchObject({ level: "warn" });
    expect(nothing?.fix).toContain("posbridge display decode --dialect auto");
  });

  it("posbridge devices shows the tap's line, dialect and decoded display", () => {
    const text = tapLines(
      tap(
        {},
        {
          lamp: "collect",
          lines: ["20.00"],
          amountFen: 2000,
          chargeable: false,
          kind: "tender",
          standingTotal: null,
        },
      ),
      2,
    );
    expect(text).toEqual([
      "  display tap listen: 2400 baud, parity none, dialect led8-ascii, detected (confidence 0.93: led8-ascii reads 100% of the bytes at this setting)",
      '  shows [collect] "20.00" → tender 20.00',
    ]);
  });
});
