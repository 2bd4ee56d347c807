// The operator at the register, automated: does what the conformance tool's prompts ask on a
// VirtualRegister (rings up the sale with its own orderRef, cancels, queries, refunds) and answers
// its yes/no questions from what the register recorded, honestly: a register that completed a sale
// twice gets a "no" to "exactly once".
import type { OperatorAction, QuestionCheck } from "../../protocols/conformance/conformance-types.js";
import type { RegisterRecord } from "../../daemon/demo/virtual-register.js";
import type { PosAnswer, PosRequest } from "../../protocols/pos/pos-messages.js";

/** What the operator needs of a register: its keys (requests) and its screen (the answers it acted on). */
export interface OperatedRegister {
  readonly answers: readonly RegisterRecord[];
  request(req: PosRequest): void;
}

type Result = Extract<PosAnswer, { type: "result" }>;

export class AutoOperator {
  private seq = 0;
  private orders = 0;
  private refunds = 0;
  readonly actions: OperatorAction[] = [];

  constructor(
    private readonly register: OperatedRegister,
    private readonly orderPrefix = "CF",
  ) {}

  private nextSeq(): string {
    this.seq = (this.seq % 99) + 1;
    return String(this.seq).padStart(2, "0");
  }

  act(action: OperatorAction): void {
    this.actions.push(action);
    const seq = this.nextSeq();
    switch (action.kind) {
      case "sale":
        this.register.request({
          type: "sale",
          seq,
          orderRef: `${this.orderPrefix}${++this.orders}`,
          amountFen: action.amountFen,
        });
        return;
      case "cancel":
        this.register.request({ type: "cancel", seq, orderRef: action.orderRef });
        return;
      case "query":
        this.register.request({ type: "query", seq, orderRef: action.orderRef });
        return;
      case "refund":
        this.register.request({
          type: "refund",
          seq,
          orderRef: action.orderRef,
          refundRef: `R${++this.refunds}`,
          amountFen: action.amountFen,
        });
        return;
    }
  }

  /** What the register shows for the order: the last result it acted on; `once` counts them. */
  answer(check: QuestionCheck): boolean {
    const results = this.register.answers
      .map((r) => r.answer)
      .filter((a): a is Result => a.type === "result" && a.orderRef === check.orderRef);
    const last = results[results.length - 1];
    if (!last || last.status !== check.shows) return false;
    return !check.once || results.filter((a) => a.status === check.shows).length === 1;
  }
}
