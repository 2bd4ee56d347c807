// The sale machine's scans: a payment code read for the open sale starts its attempt; anything
// else (no open sale, an attempt already in flight, not a payment code, a code read again) is
// answered on the register and the display and changes nothing.
import { classifyCode } from "../payment/classify-code.js";
import { maskCode } from "../payment/mask.js";
import { newAttempt } from "./attempt-machine.js";
import type { SaleRecord } from "./records.js";
import { display, event, progress } from "./sale-outcomes.js";
import { notACodeText, storageText, TEXT } from "./sale-texts.js";
import type { LaneSaleState, StepContext } from "./sale-types.js";

export function onScanRepeated(c: StepContext, state: LaneSaleState): LaneSaleState {
  const sale = state.current;
  if (!sale || sale.attempt) {
    c.out.add(event("scanIgnored", "same code read again within a minute", "warn"));
    return state;
  }
  // payment-domain.md §7 rules 7–8: never send the same code again, under any attempt id.
  c.out.add(
    progress(sale.record.orderRef, "RETRY_SCAN", TEXT.sameCode),
    display({ type: "rescan", amountFen: sale.record.amountFen, reason: "expired" }),
    event("scanRejected", "same code read again within a minute", "warn"),
  );
  return state;
}

export function onScan(c: StepContext, state: LaneSaleState, code: string, attemptId: string): LaneSaleState {
  const { s, at, out } = c;
  const sale = state.current;
  if (!sale) {
    // Never queued: the customer is told to wait for the cashier.
    out.add(
      display({ type: "waitForCashier" }),
      { type: "armTimer", name: "idleDisplay", atMono: at.mono + s.resultDisplayMs },
      event("scanIgnored", "scan with no open sale dropped", "warn"),
    );
    return state;
  }
  if (sale.attempt) {
    out.add(event("scanIgnored", `scan ignored: attempt ${sale.attempt.attemptId} in flight`, "warn"));
    return state;
  }
  const amountFen = sale.record.amountFen;
  if (state.journalFault) {
    // The attempt could not be recorded before its pay request: the code is not used (the runner
    // forgets it), and the cashier hears why; the sale waits, as for any refused scan.
    const text = storageText(state.journalFault);
    out.add(
      progress(sale.record.orderRef, "RETRY_SCAN", text),
      event("scanRejected", `scan refused: ${text}`, "warn"),
    );
    return state;
  }
  const cls = classifyCode(code, s.schemes);
  if (cls.type !== "payment") {
    const reason = cls.type === "notPayment" ? "notPayment" : "invalidCode";
    const text = notACodeText(cls);
    out.add(
      progress(sale.record.orderRef, "RETRY_SCAN", text),
      display({ type: "rescan", amountFen, reason }),
      event("scanRejected", cls.reason, "warn"),
    );
    return state;
  }
  const masked = maskCode(cls.code, cls.scheme);
  // A training sale's cloud is inside the bridge: always reachable.
  const online = state.cloudOnline || sale.record.training;
  const started = newAttempt(
    s.attempt,
    {
      attemptId,
      laneId: state.laneId,
      orderRef: sale.record.orderRef,
      amountFen,
      scheme: cls.scheme,
      maskedCode: masked,
      training: sale.record.training,
    },
    s.codeLifetimeMs,
    online,
    at,
  );
  const record: SaleRecord = {
    ...sale.record,
    attemptId,
    attempts: sale.record.attempts + 1,
    scheme: cls.scheme,
    updatedAt: at.wall,
  };
  // The sale naming its attempt goes first: if the second write fails, the journal holds no open
  // attempt that was never published (a sale naming an attempt the journal lacks is settled as
  // never scanned), and the runner takes the whole step back.
  out.journal(record).journal(started.attempt).add({ type: "cancelTimer", name: "scan" });
  if (started.sends.length) out.add({ type: "pay", attempt: started.attempt, scannedAtMs: at.wall });
  out.add(
    progress(record.orderRef, "SUBMITTED", online ? TEXT.submitted : TEXT.waitingNetwork),
    display({ type: "processing", amountFen }),
    event(
      "attemptSubmitted",
      `attempt ${attemptId} ${masked}${online ? "" : " queued: cloud offline"}`,
      "info",
    ),
  );
  return { ...state, current: { ...sale, record, attempt: started.attempt } };
}
