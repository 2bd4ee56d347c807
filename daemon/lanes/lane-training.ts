// What a lane lends to the test actions (`posbridge test display|scan|register|sale`,
// daemon/diagnostics/methods/test.ts), and the marking of training sales. A training sale is
// opened as if the register had sent SA (order TRAIN-…, seq "TR"); its attempts carry their own
// prefix and go to the simulated cloud only (training-cloud.ts); whatever the register and the
// display get of it is marked 培训, and the register never gets the result of a request it did not
// send. A test read goes to the test, never to a sale, and is neither remembered nor sent. The
// customer display is reached through `show` only, so a sale's view ends a test text at once.
import type { DisplayView } from "../../protocols/display/display-view.js";
import { classifyCode } from "../../protocols/payment/classify-code.js";
import { maskCode } from "../../protocols/payment/mask.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { laneState } from "../../protocols/sale/sale-machine.js";
import type { SaleSettings } from "../../protocols/sale/sale-types.js";
import {
  TRAINING_ATTEMPT_PREFIX,
  TRAINING_MARK,
  TRAINING_ORDER_PREFIX,
} from "../../protocols/sale/training.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { DisplayConfig } from "../config/config-types.js";
import { type DisplayPort, displayText } from "../devices/display-port.js";
import type { RegisterLink } from "../devices/register-link.js";
import type { ProbeResult } from "../devices/terminal-port.js";
import { displayChannel } from "../diagnostics/channels.js";
import type { CodeCustody } from "./code-custody.js";
import { type LaneJournal, saleView } from "./lane-journal.js";
import type { SaleRunner } from "./sale-runner.js";

/** The seq of a training sale's own SA and CA: no register sends it (seqs are two digits). */
export const TRAINING_SEQ = "TR";

/** What `posbridge test sale` hears of its training sale. */
export type TrainingEvent =
  | { type: "started"; lane: string; orderRef: string; amountFen: number }
  | { type: "progress"; stage: string; text: string }
  | { type: "display"; lines: string[] }
  | {
      type: "result";
      status: string;
      amountFen: number | null;
      scheme: string | null;
      channelTradeNo: string;
      text: string;
    };

/** What `posbridge test scan` reports of a read: its length, masked form, kind and what a sale would do. */
export interface ScanJudgement {
  length: number;
  masked: string;
  classification: string;
  wouldDo: string;
}

export interface LaneTrainingDeps {
  laneId: string;
  clock: Clock;
  newId: () => string;
  schemes: SaleSettings["schemes"];
  journal: LaneJournal;
  terminal: Pick<RegisterLink, "probe">;
  /** The lane's customer display and its config, if it has one. */
  display: { port: Pick<DisplayPort, "show">; config: Pick<DisplayConfig, "type" | "charset"> } | undefined;
  runner: Pick<SaleRunner, "state" | "feed">;
  custody: Pick<CodeCustody, "seen">;
}

export class LaneTraining {
  /** `posbridge test scan`: the next read goes here instead of to the sale machine. */
  private scanTap: ((code: string) => void) | undefined;
  /** `posbridge test sale`: who hears the training sale's progress and result. */
  private trainingWatch: { orderRef: string; listener: (event: TrainingEvent) => void } | undefined;
  private testDisplayTimer: TimerHandle | undefined;

  constructor(private readonly deps: LaneTrainingDeps) {}

  /** Why the lane cannot be lent to a test action now, or undefined when it can. */
  busyReason(): string | undefined {
    const { laneId, runner } = this.deps;
    const cur = runner.state.current;
    if (cur)
      return `${cur.record.training ? "a training" : "a"} sale is open on lane ${laneId} (order ${cur.record.orderRef})`;
    if (runner.state.refunds.some((r) => !r.answered)) return `a refund is in progress on lane ${laneId}`;
    return undefined;
  }

  /**
   * `posbridge test display`: shows a view, then the idle view again after `forMs`, unless a sale
   * began meanwhile. Returns the lines shown, or undefined when the lane has no display.
   */
  testDisplay(view: DisplayView, forMs: number): string[] | undefined {
    const { display, clock, runner } = this.deps;
    if (!display) return undefined;
    this.show(view);
    this.testDisplayTimer?.cancel();
    this.testDisplayTimer = clock.setTimeout(() => {
      this.testDisplayTimer = undefined;
      if (!runner.state.current) this.show({ type: "idle" });
    }, forMs);
    return displayText(display.config, view);
  }

  /** A sale's view (`training`: of a training sale, so marked), and the training's watcher told; returns the view shown. */
  display(view: DisplayView, training: boolean): DisplayView {
    const shown: DisplayView = training && view.type !== "idle" ? { ...view, training: true } : view;
    this.show(shown);
    const { display } = this.deps;
    if (this.trainingWatch && training && display)
      this.trainingWatch.listener({ type: "display", lines: displayText(display.config, shown) });
    return shown;
  }

