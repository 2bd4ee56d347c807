// Which journal transitions are audit entries: the register's refunds and their ends, a cashier's
// cancel that changed something, reversals sent and ended. Ordinary sales, resends and repeats
// are not. And the config hash: the same settings give the same hash; the secrets never count.
import { describe, expect, it } from "vitest";
import { type AuditCause, auditEntriesOf } from "../../../daemon/audit/audit-derive.js";
import { canonicalJson, configHash } from "../../../daemon/audit/config-hash.js";
import type { Config } from "../../../daemon/config/config-types.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import type { AttemptRecord, RefundRecord, SaleRecord } from "../../../protocols/sale/records.js";

const T0 = 1_760_000_000_000;
const timer: AuditCause = { input: "timer" };
const pos = (type: string, orderRef = "O1", seq = "07"): AuditCause => ({
  input: "pos",
  request: { type, seq, orderRef },
});

const sale = (over: Partial<SaleRecord> = {}): SaleRecord => ({
  kind: "sale",
  laneId: "l1",
  orderRef: "O1",
  amountFen: 1234,
  seq: "01",
  openedAt: T0,
  status: "OPEN",
  answered: false,
  scheme: null,
  channelTradeNo: "",
  attemptId: null,
  attempts: 0,
  text: "",
  endedAt: null,
  attention: "",
  attentionAt: null,
  training: false,
  updatedAt: T0,
  ...over,
});

const attempt = (over: Partial<AttemptRecord> = {}): AttemptRecord => ({
  kind: "attempt",
  attemptId: "A1",
  laneId: "l1",
  orderRef: "O1",
  amountFen: 1234,
  scheme: "WECHAT",
  maskedCode: "WECHAT…6789",
  createdAt: T0,
  deadlineMs: T0 + 60_000,
  sentAt: T0,
  boot: "b",
  scannedMono: 0,
  sentMono: 0,
  phase: "sent",
  reason: "",
  reasonCode: "",
  channelTradeNo: "",
  paidAmountFen: null,
  queries: 0,
  reversals: 0,
  latePaidAmountFen: null,
  lateTradeNo: "",
  latePaidAt: null,
  nextDueMono: 5000,
  training: false,
  updatedAt: T0,
  ...over,
});

const refund = (over: Partial<RefundRecord> = {}): RefundRecord => ({
  kind: "refund",
  refundId: "R1",
  refundRef: "RF1",
  laneId: "l1",
  orderRef: "O1",
  attemptId: "A1",
  amountFen: 100,
  seq: "02",
  phase: "requested",
  reasonCode: "",
  sends: 1,
  answered: false,
  requestedAt: T0,
  boot: "b",
  requestedMono: 0,
  nextDueMono: 5000,
  updatedAt: T0,
  ...over,
});

