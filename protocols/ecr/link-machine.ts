// The `ecr` link layer as a pure step function (shared/spec/terminal-protocol.md, "Link layer"):
// ACK/NAK, ack timeout, at most 3 sends, ENQ link test, repeat-frame suppression. Stop-and-wait:
// one frame in flight. No timers here: the runner (daemon/devices/ecr-terminal.ts) executes
// `armTimer`/`cancelTimer` and feeds `tick` when the timer fires; time arrives as `now`.
import { bytesEqual } from "../core/bytes.js";
import { ACK, ENQ, NAK } from "./constants.js";
import { encodeEcrFrame } from "./frame-encoder.js";
import type { EcrChunk } from "./framer.js";

export interface LinkOptions {
  /** How long to wait for ACK/NAK after a send. Spec default 1000 ms. */
  ackTimeoutMs?: number;
  /** Sends per frame before giving up, first send included. Spec: "at most 3 sends in all". */
  maxSends?: number;
}

export interface LinkCounters {
  /** Well-formed frames received, repeats included. */
  framesIn: number;
  /** Frames put on the wire for the first time (retransmits are counted apart). */
  framesOut: number;
  naksSent: number;
  /** NAKs received for the frame in flight. */
  naksReceived: number;
  retransmits: number;
  timeouts: number;
  /** Frames given up on after maxSends. */
  faults: number;
  /** Bytes the framer dropped outside frames. */
  discardedBytes: number;
  duplicatesSuppressed: number;
  /** Bad frames received (each NAKed). */
  badFrames: number;
  /** ACK/NAK received with nothing in flight. */
  strayControls: number;
}

export interface InFlight {
  /** DATA, as queued; reported back in a fault. */
  readonly data: Uint8Array;
  /** The encoded frame, resent byte for byte. */
  readonly frame: Uint8Array;
  readonly sends: number;
  readonly deadline: number;
}

export interface LinkState {
  readonly ackTimeoutMs: number;
  readonly maxSends: number;
  /** DATA waiting for the frame in flight to finish. */
  readonly queue: readonly Uint8Array[];
  readonly inFlight: InFlight | null;
  /** DATA of the last well-formed frame received, to recognise a retransmission. */
  readonly lastReceived: Uint8Array | null;
  /** When it was received: only a repeat within the resend window is a retransmission. */
  readonly lastReceivedAt: number;
  readonly counters: Readonly<LinkCounters>;
}

export type LinkInput =
  | { type: "chunk"; chunk: EcrChunk }
  | { type: "send"; data: Uint8Array }
  | { type: "tick" };

export type LinkFaultReason = "noAck";

export type LinkEffect =
  | { type: "write"; bytes: Uint8Array }
  /** A new well-formed frame's DATA for the application. */
  | { type: "deliver"; data: Uint8Array }
  /** Arm (or re-arm, replacing any armed timer) for absolute time `at`; call `tick` then. */
  | { type: "armTimer"; at: number }
  | { type: "cancelTimer" }
  /** The frame was dropped after maxSends without ACK; the next queued frame goes. */
  | { type: "fault"; reason: LinkFaultReason; data: Uint8Array };

export type LinkStep = (
  state: LinkState,
  input: LinkInput,
  now: number,
) => { state: LinkState; effects: LinkEffect[] };

const ACK_BYTES = Uint8Array.of(ACK);
const NAK_BYTES = Uint8Array.of(NAK);

export function createLinkState({ ackTimeoutMs = 1000, maxSends = 3 }: LinkOptions = {}): LinkState {
  if (!Number.isFinite(ackTimeoutMs) || ackTimeoutMs <= 0) {
    throw new TypeError(`ackTimeoutMs must be a positive number, got ${ackTimeoutMs}`);
  }
  if (!Number.isInteger(maxSends) || maxSends < 1) {
    throw new TypeError(`maxSends must be a positive integer, got ${maxSends}`);
  }
  return {
    ackTimeoutMs,
    maxSends,
    queue: [],
    inFlight: null,
    lastReceived: null,
    lastReceivedAt: 0,
    counters: zeroLinkCounters(),
  };
}

/** Every counter at zero (a new link, or a profile without a link layer). */
export function zeroLinkCounters(): LinkCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    naksSent: 0,
    naksReceived: 0,
    retransmits: 0,
    timeouts: 0,
    faults: 0,
    discardedBytes: 0,
    duplicatesSuppressed: 0,
    badFrames: 0,
    strayControls: 0,
  };
}

