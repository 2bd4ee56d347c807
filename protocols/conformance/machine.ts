// The register conformance check as a pure machine: it plays the terminal's side of
// docs/terminal-protocol.md toward a register, step by step (steps.ts), fed the register's bytes,
// timer ticks and the operator's answers, and returns what to write, when to tick next, what to
// tell the operator and each check with its rule and bytes. No I/O, no clock: the runner in
// daemon/conformance/ does those. It answers as the bridge does wherever a step does not say
// otherwise (ACK at once, NAK a bad frame, RS 40 for a request it cannot read, EC and QY at any
// time), so a register sees the bridge, with a probe here and there.
import { bytesEqual, toHex } from "../core/bytes.js";
import { ACK, NAK } from "../ecr/constants.js";
import { encodeEcrAnswer, type TextEncode } from "../ecr/messages.js";
import { DEFAULT_MAX_LINE_LENGTH, encodeLineAnswer, lineTooLongMessage } from "../pos/line-codec.js";
import type { PosAnswer } from "../pos/pos-messages.js";
import type {
  ConformanceEffect,
  ConformanceInput,
  ConformanceProfile,
  OperatorAction,
  QuestionCheck,
} from "./conformance-types.js";
import { EcrSegmenter, type SegmentEvent } from "./ecr-segmenter.js";
import { EcrSender, type SendProbe } from "./ecr-sender.js";
import { type FailOptions, Findings } from "./findings.js";
import { decodeFrame, decodeLine, describeBytes, formCheck, orderRefOf, readable } from "./incoming.js";
import { type LineEvent, LineSegmenter } from "./line-segmenter.js";
import type { RuleId } from "./rules.js";
import {
  GRACE_MS,
  type Incoming,
  RunIncomplete,
  type Script,
  type ScriptContext,
  type ScriptEvent,
  StepFailed,
  type Wait,
} from "./script-context.js";
import { type ConformanceOptions, resolveOptions } from "./conformance-options.js";
import { SimLedger } from "./sim-ledger.js";
import { type StepDef, scriptSteps } from "./steps.js";

export type { ConformanceOptions } from "./conformance-options.js";

/**
 * Silence inside a frame after which it is abandoned: the bridge's own value
 * (daemon/devices/ecr-terminal.ts STALE_FRAME_MS).
 */
export const STALE_FRAME_MS = 300;
/** A `line` register writes a request at once; a line still open after this has lost its LF. */
const LINE_QUIET_MS = 1000;

export class RegisterConformance implements ScriptContext {
  readonly profile: ConformanceProfile;
  readonly full: boolean;
  readonly ackTimeoutMs: number;
  readonly operatorTimeoutMs: number;
  readonly ledger = new SimLedger();
  private readonly steps: StepDef[];
  private readonly maxAmountFen: number;
  private readonly encodeText: TextEncode;
  private readonly segmenter: EcrSegmenter;
  private readonly lines = new LineSegmenter();
  private readonly sender: EcrSender | null;

  private clock = 0;
  private out: ConformanceEffect[] = [];
  private armedAt: number | null = null;
  private state: "new" | "running" | "finishing" | "done" = "new";
  private incomplete = false;

  private stepIndex = -1;
  private gen: Script | null = null;
  private wait: Wait | null = null;
  private resuming = false;
  private waitBadFrames = 0;
  /** The frame last handed to the step, which ack()/nak() answer. */
  private current: Incoming | null = null;
  private inbox: Incoming[] = [];
  private holds: { code: string; orderRef: string }[] = [];

  private lastRxAt = 0;
  private lastDelivered: { data: Uint8Array; at: number } | null = null;
  private lastChecked: Uint8Array | null = null;
  private sendIds = 0;
  private readonly sent = new Map<number, boolean>();
  private questions = 0;
  private readonly replies = new Map<string, boolean | null>();
  private trades = 0;

  private readonly findings = new Findings((effect) => this.out.push(effect));

