// The runner of one lane's pure sale machine (protocols/sale/sale-machine.ts). It steps the
// machine one input at a time (inputs that arrive meanwhile wait in the inbox, so the register
// and the display see the steps in order), makes each step's journal records durable first, arms
// and cancels the machine's timers, and hands every other effect to the lane through a small port
// (SaleEffectsPort), in the order the machine gave them. It is the only place a lane writes the
// journal, and it calls the port only once the step's records are durable. With a journal that
// group-commits (LaneJournal.commit, daemon/journal/group-commit.ts) the step's records go in one
// commit, shared with the other lanes' records of the moment, and the runner waits for it before
// anything else of the step happens; the inbox is the queue that waits meanwhile, so this lane's
// inputs are still stepped strictly one after another while the other lanes go on (docs/journal.md,
// "Group commit"). An input that waited behind a commit is stepped with the journal's view of its
// order as it is then, not as it was when it arrived.
// A step is all or nothing: if one of its records cannot be written, none of its other effects is
// carried out and the machine stays where it was; the inputs that cannot be refused (the cloud's
// results, timers, link changes) wait in `held` until the journal is back, and are then stepped
// in the order they came. A payment code never passes through here except in a scan input.
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import type { AttemptRecord, JournalRecord } from "../../protocols/sale/records.js";
import { initialSaleState, saleStep } from "../../protocols/sale/sale-machine.js";
import type {
  JournalFault,
  LaneSaleState,
  SaleEffect,
  SaleInput,
  SaleSettings,
  TimerName,
} from "../../protocols/sale/sale-types.js";
import type { AuditCause, JournaledWrite } from "../audit/audit-derive.js";
import { type Clock, instantOf, type TimerHandle } from "../clock.js";
import { isBridgeError } from "../errors.js";
import { isRefusedRecord } from "../journal/journal.js";
import { journalFaultOf } from "../journal/journal-file.js";
import type { Logger } from "../log/logger.js";
import type { RepeatLimiter } from "../log/repeat-limiter.js";
import type { PaySent } from "./code-custody.js";
import type { CrashPoint } from "./crash-points.js";
import type { LaneCounters } from "./lane-describe.js";
import { type LaneJournal, previousOf, saleView } from "./lane-journal.js";
import type { SaleEvent } from "./sale-events.js";

/** What the port is told of the step whose effects it carries out. */
export interface StepScope {
  /** The input stepped: which of the step's events are repeats depends on it (sale-events.ts). */
  readonly input: SaleInput["type"];
  /** The step concerns a training sale (open before or after it): its display views are marked. */
  readonly training: boolean;
}

export type CommandEffect = Extract<SaleEffect, { type: "query" | "cancel" | "refund" }>;

/**
 * What a durable step does outside the journal and the timers, carried out by the lane. Called
 * only after the step's records are durable, one effect at a time, in the machine's order; a
 * call that throws is logged and does not stop the others.
 */
export interface SaleEffectsPort {
  /** An answer (RS/PR) to the register. */
  answer(answer: PosAnswer): void;
  /** A view on the customer display. */
  display(view: DisplayView, step: StepScope): void;
  /** Publish the attempt's pay request with the code held for it (the port's, never the runner's). */
  pay(attempt: AttemptRecord): PaySent;
  /** A query, cancel or refund request to the cloud. */
  send(effect: CommandEffect): void;
  /** A sale event: counters, the fleet, the log (sale-events.ts). */
  event(effect: SaleEvent, step: StepScope): void;
  /** Every effect of the step is carried out; `before` and `after` are the machine's states around it. */
  stepped(before: LaneSaleState, after: LaneSaleState): void;
}

export interface SaleRunnerDeps {
  laneId: string;
  settings: SaleSettings;
  clock: Clock;
  log: Logger;
  journal: LaneJournal;
  /** The lane's limiter: journal failures, effects that fail on every step, the audit observer. */
  repeats: RepeatLimiter;
  counters: Pick<LaneCounters, "journalWrites" | "journalFailures">;
  crash: CrashPoint;
  /** The link's state when the lane is made. */
  cloudOnline: boolean;
  /** See LaneDeps.onJournaled (lane.ts): the audit trail observes the runner here. */
  onJournaled?: ((cause: AuditCause, writes: JournaledWrite[]) => void) | undefined;
  port: SaleEffectsPort;
}

/** Effects that reach the register or the cloud: a failure of one is always logged. */
const EXTERNAL_EFFECTS: ReadonlySet<SaleEffect["type"]> = new Set([
  "answer",
  "pay",
  "query",
  "cancel",
  "refund",
]);

