// The register conformance machine against the project's register emulator (conforming) and
// against registers with one known mistake each: every mistake is reported with its rule, the
// section of docs/terminal-protocol.md and the register's bytes; a conforming register passes.
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../../../protocols/core/bytes.js";
import type { ConformanceEffect } from "../../../protocols/conformance/conformance-types.js";
import { RegisterConformance } from "../../../protocols/conformance/machine.js";
import { encodeEcrFrame } from "../../../protocols/ecr/frame-encoder.js";
import { encodeEcrRequest } from "../../../protocols/ecr/messages.js";
import { decodeBridgeAnswer } from "../../../protocols/ecr/register-side.js";
import { runInProcess } from "../../support/conformance-harness.js";

const frameOf = (hex: string) => {
  const b = fromHex(hex);
  return b.subarray(3, b.length - 2);
};
const writes = (effects: ConformanceEffect[]) =>
  effects.flatMap((e) => (e.type === "write" ? [e.bytes] : []));

describe("conformance: the project's VirtualRegister keeping the link layer", () => {
  it("passes the quick script: six outcomes, NAK and kept-back ACK and repeated answer probes", () => {
    const r = runInProcess();
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatchObject({ conforms: true, incomplete: false, deviations: 0, unchecked: 0 });
    expect(r.summary.steps.map((s) => `${s.id}:${s.result}`)).toEqual([
      "paid:passed",
      "waiting:passed",
      "rescan:passed",
      "unknown:passed",
      "cancelled:passed",
      "rejected:passed",
    ]);
    const passed = r.checks.map((c) => `${c.step} ${c.rule} ${c.message}`);
    expect(passed).toContainEqual(
      expect.stringMatching(/^paid link-resend sent the same frame again .* after its NAK/),
    );
    expect(passed).toContainEqual(
      expect.stringMatching(/^waiting link-resend sent the same frame again 1000 ms after the ACK kept back/),
    );
    expect(passed).toContainEqual("rescan link-duplicate ACKed the same frame sent again");
    expect(passed).toContainEqual(
      expect.stringMatching(/^unknown query-request QY for order CF4 after RS 30/),
    );
    expect(passed).toContainEqual(
      "unknown link-max-sends sent the unACKed frame 3 times in all, then stopped",
    );
    expect(passed).toContainEqual(expect.stringMatching(/^cancelled cancel-request CA for order CF5/));
    // The operator was asked to do each thing, in this order.
    expect(r.operator.actions.map((a) => a.kind)).toEqual([
      "sale",
      "sale",
      "sale",
      "sale",
      "query",
      "query", // the first QY was never ACKed, on purpose
      "sale",
      "cancel",
      "sale",
    ]);
  });

  it("answers each outcome as docs/terminal-protocol.md says: the register's screen shows them", () => {
    const r = runInProcess();
    const results = r.test.register.answers.flatMap((a) =>
      a.answer.type === "result" ? [`${a.answer.orderRef} ${a.answer.seq} ${a.answer.status}`] : [],
    );
    expect(results).toEqual([
      "CF1 01 PAID",
      "CF2 02 PAID",
      "CF3 03 PAID", // the repeat of this RS was ACKed and not acted on
      "CF4 04 UNKNOWN",
      "CF4 06 PAID", // the second QY's answer, echoing its seq (QY 05 was never ACKed, on purpose)
      "CF5 07 CANCELLED", // for the SA …
      "CF5 08 CANCELLED", // … and for the CA
      "CF6 09 REJECTED",
    ]);
  });

  it("passes the full script: wrong-LRC frame NAKed, 3 sends at most, QY again after 30, a refund", () => {
    const r = runInProcess({ script: "full" });
    expect(r.failures).toEqual([]);
    expect(r.summary.conforms).toBe(true);
    expect(r.summary.steps.map((s) => s.id)).toContain("refund");
    const rules = r.checks.map((c) => `${c.step} ${c.rule}`);
    expect(rules).toContain("paid link-nak");
    expect(rules).toContain("unknown link-max-sends");
    expect(rules).toContain("refund refund-request");
    // The QY kept unACKed was sent 3 times, no more.
    const qy = r.checks.find((c) => c.rule === "link-max-sends")?.bytes as string;
    const sent = r.effects.filter((e) => e.type === "wire" && e.direction === "in" && e.hex === qy);
    expect(sent).toHaveLength(3);
  });

  it("a run with nobody answering the questions conforms on the wire and says what it did not check", () => {
    const r = runInProcess({ operator: "silent", steps: ["paid", "rejected"] });
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatchObject({ conforms: true, unchecked: 2 });
  });
});