describe("auditEntriesOf", () => {
  it("an ordinary sale, paid, is no audit entry", () => {
    expect(
      auditEntriesOf("l1", pos("sale"), [
        { record: sale(), before: undefined },
        { record: attempt({ phase: "paid" }), before: attempt() },
        { record: sale({ status: "PAID" }), before: sale() },
      ]),
    ).toEqual([]);
  });

  it("a refund: the register's RF is a request (again when repeated), the bridge's resends are not, each new end is one", () => {
    const r = refund();
    expect(auditEntriesOf("l1", pos("refund", "O1", "02"), [{ record: r, before: undefined }])).toEqual([
      {
        type: "refundRequested",
        laneId: "l1",
        orderRef: "O1",
        refundRef: "RF1",
        refundId: "R1",
        attemptId: "A1",
        amountFen: 100,
        again: false,
      },
    ]);
    expect(auditEntriesOf("l1", timer, [{ record: refund({ sends: 2 }), before: r }])).toEqual([]);
    const unknown = refund({ phase: "unknown", answered: true });
    expect(auditEntriesOf("l1", timer, [{ record: unknown, before: r }])).toMatchObject([
      { type: "refundEnded", phase: "unknown" },
    ]);
    expect(auditEntriesOf("l1", timer, [{ record: { ...unknown, sends: 3 }, before: unknown }])).toEqual([]);
    expect(
      auditEntriesOf("l1", pos("refund", "O1", "03"), [
        { record: { ...unknown, sends: 4 }, before: unknown },
      ]),
    ).toMatchObject([{ type: "refundRequested", again: true }]);
    expect(
      auditEntriesOf("l1", { input: "refundResult" }, [
        { record: refund({ phase: "refunded", reasonCode: "" }), before: unknown },
      ]),
    ).toMatchObject([{ type: "refundEnded", phase: "refunded", amountFen: 100 }]);
  });

  it("a cashier's cancel: of a sale waiting for a scan, of an attempt in flight (with the reversal it sends)", () => {
    expect(
      auditEntriesOf("l1", pos("cancel", "O1", "09"), [
        { record: sale({ status: "CANCELLED" }), before: sale() },
      ]),
    ).toEqual([
      { type: "cashierCancel", laneId: "l1", orderRef: "O1", requestSeq: "09", outcome: "sale CANCELLED" },
    ]);
    const reversing = attempt({ phase: "reversing", reason: "cashierCancel", reversals: 1 });
    expect(auditEntriesOf("l1", pos("cancel"), [{ record: reversing, before: attempt() }])).toEqual([
      {
        type: "cashierCancel",
        laneId: "l1",
        orderRef: "O1",
        requestSeq: "07",
        outcome: "reversal of attempt A1 requested",
      },
      {
        type: "reversalSent",
        laneId: "l1",
        orderRef: "O1",
        attemptId: "A1",
        amountFen: 1234,
        why: "cashierCancel",
      },
    ]);
    // A CA for an order that changed nothing in the journal (already ended) is no act.
    expect(auditEntriesOf("l1", pos("cancel", "O2"), [])).toEqual([]);
  });

  it("a reversal at the deadline, repeated, then its end (cancelled, or unresolved when the budget runs out)", () => {
    const unknown = attempt({ phase: "unknown" });
    const reversing = attempt({ phase: "reversing", reason: "deadline", reversals: 1 });
    expect(auditEntriesOf("l1", timer, [{ record: reversing, before: unknown }])).toMatchObject([
      { type: "reversalSent", why: "deadline" },
    ]);
    expect(
      auditEntriesOf("l1", timer, [{ record: { ...reversing, reversals: 2 }, before: reversing }]),
    ).toEqual([]);
    expect(
      auditEntriesOf("l1", { input: "cloudResult" }, [
        { record: attempt({ phase: "cancelled", reason: "reversed" }), before: reversing },
      ]),
    ).toMatchObject([{ type: "reversalEnded", phase: "cancelled", reason: "reversed" }]);
    const unresolved = attempt({ phase: "unresolved", reason: "reverseExhausted" });
    expect(auditEntriesOf("l1", timer, [{ record: unresolved, before: reversing }])).toMatchObject([
      { type: "reversalEnded", phase: "unresolved" },
    ]);
    expect(
      auditEntriesOf("l1", { input: "cloudResult" }, [
        { record: attempt({ phase: "paid", reason: "paidDespiteReverse" }), before: unresolved },
      ]),
    ).toMatchObject([{ type: "reversalEnded", phase: "paid", reason: "paidDespiteReverse" }]);
  });
});

describe("configHash", () => {
  const base = () =>
    loadConfig({
      path: "inline.yaml",
      readFile: () => `store: S1
bridge: PC1
mqtt: { url: "mqtts://broker:8883", username: bridge, password: s3cret-pw }
lanes:
  - id: lane1
    terminal: { path: /dev/ttyS0 }
    scanner: { path: /dev/ttyS1 }
`,
      env: {},
    });

  it("is the same for the same settings, changes with a setting, never with the password", () => {
    const a = base();
    expect(configHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(base())).toBe(configHash(a));
    const otherPassword: Config = { ...a, mqtt: { ...a.mqtt, password: "another" } };
    expect(configHash(otherPassword)).toBe(configHash(a));
    const otherTimeout: Config = { ...a, sale: { ...a.sale, firstQueryMs: a.sale.firstQueryMs + 1 } };
    expect(configHash(otherTimeout)).not.toBe(configHash(a));
  });

  it("is over canonical JSON: key order does not matter", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: { d: [2, 1] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [2, 1] } }));
  });
});
