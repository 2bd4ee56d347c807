// The steps of `posbridge conformance register`: one sale per outcome the bridge can give
// (docs/terminal-protocol.md §9), with a link-layer probe riding on most (§4): a NAK, an ACK kept
// back, an answer sent twice, a frame never ACKed (3 sends at most). `quick` runs the six
// outcomes; `full` adds a frame with a wrong LRC, a QY answered 30 again, and a refund. Amounts
// differ per step, so a wrong encoding and a late frame from an earlier sale both show.
import { bytesEqual } from "../core/bytes.js";
import { formatYuan } from "../payment/amount.js";
import { TEXT } from "../sale/sale-texts.js";
import {
  awaitOperator,
  confirm,
  GRACE_MS,
  type Incoming,
  openSale,
  progress,
  result,
  type Script,
  type ScriptContext,
  StepFailed,
  send,
} from "./script-context.js";

export interface StepDef {
  id: string;
  title: string;
  /** What the terminal does in the step and what the register must do. */
  about(o: { full: boolean; ecr: boolean }): string;
  /** Only in the `full` script. */
  fullOnly?: boolean;
  run(c: ScriptContext): Script;
}

const RESCAN_TEXT = "付款码已失效，请顾客刷新付款码后重扫";

/** Waits for a request the protocol says the register sends now; none is a deviation of `rule`. */
function* expectRequest(
  c: ScriptContext,
  code: string,
  orderRef: string,
  rule: "query-request" | "cancel-request",
  manualAck = false,
): Script<Incoming> {
  const ev = yield {
    kind: "request",
    codes: [code],
    orderRef,
    until: c.now() + c.operatorTimeoutMs,
    ...(manualAck ? { manualAck } : {}),
  };
  if (ev.type === "timeout") {
    c.fail(rule, `no ${code} for order ${orderRef} within ${c.operatorTimeoutMs / 1000} s`);
    throw new StepFailed(`no ${code}`);
  }
  const req = ev as Incoming;
  if (req.type === "badRequest") {
    if (manualAck) c.ack();
    c.route(req);
    throw new StepFailed(`the ${code} could not be understood`);
  }
  return req;
}

const paid: StepDef = {
  id: "paid",
  title: "paid at once (RS 00)",
  about: ({ full, ecr }) =>
    `The terminal answers PR WAIT_SCAN, PR SUBMITTED, then RS 00: the register completes the sale.${ecr ? " Link probe: the terminal NAKs the register's SA once; the register must send the same frame again at once." : ""}${full && ecr ? " The terminal's first PR goes out with a wrong LRC; the register must NAK it." : ""}`,
  *run(c) {
    const sale = yield* openSale(c, 1234, "nak");
    const ref = sale.orderRef;
    yield* send(
      c,
      progress(ref, "WAIT_SCAN", TEXT.showCode(sale.amountFen)),
      c.full ? "corruptFirst" : undefined,
    );
    yield* send(c, progress(ref, "SUBMITTED", TEXT.submitted));
    yield* send(
      c,
      result(sale.seq, ref, {
        status: "PAID",
        amountFen: sale.amountFen,
        scheme: "WECHAT",
        channelTradeNo: c.tradeNo(),
        text: TEXT.paid,
      }),
    );
    yield* confirm(
      c,
      `Does the register show order ${ref} as paid and the sale complete?`,
      { orderRef: ref, shows: "PAID" },
      `order ${ref} complete after RS 00`,
    );
  },
};

