// How a conformance step is written: a generator that yields what it waits for (a request from the
// register, the ACK of a frame it sent, the operator's answer, a quiet window) and gets back what
// happened. The machine (machine.ts) drives it from bytes and timer ticks; the step reads top to
// bottom like the exchange it plays. Helpers for the moves every step makes are below.
import { bytesEqual, toHex } from "../core/bytes.js";
import { formatYuan } from "../payment/amount.js";
import type { PosAnswer, PosRequest } from "../pos/pos-messages.js";
import type { ConformanceProfile, OperatorAction, QuestionCheck } from "./conformance-types.js";
import type { SendProbe } from "./ecr-sender.js";
import type { RuleId } from "./rules.js";
import type { SimLedger } from "./sim-ledger.js";

interface Received {
  /** Field 1 of the DATA (the message code, or what stands there). */
  code: string;
  data: Uint8Array;
  /** The whole frame (or line) as the register sent it. */
  bytes: Uint8Array;
  at: number;
  /** Already ACKed by the terminal (it was held for the step); link probes cannot use it. */
  acked: boolean;
}

/** A request from the register: understood, or refused with the bridge's reason. */
export type Incoming =
  | ({ type: "request"; request: PosRequest } & Received)
  | ({
      type: "badRequest";
      seq: string;
      orderRef: string;
      message: string;
      /** The rule the request breaks. */
      rule: RuleId;
    } & Received);

export type ScriptEvent =
  | Incoming
  /** The wait ran out; `badFrames` frames the terminal NAKed arrived meanwhile. */
  | { type: "timeout"; badFrames: number }
  | { type: "sent"; ok: boolean }
  | { type: "reply"; yes: boolean | null };

export type Wait =
  /** A request with one of these codes (and this orderRef); ACKed unless `manualAck`. */
  | { kind: "request"; codes: readonly string[]; orderRef?: string; until: number; manualAck?: boolean }
  /** Any well-formed frame, not ACKed: the step decides (link probes). */
  | { kind: "frame"; until: number }
  | { kind: "sent"; id: number }
  | { kind: "reply"; id: string };

export type Script<T = void> = Generator<Wait, T, ScriptEvent>;

export interface ScriptContext {
  readonly profile: ConformanceProfile;
  readonly full: boolean;
  readonly ackTimeoutMs: number;
  readonly operatorTimeoutMs: number;
  readonly ledger: SimLedger;
  now(): number;
  prompt(text: string, action: OperatorAction): void;
  /** Asks the operator a yes/no question; wait for `{kind: "reply", id}`. */
  ask(text: string, check: QuestionCheck): string;
  pass(rule: RuleId, message: string, bytes?: Uint8Array): void;
  fail(
    rule: RuleId,
    message: string,
    opts?: { bytes?: Uint8Array; expected?: Uint8Array; key?: string },
  ): void;
  note(text: string): void;
  /** ACK / NAK the frame last handed to the step (`ecr` only; nothing on `line`). */
  ack(): void;
  nak(): void;
  /** Sends an answer; wait for `{kind: "sent", id}`. */
  transmit(answer: PosAnswer, probe?: SendProbe): number;
  /** Keeps requests of this code for this order for the step instead of answering them at once. */
  hold(code: string, orderRef: string): void;
  /** Answers a request as the bridge would (the step does not want it). ACK it first. */
  route(incoming: Incoming): void;
  /** A new channel trade number for a PAID answer. */
  tradeNo(): string;
}

/** Ends the step: its deviations are reported, the run goes on with the next step. */
export class StepFailed extends Error {}
/** Ends the run: nothing came from the register after a prompt (no operator, wrong port). */
export class RunIncomplete extends Error {}

/** Time allowed on top of a protocol timeout for scheduling and the line (ms). */
export const GRACE_MS = 250;

export interface OpenedSale {
  seq: string;
  orderRef: string;
  amountFen: number;
}

type Result = Extract<PosAnswer, { type: "result" }>;

/** RS statuses that end (or settle) a sale; refund answers leave the sale as it is. */
const SALE_ENDS: readonly Result["status"][] = ["PAID", "CANCELLED", "UNKNOWN", "REJECTED"];

export function result(
  seq: string,
  orderRef: string,
  fields: Pick<Result, "status" | "amountFen" | "text"> & Partial<Pick<Result, "scheme" | "channelTradeNo">>,
): Result {
  return { type: "result", seq, orderRef, scheme: null, channelTradeNo: "", ...fields };
}

export function progress(
  orderRef: string,
  stage: Extract<PosAnswer, { type: "progress" }>["stage"],
  text: string,
): PosAnswer {
  return { type: "progress", orderRef, stage, text };
}

/** Sends an answer and waits until the register took it; a step cannot go on past a lost frame. */
export function* send(c: ScriptContext, answer: PosAnswer, probe?: SendProbe): Script {
  const ev = yield { kind: "sent", id: c.transmit(answer, probe) };
  if (ev.type === "sent" && !ev.ok) throw new StepFailed("the register did not take the terminal's frame");
  if (answer.type === "result" && SALE_ENDS.includes(answer.status)) c.ledger.settle(answer);
}

/**
 * Asks the operator; a "no" is a deviation of `rule` (default: acting on the RS status as §9
 * says), no answer leaves it unchecked.
 */
