// The journal check: unsettled attempts, refunds and contradicted sales listed with ids, amounts
// and masked codes only; the daemon's journal fault; an unreadable journal; a long list capped.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { journalCheck, MAX_LISTED } from "../../../../daemon/diagnostics/checks/journal.js";
import { attemptRecord, refundRecord, saleRecord, writeJournal } from "../../../support/journal-records.js";
import { type FakeSystem, fakeSystem } from "../fake-system.js";
import { findingsOf, harness, lines, runningDaemon, testConfig } from "../doctor-harness.js";

const LANES = "  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n";
const FULL_CODE = "134567890123456789";

describe("journal", () => {
  let sys: FakeSystem;
  let dir: string;
  const config = () => testConfig(LANES, `stateDir: ${dir}\n`);
  beforeEach(() => {
    sys = fakeSystem();
    dir = join(sys.roots.run, "state");
  });

  it("nothing unsettled: one ok line; no file yet: says so", async () => {
    expect(lines(await findingsOf(journalCheck, harness(sys, { config: config() }).input))).toEqual([
      `ok journal: no journal at ${dir}/journal.log yet (nothing was sold with this stateDir)`,
    ]);
    writeJournal(dir, [attemptRecord("P1"), saleRecord("P1")]);
    expect(lines(await findingsOf(journalCheck, harness(sys, { config: config() }).input))).toEqual([
      `ok journal: ${dir}/journal.log: 2 records, nothing unsettled`,
    ]);
  });

  it("lists unsettled attempts, refunds and sales the cloud contradicted, with masked codes only", async () => {
    writeJournal(dir, [
      attemptRecord("U1", {
        phase: "unknown",
        reason: "noAnswer",
        amountFen: 1234,
        maskedCode: "WECHAT…6789",
        paidAmountFen: null,
      }),
      saleRecord("U1", { status: "OPEN", amountFen: 1234, endedAt: null }),
      attemptRecord("G1", {
        phase: "unresolved",
        reason: "reverseExhausted",
        maskedCode: "ALIPAY…4242",
        paidAmountFen: null,
      }),
      saleRecord("G1", { status: "UNKNOWN" }),
      saleRecord("C1", {
        status: "CANCELLED",
        attention: "paidAfterReversal",
        attentionAt: Date.parse("2026-03-14T04:10:00Z"),
      }),
      saleRecord("K1", { status: "UNKNOWN", attemptId: "AK1" }),
      attemptRecord("K1", { phase: "cancelled", reason: "orderAlreadyPaid" }),
      refundRecord("R1", "P9", { phase: "requested", amountFen: 500 }),
    ]);
    const f = await findingsOf(journalCheck, harness(sys, { config: config() }).input);
    expect(lines(f)).toEqual([
      "warn l1 journal: attempt AU1: order U1, 12.34 yuan, WECHAT…6789: unknown (noAnswer) since 2026-03-14T04:00:00Z",
      "error l1 journal: attempt AG1: order G1, 1.00 yuan, ALIPAY…4242: unresolved (reverseExhausted) since 2026-03-14T04:00:00Z",
      "error l1 journal: sale C1: 1.00 yuan, the cloud contradicted itself (paidAfterReversal) since 2026-03-14T04:10:00Z",
      "warn l1 journal: sale K1: 1.00 yuan, outcome UNKNOWN since 2026-03-14T04:00:05Z",
      "warn l1 journal: refund R1: order P9, 5.00 yuan: requested since 2026-03-14T04:01:00Z",
    ]);
    expect(f[0]?.fix).toBe(
      "start the daemon: it resumes querying it at start; until then whether the customer paid is not known",
    );
    expect(f[1]?.fix).toContain("check this payment with the payment cloud or back office (attempt AG1)");
    expect(f[2]?.code).toBe("PB_CLOUD_CONTRADICTION");
    expect(JSON.stringify(f)).not.toContain(FULL_CODE);
    const running = await findingsOf(
      journalCheck,
      harness(sys, { config: config(), daemon: runningDaemon() }).input,
    );
    expect(running[0]?.fix).toContain("the bridge is resolving it");
  });

  it("caps the list at MAX_LISTED lines and counts the rest", async () => {
    writeJournal(
      dir,
      Array.from({ length: MAX_LISTED + 5 }, (_, i) =>
        attemptRecord(`O${i}`, { phase: "unknown", paidAmountFen: null }),
      ),
    );
    const f = await findingsOf(journalCheck, harness(sys, { config: config() }).input);
    expect(f).toHaveLength(MAX_LISTED + 1);
    expect(f.at(-1)?.title).toBe("… and 5 more unsettled");
  });

  it("the daemon's journal fault; an unreadable journal; damaged lines", async () => {
    writeJournal(dir, [saleRecord("P1")]);
    const fault = await findingsOf(
      journalCheck,
      harness(sys, { config: config(), daemon: runningDaemon({ journal: { fault: "full" } }) }).input,
    );
    expect(fault[0]).toMatchObject({
      level: "error",
      code: "PB_JOURNAL_WRITE",
      title: "the daemon cannot write its journal: its filesystem is full (full); every sale is refused",
    });
    writeFileSync(join(dir, "journal.log"), `${"x".repeat(10)}\nnot a journal line\n`, { flag: "a" });
    const damaged = await findingsOf(journalCheck, harness(sys, { config: config() }).input);
    expect(lines(damaged)).toContain(`warn journal: 2 damaged lines in ${dir}/journal.log skipped`);
    const other = join(sys.roots.run, "other");
    mkdirSync(join(other, "journal.log"), { recursive: true });
    dir = other;
    expect(await findingsOf(journalCheck, harness(sys, { config: config() }).input)).toMatchObject([
      {
        level: "error",
        code: "PB_JOURNAL_CORRUPT",
        title: expect.stringMatching(/^journal: cannot read .*journal\.log: EISDIR/),
      },
    ]);
  });
});