/**
 * Inputs that cannot be refused: the world moved (the cloud answered, time passed, the link
 * changed). When their step cannot be journaled they wait for the journal (SaleRunner.held).
 * Register requests and scans are answered at once instead, without the journal.
 */
function waitsForJournal(input: SaleInput): boolean {
  switch (input.type) {
    case "cloudResult":
    case "refundResult":
    case "payNotSent":
    case "payRefused":
    case "cancelRefused":
    case "cloudLink":
    case "timer":
    case "recover":
      return true;
    case "pos":
    case "badRequest":
    case "scan":
    case "scanRepeated":
    case "journalHealth":
      return false;
  }
}

/** The crash point reached once `record` is durable (crash-points.ts). */
function journalPoint(record: JournalRecord): string {
  return `journal:${record.kind}:${record.kind === "sale" ? record.status : record.phase}`;
}

export class SaleRunner {
  private current: LaneSaleState;
  private readonly timers = new Map<TimerName, TimerHandle>();
  /** Inputs waiting for their turn; a function makes its input when the turn comes (feed). */
  private readonly inbox: (SaleInput | (() => SaleInput | null))[] = [];
  private stepping = false;
  /** A step's records are being committed: the inbox waits, and its inputs' views age. */
  private committing = false;
  /** Inputs fed while a commit was pending: their journal views are read again when stepped. */
  private readonly stale = new WeakSet<SaleInput>();
  private stopped = false;
  /**
   * Inputs whose step could not be journaled (a cloud result, a timer, a link change), oldest
   * first: stepped again once the journal is back. Every later input of those kinds waits behind
   * them, so results are applied in the order they came.
   */
  private readonly held: SaleInput[] = [];

  constructor(private readonly deps: SaleRunnerDeps) {
    this.current = initialSaleState(deps.laneId, deps.cloudOnline);
  }

  /** The machine's state after the last step taken. */
  get state(): LaneSaleState {
    return this.current;
  }

  /** Inputs waiting for the journal to come back. */
  get heldInputs(): number {
    return this.held.length;
  }