  /** The display's one way in: any view but a test text ends a test text early. */
  show(view: DisplayView): void {
    if (view.type !== "text") {
      this.testDisplayTimer?.cancel();
      this.testDisplayTimer = undefined;
    }
    const { display, clock, laneId } = this.deps;
    display?.port.show(view);
    if (displayChannel.hasSubscribers && display)
      displayChannel.publish({
        type: "display",
        at: clock.wallNow(),
        lane: laneId,
        lines: displayText(display.config, view),
        training: view.training === true,
      });
  }

  /** `posbridge test scan`: the next read goes to `fn` instead of the sale machine; returns the cancel. */
  tapNextScan(fn: (code: string) => void): () => void {
    this.scanTap = fn;
    return () => {
      if (this.scanTap === fn) this.scanTap = undefined;
    };
  }

  /** A scanner read: true when a test was waiting for it and has it (then it is no sale's). */
  tookScan(code: string): boolean {
    const tap = this.scanTap;
    if (!tap) return false;
    // A test read: not a sale's, not remembered, never sent anywhere.
    this.scanTap = undefined;
    tap(code);
    return true;
  }

  /** What a sale would do with `code` now (for `posbridge test scan`): never the code itself. */
  judgeScan(code: string): ScanJudgement {
    const cls = classifyCode(code, this.deps.schemes);
    const masked = maskCode(code, cls.type === "payment" ? cls.scheme : null);
    const classification =
      cls.type === "payment"
        ? `payment code, ${cls.scheme}`
        : `${cls.type === "notPayment" ? `not a payment code (${cls.kind})` : "unreadable"}: ${cls.reason}`;
    const wouldDo = this.deps.custody.seen(code, this.deps.clock.monoNow())
      ? "refuse it: the same code was sent within the last minute (the cashier is asked for a fresh code)"
      : cls.type === "payment"
        ? `submit it to the payment cloud as a payment code of ${cls.scheme}`
        : "ask the cashier to rescan, showing why on the register and the display";
    return { length: code.length, masked, classification, wouldDo };
  }

  /** `posbridge test register`: an ES frame to the register and its ACK (ecr), with the link counters. */
  probeRegister(): Promise<ProbeResult> {
    const { state } = this.deps.runner;
    return this.deps.terminal.probe({
      type: "echoReply",
      seq: "00",
      brokerOnline: state.cloudOnline,
      laneState: laneState(state),
    });
  }

  /**
   * `posbridge test sale`: opens a training sale of `amountFen` as if the register had sent SA
   * (order TRAIN-…, seq "TR"); its attempts go to the simulated cloud. `listener` hears its
   * progress, display and result; the register gets its progress marked 培训, never its result
   * (it did not ask). Returns the order reference and a cancel (as CA would).
   */
  startTraining(
    amountFen: number,
    listener: (event: TrainingEvent) => void,
  ): { orderRef: string; cancel(): void } {
    const { laneId, newId, runner, journal } = this.deps;
    const orderRef = `${TRAINING_ORDER_PREFIX}${newId().slice(-10)}`;
    this.trainingWatch = { orderRef, listener };
    listener({ type: "started", lane: laneId, orderRef, amountFen });
    runner.feed({
      type: "pos",
      request: { type: "sale", seq: TRAINING_SEQ, orderRef, amountFen },
      view: undefined,
      newId: newId(),
      training: true,
    });
    return {
      orderRef,
      cancel: () => {
        if (runner.state.current?.record.orderRef === orderRef)
          runner.feed({
            type: "pos",
            request: { type: "cancel", seq: TRAINING_SEQ, orderRef },
            view: saleView(journal, laneId, orderRef),
          });
        if (this.trainingWatch?.orderRef === orderRef) this.trainingWatch = undefined;
      },
    };
  }

  /** A fresh attempt id for a read; a training sale's carry their own prefix (simulated cloud only). */
  newAttemptId(): string {
    const { newId, runner } = this.deps;
    return runner.state.current?.record.training ? `${TRAINING_ATTEMPT_PREFIX}${newId()}` : newId();
  }

  /**
   * What the register gets of an answer about a training sale: its progress and the answers to
   * its own requests marked 培训; nothing for the training sale's own requests (seq "TR": the
   * register never sent them). Answers of real sales pass unchanged.
   */
  answer(answer: PosAnswer): PosAnswer | undefined {
    if (answer.type === "echoReply") return answer;
    const ownRequest = answer.type === "result" && answer.seq === TRAINING_SEQ;
    const training =
      ownRequest ||
      (answer.orderRef.startsWith(TRAINING_ORDER_PREFIX) &&
        this.deps.journal.sale(this.deps.laneId, answer.orderRef)?.training);
    const marked: PosAnswer = training ? { ...answer, text: `${TRAINING_MARK} ${answer.text}` } : answer;
    const watch = this.trainingWatch;
    if (watch && marked.orderRef === watch.orderRef) {
      watch.listener(
        marked.type === "progress"
          ? { type: "progress", stage: marked.stage, text: marked.text }
          : {
              type: "result",
              status: marked.status,
              amountFen: marked.amountFen,
              scheme: marked.scheme,
              channelTradeNo: marked.channelTradeNo,
              text: marked.text,
            },
      );
      if (ownRequest) this.trainingWatch = undefined;
    }
    return ownRequest ? undefined : marked;
  }
}
