import { describe, expect, it } from "vitest";
import { fromHex, utf8 } from "../../../protocols/core/bytes.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { type EcrChunk, EcrFramer } from "../../../protocols/ecr/framer.js";
import {
  createLinkState,
  type LinkEffect,
  type LinkInput,
  type LinkState,
  linkStep,
} from "../../../protocols/ecr/link-machine.js";

const ACK = Uint8Array.of(0x06);
const NAK = Uint8Array.of(0x15);
const PR = utf8("PR\x1c00\x1cORD1\x1cWAIT_SCAN\x1cscan");
const RS = utf8("RS\x1c01\x1cORD1\x1c00\x1c1234\x1cWECHAT\x1c42\x1cok");
const SA = utf8("SA\x1c01\x1cORD1\x1c1234");

/** Drives the machine like the runner does, keeping the last state and every step's effects. */
function link(opts = {}) {
  let state: LinkState = createLinkState(opts);
  return {
    step(input: LinkInput, now: number): LinkEffect[] {
      const out = linkStep(state, input, now);
      state = out.state;
      return out.effects;
    },
    chunk(chunk: EcrChunk, now = 0): LinkEffect[] {
      return this.step({ type: "chunk", chunk }, now);
    },
    get state() {
      return state;
    },
  };
}

const control = (byte: 0x05 | 0x06 | 0x15): EcrChunk => ({ type: "control", byte });

describe("linkStep: sending", () => {
  it("writes the frame and arms the ack timer at now + ackTimeoutMs", () => {
    const l = link();
    expect(l.step({ type: "send", data: PR }, 100)).toEqual([
      { type: "write", bytes: encodeEcrFrame(PR) },
      { type: "armTimer", at: 1100 },
    ]);
    expect(l.state.counters.framesOut).toBe(1);
  });

  it("honours a configured ackTimeoutMs", () => {
    const l = link({ ackTimeoutMs: 250 });
    expect(l.step({ type: "send", data: PR }, 0)).toContainEqual({ type: "armTimer", at: 250 });
  });

  it("keeps one frame in flight and sends the next only after ACK", () => {
    const l = link();
    l.step({ type: "send", data: PR }, 0);
    expect(l.step({ type: "send", data: RS }, 10)).toEqual([]);
    expect(l.state.queue).toHaveLength(1);
    expect(l.chunk(control(0x06), 20)).toEqual([
      { type: "write", bytes: encodeEcrFrame(RS) },
      { type: "armTimer", at: 1020 },
    ]);
    expect(l.chunk(control(0x06), 30)).toEqual([{ type: "cancelTimer" }]);
    expect(l.state.inFlight).toBeNull();
    expect(l.state.counters.framesOut).toBe(2);
  });

  it("resends on NAK twice, then completes on ACK after 3 sends", () => {
    const l = link();
    const frame = encodeEcrFrame(RS);
    l.step({ type: "send", data: RS }, 0);
    expect(l.chunk(control(0x15), 50)).toEqual([
      { type: "write", bytes: frame },
      { type: "armTimer", at: 1050 },
    ]);
    expect(l.chunk(control(0x15), 80)).toEqual([
      { type: "write", bytes: frame },
      { type: "armTimer", at: 1080 },
    ]);
    expect(l.state.inFlight?.sends).toBe(3);
    expect(l.chunk(control(0x06), 90)).toEqual([{ type: "cancelTimer" }]);
    expect(l.state.counters).toMatchObject({ naksReceived: 2, retransmits: 2, faults: 0, framesOut: 1 });
  });

  it("faults after 3 timeouts, drops the frame and sends the next queued one", () => {
    const l = link();
    l.step({ type: "send", data: PR }, 0);
    l.step({ type: "send", data: RS }, 0);
    expect(l.step({ type: "tick" }, 1000)).toEqual([
      { type: "write", bytes: encodeEcrFrame(PR) },
      { type: "armTimer", at: 2000 },
    ]);
    expect(l.step({ type: "tick" }, 2000)).toEqual([
      { type: "write", bytes: encodeEcrFrame(PR) },
      { type: "armTimer", at: 3000 },
    ]);
    expect(l.step({ type: "tick" }, 3000)).toEqual([
      { type: "fault", reason: "noAck", data: PR },
      { type: "write", bytes: encodeEcrFrame(RS) },
      { type: "armTimer", at: 4000 },
    ]);
    expect(l.state.counters).toMatchObject({ timeouts: 3, retransmits: 2, faults: 1 });
    expect(l.state.inFlight?.data).toEqual(RS);
    expect(l.state.inFlight?.sends).toBe(1);
  });

  it("faults on a third NAK and stops the timer when nothing is queued", () => {
    const l = link();
    l.step({ type: "send", data: PR }, 0);
    l.chunk(control(0x15), 1);
    l.chunk(control(0x15), 2);
    expect(l.chunk(control(0x15), 3)).toEqual([
      { type: "fault", reason: "noAck", data: PR },
      { type: "cancelTimer" },
    ]);
    expect(l.state.inFlight).toBeNull();
  });

  it("re-arms without resending when tick comes before the deadline", () => {
    const l = link();
    l.step({ type: "send", data: PR }, 0);
    expect(l.step({ type: "tick" }, 999)).toEqual([{ type: "armTimer", at: 1000 }]);
    expect(l.state.counters.timeouts).toBe(0);
  });

  it("ignores tick with nothing in flight", () => {
    expect(link().step({ type: "tick" }, 5000)).toEqual([]);
  });

  it("counts and ignores a stray ACK or NAK with nothing in flight", () => {
    const l = link();
    expect(l.chunk(control(0x06))).toEqual([]);
    expect(l.chunk(control(0x15))).toEqual([]);
    expect(l.state.counters).toMatchObject({ strayControls: 2, naksReceived: 0 });
  });
});