describe("conformance: registers with one mistake each", () => {
  it("an LRC that includes STX: NAKed, reported with the frame, the right LRC and the mistake", () => {
    const r = runInProcess({ fault: "wrongLrc", steps: ["paid"] });
    expect(r.summary).toMatchObject({ conforms: false, deviations: 1 });
    const [f] = r.failures;
    expect(f).toMatchObject({ rule: "frame-lrc", section: "3. Framing", step: "paid" });
    expect(f?.message).toContain("LRC is 2a, expected 28");
    expect(f?.message).toContain("it includes STX");
    expect(f?.bytes).toBe("02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 2a");
    expect(f?.expected).toBe("02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28");
    // As the bridge does: a NAK for each of the 3 sends, and no sale.
    expect(writes(r.effects).filter((w) => toHex(w) === "15")).toHaveLength(3);
    expect(r.test.register.answers).toEqual([]);
  });

  it("a binary LEN: reported with what LEN must be in BCD", () => {
    const r = runInProcess({ fault: "binaryLength", steps: ["paid"] });
    const [f] = r.failures;
    expect(f).toMatchObject({
      rule: "frame-length",
      bytes: "02 00 0e 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 32",
    });
    expect(f?.message).toBe(
      "frame NAKed: LEN 00 0e is not BCD (each half-byte must be 0-9): LEN was sent in binary; 14 as BCD is 00 14",
    );
    expect(f?.expected).toBe("02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28");
  });

  it("a register that never resends after a NAK", () => {
    const r = runInProcess({ fault: "ignoresNak" });
    expect(r.failures.map((f) => `${f.step} ${f.rule}`)).toEqual(["paid link-resend"]);
    expect(r.failures[0]?.message).toBe(
      "no resend within 1250 ms after its NAK: the frame must be sent again",
    );
    expect(r.failures[0]?.bytes).toBe("02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28");
  });

  it("a register that ACKs late: each frame it was slow on, with the frame", () => {
    const r = runInProcess({ fault: "lateAck", steps: ["rejected"] });
    const [f] = r.failures;
    expect(f).toMatchObject({ rule: "link-ack", section: "4. Link layer" });
    expect(f?.message).toBe("no ACK within 1000 ms; the terminal sends the frame again");
    expect(decodeBridgeAnswer(frameOf(f?.bytes as string))).toMatchObject({
      type: "result",
      status: "REJECTED",
    });
  });

  it("a register whose resend carries a new seq", () => {
    const r = runInProcess({ fault: "newSeqOnResend", steps: ["paid"] });
    const [f] = r.failures;
    expect(f).toMatchObject({ rule: "data-seq", section: "6. DATA fields" });
    expect(f?.bytes).toBe("02 00 14 53 41 1c 35 31 1c 43 46 31 1c 31 32 33 34 03 2d"); // seq 51
    expect(f?.expected).toBe("02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28"); // seq 01
  });

  it("a register that acts twice on an answer sent twice", () => {
    const r = runInProcess({ fault: "actsTwice" });
    expect(r.failures.map((f) => `${f.step} ${f.rule}`)).toEqual(["rescan link-duplicate"]);
    const paid = r.test.register.answers.filter(
      (a) => a.answer.type === "result" && a.answer.orderRef === "CF3",
    );
    expect(paid).toHaveLength(2);
  });

  it("amounts with a decimal point: refused as the bridge refuses them (RS 40), bytes reported", () => {
    const r = runInProcess({ fault: "decimalAmount", steps: ["paid"] });
    const [f] = r.failures;
    expect(f).toMatchObject({
      rule: "data-amount",
      bytes: "02 00 15 53 41 1c 30 31 1c 43 46 31 1c 31 32 2e 33 34 03 07",
    });
    expect(f?.message).toContain("amount has a decimal point");
    expect(r.test.register.answers.map((a) => a.answer)).toEqual([
      expect.objectContaining({ type: "result", seq: "01", orderRef: "CF1", status: "REJECTED" }),
    ]);
  });

  it("no register at all: the run stops after the operator's time, incomplete, the rest skipped", () => {
    const r = runInProcess({ operator: "absent", operatorTimeoutMs: 5000 });
    expect(r.summary).toMatchObject({ conforms: false, incomplete: true, deviations: 0 });
    expect(r.summary.steps.map((s) => s.result)).toEqual([
      "incomplete",
      "skipped",
      "skipped",
      "skipped",
      "skipped",
      "skipped",
    ]);
    const notes = r.effects.flatMap((e) => (e.type === "note" ? [e.text] : []));
    expect(notes).toContain(
      "step paid stopped: no SA from the register within 5 s: ring up the sale with payment by terminal; check --port, --baud and the cable",
    );
  });
});

