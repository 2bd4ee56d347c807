// The payment code's custody alone: held only while its attempt can still be (re)published,
// never past the code's life, never after the lane stops; spent only once it has left the bridge,
// and given back when the broker refused the only copy of its pay request.
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { CloudCommand } from "../../../protocols/cloud/cloud-messages.js";
import type { AttemptRecord } from "../../../protocols/sale/records.js";
import { ManualClock } from "../../../daemon/clock.js";
import type { PublishRefusal } from "../../../daemon/cloud/mqtt-link.js";
import type { CloudRpc } from "../../../daemon/cloud/rpc.js";
import { CodeCustody } from "../../../daemon/lanes/code-custody.js";
import { attemptRecord } from "../../support/journal-records.js";
import { WECHAT } from "../../support/sale-harness.js";

type OnAck = (acked: boolean, refusal?: PublishRefusal) => void;
const LIFETIME_MS = 60_000;
const REFUSED: PublishRefusal = { reasonCode: 0x87, name: "0x87 not authorized" };

function custody(opts: { brokerUp?: boolean; noCloud?: boolean } = {}) {
  const clock = new ManualClock();
  const sent: { command: CloudCommand; expiresAtMono: number }[] = [];
  const acks: OnAck[] = [];
  const refused: { attemptId: string; reasonCode: string }[] = [];
  const lines: string[] = [];
  const counters = { paysResent: 0 };
  const rpc: Pick<CloudRpc, "send"> = {
    send: (_lane, command, options) => {
      sent.push({ command, expiresAtMono: options.expiresAtMono });
      if (options.onAck) acks.push(options.onAck);
      return opts.brokerUp === false ? { ok: false, reason: "offline" } : { ok: true, requestId: "R" };
    },
  } as Pick<CloudRpc, "send">;
  const c = new CodeCustody({
    laneId: "l1",
    clock,
    log: pino({ level: "info" }, { write: (l: string) => lines.push(l) }),
    codeLifetimeMs: LIFETIME_MS,
    cloudFor: () => (opts.noCloud ? undefined : rpc),
    onPayRefused: (attemptId, reasonCode) => refused.push({ attemptId, reasonCode }),
    counters,
    crash: () => {},
  });
  // An attempt made of a scan now, as the sale machine makes it (its deadline: the code's life).
  const attempt = (phase: AttemptRecord["phase"], attemptId = "A1"): AttemptRecord =>
    attemptRecord("ORD1", {
      attemptId,
      phase,
      createdAt: clock.wallNow(),
      deadlineMs: clock.wallNow() + LIFETIME_MS,
      scannedMono: clock.monoNow(),
    });
  return { c, clock, sent, acks, refused, lines, counters, attempt };
}