describe("linkStep: receiving", () => {
  it("ACKs a well-formed frame at once and delivers it", () => {
    const l = link();
    expect(l.chunk({ type: "frame", data: SA })).toEqual([
      { type: "write", bytes: ACK },
      { type: "deliver", data: SA },
    ]);
    expect(l.state.counters.framesIn).toBe(1);
  });

  it("ACKs a repeat of the previous frame again without delivering it twice", () => {
    const l = link();
    l.chunk({ type: "frame", data: SA });
    expect(l.chunk({ type: "frame", data: SA.slice() })).toEqual([{ type: "write", bytes: ACK }]);
    expect(l.state.counters).toMatchObject({ framesIn: 2, duplicatesSuppressed: 1 });
  });

  it("treats the same DATA as a new request once the resend window (3 × ackTimeoutMs) has passed", () => {
    const l = link({ ackTimeoutMs: 1000 });
    const ec = utf8("EC\x1c07");
    l.chunk({ type: "frame", data: ec }, 0);
    expect(l.chunk({ type: "frame", data: ec }, 2500)).toEqual([{ type: "write", bytes: ACK }]); // a resend
    expect(l.chunk({ type: "frame", data: ec }, 5501)).toContainEqual({ type: "deliver", data: ec }); // a new poll
  });

  it("delivers the same request again once another frame came between", () => {
    const l = link();
    const ec = utf8("EC\x1c07");
    l.chunk({ type: "frame", data: SA });
    l.chunk({ type: "frame", data: ec });
    expect(l.chunk({ type: "frame", data: SA })).toContainEqual({ type: "deliver", data: SA });
  });

  it("delivers a frame that differs only in seq", () => {
    const l = link();
    l.chunk({ type: "frame", data: SA });
    const next = utf8("SA\x1c02\x1cORD1\x1c1234");
    expect(l.chunk({ type: "frame", data: next })).toContainEqual({ type: "deliver", data: next });
  });

  it("answers ENQ with ACK", () => {
    expect(link().chunk(control(0x05))).toEqual([{ type: "write", bytes: ACK }]);
  });

  it.each(["lrc", "bcdLength", "tooLong", "noEtx"] as const)("answers a %s bad frame with NAK", (reason) => {
    const l = link();
    expect(l.chunk({ type: "badFrame", reason })).toEqual([{ type: "write", bytes: NAK }]);
    expect(l.state.counters).toMatchObject({ naksSent: 1, badFrames: 1 });
  });

  it("counts discarded bytes", () => {
    const l = link();
    l.chunk({ type: "discarded", length: 3 });
    l.chunk({ type: "discarded", length: 4 });
    expect(l.state.counters.discardedBytes).toBe(7);
  });

  it("ACKs an incoming frame while its own frame waits for ACK, keeping the timer", () => {
    const l = link();
    l.step({ type: "send", data: PR }, 0);
    expect(l.chunk({ type: "frame", data: SA }, 10)).toEqual([
      { type: "write", bytes: ACK },
      { type: "deliver", data: SA },
    ]);
    expect(l.state.inFlight?.deadline).toBe(1000);
  });
});

describe("linkStep: purity", () => {
  it("does not modify the state it was given", () => {
    const start = createLinkState();
    const snapshot = structuredClone(start);
    linkStep(start, { type: "send", data: PR }, 0);
    linkStep(start, { type: "chunk", chunk: { type: "frame", data: SA } }, 0);
    expect(start).toEqual(snapshot);
  });

  it("rejects invalid options with a TypeError", () => {
    expect(() => createLinkState({ ackTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => createLinkState({ maxSends: 0 })).toThrow(TypeError);
  });
});

describe("framer + link machine", () => {
  it("answers the spec's SA frame with ACK, then NAKs a corrupted copy", () => {
    const framer = new EcrFramer();
    const l = link();
    const wire = fromHex("02 00 17 53 41 1c 30 31 1c 4f 52 44 31 32 33 1c 31 32 33 34 03 76");
    const bad = wire.slice();
    bad[10] = 0x50; // 'O' → 'P': LRC no longer matches
    const effects = framer.push(new Uint8Array([...wire, ...bad])).flatMap((chunk) => l.chunk(chunk));
    expect(effects).toEqual([
      { type: "write", bytes: ACK },
      { type: "deliver", data: wire.slice(3, -2) },
      { type: "write", bytes: NAK },
    ]);
  });
});
