// The conformance tool's sending side (`ecr` profile): one frame at a time, ACK awaited for the ACK
// timeout, resent on NAK or silence, 3 sends in all, as the bridge's link machine does
// (protocols/ecr/link-machine.ts). Two probes of the register's receiving side ride on it:
// `corruptFirst` sends the frame once with a wrong LRC (the register must NAK it), `duplicate`
// sends it again after its ACK (the register must ACK the repeat and not act on it twice).
import { encodeEcrFrame } from "../ecr/frame-encoder.js";
import type { RuleId } from "./rules.js";

export type SendProbe = "corruptFirst" | "duplicate";

export interface SenderHooks {
  write(bytes: Uint8Array): void;
  pass(rule: RuleId, message: string, bytes?: Uint8Array): void;
  fail(rule: RuleId, message: string, opts?: { bytes?: Uint8Array; key?: string }): void;
  /** The frame `id` is done: ACKed (`ok`), or given up after every send. */
  done(id: number, ok: boolean): void;
  /** The register ACKed a frame `ms` after it was (last) sent. */
  acked(ms: number): void;
}

type Phase = "corrupt" | "normal" | "repeat";

interface Flight {
  id: number;
  frame: Uint8Array;
  probe: SendProbe | undefined;
  phase: Phase;
  sends: number;
  sentAt: number;
  deadline: number;
  /** A timeout or NAK of this frame was already reported (resends are not reported again). */
  reported: boolean;
}

/** The frame with its LRC inverted: well framed, wrong check byte. */
function corrupt(frame: Uint8Array): Uint8Array {
  const bad = frame.slice();
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
  return bad;
}

export class EcrSender {
  private readonly queue: { id: number; data: Uint8Array; probe: SendProbe | undefined }[] = [];
  private flight: Flight | null = null;

  constructor(
    private readonly ackTimeoutMs: number,
    private readonly hooks: SenderHooks,
    private readonly maxSends = 3,
  ) {}

  get idle(): boolean {
    return this.flight === null && this.queue.length === 0;
  }

  get deadline(): number | null {
    return this.flight?.deadline ?? null;
  }

  /** Forgets the frame in flight and the queue (the run is over). */
  clear(): void {
    this.queue.length = 0;
    this.flight = null;
  }

  send(id: number, data: Uint8Array, probe: SendProbe | undefined, now: number): void {
    this.queue.push({ id, data, probe });
    if (!this.flight) this.next(now);
  }

  onAck(now: number): void {
    const f = this.flight;
    if (!f) {
      this.hooks.fail(
        "link-ack",
        "ACK with no frame outstanding: a late ACK (after the terminal had sent the frame again), or an ACK sent twice",
        { key: "stray-ack" },
      );
      return;
    }
    switch (f.phase) {
      case "corrupt":
        this.hooks.fail(
          "link-nak",
          "ACKed a frame whose LRC is wrong: it must answer NAK and ignore the frame",
          { bytes: corrupt(f.frame) },
        );
        this.transmit(f, "normal", now);
        return;
      case "normal":
        this.hooks.acked(now - f.sentAt);
        if (f.probe === "duplicate") {
          this.transmit(f, "repeat", now);
          return;
        }
        this.finish(true, now);
        return;
      case "repeat":
        this.hooks.pass("link-duplicate", "ACKed the same frame sent again", f.frame);
        this.finish(true, now);
        return;
    }
  }

  onNak(now: number): void {
    const f = this.flight;
    if (!f) {
      this.hooks.fail("link-nak", "NAK with no frame outstanding", { key: "stray-nak" });
      return;
    }
    switch (f.phase) {
      case "corrupt":
        this.hooks.pass("link-nak", "NAKed a frame with a wrong LRC", corrupt(f.frame));
        this.transmit(f, "normal", now);
        return;
      case "normal":
        if (!f.reported)
          this.hooks.fail("link-nak", "NAKed a well-formed frame (LEN, ETX and LRC are right)", {
            bytes: f.frame,
          });
        f.reported = true;
        this.retry(f, now);
        return;
      case "repeat":
        this.hooks.fail(
          "link-duplicate",
          "NAKed the same frame sent again: a repeat is well formed, it must be ACKed (and not acted on)",
          { bytes: f.frame },
        );
        this.finish(true, now);
        return;
    }
  }

  tick(now: number): void {
    const f = this.flight;
    if (!f || now < f.deadline) return;
    switch (f.phase) {
      case "corrupt":
        this.hooks.fail("link-nak", `no NAK within ${this.ackTimeoutMs} ms for a frame with a wrong LRC`, {
          bytes: corrupt(f.frame),
        });
        this.transmit(f, "normal", now);
        return;
      case "normal":
        if (!f.reported)
          this.hooks.fail(
            "link-ack",
            `no ACK within ${this.ackTimeoutMs} ms; the terminal sends the frame again`,
            {
              bytes: f.frame,
              key: "no-ack",
            },
          );
        f.reported = true;
        this.retry(f, now);
        return;
      case "repeat":
        this.hooks.fail(
          "link-duplicate",
          `no ACK within ${this.ackTimeoutMs} ms for the same frame sent again: a repeat must be ACKed`,
          { bytes: f.frame },
        );
        this.finish(true, now);
        return;
    }
  }

  private next(now: number): void {
    const item = this.queue.shift();
    if (!item) return;
    const f: Flight = {
      id: item.id,
      frame: encodeEcrFrame(item.data),
      probe: item.probe,
      phase: "normal",
      sends: 0,
      sentAt: now,
      deadline: now,
      reported: false,
    };
    this.flight = f;
    this.transmit(f, item.probe === "corruptFirst" ? "corrupt" : "normal", now);
  }

  private transmit(f: Flight, phase: Phase, now: number): void {
    f.phase = phase;
    if (phase === "normal") f.sends++;
    f.sentAt = now;
    f.deadline = now + this.ackTimeoutMs;
    this.hooks.write(phase === "corrupt" ? corrupt(f.frame) : f.frame);
  }

  private retry(f: Flight, now: number): void {
    if (f.sends >= this.maxSends) {
      this.hooks.fail(
        "link-ack",
        `no ACK after ${this.maxSends} sends; the terminal gives the frame up (link fault)`,
        { bytes: f.frame },
      );
      this.finish(false, now);
      return;
    }
    this.transmit(f, "normal", now);
  }

  private finish(ok: boolean, now: number): void {
    const f = this.flight as Flight;
    this.flight = null;
    // The next frame goes first: `done` may queue another, which must wait behind it.
    this.next(now);
    this.hooks.done(f.id, ok);
  }
}