  /** The lane stops: no timer fires into it again. */
  stop(): void {
    this.stopped = true; // a commit still pending ends without effects (the records are durable)
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  /**
   * The journal went down (`fault`) or is back (null). Back: the inputs held while it was down are
   * stepped again, in the order they came, so the open sale gets its answer now that its outcome
   * can be recorded.
   */
  setJournalHealth(fault: JournalFault | null, detail: string): void {
    this.feed({ type: "journalHealth", fault, detail });
    if (fault !== null) return;
    this.deps.repeats.clear("journalWrite");
    // What the cloud said (and the link did) happened before now: those go first, in the order
    // they came. Timers only ask "what is due now?": asked last, they do not reverse a payment
    // whose PAID is waiting behind them because the reversal deadline passed while it waited.
    const held = this.held.splice(0);
    const replay = [...held.filter((i) => i.type !== "timer"), ...held.filter((i) => i.type === "timer")];
    if (replay.length > 0)
      this.deps.log.info(
        { inputs: replay.length },
        "journal back: stepping the inputs held while it was down",
      );
    for (const input of replay) this.feed(input);
  }

  /**
   * Steps the machine. An effect may itself produce an input (a pay request that could not be
   * sent); such inputs wait in the queue until every effect of the current step has been carried
   * out, so the register and the display always see the steps in order. An input that depends on
   * the machine's state when its turn comes (a scan's attempt id: a training sale's carry their
   * own prefix) is fed as a function, called then: with group commit, the step before it may
   * still be committing when it arrives.
   */
  feed(input: SaleInput | (() => SaleInput | null)): void {
    this.inbox.push(input);
    if (this.committing && typeof input !== "function") this.stale.add(input);
    this.pump();
  }

  /** Steps what the inbox holds, in order; a step that waits for its commit holds the rest back. */
  private pump(): void {
    if (this.stepping) return;
    this.stepping = true;
    let waiting: Promise<void> | undefined;
    try {
      for (let next = this.inbox.shift(); next; next = this.inbox.shift()) {
        const input = typeof next === "function" ? next() : next;
        if (input === null) continue; // asked at its turn, it had nothing left to do
        waiting = this.step(input);
        if (waiting) break;
      }
    } finally {
      if (!waiting) this.stepping = false;
    }
    if (!waiting) return;
    this.committing = true;
    for (const input of this.inbox) if (typeof input !== "function") this.stale.add(input);
    waiting
      .catch((err: unknown) =>
        this.deps.log.error({ errCode: "PB_INTERNAL", err: (err as Error).message }, "sale step failed"),
      )
      .finally(() => {
        this.committing = false;
        this.stepping = false;
        if (!this.stopped) this.pump();
      });
  }

  /**
   * One step, all or nothing: its journal records are made durable first; if one cannot be, none
   * of its other effects is carried out (nothing reaches the register, the display, the broker or
   * the timers) and the machine stays where it was before the step, so it never believes in
   * something the journal does not hold. The machine is told the journal is down; then an input
   * that needs an answer now (a register request, a scan) is stepped again and gets one without
   * the journal (the storage error, or what the journal's memory knows), and any other input
   * waits in `held` until the journal is back.
   */
  private step(input: SaleInput, again = false): Promise<void> | undefined {
    if (this.held.length > 0 && waitsForJournal(input)) {
      this.hold(input);
      return undefined;
    }
    const { deps } = this;
    if (this.stale.has(input)) {
      this.stale.delete(input);
      input = this.refreshed(input);
    }
    const before = this.current;
    const { state, effects } = saleStep(deps.settings, before, input, instantOf(deps.clock));
    const writes: JournaledWrite[] | undefined = deps.onJournaled ? [] : undefined;
    const records = effects.flatMap((e) => (e.type === "journal" ? [e.record] : []));
    const { journal } = deps;
    if (journal.commit && records.length > 0) {
      // Group commit: the step waits for its own records, and nothing of it happens before.
      const previous = writes ? records.map((r) => previousOf(journal, r)) : [];
      return journal.commit(records).then(
        () => {
          for (const [i, record] of records.entries()) {
            writes?.push({ record, before: previous[i] });
            deps.counters.journalWrites++;
            deps.crash(journalPoint(record));
          }
          if (!this.stopped) this.apply(input, before, state, effects, writes);
        },
        (err: unknown) => {
          if (this.stopped) return undefined;
          const kind = isBridgeError(err) ? err.context?.kind : undefined;
          const record = records.find((r) => r.kind === kind) ?? (records[0] as JournalRecord);
          return this.notJournaled(input, again, { record, err });
        },
      );
    }
    const failed = this.journalRecords(effects, writes);
    if (failed) return this.notJournaled(input, again, failed);
    this.apply(input, before, state, effects, writes);
    return undefined;
  }

  /** The step's records are durable: the machine moves on and the step's effects are carried out. */
  private apply(
    input: SaleInput,
    before: LaneSaleState,
    state: LaneSaleState,
    effects: SaleEffect[],
    writes: JournaledWrite[] | undefined,
  ): void {
    this.current = state;
    const scope: StepScope = {
      input: input.type,
      training: Boolean(before.current?.record.training) || Boolean(state.current?.record.training),
    };
    // Money first, then its audit line, then whatever the step does that others hear of.
    if (writes?.length) this.observeJournaled(input, writes);
    for (const effect of effects) if (effect.type !== "journal") this.runSafely(effect, scope);
    this.deps.port.stepped(before, this.current);
  }

  /** A record of the step could not be made durable: nothing of it happens (see step()). */
  private notJournaled(
    input: SaleInput,
    again: boolean,
    failed: { record: JournalRecord; err: unknown },
  ): Promise<void> | undefined {
    const { deps } = this;
    if (isRefusedRecord(failed.err)) {
      // Not the storage: this step's record can never be written. Taken back and dropped (kept,
      // it would block every input behind it for good); the journal and the lane stay up.
      deps.counters.journalFailures++;
      deps.log.error(
        {
          errCode: "PB_INTERNAL",
          record: failed.record.kind,
          input: input.type,
          err: (failed.err as Error).message,
        },
        "step dropped: the journal refused its record",
      );
      return undefined;
    }
    const told = this.onJournalFailure(failed.record, failed.err, input);
    const next = (): Promise<void> | undefined => {
      if (waitsForJournal(input)) this.hold(input);
      else if (!again) return this.step(this.refreshed(input), true);
      else
        deps.log.error(
          { input: input.type },
          "input refused: its step needs the journal even while the journal is down (a bug)",
        );
      return undefined;
    };
    return told ? told.then(next) : next();
  }

  /**
   * Writes the step's records in order; the first that cannot be made durable stops the rest.
   * With `writes`, each durable record is added to it with the record it replaced.
   */
  private journalRecords(
    effects: SaleEffect[],
    writes?: JournaledWrite[],
  ): { record: JournalRecord; err: unknown } | undefined {
    const { journal, counters, crash } = this.deps;
    for (const effect of effects) {
      if (effect.type !== "journal") continue;
      const record = effect.record;
      const before = writes ? previousOf(journal, record) : undefined;
      try {
        journal.write(record);
      } catch (err) {
        return { record, err };
      }
      writes?.push({ record, before });
      counters.journalWrites++;
      crash(journalPoint(record));
    }
    return undefined;
  }

  /** Tells the observer (the audit trail) what the step made durable; a scan's code stays here. */
  private observeJournaled(input: SaleInput, writes: JournaledWrite[]): void {
    const request =
      input.type === "pos" && input.request.type !== "echo"
        ? { type: input.request.type, seq: input.request.seq, orderRef: input.request.orderRef }
        : undefined;
    try {
      this.deps.onJournaled?.({ input: input.type, ...(request ? { request } : {}) }, writes);
    } catch (err) {
      this.deps.repeats.error("audit", { err: (err as Error).message }, "audit observer failed");
    }
  }

  private onJournalFailure(record: JournalRecord, err: unknown, input: SaleInput): Promise<void> | undefined {
    this.deps.counters.journalFailures++;
    const fault = journalFaultOf(err);
    const detail = isBridgeError(err) ? err.message : `journal write failed: ${(err as Error).message}`;
    this.deps.repeats.error(
      "journalWrite",
      { errCode: isBridgeError(err) ? err.code : undefined, fault, record: record.kind, input: input.type },
      `step not taken, journal write failed: ${detail}`,
    );
    return this.step({ type: "journalHealth", fault, detail });
  }

  private hold(input: SaleInput): void {
    // A timer already waiting does the same work when stepped: one of each name is enough. Two
    // link changes in a row: only the last state counts.
    if (input.type === "timer" && this.held.some((h) => h.type === "timer" && h.name === input.name)) return;
    if (input.type === "cloudLink" && this.held.at(-1)?.type === "cloudLink") this.held.pop();
    this.held.push(input);
  }

  /**
   * A request stepped again after a failed write, or an input that waited behind a commit, sees
   * the journal as it is now (lane.ts reads the view when the input arrives).
   */
  private refreshed(input: SaleInput): SaleInput {
    const { journal, laneId } = this.deps;
    if (input.type === "cloudResult") {
      const attempt = journal.attempt(input.attemptId);
      return {
        ...input,
        view: attempt?.laneId === laneId ? saleView(journal, laneId, attempt.orderRef) : undefined,
      };
    }
    if (input.type !== "pos" || input.request.type === "echo") return input;
    return { ...input, view: saleView(journal, laneId, input.request.orderRef) };
  }

  /** One effect failing (a serial write, an encoder refusing a field) must not stop the others. */
  private runSafely(effect: SaleEffect, scope: StepScope): void {
    try {
      this.run(effect, scope);
    } catch (err) {
      const fields = { effect: effect.type, err: (err as Error).message };
      // One that reaches the register or the cloud matters for money: each is logged. A display
      // or timer that fails fails on every step: one line per window.
      if (EXTERNAL_EFFECTS.has(effect.type)) this.deps.log.error(fields, "sale effect failed");
      else this.deps.repeats.error(`effectFailed:${effect.type}`, fields, "sale effect failed");
    }
  }

  private run(effect: SaleEffect, scope: StepScope): void {
    const { port, clock } = this.deps;
    switch (effect.type) {
      case "journal":
        return; // made durable in journalRecords, before any other effect
      case "answer":
        port.answer(effect.answer);
        return;
      case "display":
        port.display(effect.view, scope);
        return;
      case "pay": {
        const sent = port.pay(effect.attempt);
        if (!sent.ok)
          this.feed({ type: "payNotSent", attemptId: effect.attempt.attemptId, reason: sent.reason });
        return;
      }
      case "query":
      case "cancel":
      case "refund":
        port.send(effect);
        return;
      case "armTimer": {
        this.timers.get(effect.name)?.cancel();
        const name = effect.name;
        this.timers.set(
          name,
          clock.setTimeout(() => {
            this.timers.delete(name);
            this.feed({ type: "timer", name });
          }, effect.atMono - clock.monoNow()),
        );
        return;
      }
      case "cancelTimer":
        this.timers.get(effect.name)?.cancel();
        this.timers.delete(effect.name);
        return;
      case "event":
        port.event(effect, scope);
        return;
    }
  }
}