  constructor(opts: ConformanceOptions = {}) {
    const { profile, script, ackTimeoutMs, operatorTimeoutMs, maxAmountFen, maxDataLength, encodeText } =
      resolveOptions(opts);
    this.profile = profile;
    this.full = script === "full";
    this.ackTimeoutMs = ackTimeoutMs;
    this.operatorTimeoutMs = operatorTimeoutMs;
    this.maxAmountFen = maxAmountFen;
    this.encodeText = encodeText;
    this.steps = scriptSteps(this.full, opts.steps);
    this.segmenter = new EcrSegmenter({ maxDataLength });
    this.sender =
      profile === "ecr"
        ? new EcrSender(ackTimeoutMs, {
            write: (bytes) => this.write(bytes),
            pass: (rule, message, bytes) => this.pass(rule, message, bytes),
            fail: (rule, message, o) => this.fail(rule, message, o),
            done: (id, ok) => this.onSent(id, ok),
            acked: (ms) => this.findings.acked(ms),
          })
        : null;
  }

  get finished(): boolean {
    return this.state === "done";
  }

  /** The steps this run plays, for the runner's banner. */
  get stepIds(): string[] {
    return this.steps.map((s) => s.id);
  }

  start(now: number): ConformanceEffect[] {
    return this.batch(now, () => {
      if (this.state !== "new") return;
      this.state = "running";
      this.startStep(0);
    });
  }

  feed(input: ConformanceInput, now: number): ConformanceEffect[] {
    return this.batch(now, () => {
      if (this.state === "new" || this.state === "done") return;
      switch (input.type) {
        case "bytes":
          this.onBytes(input.bytes);
          break;
        case "tick":
          this.onTick();
          break;
        case "reply":
          this.onReply(input.id, input.yes);
          break;
      }
      this.checkFinished();
    });
  }

  /**
   * Ends the run now (the operator pressed Ctrl-C, the port went away): the step in progress is
   * incomplete, the rest skipped, and the summary says what was found so far.
   */
  stop(now: number, reason: string): ConformanceEffect[] {
    return this.batch(now, () => {
      if (this.state === "done") return;
      if (this.state === "running" && this.gen) {
        this.note(`step ${this.stepId} stopped: ${reason}`);
        this.findings.endStep(this.stepId, true, null);
      }
      this.findings.skipped(this.steps.slice(Math.max(0, this.stepIndex + 1)).map((d) => d.id));
      this.gen = null;
      this.wait = null;
      this.stepIndex = this.steps.length;
      this.incomplete = true;
      this.state = "finishing";
      this.sender?.clear();
      this.checkFinished();
    });
  }

  // ---- ScriptContext: what a step may do --------------------------------------------------

  now(): number {
    return this.clock;
  }

  prompt(text: string, action: OperatorAction): void {
    this.out.push({ type: "prompt", step: this.stepId, text, action });
  }

  ask(text: string, check: QuestionCheck): string {
    const id = `q${++this.questions}`;
    this.out.push({ type: "question", step: this.stepId, id, text, check });
    return id;
  }

  pass(rule: RuleId, message: string, bytes?: Uint8Array): void {
    this.findings.pass(this.stepId, rule, message, bytes);
  }

  fail(rule: RuleId, message: string, opts: FailOptions = {}): void {
    this.findings.fail(this.stepId, rule, message, opts);
  }

  note(text: string): void {
    this.out.push({ type: "note", step: this.stepId, text });
  }

  ack(): void {
    if (this.profile !== "ecr") return;
    this.write(Uint8Array.of(ACK));
    if (this.current) this.lastDelivered = { data: this.current.data, at: this.clock };
  }

  nak(): void {
    if (this.profile === "ecr") this.write(Uint8Array.of(NAK));
  }

  transmit(answer: PosAnswer, probe?: SendProbe): number {
    const id = ++this.sendIds;
    if (this.sender) {
      this.sender.send(id, encodeEcrAnswer(answer, this.encodeText), probe, this.clock);
    } else {
      this.write(this.encodeText(encodeLineAnswer(answer)));
      this.sent.set(id, true);
    }
    return id;
  }

  hold(code: string, orderRef: string): void {
    this.holds.push({ code, orderRef });
  }