const waiting: StepDef = {
  id: "waiting",
  title: "the customer confirms on the phone, then paid (PR WAIT_CUSTOMER, RS 00)",
  about: ({ ecr }) =>
    `The customer must confirm on the phone: PR WAIT_CUSTOMER, then RS 00. The register keeps waiting.${ecr ? " Link probe: the terminal keeps back its ACK of the register's SA; the register must send the same frame again after its ACK timeout." : ""}`,
  *run(c) {
    const sale = yield* openSale(c, 2001, "withhold");
    const ref = sale.orderRef;
    yield* send(c, progress(ref, "WAIT_SCAN", TEXT.showCode(sale.amountFen)));
    yield* send(c, progress(ref, "SUBMITTED", TEXT.submitted));
    yield* send(c, progress(ref, "WAIT_CUSTOMER", TEXT.waitCustomer));
    yield* send(
      c,
      result(sale.seq, ref, {
        status: "PAID",
        amountFen: sale.amountFen,
        scheme: "ALIPAY",
        channelTradeNo: c.tradeNo(),
        text: TEXT.paid,
      }),
    );
    yield* confirm(
      c,
      `Did the register show "${TEXT.waitCustomer}" while waiting, and does it now show order ${ref} as paid?`,
      { orderRef: ref, shows: "PAID" },
      `order ${ref} waited through WAIT_CUSTOMER and completed on RS 00`,
    );
  },
};

const rescan: StepDef = {
  id: "rescan",
  title: "a failed code, a new scan, then paid (PR RETRY_SCAN, RS 00)",
  about: ({ ecr }) =>
    `The first payment code fails: PR RETRY_SCAN; the sale stays open, the customer scans again, then RS 00.${ecr ? " Link probe: the terminal sends its RS 00 twice (as after a lost ACK); the register must ACK both and complete the sale once." : ""}`,
  *run(c) {
    const sale = yield* openSale(c, 305);
    const ref = sale.orderRef;
    yield* send(c, progress(ref, "WAIT_SCAN", TEXT.showCode(sale.amountFen)));
    yield* send(c, progress(ref, "SUBMITTED", TEXT.submitted));
    yield* send(c, progress(ref, "RETRY_SCAN", RESCAN_TEXT));
    yield* send(c, progress(ref, "SUBMITTED", TEXT.submitted));
    const twice = c.profile === "ecr";
    yield* send(
      c,
      result(sale.seq, ref, {
        status: "PAID",
        amountFen: sale.amountFen,
        scheme: "UNIONPAY",
        channelTradeNo: c.tradeNo(),
        text: TEXT.paid,
      }),
      twice ? "duplicate" : undefined,
    );
    yield* confirm(
      c,
      `Did the register keep the sale open after "${RESCAN_TEXT}", and complete order ${ref} exactly once (one receipt)${twice ? " although the RS came twice" : ""}?`,
      { orderRef: ref, shows: "PAID", once: true },
      `order ${ref} stayed open on RETRY_SCAN and was completed once${twice ? " on a repeated RS" : ""}`,
      twice ? "link-duplicate" : "status-handling",
    );
  },
};

const unknown: StepDef = {
  id: "unknown",
  title: "outcome unknown, then asked (RS 30, QY)",
  about: ({ full, ecr }) =>
    `Queries and a reversal settle nothing: RS 30. The register must not take payment again and must ask with QY; the terminal answers the QY with 00.${full ? " The first QY is answered 30 again; the register asks once more." : ""}${ecr ? " Link probe: the terminal never ACKs one QY (a broken link); the register must send it 3 times in all, then stop, and query again when asked." : ""}`,
  *run(c) {
    const sale = yield* openSale(c, 4567);
    const ref = sale.orderRef;
    yield* send(c, progress(ref, "WAIT_SCAN", TEXT.showCode(sale.amountFen)));
    yield* send(c, progress(ref, "SUBMITTED", TEXT.submitted));
    yield* send(c, progress(ref, "QUERYING", TEXT.querying));
    yield* send(c, progress(ref, "REVERSING", TEXT.reversing));
    // A register that asks by itself at once is not answered before the operator has looked.
    c.hold("QY", ref);
    const unknownAnswer = {
      status: "UNKNOWN" as const,
      amountFen: sale.amountFen,
      scheme: "WECHAT" as const,
    };
    yield* send(c, result(sale.seq, ref, { ...unknownAnswer, text: TEXT.unknown }));
    yield* confirm(
      c,
      `Does the register show order ${ref} as not settled (neither paid nor failed), telling the cashier not to take payment again?`,
      { orderRef: ref, shows: "UNKNOWN" },
      `order ${ref} shown unknown after RS 30, no second payment`,
    );
    const ask = () =>
      c.prompt(`query order ${ref} on the register (it sends QY), unless it does so by itself`, {
        kind: "query",
        orderRef: ref,
      });
    ask();
    const ecr = c.profile === "ecr";
    let qy = yield* expectRequest(c, "QY", ref, "query-request", ecr);
    c.pass("query-request", `QY for order ${ref} after RS 30`, qy.bytes);
    // A QY that came before the terminal could keep its ACK back (the register asked by itself
    // at once) is answered 30 again, so that the next one can be probed.
    if (c.full || qy.acked) {
      if (!qy.acked) c.ack();
      const seq = qy.type === "request" ? qy.request.seq : "00";
      yield* send(c, result(seq, ref, { ...unknownAnswer, text: TEXT.unknown }));
      ask();
      qy = yield* expectRequest(c, "QY", ref, "query-request", ecr);
      c.pass("query-request", `QY again for order ${ref} after another 30`, qy.bytes);
    }
    if (ecr) qy = yield* maxSends(c, qy, ref, ask);
    const seq = qy.type === "request" ? qy.request.seq : "00";
    yield* send(
      c,
      result(seq, ref, { ...unknownAnswer, status: "PAID", channelTradeNo: c.tradeNo(), text: TEXT.paid }),
    );
    yield* confirm(
      c,
      `Does the register now show order ${ref} as paid?`,
      { orderRef: ref, shows: "PAID" },
      `order ${ref} settled as paid by the QY's RS 00`,
    );
  },
};