describe("conformance: the line profile", () => {
  it("a correct line register passes every step (no link probes on this profile)", () => {
    const r = runInProcess({ profile: "line", script: "full" });
    expect(r.failures).toEqual([]);
    expect(r.summary.conforms).toBe(true);
    expect(r.checks.some((c) => c.rule.startsWith("link-"))).toBe(false);
  });

  it("a line amount with a decimal point, and a line ended by CR alone", () => {
    const dec = runInProcess({ profile: "line", fault: "decimalAmount", steps: ["paid"] });
    expect(dec.failures[0]).toMatchObject({ rule: "data-amount", bytes: toHex(utf8("SALE CF1 12.34")) });
    const cr = runInProcess({ profile: "line", fault: "crOnly", steps: ["paid"], operatorTimeoutMs: 5000 });
    expect(cr.failures[0]).toMatchObject({ rule: "line-format", bytes: toHex(utf8("SALE CF1 1234\r")) });
  });
});

/** Drives the machine by hand: bytes in at given times, effects out. */
function drive(opts: ConstructorParameters<typeof RegisterConformance>[0] = {}) {
  const m = new RegisterConformance({ operatorTimeoutMs: 10_000, ...opts });
  const all: ConformanceEffect[] = [...m.start(0)];
  return {
    m,
    all,
    bytes(b: Uint8Array, at: number) {
      const out = m.feed({ type: "bytes", bytes: b }, at);
      all.push(...out);
      return out;
    },
    tick(at: number) {
      const out = m.feed({ type: "tick" }, at);
      all.push(...out);
      return out;
    },
    failures: () => all.flatMap((e) => (e.type === "check" && !e.check.ok ? [e.check] : [])),
  };
}
const sa = (seq: string, orderRef: string, amountFen: number) =>
  encodeEcrFrame(encodeEcrRequest({ type: "sale", seq, orderRef, amountFen }));