export function* confirm(
  c: ScriptContext,
  text: string,
  check: QuestionCheck,
  what: string,
  rule: RuleId = "status-handling",
): Script {
  const ev = yield { kind: "reply", id: c.ask(text, check) };
  if (ev.type !== "reply" || ev.yes === null) return;
  if (ev.yes) c.pass(rule, `the operator confirms: ${what}`);
  else c.fail(rule, `the operator says the register does not do this: ${what}`);
}

/** Waits for the operator to make the register send a request; the run ends if nothing comes. */
export function* awaitOperator(
  c: ScriptContext,
  code: string,
  what: string,
  opts: { orderRef?: string; manualAck?: boolean } = {},
): Script<Incoming> {
  const ev = yield {
    kind: "request",
    codes: [code],
    until: c.now() + c.operatorTimeoutMs,
    ...(opts.orderRef !== undefined ? { orderRef: opts.orderRef } : {}),
    ...(opts.manualAck ? { manualAck: true } : {}),
  };
  if (ev.type === "timeout") {
    if (ev.badFrames > 0) throw new StepFailed(`no ${code} the terminal could read arrived`);
    throw new RunIncomplete(`no ${code} from the register within ${c.operatorTimeoutMs / 1000} s: ${what}`);
  }
  return ev as Incoming;
}

/**
 * The step's sale: the operator rings up `amountFen`, the register sends SA. With `probe` the
 * terminal NAKs it (`nak`) or keeps its ACK back (`withhold`) and expects the same frame again.
 */
export function* openSale(
  c: ScriptContext,
  amountFen: number,
  probe?: "nak" | "withhold",
): Script<OpenedSale> {
  c.prompt(`ring up a sale of ¥${formatYuan(amountFen)} (any order number) and press pay`, {
    kind: "sale",
    amountFen,
  });
  const linkProbe = c.profile === "ecr" ? probe : undefined;
  let sa = yield* awaitOperator(
    c,
    "SA",
    "ring up the sale with payment by terminal; check --port, --baud and the cable",
    {
      manualAck: linkProbe !== undefined,
    },
  );
  if (sa.type === "badRequest") {
    // No probe on a request the terminal cannot read: it is ACKed and refused, as the bridge does.
    if (linkProbe !== undefined) c.ack();
    c.route(sa);
    throw new StepFailed("the SA could not be understood");
  }
  if (linkProbe === "nak") {
    c.nak();
    sa = yield* expectResend(c, sa, "its NAK", c.ackTimeoutMs + GRACE_MS);
  } else if (linkProbe === "withhold") {
    sa = yield* expectResend(c, sa, "the ACK kept back", 2 * c.ackTimeoutMs + GRACE_MS);
  }
  if (sa.type === "badRequest") {
    c.route(sa);
    throw new StepFailed("the SA could not be understood");
  }
  const req = sa.request as Extract<PosRequest, { type: "sale" }>;
  if (req.amountFen === amountFen)
    c.pass("data-amount", `SA amount ${req.amountFen} is ¥${formatYuan(amountFen)} in fen`, sa.bytes);
  else
    c.fail(
      "data-amount",
      `SA amount ${req.amountFen} fen (¥${formatYuan(req.amountFen)}) for a sale of ¥${formatYuan(amountFen)}: amounts are integer fen, ¥${formatYuan(amountFen)} = ${amountFen} (if another amount was rung up, run the step again)`,
      { bytes: sa.bytes },
    );
  c.ledger.openSale(req.orderRef, req.amountFen, req.seq);
  return { seq: req.seq, orderRef: req.orderRef, amountFen: req.amountFen };
}

/**
 * The terminal did not take `first` (NAK, or no ACK): the register must send the same frame again
 * within `windowMs`. Returns the frame to go on with (the resend, or `first` when none came).
 */
export function* expectResend(
  c: ScriptContext,
  first: Incoming,
  why: string,
  windowMs: number,
): Script<Incoming> {
  const ev = yield { kind: "frame", until: c.now() + windowMs };
  if (ev.type === "timeout") {
    c.fail("link-resend", `no resend within ${windowMs} ms after ${why}: the frame must be sent again`, {
      bytes: first.bytes,
    });
    return first;
  }
  const again = ev as Incoming;
  c.ack();
  const after = again.at - first.at;
  if (bytesEqual(again.bytes, first.bytes)) {
    c.pass("link-resend", `sent the same frame again ${after} ms after ${why}`, again.bytes);
    return again;
  }
  if (again.code === first.code && sameButSeq(again.data, first.data))
    c.fail(
      "data-seq",
      `the frame sent again after ${why} has another seq: a resend is the same frame byte for byte (a new seq makes it a new request)`,
      { bytes: again.bytes, expected: first.bytes },
    );
  else
    c.fail("link-resend", `after ${why} the register sent another frame instead of the same one again`, {
      bytes: again.bytes,
      expected: first.bytes,
    });
  return again.code === first.code ? again : first;
}

/** DATA equal but for the seq field (the bytes between the first and second FS). */
function sameButSeq(a: Uint8Array, b: Uint8Array): boolean {
  const strip = (d: Uint8Array) => {
    const s = toHex(d).split(" 1c ");
    return [s[0], ...s.slice(2)].join(" 1c ");
  };
  return strip(a) === strip(b);
}