  route(inc: Incoming): void {
    if (inc.type === "badRequest") {
      this.transmit({
        type: "result",
        seq: inc.seq,
        orderRef: inc.orderRef,
        status: "REJECTED",
        amountFen: null,
        scheme: null,
        channelTradeNo: "",
        text: inc.message,
      });
      return;
    }
    const a = this.ledger.answer(inc.request);
    this.transmit(a.answer);
    if (a.note) this.note(a.note);
    if (a.deviation) this.fail(a.deviation.rule, a.deviation.message, { bytes: inc.bytes });
  }

  tradeNo(): string {
    return `4200${String(++this.trades).padStart(24, "0")}`;
  }

  // ---- the run ---------------------------------------------------------------------------

  private get stepId(): string {
    return this.steps[this.stepIndex]?.id ?? "end";
  }

  private batch(now: number, fn: () => void): ConformanceEffect[] {
    this.clock = now;
    this.out = [];
    fn();
    this.rearm();
    return this.out;
  }

  private write(bytes: Uint8Array): void {
    const shown = this.profile === "ecr" ? describeBytes(bytes) : readable(bytes);
    this.out.push({ type: "wire", direction: "out", hex: toHex(bytes), text: shown });
    this.out.push({ type: "write", bytes });
  }

  private startStep(index: number): void {
    this.stepIndex = index;
    const def = this.steps[index];
    if (!def) {
      this.finish();
      return;
    }
    this.findings.beginStep();
    this.out.push({
      type: "step",
      step: {
        id: def.id,
        index: index + 1,
        of: this.steps.length,
        title: def.title,
        about: def.about({ full: this.full, ecr: this.profile === "ecr" }),
      },
    });
    this.gen = def.run(this);
    this.resume(undefined);
  }

  /** Runs the step until it waits for something that has not happened yet. */
  private resume(ev: ScriptEvent | undefined): void {
    const gen = this.gen;
    if (!gen) return;
    this.wait = null;
    this.resuming = true;
    try {
      let r = gen.next(ev as ScriptEvent);
      while (!r.done) {
        const ready = this.satisfied(r.value);
        if (ready === undefined) {
          this.wait = r.value;
          this.waitBadFrames = 0;
          return;
        }
        r = gen.next(ready);
      }
    } catch (err) {
      this.resuming = false;
      this.endStep(err);
      return;
    } finally {
      this.resuming = false;
    }
    this.endStep(null);
  }

  /** What a wait gets at once, when it has already happened. */
  private satisfied(w: Wait): ScriptEvent | undefined {
    switch (w.kind) {
      case "sent": {
        const ok = this.sent.get(w.id);
        return ok === undefined ? undefined : { type: "sent", ok };
      }
      case "reply": {
        if (!this.replies.has(w.id)) return undefined;
        return { type: "reply", yes: this.replies.get(w.id) ?? null };
      }
      case "request": {
        const i = this.inbox.findIndex((inc) => this.accepts(w, inc));
        if (i < 0) return undefined;
        return this.inbox.splice(i, 1)[0];
      }
      case "frame":
        return undefined;
    }
  }

  private accepts(w: Extract<Wait, { kind: "request" }>, inc: Incoming): boolean {
    return w.codes.includes(inc.code) && (w.orderRef === undefined || orderRefOf(inc) === w.orderRef);
  }

  private endStep(err: unknown): void {
    const def = this.steps[this.stepIndex] as StepDef;
    this.gen = null;
    this.wait = null;
    const stopRun = err instanceof RunIncomplete;
    if (err !== null && !(err instanceof StepFailed) && !stopRun) throw err;
    if (err instanceof Error) this.note(`step ${def.id} stopped: ${err.message}`);
    this.holds = [];
    for (const inc of this.inbox.splice(0)) this.route(inc);
    const open = this.ledger.open ? this.ledger.get(this.ledger.open) : undefined;
    if (open) {
      // The register still waits for this sale's RS: end it, so the next step starts clean.
      const ended: PosAnswer = {
        type: "result",
        seq: open.saleSeq,
        orderRef: open.orderRef,
        status: "CANCELLED",
        amountFen: open.amountFen,
        scheme: null,
        channelTradeNo: "",
        text: "conformance: step ended, sale cancelled",
      };
      this.transmit(ended);
      this.ledger.settle(ended as Extract<PosAnswer, { type: "result" }>);
      this.note(`order ${open.orderRef} was ended with RS 20 so that the next step starts clean`);
    }
    this.findings.endStep(def.id, stopRun, this.sender ? this.ackTimeoutMs : null);
    if (stopRun) {
      this.incomplete = true;
      this.findings.skipped(this.steps.slice(this.stepIndex + 1).map((d) => d.id));
      this.stepIndex = this.steps.length;
      this.finish();
      return;
    }
    this.startStep(this.stepIndex + 1);
  }