/**
 * The terminal keeps back every ACK for `first` (already received, not ACKed): the register must
 * send it 3 times in all, then stop and report a link fault. Then the operator queries again.
 */
function* maxSends(
  c: ScriptContext,
  first: Incoming,
  orderRef: string,
  askAgain: () => void,
): Script<Incoming> {
  if (first.acked) {
    c.note("the QY arrived before the terminal could keep its ACK back; the 3-send probe was skipped");
    return first;
  }
  const window = 2 * c.ackTimeoutMs + GRACE_MS;
  let sends = 1;
  for (;;) {
    const ev = yield { kind: "frame", until: c.now() + window };
    if (ev.type === "timeout") break;
    const frame = ev as Incoming;
    if (bytesEqual(frame.bytes, first.bytes)) {
      sends++;
      if (sends === 4)
        c.fail("link-max-sends", "sent a 4th time: without an ACK a frame is sent 3 times in all", {
          bytes: frame.bytes,
        });
      continue;
    }
    c.ack();
    c.route(frame);
  }
  if (sends === 3)
    c.pass("link-max-sends", "sent the unACKed frame 3 times in all, then stopped", first.bytes);
  else if (sends < 3)
    c.fail(
      "link-resend",
      `sent the unACKed frame ${sends} time${sends === 1 ? "" : "s"}, then stopped: without an ACK it is sent 3 times in all`,
      { bytes: first.bytes },
    );
  c.note("the terminal ignored that QY on purpose (a broken link); the register should say so");
  askAgain();
  return yield* expectRequest(c, "QY", orderRef, "query-request");
}

const cancelled: StepDef = {
  id: "cancelled",
  title: "cancelled by the cashier (CA, RS 20)",
  about: () =>
    "The sale waits for a scan; the cashier cancels on the register, which sends CA. The terminal answers RS 20 twice: once for the SA's seq, once for the CA's.",
  *run(c) {
    const sale = yield* openSale(c, 99);
    const ref = sale.orderRef;
    yield* send(c, progress(ref, "WAIT_SCAN", TEXT.showCode(sale.amountFen)));
    c.hold("CA", ref);
    c.prompt(`cancel the sale of order ${ref} on the register (the customer does not pay)`, {
      kind: "cancel",
      orderRef: ref,
    });
    const ended = result(sale.seq, ref, {
      status: "CANCELLED",
      amountFen: sale.amountFen,
      text: TEXT.cancelled,
    });
    let ca: Incoming;
    try {
      ca = yield* expectRequest(c, "CA", ref, "cancel-request");
    } catch (err) {
      // The register never cancelled: the sale times out as the bridge's scan timeout would end it.
      yield* send(c, { ...ended, text: TEXT.scanTimeout });
      throw err;
    }
    c.pass("cancel-request", `CA for order ${ref}`, ca.bytes);
    yield* send(c, ended);
    yield* send(c, { ...ended, seq: ca.type === "request" ? ca.request.seq : "00" });
    yield* confirm(
      c,
      `Does the register show order ${ref} as cancelled (not paid)?`,
      { orderRef: ref, shows: "CANCELLED" },
      `order ${ref} not paid after RS 20`,
    );
  },
};