describe("CodeCustody", () => {
  it("holds a code only while its attempt can still be (re)published", () => {
    const t = custody();
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    for (const phase of ["queued", "sent", "unknown"] as const) {
      t.c.forgetAllBut(t.attempt(phase));
      expect(t.c.size).toBe(1);
    }
    t.c.forgetAllBut(t.attempt("paid"));
    expect(t.c.size).toBe(0);
    expect(t.c.publish(t.attempt("sent"))).toEqual({ ok: false, reason: "payment code no longer held" });

    // A code read for an attempt that never started (or another attempt in flight): gone at once.
    t.c.hold("A2", WECHAT, t.clock.monoNow());
    t.c.forgetAllBut(null);
    expect(t.c.size).toBe(0);
    t.c.hold("A3", WECHAT, t.clock.monoNow());
    t.c.forgetAllBut(t.attempt("sent", "A4"));
    expect(t.c.size).toBe(0);
    expect(t.sent).toHaveLength(0);
  });

  it("never holds a code past its life, even for an attempt still in flight", () => {
    const t = custody();
    const a = t.attempt("sent");
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    t.clock.advance(LIFETIME_MS - 1);
    t.c.forgetAllBut(a);
    expect(t.c.size).toBe(1);
    t.clock.advance(1);
    t.c.forgetAllBut(a);
    expect(t.c.size).toBe(0);
    expect(t.c.publish(a)).toEqual({ ok: false, reason: "payment code no longer held" });
    expect(t.sent).toHaveLength(0);
  });

  it("forgets every code when the lane stops", () => {
    const t = custody();
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    t.c.clear();
    expect(t.c.size).toBe(0);
    expect(t.c.publish(t.attempt("queued"))).toEqual({ ok: false, reason: "payment code no longer held" });
  });

  it("sends the code only in its attempt's pay request, which expires when the code dies", () => {
    const t = custody();
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    t.clock.advance(5_000); // sent 5 s after the scan (a blip)
    expect(t.c.publish(t.attempt("queued"))).toEqual({ ok: true });
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]?.command).toMatchObject({ type: "pay", attemptId: "A1", authCode: WECHAT });
    expect(t.sent[0]?.expiresAtMono).toBe(t.clock.monoNow() - 5_000 + LIFETIME_MS);
    expect(t.c.seen(WECHAT, t.clock.monoNow())).toBe(true); // spent: a second read is refused
    expect(t.lines.join("")).not.toContain(WECHAT);
  });

  it("spends no code whose pay request could not leave", () => {
    for (const opts of [{ brokerUp: false }, { noCloud: true }]) {
      const t = custody(opts);
      t.c.hold("A1", WECHAT, t.clock.monoNow());
      expect(t.c.publish(t.attempt("queued"))).toEqual({ ok: false, reason: "broker not connected" });
      expect(t.c.seen(WECHAT, t.clock.monoNow())).toBe(false);
      expect(t.c.size).toBe(1); // the attempt may still be sent within its window
    }
  });

  it("gives the code back when the broker refused the only copy of its pay request", () => {
    const t = custody();
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    t.c.publish(t.attempt("queued"));
    t.acks[0]?.(false, REFUSED);
    expect(t.refused).toEqual([{ attemptId: "A1", reasonCode: "0x87" }]);
    expect(t.c.seen(WECHAT, t.clock.monoNow())).toBe(false); // may be scanned again
  });

  it("resends a pay request left in doubt, same attempt; a refused resend gives nothing back", () => {
    const t = custody();
    t.c.hold("A1", WECHAT, t.clock.monoNow());
    t.c.publish(t.attempt("queued"));
    t.acks[0]?.(false); // the link dropped before the broker acknowledged it
    t.c.resendInDoubt(t.attempt("sent"));
    expect(t.sent.map((s) => s.command)).toEqual([t.sent[0]?.command, t.sent[0]?.command]);
    expect(t.counters.paysResent).toBe(1);
    t.acks[1]?.(false, REFUSED); // the first copy may have arrived
    expect(t.refused).toEqual([]);
    expect(t.c.seen(WECHAT, t.clock.monoNow())).toBe(true);
    expect(t.lines.some((l) => l.includes("an earlier copy may have reached the cloud"))).toBe(true);
    expect(t.lines.join("")).not.toContain(WECHAT);
  });

  it("resends only the attempt in flight, only while the broker's word on it is missing", () => {
    // A pay request published, then acknowledged by the broker (`acked`) or lost with the link.
    const published = (acked: boolean) => {
      const t = custody();
      t.c.hold("A1", WECHAT, t.clock.monoNow());
      t.c.publish(t.attempt("queued"));
      t.acks[0]?.(acked);
      return t;
    };
    const acked = published(true);
    acked.c.resendInDoubt(acked.attempt("sent"));
    expect(acked.sent).toHaveLength(1);

    const answered = published(false);
    answered.c.answered("A1"); // the cloud's result arrived: it has the request
    answered.c.resendInDoubt(answered.attempt("unknown"));
    expect(answered.sent).toHaveLength(1);

    const ended = published(false);
    ended.c.resendInDoubt(ended.attempt("paid"));
    ended.c.resendInDoubt(null);
    expect(ended.sent).toHaveLength(1);
    ended.c.resendInDoubt(ended.attempt("unknown"));
    expect(ended.sent).toHaveLength(2);
    expect(ended.counters.paysResent).toBe(1);
  });
});