/** Mutable working copy for one step; the caller's state is never modified. */
type Draft = { -readonly [K in keyof LinkState]: LinkState[K] } & { counters: LinkCounters };

/** Takes the next queued DATA (if any) and puts it on the wire; otherwise stops the timer. */
function sendNext(s: Draft, effects: LinkEffect[], now: number): void {
  const [next, ...rest] = s.queue;
  if (next === undefined) {
    s.inFlight = null;
    effects.push({ type: "cancelTimer" });
    return;
  }
  s.queue = rest;
  const frame = encodeEcrFrame(next);
  const deadline = now + s.ackTimeoutMs;
  s.inFlight = { data: next, frame, sends: 1, deadline };
  s.counters.framesOut++;
  effects.push({ type: "write", bytes: frame }, { type: "armTimer", at: deadline });
}

/** NAK or timeout: send the same frame again, or give up after maxSends (spec "Link layer"). */
function retryOrFault(s: Draft, inFlight: InFlight, effects: LinkEffect[], now: number): void {
  if (inFlight.sends >= s.maxSends) {
    s.counters.faults++;
    effects.push({ type: "fault", reason: "noAck", data: inFlight.data });
    sendNext(s, effects, now);
    return;
  }
  const deadline = now + s.ackTimeoutMs;
  s.inFlight = { ...inFlight, sends: inFlight.sends + 1, deadline };
  s.counters.retransmits++;
  effects.push({ type: "write", bytes: inFlight.frame }, { type: "armTimer", at: deadline });
}

function onChunk(s: Draft, chunk: EcrChunk, effects: LinkEffect[], now: number): void {
  switch (chunk.type) {
    case "frame": {
      // ACK at once, before the application sees it (spec: "answers ACK at once").
      s.counters.framesIn++;
      effects.push({ type: "write", bytes: ACK_BYTES });
      // Same DATA (hence same seq) as the previous frame, within the window in which a sender
      // resends (maxSends × ackTimeoutMs): our ACK was lost and the POS resent it. Later, the same
      // DATA is a new request from a register that reuses its seq, and gets its own answer.
      const resendWindow = s.maxSends * s.ackTimeoutMs;
      if (
        s.lastReceived !== null &&
        now - s.lastReceivedAt <= resendWindow &&
        bytesEqual(s.lastReceived, chunk.data)
      ) {
        s.counters.duplicatesSuppressed++;
        s.lastReceivedAt = now;
        return;
      }
      s.lastReceived = chunk.data;
      s.lastReceivedAt = now;
      effects.push({ type: "deliver", data: chunk.data });
      return;
    }
    case "badFrame":
      s.counters.badFrames++;
      s.counters.naksSent++;
      effects.push({ type: "write", bytes: NAK_BYTES });
      return;
    case "discarded":
      s.counters.discardedBytes += chunk.length;
      return;
    case "control": {
      if (chunk.byte === ENQ) {
        // Link test: answer ACK while running (spec "Link layer").
        effects.push({ type: "write", bytes: ACK_BYTES });
        return;
      }
      const inFlight = s.inFlight;
      if (inFlight === null) {
        s.counters.strayControls++;
        return;
      }
      if (chunk.byte === ACK) {
        sendNext(s, effects, now);
        return;
      }
      s.counters.naksReceived++;
      retryOrFault(s, inFlight, effects, now);
      return;
    }
  }
}

export const linkStep: LinkStep = (state, input, now) => {
  const s: Draft = { ...state, counters: { ...state.counters } };
  const effects: LinkEffect[] = [];
  switch (input.type) {
    case "chunk":
      onChunk(s, input.chunk, effects, now);
      break;
    case "send":
      s.queue = [...s.queue, input.data];
      if (s.inFlight === null) sendNext(s, effects, now);
      break;
    case "tick": {
      const inFlight = s.inFlight;
      if (inFlight === null) break;
      if (now < inFlight.deadline) {
        // Fired early (timer granularity): wait for the real deadline.
        effects.push({ type: "armTimer", at: inFlight.deadline });
        break;
      }
      s.counters.timeouts++;
      retryOrFault(s, inFlight, effects, now);
      break;
    }
  }
  return { state: s, effects };
};
