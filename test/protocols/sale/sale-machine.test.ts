import { describe, expect, it } from "vitest";
import type { PaymentResult } from "../../../protocols/cloud/cloud-messages.js";
import { DEFAULT_SCHEME_RULES } from "../../../protocols/payment/classify-code.js";
import type { PosAnswer, PosRequest } from "../../../protocols/pos/pos-messages.js";
import { initialSaleState, laneState, saleStep } from "../../../protocols/sale/sale-machine.js";
import type {
  LaneSaleState,
  SaleEffect,
  SaleInput,
  SaleSettings,
} from "../../../protocols/sale/sale-types.js";

const settings: SaleSettings = {
  scanTimeoutMs: 60_000,
  resultTimeoutMs: 30_000,
  codeLifetimeMs: 60_000,
  maxAmountFen: 10_000_000,
  schemes: DEFAULT_SCHEME_RULES,
  resultDisplayMs: 5_000,
  recentLimit: 3,
};
const WECHAT = "134567890123456789";
const T0 = 1_000_000;

/** Drives the machine through inputs, collecting every effect. */
function run(inputs: SaleInput[], state: LaneSaleState = initialSaleState(true), now = T0) {
  const effects: SaleEffect[] = [];
  for (const input of inputs) {
    const step = saleStep(settings, state, input, now);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}
const pos = (request: PosRequest): SaleInput => ({ type: "pos", request });
const sale = (seq: string, orderRef: string, amountFen: number) =>
  pos({ type: "sale", seq, orderRef, amountFen });
const scan = (code: string, attemptId = "ATTEMPT01"): SaleInput => ({ type: "scan", code, attemptId });
const paid = (amountFen: number, attemptId = "ATTEMPT01"): SaleInput => ({
  type: "cloudResult",
  answers: "pay",
  attemptId,
  result: payment({ status: "PAID", amountFen, channelTradeNo: "4200000000000001" }),
});
function payment(p: Partial<PaymentResult>): PaymentResult {
  return {
    type: "payment",
    status: "PAID",
    amountFen: 0,
    scheme: "WECHAT",
    channelTradeNo: "",
    reasonCode: "",
    message: "",
    rescanAllowed: false,
    ...p,
  };
}
const answers = (effects: SaleEffect[]): PosAnswer[] =>
  effects.flatMap((e) => (e.type === "answer" ? [e.answer] : []));
const results = (effects: SaleEffect[]) =>
  answers(effects).filter((a): a is Extract<PosAnswer, { type: "result" }> => a.type === "result");
const stages = (effects: SaleEffect[]) =>
  answers(effects).flatMap((a) => (a.type === "progress" ? [a.stage] : []));
const views = (effects: SaleEffect[]) => effects.flatMap((e) => (e.type === "display" ? [e.view.type] : []));

describe("sale machine", () => {
  it("walks the happy path: SA → WAIT_SCAN → scan → pay request → SUBMITTED → PAID", () => {
    const { state, effects } = run([sale("01", "ORD123", 1234), scan(WECHAT), paid(1234)]);
    expect(stages(effects)).toEqual(["WAIT_SCAN", "SUBMITTED"]);
    const pay = effects.find((e) => e.type === "pay");
    expect(pay).toMatchObject({
      type: "pay",
      command: {
        attemptId: "ATTEMPT01",
        orderRef: "ORD123",
        amountFen: 1234,
        authCode: WECHAT,
        scheme: "WECHAT",
        deadlineMs: T0 + 60_000,
      },
    });
    expect(results(effects)).toEqual([
      {
        type: "result",
        seq: "01",
        orderRef: "ORD123",
        status: "PAID",
        amountFen: 1234,
        scheme: "WECHAT",
        channelTradeNo: "4200000000000001",
        text: "支付成功",
      },
    ]);
    expect(views(effects)).toEqual(["amountDue", "processing", "paid"]);
    expect(state.current).toBeNull();
    expect(laneState(state)).toBe("IDLE");
  });

  it("keeps the code out of its state and out of event details", () => {
    const { state, effects } = run([sale("01", "ORD1", 100), scan(WECHAT)]);
    expect(JSON.stringify(state)).not.toContain(WECHAT);
    const details = effects.flatMap((e) => (e.type === "event" ? [e.detail] : []));
    expect(details.join(" ")).not.toContain(WECHAT);
    expect(state.current?.attempt?.maskedCode).toContain("6789");
  });

  it("refuses a sale while the cloud is offline, with a clear text", () => {
    const { state, effects } = run([sale("01", "ORD1", 100)], initialSaleState(false));
    expect(results(effects)[0]).toMatchObject({ status: "REJECTED", seq: "01" });
    expect(results(effects)[0]?.text).toContain("离线");
    expect(state.current).toBeNull();
  });

  it("WAITING_CUSTOMER keeps the attempt open and says so once", () => {
    const waiting: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({ status: "WAITING_CUSTOMER", reasonCode: "USERPAYING" }),
    };
    const { state, effects } = run([sale("01", "ORD1", 2577), scan(WECHAT), waiting, waiting]);
    expect(stages(effects)).toEqual(["WAIT_SCAN", "SUBMITTED", "WAIT_CUSTOMER"]);
    expect(effects.filter((e) => e.type === "pay")).toHaveLength(1);
    expect(laneState(state)).toBe("WAIT_CUSTOMER");
    const after = run([paid(2577)], state);
    expect(results(after.effects)[0]?.status).toBe("PAID");
  });

  it("a cloud that keeps saying WAITING cannot hold the lane past the code's life plus a result timeout", () => {
    const waiting: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({ status: "WAITING_CUSTOMER", reasonCode: "USERPAYING" }),
    };
    let { state } = run([sale("01", "ORD1", 100), scan(WECHAT)]);
    let lastArm = 0;
    for (const t of [T0 + 20_000, T0 + 40_000, T0 + 60_000, T0 + 80_000]) {
      const step = saleStep(settings, state, waiting, t);
      state = step.state;
      for (const e of step.effects) if (e.type === "armTimer" && e.name === "result") lastArm = e.at;
    }
    expect(lastArm).toBe(T0 + 60_000 + 30_000);
  });

  it("a failure that allows a rescan waits for a new scan, which gets a new attempt id", () => {
    const failed: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({ status: "FAILED", reasonCode: "AUTHCODEEXPIRE", rescanAllowed: true }),
    };
    const { state, effects } = run([
      sale("01", "ORD1", 500),
      scan(WECHAT),
      failed,
      scan("134567890123451111", "ATTEMPT02"),
    ]);
    expect(stages(effects)).toEqual(["WAIT_SCAN", "SUBMITTED", "RETRY_SCAN", "SUBMITTED"]);
    const pays = effects.flatMap((e) => (e.type === "pay" ? [e.command.attemptId] : []));
    expect(pays).toEqual(["ATTEMPT01", "ATTEMPT02"]);
    expect(results(effects)).toEqual([]);
    // A late result for the first attempt changes nothing.
    const late = run([paid(500, "ATTEMPT01")], state);
    expect(results(late.effects)).toEqual([]);
    expect(late.effects.some((e) => e.type === "event" && e.kind === "resultIgnored")).toBe(true);
  });

  it("a failure without rescan ends the sale as CANCELLED (no money moved)", () => {
    const failed: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({ status: "FAILED", rescanAllowed: false, message: "商户配置错误" }),
    };
    const { effects } = run([sale("07", "ORD1", 500), scan(WECHAT), failed]);
    expect(results(effects)).toMatchObject([{ seq: "07", status: "CANCELLED" }]);
  });

  it("UNKNOWN ends the sale as 30 and a later QY and SA for it repeat UNKNOWN", () => {
    const unknown: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({ status: "UNKNOWN", reasonCode: "SYSTEMERROR" }),
    };
    const { state, effects } = run([sale("01", "ORD1", 4598), scan(WECHAT), unknown]);
    expect(results(effects)).toMatchObject([{ status: "UNKNOWN", seq: "01" }]);
    const again = run([pos({ type: "query", seq: "02", orderRef: "ORD1" }), sale("03", "ORD1", 4598)], state);
    expect(results(again.effects).map((r) => [r.seq, r.status])).toEqual([
      ["02", "UNKNOWN"],
      ["03", "UNKNOWN"],
    ]);
    expect(again.state.current).toBeNull();
  });

  it("no answer within the result timeout ends the sale as UNKNOWN, never FAILED", () => {
    const { state } = run([sale("01", "ORD1", 100), scan(WECHAT)]);
    const step = saleStep(settings, state, { type: "timer", name: "result" }, T0 + 30_000);
    expect(results(step.effects)).toMatchObject([{ status: "UNKNOWN" }]);
  });

  it("CA while waiting for the scan answers both the SA and the CA with CANCELLED", () => {
    const { effects } = run([sale("01", "ORD1", 100), pos({ type: "cancel", seq: "02", orderRef: "ORD1" })]);
    expect(results(effects).map((r) => [r.seq, r.status])).toEqual([
      ["01", "CANCELLED"],
      ["02", "CANCELLED"],
    ]);
  });

  it("CA with an attempt in flight asks the cloud to reverse and answers when it is final", () => {
    const { state, effects } = run([
      sale("01", "ORD1", 100),
      scan(WECHAT),
      pos({ type: "cancel", seq: "02", orderRef: "ORD1" }),
    ]);
    expect(effects.find((e) => e.type === "cancel")).toMatchObject({ command: { attemptId: "ATTEMPT01" } });
    expect(stages(effects)).toContain("REVERSING");
    expect(results(effects)).toEqual([]);
    const reversed: SaleInput = {
      type: "cloudResult",
      answers: "cancel",
      attemptId: "ATTEMPT01",
      result: payment({ status: "CANCELLED" }),
    };
    const end = run([reversed], state);
    expect(results(end.effects).map((r) => [r.seq, r.status])).toEqual([
      ["01", "CANCELLED"],
      ["02", "CANCELLED"],
    ]);
  });

  it("while reversing, a PAID that answers the pay request does not end the sale; the cancel's answer does", () => {
    const { state } = run([
      sale("01", "ORD1", 100),
      scan(WECHAT),
      pos({ type: "cancel", seq: "02", orderRef: "ORD1" }),
    ]);
    const racing = run([paid(100)], state);
    expect(results(racing.effects)).toEqual([]);
    expect(laneState(racing.state)).toBe("REVERSING");
    const reversed: SaleInput = {
      type: "cloudResult",
      answers: "cancel",
      attemptId: "ATTEMPT01",
      result: payment({ status: "CANCELLED", reasonCode: "REVERSED" }),
    };
    const end = run([reversed], racing.state);
    expect(results(end.effects).map((r) => [r.seq, r.status])).toEqual([
      ["01", "CANCELLED"],
      ["02", "CANCELLED"],
    ]);
  });

  it("a reversal the cloud could not make (its answer is PAID) ends the sale PAID, saying so", () => {
    const { state } = run([
      sale("01", "ORD1", 100),
      scan(WECHAT),
      pos({ type: "cancel", seq: "02", orderRef: "ORD1" }),
    ]);
    const notReversed: SaleInput = {
      type: "cloudResult",
      answers: "cancel",
      attemptId: "ATTEMPT01",
      result: payment({ status: "PAID", amountFen: 100, channelTradeNo: "4200000000000009" }),
    };
    const end = run([notReversed], state);
    expect(results(end.effects).map((r) => [r.seq, r.status, r.text])).toEqual([
      ["01", "PAID", "撤销未成功，顾客已支付"],
      ["02", "PAID", "撤销未成功，顾客已支付"],
    ]);
  });

  it("a reversal with no final answer ends as UNKNOWN when the result timer fires", () => {
    const { state } = run([
      sale("01", "ORD1", 100),
      scan(WECHAT),
      pos({ type: "cancel", seq: "02", orderRef: "ORD1" }),
    ]);
    const step = saleStep(settings, state, { type: "timer", name: "result" }, T0 + 30_000);
    expect(results(step.effects).map((r) => r.status)).toEqual(["UNKNOWN", "UNKNOWN"]);
  });

  it("a scan while the cloud is offline is not submitted; the sale keeps waiting and says why", () => {
    const { state } = run([sale("01", "ORD1", 100)]);
    const offline = run([{ type: "cloudLink", online: false }, scan(WECHAT)], state);
    expect(offline.effects.some((e) => e.type === "pay")).toBe(false);
    expect(stages(offline.effects)).toEqual(["RETRY_SCAN"]);
    expect(laneState(offline.state)).toBe("WAIT_SCAN");
  });

  it("the same code read again is refused with a hint to refresh it, never resubmitted", () => {
    const { state } = run([sale("01", "ORD1", 100)]);
    const again = run([{ type: "scanRepeated" }], state);
    expect(again.effects.some((e) => e.type === "pay")).toBe(false);
    expect(answers(again.effects)).toMatchObject([{ type: "progress", stage: "RETRY_SCAN" }]);
    expect(laneState(again.state)).toBe("WAIT_SCAN");
  });

  it("a final result arriving after the sale ended UNKNOWN becomes the truth for QY", () => {
    const { state } = run([sale("01", "ORD1", 100), scan(WECHAT)]);
    const timedOut = saleStep(settings, state, { type: "timer", name: "result" }, T0 + 30_000);
    const late = run([paid(100), pos({ type: "query", seq: "05", orderRef: "ORD1" })], timedOut.state);
    expect(late.effects.some((e) => e.type === "event" && e.kind === "lateResult")).toBe(true);
    expect(results(late.effects)).toMatchObject([
      { seq: "05", status: "PAID", channelTradeNo: "4200000000000001" },
    ]);
  });

  it("cloud texts reach the register short and with long digit runs masked", () => {
    const failed: SaleInput = {
      type: "cloudResult",
      answers: "pay",
      attemptId: "ATTEMPT01",
      result: payment({
        status: "FAILED",
        rescanAllowed: false,
        message: `code ${WECHAT} refused ${"x".repeat(500)}`,
      }),
    };
    const { effects } = run([sale("01", "ORD1", 100), scan(WECHAT), failed]);
    const text = results(effects)[0]?.text ?? "";
    expect(text).not.toContain(WECHAT);
    expect(text.length).toBeLessThanOrEqual(50);
  });

  it("no scan within the timeout ends the sale as CANCELLED", () => {
    const { state } = run([sale("01", "ORD1", 100)]);
    const step = saleStep(settings, state, { type: "timer", name: "scan" }, T0 + 60_000);
    expect(results(step.effects)).toMatchObject([{ status: "CANCELLED", seq: "01" }]);
    expect(step.state.current).toBeNull();
  });

  it("an EAN-13 or a URL keeps the sale waiting and says why", () => {
    const { state, effects } = run([
      sale("01", "ORD1", 100),
      scan("5901234123457"),
      scan("https://example.com/x"),
    ]);
    expect(stages(effects)).toEqual(["WAIT_SCAN", "RETRY_SCAN", "RETRY_SCAN"]);
    expect(effects.some((e) => e.type === "pay")).toBe(false);
    expect(laneState(state)).toBe("WAIT_SCAN");
    const texts = answers(effects).flatMap((a) => (a.type === "progress" ? [a.text] : []));
    expect(texts[1]).toContain("不是付款码");
  });

  it("a second SA while busy is REJECTED and the first sale is untouched", () => {
    const first = run([sale("01", "ORD1", 100)]);
    const second = run([sale("02", "ORD2", 300)], first.state);
    expect(results(second.effects)).toMatchObject([{ seq: "02", orderRef: "ORD2", status: "REJECTED" }]);
    expect(second.state.current).toEqual(first.state.current);
  });

  it("a scan during an attempt in flight is ignored, one attempt per lane", () => {
    const { effects } = run([sale("01", "ORD1", 100), scan(WECHAT), scan("134567890123450001", "ATTEMPT02")]);
    expect(effects.filter((e) => e.type === "pay")).toHaveLength(1);
  });

  it("a scan with no open sale is dropped, never queued", () => {
    const { state, effects } = run([scan(WECHAT), sale("01", "ORD1", 100)]);
    expect(effects.some((e) => e.type === "pay")).toBe(false);
    expect(laneState(state)).toBe("WAIT_SCAN");
  });

  it("a PAID with another amount is not paid: UNKNOWN with an alarm event", () => {
    const { effects } = run([sale("01", "ORD1", 1000), scan(WECHAT), paid(100)]);
    expect(results(effects)).toMatchObject([{ status: "UNKNOWN" }]);
    expect(
      effects.some((e) => e.type === "event" && e.kind === "amountMismatch" && e.level === "error"),
    ).toBe(true);
  });

  it("a paid orderRef is never charged again: SA with it repeats PAID; another amount is REJECTED", () => {
    const { state } = run([sale("01", "ORD1", 1000), scan(WECHAT), paid(1000)]);
    const again = run([sale("02", "ORD1", 1000), sale("03", "ORD1", 999)], state);
    expect(results(again.effects).map((r) => [r.seq, r.status])).toEqual([
      ["02", "PAID"],
      ["03", "REJECTED"],
    ]);
    expect(again.state.current).toBeNull();
  });

  it("QY answers PENDING for the open sale and REJECTED for an unknown order", () => {
    const { effects } = run([
      sale("01", "ORD1", 100),
      pos({ type: "query", seq: "02", orderRef: "ORD1" }),
      pos({ type: "query", seq: "03", orderRef: "NOPE" }),
    ]);
    expect(results(effects).map((r) => [r.seq, r.status])).toEqual([
      ["02", "PENDING"],
      ["03", "REJECTED"],
    ]);
  });

  it("EC reports the broker link and the lane state", () => {
    const { effects } = run([sale("01", "ORD1", 100), pos({ type: "echo", seq: "05" })]);
    expect(answers(effects).at(-1)).toEqual({
      type: "echoReply",
      seq: "05",
      brokerOnline: true,
      laneState: "WAIT_SCAN",
    });
  });

  it("a pay request that could not leave the bridge lets the cashier rescan at once", () => {
    const { state, effects } = run([
      sale("01", "ORD1", 100),
      scan(WECHAT),
      { type: "payNotSent", attemptId: "ATTEMPT01", reason: "offline" },
    ]);
    expect(stages(effects).at(-1)).toBe("RETRY_SCAN");
    expect(laneState(state)).toBe("WAIT_SCAN");
  });

  it("remembers only the configured number of finished sales", () => {
    let state = initialSaleState(true);
    for (let i = 1; i <= 5; i++) {
      state = run(
        [sale("01", `ORD${i}`, 100), pos({ type: "cancel", seq: "02", orderRef: `ORD${i}` })],
        state,
      ).state;
    }
    expect(state.recent.map((r) => r.orderRef)).toEqual(["ORD3", "ORD4", "ORD5"]);
  });

  it("a bad request is answered REJECTED with its reason and changes nothing", () => {
    const first = run([sale("01", "ORD1", 100)]);
    const bad = run(
      [{ type: "badRequest", seq: "09", orderRef: "", message: "amount 12.34: fen only" }],
      first.state,
    );
    expect(results(bad.effects)).toMatchObject([
      { seq: "09", status: "REJECTED", text: "amount 12.34: fen only" },
    ]);
    expect(bad.state).toEqual(first.state);
  });
});