const rejected: StepDef = {
  id: "rejected",
  title: "refused by the terminal (RS 40)",
  about: () =>
    "The terminal refuses the sale at once: RS 40 with the reason. The register shows the reason; nothing was paid.",
  *run(c) {
    const sale = yield* openSale(c, 8888);
    const ref = sale.orderRef;
    yield* send(
      c,
      result(sale.seq, ref, { status: "REJECTED", amountFen: sale.amountFen, text: TEXT.cloudOffline }),
    );
    yield* confirm(
      c,
      `Does the register show the sale of order ${ref} as not paid, with the terminal's text "${TEXT.cloudOffline}"?`,
      { orderRef: ref, shows: "REJECTED" },
      `order ${ref} not paid after RS 40, reason shown`,
    );
  },
};

const refund: StepDef = {
  id: "refund",
  title: "a refund (RF, RS 50)",
  fullOnly: true,
  about: () => "The cashier refunds ¥5.00 of a paid order; the terminal answers RS 50 (REFUNDED).",
  *run(c) {
    const order = c.ledger.anyPaid();
    if (!order) {
      c.note("no paid order to refund: run step paid (or waiting, rescan, unknown) first");
      return;
    }
    const amountFen = Math.min(500, order.amountFen);
    c.prompt(`refund ¥${formatYuan(amountFen)} of order ${order.orderRef} (any refund number)`, {
      kind: "refund",
      orderRef: order.orderRef,
      amountFen,
    });
    const rf = yield* awaitOperator(c, "RF", "make the refund on the register, by terminal");
    if (rf.type === "badRequest") {
      c.route(rf);
      throw new StepFailed("the RF could not be understood");
    }
    const req = rf.request as Extract<typeof rf.request, { type: "refund" }>;
    if (req.orderRef !== order.orderRef)
      c.fail(
        "refund-request",
        `RF names order ${req.orderRef}; the refund was asked for order ${order.orderRef}`,
        {
          bytes: rf.bytes,
        },
      );
    if (req.amountFen !== amountFen)
      c.fail(
        "data-amount",
        `RF amount ${req.amountFen} fen for a refund of ¥${formatYuan(amountFen)}: amounts are integer fen, ¥${formatYuan(amountFen)} = ${amountFen}`,
        { bytes: rf.bytes },
      );
    else
      c.pass(
        "refund-request",
        `RF of order ${req.orderRef}, refund ${req.refundRef}, ${amountFen} fen`,
        rf.bytes,
      );
    yield* send(
      c,
      result(req.seq, req.orderRef, { status: "REFUNDED", amountFen: req.amountFen, text: TEXT.refunded }),
    );
    yield* confirm(
      c,
      `Does the register show the refund of ¥${formatYuan(req.amountFen)} of order ${req.orderRef} as done?`,
      { orderRef: req.orderRef, shows: "REFUNDED" },
      `refund of order ${req.orderRef} shown done after RS 50`,
    );
  },
};

export const STEPS: readonly StepDef[] = [paid, waiting, rescan, unknown, cancelled, rejected, refund];

/**
 * The steps of a script, or only those named (in script order, `full`-only ones included when
 * named). Unknown names throw a TypeError naming the steps there are.
 */
export function scriptSteps(full: boolean, only?: readonly string[]): StepDef[] {
  const all = STEPS.filter((s) => full || !s.fullOnly);
  if (!only || only.length === 0) return all;
  const unknownNames = only.filter((id) => !STEPS.some((s) => s.id === id));
  if (unknownNames.length > 0)
    throw new TypeError(
      `unknown step ${unknownNames.join(", ")}; steps are ${STEPS.map((s) => s.id).join(", ")}`,
    );
  return STEPS.filter((s) => only.includes(s.id));
}