  private finish(): void {
    this.state = "finishing";
  }

  /** Done once the last frames were taken (or given up), so the register is not left half-answered. */
  private checkFinished(): void {
    if (this.state !== "finishing" || (this.sender && !this.sender.idle)) return;
    this.state = "done";
    this.out.push({ type: "done", summary: this.findings.summary(this.incomplete) });
  }

  private rearm(): void {
    const due: number[] = [];
    if (this.wait && "until" in this.wait) due.push(this.wait.until);
    const sendDue = this.sender?.deadline;
    if (sendDue !== undefined && sendDue !== null) due.push(sendDue);
    if (this.segmenter.pending || this.lines.pending)
      due.push(this.lastRxAt + (this.profile === "ecr" ? STALE_FRAME_MS : LINE_QUIET_MS));
    if (due.length === 0) {
      this.armedAt = null;
      return;
    }
    const at = Math.min(...due);
    if (at === this.armedAt) return;
    this.armedAt = at;
    this.out.push({ type: "armTimer", at });
  }

  // ---- inputs ----------------------------------------------------------------------------

  private onTick(): void {
    this.armedAt = null;
    const now = this.clock;
    const quiet = this.profile === "ecr" ? STALE_FRAME_MS : LINE_QUIET_MS;
    if (now >= this.lastRxAt + quiet) {
      if (this.profile === "ecr") for (const ev of this.segmenter.flush()) this.onSegment(ev);
      else for (const ev of this.lines.flush()) this.onLineEvent(ev);
    }
    this.sender?.tick(now);
    const w = this.wait;
    if (w && "until" in w && now >= w.until) this.resume({ type: "timeout", badFrames: this.waitBadFrames });
  }

  private onReply(id: string, yes: boolean | null): void {
    if (this.replies.has(id) || !id.startsWith("q") || Number(id.slice(1)) > this.questions) return;
    this.replies.set(id, yes);
    if (yes === null) this.findings.questionUnanswered();
    if (this.wait?.kind === "reply" && this.wait.id === id) this.resume({ type: "reply", yes });
  }

  private onSent(id: number, ok: boolean): void {
    this.sent.set(id, ok);
    if (!this.resuming && this.wait?.kind === "sent" && this.wait.id === id)
      this.resume({ type: "sent", ok });
  }

  private onBytes(bytes: Uint8Array): void {
    this.lastRxAt = this.clock;
    if (this.profile === "ecr") for (const ev of this.segmenter.push(bytes)) this.onSegment(ev);
    else for (const ev of this.lines.push(bytes)) this.onLineEvent(ev);
  }

  private onSegment(ev: SegmentEvent): void {
    if (ev.type !== "control")
      this.out.push({ type: "wire", direction: "in", hex: toHex(ev.bytes), text: describeBytes(ev.bytes) });
    switch (ev.type) {
      case "frame":
        this.onFrame(ev.data, ev.bytes);
        return;
      case "badFrame":
        this.write(Uint8Array.of(NAK));
        this.fail(ev.diagnosis.rule, `frame NAKed: ${ev.diagnosis.message}`, {
          bytes: ev.bytes,
          ...(ev.diagnosis.expected ? { expected: ev.diagnosis.expected } : {}),
          key: toHex(ev.bytes),
        });
        this.onBadFrame();
        return;
      case "control":
        this.out.push({
          type: "wire",
          direction: "in",
          hex: toHex(Uint8Array.of(ev.byte)),
          text: describeBytes(Uint8Array.of(ev.byte)),
        });
        if (ev.byte === ACK) this.sender?.onAck(this.clock);
        else if (ev.byte === NAK) this.sender?.onNak(this.clock);
        else this.write(Uint8Array.of(ACK)); // ENQ: a link test, answered ACK as the bridge does
        return;
      case "noise":
        this.fail("frame-noise", `${ev.bytes.length} byte(s) outside any frame were dropped`, {
          bytes: ev.bytes,
          key: "noise",
        });
        return;
      case "incomplete":
        this.fail(
          "frame-incomplete",
          `frame cut short: the line went quiet for ${STALE_FRAME_MS} ms inside it`,
          {
            bytes: ev.bytes,
            key: "incomplete",
          },
        );
        this.onBadFrame();
        return;
    }
  }