describe("conformance: what the terminal answers outside the script, as the bridge does", () => {
  it("ENQ gets ACK; EC gets ES at any time; noise between frames is a deviation with its bytes", () => {
    const d = drive({ steps: ["paid"] });
    expect(writes(d.bytes(Uint8Array.of(0x05), 10))).toEqual([Uint8Array.of(0x06)]);
    const ec = d.bytes(encodeEcrFrame(encodeEcrRequest({ type: "echo", seq: "07" })), 20);
    const [ack, es] = writes(ec);
    expect(ack).toEqual(Uint8Array.of(0x06));
    expect(decodeBridgeAnswer(frameOf(toHex(es as Uint8Array)))).toEqual({
      type: "echoReply",
      seq: "07",
      brokerOnline: true,
      laneState: "IDLE",
    });
    d.bytes(utf8("\r\n"), 30);
    d.tick(400);
    expect(d.failures()).toEqual([
      expect.objectContaining({ rule: "frame-noise", bytes: "0d 0a", section: "3. Framing" }),
    ]);
  });

  it("a frame cut short is reported after 300 ms of silence, with what arrived", () => {
    const d = drive({ steps: ["paid"] });
    d.bytes(sa("01", "A1", 1234).subarray(0, 8), 10);
    expect(d.tick(309).some((e) => e.type === "check")).toBe(false);
    d.tick(310);
    expect(d.failures()).toEqual([
      expect.objectContaining({ rule: "frame-incomplete", bytes: "02 00 13 53 41 1c 30 31" }),
    ]);
  });

  it("a second SA while a sale is open is answered busy (40) and is a deviation", () => {
    const d = drive({ steps: ["cancelled"] });
    d.bytes(sa("01", "A1", 99), 10); // the step's sale
    d.bytes(Uint8Array.of(0x06), 12); // ACK of PR WAIT_SCAN
    const out = d.bytes(sa("02", "A2", 500), 20);
    const rs = writes(out).find((w) => w.length > 1) as Uint8Array;
    expect(decodeBridgeAnswer(frameOf(toHex(rs)))).toMatchObject({ seq: "02", status: "REJECTED" });
    expect(d.failures()).toEqual([
      expect.objectContaining({
        rule: "sale-request",
        message:
          "SA for order A2 while order A1 is still open: wait for its RS (or send CA) before the next sale",
      }),
    ]);
  });

  it("a request repeated with the same seq right after its ACK is ignored, as the bridge ignores it", () => {
    const d = drive({ steps: ["paid"] });
    const qy = encodeEcrFrame(encodeEcrRequest({ type: "query", seq: "03", orderRef: "Z9" }));
    expect(writes(d.bytes(qy, 10))).toHaveLength(2); // ACK + RS 40 (unknown order)
    d.bytes(Uint8Array.of(0x06), 12);
    const again = writes(d.bytes(qy, 500));
    expect(again).toEqual([Uint8Array.of(0x06)]);
    expect(d.failures()).toEqual([expect.objectContaining({ rule: "link-resend", bytes: toHex(qy) })]);
  });

  it("FS mistakes are named: a trailing FS, fields separated by '|'", () => {
    const d = drive({ steps: ["paid", "waiting"] });
    d.bytes(encodeEcrFrame(utf8("SA\x1c01\x1cA1\x1c1234\x1c")), 10);
    d.bytes(Uint8Array.of(0x06), 11); // takes the RS 40 answering it
    d.bytes(encodeEcrFrame(utf8("SA|02|A1|1234")), 500);
    const [trailing, pipes] = d.failures();
    expect(trailing).toMatchObject({ rule: "data-fields" });
    expect(trailing?.message).toContain("DATA ends with FS");
    expect(pipes).toMatchObject({ rule: "data-code" });
    expect(pipes?.message).toContain("fields must be separated by FS, byte 1C");
  });

  it("refuses bad options and unknown step names", () => {
    expect(() => new RegisterConformance({ ackTimeoutMs: 50 })).toThrow(/ackTimeoutMs/);
    expect(() => new RegisterConformance({ operatorTimeoutMs: 10 })).toThrow(/operatorTimeoutMs/);
    expect(() => new RegisterConformance({ steps: ["payed"] })).toThrow(
      /unknown step payed; steps are paid,/,
    );
  });
});

describe("conformance: stopped early", () => {
  it("stop() ends the run at once: the step in progress incomplete, the rest skipped, findings kept", () => {
    const d = drive({ steps: ["paid", "waiting", "rescan"] });
    d.bytes(encodeEcrFrame(utf8("SA\x1c01\x1cA1\x1c12.34")), 10);
    const out = d.m.stop(20, "stopped by the operator");
    const done = out.find((e) => e.type === "done");
    expect(done).toEqual({
      type: "done",
      summary: {
        conforms: false,
        incomplete: true,
        passed: 0,
        deviations: 1,
        unchecked: 0,
        steps: [
          { id: "paid", result: "deviations" },
          { id: "waiting", result: "incomplete" },
          { id: "rescan", result: "skipped" },
        ],
      },
    });
    expect(d.m.finished).toBe(true);
    expect(d.m.feed({ type: "tick" }, 30)).toEqual([]);
  });
});
