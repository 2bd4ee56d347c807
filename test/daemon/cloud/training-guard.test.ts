// Training sales can never reach the payment cloud: the lane sends their requests to the
// simulated cloud (TrainingCloud), which answers only training attempts; and the real path
// (CloudRpc) refuses any request of a training attempt that reaches it, publishing nothing.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import type { MqttLink } from "../../../daemon/cloud/mqtt-link.js";
import { type Answers, CloudRpc } from "../../../daemon/cloud/rpc.js";
import { isBridgeError } from "../../../daemon/errors.js";
import { TrainingCloud } from "../../../daemon/lanes/training-cloud.js";
import type { CloudResponse, PayCommand } from "../../../protocols/cloud/cloud-messages.js";
import { logSink } from "../../support/log-sink.js";

const NOW = 1_700_000_000_000;
const pay = (attemptId: string, amountFen = 100): PayCommand => ({
  type: "pay",
  attemptId,
  orderRef: `TRAIN-${attemptId}`,
  amountFen,
  authCode: "134567890123456789",
  scheme: "WECHAT",
  scannedAtMs: NOW,
  deadlineMs: NOW + 60_000,
});

describe("the training guard", () => {
  it("CloudRpc refuses a training attempt's request with PB_TRAINING_GUARD and publishes nothing", () => {
    const published: Uint8Array[] = [];
    const link = {
      onResponse: () => {},
      publishRequest: (bytes: Uint8Array) => {
        published.push(bytes);
        return true;
      },
    } as unknown as MqttLink;
    const sink = logSink();
    const rpc = new CloudRpc({ link, clock: new ManualClock(), log: sink.log, newId: () => "REQ1" });
    let caught: unknown;
    try {
      rpc.send("l1", pay("trn_01JTRAINING"), { expiresAtMono: Number.MAX_SAFE_INTEGER });
    } catch (err) {
      caught = err;
    }
    expect(isBridgeError(caught, "PB_TRAINING_GUARD")).toBe(true);
    for (const command of [{ type: "query" as const, attemptId: "trn_01JTRAINING" }]) {
      expect(() => rpc.send("l1", command, { expiresAtMono: Number.MAX_SAFE_INTEGER })).toThrow(
        /PB_TRAINING_GUARD/,
      );
    }
    expect(published).toEqual([]);
    expect(sink.entries.some((e) => e.errCode === "PB_TRAINING_GUARD")).toBe(true);
    // A real attempt still goes out.
    expect(rpc.send("l1", pay("01JREALATTEMPT"), { expiresAtMono: Number.MAX_SAFE_INTEGER }).ok).toBe(true);
    expect(published).toHaveLength(1);
  });

  it("TrainingCloud answers training attempts from its ledger, and refuses real ones", () => {
    const clock = new ManualClock(NOW);
    const cloud = new TrainingCloud({
      clock,
      log: pino({ level: "silent" }),
      newId: () => "X",
      answerDelayMs: 100,
    });
    const results: { laneId: string; response: CloudResponse; answers: Answers }[] = [];
    cloud.onResult((laneId, response, answers) => results.push({ laneId, response, answers }));
    expect(cloud.send("l1", pay("01JREALATTEMPT"), { expiresAtMono: 1 })).toEqual({
      ok: false,
      reason: "not a training attempt",
    });
    const acks: boolean[] = [];
    expect(cloud.send("l1", pay("trn_A"), { expiresAtMono: 1, onAck: (a) => acks.push(a) }).ok).toBe(true);
    expect(cloud.send("l1", pay("trn_B", 198), { expiresAtMono: 1 }).ok).toBe(true); // …98: UNKNOWN
    clock.advance(100);
    expect(acks).toEqual([true]);
    expect(results.map((r) => [r.response.attemptId, r.response.result.status, r.answers])).toEqual([
      ["trn_A", "PAID", "pay"],
      ["trn_B", "UNKNOWN", "pay"],
    ]);
    expect(cloud.ledger.get("trn_A")?.charged).toBe(true); // charged in the simulation only
  });
});