  /** The register is trying: a wait for its request need not last the operator's whole timeout. */
  private onBadFrame(): void {
    this.waitBadFrames++;
    const w = this.wait;
    if (w?.kind === "request") w.until = Math.min(w.until, this.clock + 3 * this.ackTimeoutMs + GRACE_MS);
  }

  private onFrame(data: Uint8Array, bytes: Uint8Array): void {
    const inc = decodeFrame(data, bytes, this.clock, this.maxAmountFen);
    this.formCheck(inc);
    const w = this.wait;
    if (w?.kind === "frame") {
      this.current = inc;
      this.resume(inc);
      return;
    }
    const last = this.lastDelivered;
    if (last && bytesEqual(last.data, data) && this.clock - last.at <= 3 * this.ackTimeoutMs) {
      // The bridge takes this for a resend after a lost ACK and ignores it (§4).
      this.current = null;
      this.ack();
      this.fail(
        "link-resend",
        `sent the same frame again ${this.clock - last.at} ms after the terminal had ACKed it: a frame is resent only after a NAK or the ACK timeout; a new request needs a new seq`,
        { bytes, key: "resent-acked" },
      );
      last.at = this.clock;
      return;
    }
    this.current = inc;
    if (w?.kind === "request" && this.accepts(w, inc)) {
      if (!w.manualAck) this.ack();
      this.resume(inc);
      return;
    }
    this.ack();
    this.unasked(inc);
  }

  private onLineEvent(ev: LineEvent): void {
    this.out.push({ type: "wire", direction: "in", hex: toHex(ev.bytes), text: readable(ev.bytes) });
    switch (ev.type) {
      case "line": {
        const inc = decodeLine(ev.bytes, this.clock, this.maxAmountFen);
        this.formCheck(inc);
        this.current = inc;
        const w = this.wait;
        if (w?.kind === "request" && this.accepts(w, inc)) this.resume(inc);
        else this.unasked(inc);
        return;
      }
      case "overlong":
        this.fail(
          "line-format",
          `line of ${ev.length} bytes; the bridge refuses lines longer than ${DEFAULT_MAX_LINE_LENGTH}`,
          {
            bytes: ev.bytes,
          },
        );
        this.transmit({
          type: "result",
          seq: "00",
          orderRef: "",
          status: "REJECTED",
          amountFen: null,
          scheme: null,
          channelTradeNo: "",
          text: lineTooLongMessage(DEFAULT_MAX_LINE_LENGTH),
        });
        return;
      case "unterminated":
        this.fail(
          "line-format",
          "a line without LF at its end: the bridge waits for the LF and never reads it",
          {
            bytes: ev.bytes,
          },
        );
        return;
    }
  }

  /** A request the step does not wait for: kept for it when held, else answered as the bridge would. */
  private unasked(inc: Incoming): void {
    const ref = orderRefOf(inc);
    if (inc.type === "request" && this.holds.some((h) => h.code === inc.code && h.orderRef === ref)) {
      this.inbox.push({ ...inc, acked: true });
      return;
    }
    this.route(inc);
  }

  private formCheck(inc: Incoming): void {
    if (this.lastChecked && bytesEqual(this.lastChecked, inc.bytes)) return;
    this.lastChecked = inc.bytes;
    const c = formCheck(inc, this.profile);
    if (c.ok) this.pass(c.rule, c.message, inc.bytes);
    else this.fail(c.rule, c.message, { bytes: inc.bytes });
  }
}
