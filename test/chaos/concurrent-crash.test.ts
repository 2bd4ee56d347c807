// Group commit under SIGKILL (issue 13, docs/journal.md "Group commit"): several lanes sell at
// once, so the journal's batches carry records of several lanes, and the daemon (a child process
// on ptys, against a real Mosquitto and the simulated cloud with its ledger) is killed while they
// are in flight: at crash points reached by whichever lane gets there first, and by a SIGKILL from
// outside at a random moment. After each restart: no sale lost, none charged twice, every answer
// the register got was backed by a durable record when it got it, each attempt id reached the
// cloud in at most one pay request (a restarted bridge holds no code to send again), and recovery
// resolves whatever was in flight.
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { decodeRequest } from "../../daemon/cloud/proto-codec.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { freshCode } from "./scenarios.js";
import { Rig, type RigLane, sleep } from "./rig.js";

const LANES = 4;

/** A seeded generator, so a failing run can be repeated (the seed is in the test's name). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

type Round = { kind: "point"; point: string } | { kind: "signal"; afterMs: number };

const SEED = 20261130;

describe("group commit: SIGKILL while several lanes' batches are in flight, then restart", () => {
  it(`no sale lost or charged twice, every answer backed by a durable record, each attempt sent at most once (seed ${SEED})`, async () => {
    const random = seeded(SEED);
    const rounds: Round[] = [
      { kind: "point", point: "journal:attempt:sent#5" },
      { kind: "signal", afterMs: 800 + Math.floor(random() * 1500) },
      { kind: "point", point: "journal:sale:PAID#4" },
      { kind: "signal", afterMs: 800 + Math.floor(random() * 1500) },
      { kind: "point", point: "publish:pay#6" },
      { kind: "point", point: "answer:PAID#5" },
    ];
    const rig = new Rig({ lanes: LANES });
    const problems: string[] = [];
    /** orderRef → the status the register heard in an RS (REJECTED excluded). */
    const heard = new Map<string, string>();
    /** Orders the register was asked to scan for (their sale was durable then). */
    const opened = new Set<string>();
    const payRequests = new Map<string, number>();
    let observer: mqtt.MqttClient | undefined;
    let busyAtKill = 0;
    try {
      await rig.setup();
      // What the cloud is asked, counted per attempt id, beside the simulated cloud's own ledger.
      observer = await mqtt.connectAsync(rig.broker.url, { protocolVersion: 5 });
      observer.on("message", (_topic, payload) => {
        const req = decodeRequest(new Uint8Array(payload));
        if (req.ok && req.value.command.type === "pay")
          payRequests.set(
            req.value.command.attemptId,
            (payRequests.get(req.value.command.attemptId) ?? 0) + 1,
          );
      });
      await observer.subscribeAsync(`${rig.prefix}/+/+/req`, { qos: 1 });
      let n = 0;
      for (const [r, round] of rounds.entries()) {
        const daemon = await rig.start(round.kind === "point" ? { PB_TEST_CRASH_AT: round.point } : {});
        await rig.waitOnline();
        let dead = false;
        const died = daemon.exit.then(() => {
          dead = true;
        });
        const inSale = new Set<string>();
        const sell = async (lane: RigLane, li: number) => {
          while (!dead) {
            const orderRef = `G${r}L${li}N${n++}`;
            const seq = lane.nextSeq();
            const mark = lane.register.answers.length;
            const amountFen = n % 5 === 0 ? 177 : 100 + (n % 50); // some wait for the customer
            inSale.add(lane.id);
            try {
              lane.register.request({ type: "sale", seq, orderRef, amountFen });
              const first = await lane.register.waitFor(
                (a) =>
                  (a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN") ||
                  (a.type === "result" && a.seq === seq),
                5_000,
                mark,
              );
              if (first.type === "result") {
                await sleep(50); // refused (busy with a sale recovered from before): try again
                continue;
              }
              // Asked to scan: the sale is durable.
              opened.add(orderRef);
              const sale = findSale(rig, lane.id, orderRef);
              if (!sale) problems.push(`${orderRef}: WAIT_SCAN heard, no sale in the journal`);
              await rig.scan(lane, freshCode());
              const rs = await lane.register.result(seq, 10_000, mark);
              if (rs.status === "REJECTED") continue;
              heard.set(orderRef, rs.status);
              const now = findSale(rig, lane.id, orderRef);
              if (now?.status !== rs.status && rs.status !== "UNKNOWN")
                problems.push(
                  `${orderRef}: RS ${rs.status} heard, the journal held ${now?.status ?? "nothing"}`,
                );
            } catch {
              return; // the daemon died under this sale
            } finally {
              inSale.delete(lane.id);
            }
          }
        };
        const selling = Promise.all(rig.lanes.map((lane, li) => sell(lane, li)));
        if (round.kind === "signal") {
          await Promise.race([sleep(round.afterMs), died]);
          busyAtKill = Math.max(busyAtKill, inSale.size);
          if (!dead) await daemon.stop("SIGKILL");
        } else {
          await Promise.race([died, sleep(30_000)]);
          busyAtKill = Math.max(busyAtKill, inSale.size);
          if (!dead) {
            problems.push(`round ${r}: the daemon never reached ${round.point}`);
            await daemon.stop("SIGKILL");
          }
        }
        await died;
        if (daemon.proc.signalCode !== "SIGKILL")
          problems.push(
            `round ${r}: the daemon ended ${daemon.proc.exitCode}/${daemon.proc.signalCode}, not killed`,
          );
        await selling;
      }
      await rig.start();
      await rig.waitOnline();
      await rig.settled(60_000);
      problems.push(...rig.verdict());
      const sales = new Map(
        rig
          .records()
          .filter((x): x is SaleRecord => x.kind === "sale")
          .map((s) => [s.orderRef, s]),
      );
      for (const orderRef of opened) if (!sales.has(orderRef)) problems.push(`${orderRef}: sale lost`);
      for (const [orderRef, status] of heard) {
        const final = sales.get(orderRef)?.status;
        if (status !== "UNKNOWN" && final !== status)
          problems.push(`${orderRef}: the register heard ${status}, the journal ends ${final}`);
      }
      for (const [attemptId, count] of payRequests)
        if (count > 1) problems.push(`attempt ${attemptId} sent to the cloud ${count} times`);
      process.stdout.write(
        `group commit chaos: ${opened.size} sales opened, ${heard.size} answered (${[...heard.values()].filter((s) => s === "PAID").length} PAID), ${payRequests.size} attempts sent, ${rounds.length} kills, up to ${busyAtKill} lanes mid-sale at a kill\n`,
      );
      expect(problems).toEqual([]);
      expect(opened.size).toBeGreaterThan(LANES * rounds.length);
      expect([...heard.values()].filter((s) => s === "PAID").length).toBeGreaterThan(0);
      expect(busyAtKill).toBeGreaterThanOrEqual(2); // killed with several lanes mid-sale
    } finally {
      await observer?.endAsync();
      await rig.teardown();
    }
  }, 240_000);
});

function findSale(rig: Rig, laneId: string, orderRef: string): SaleRecord | undefined {
  return rig
    .records()
    .find((x): x is SaleRecord => x.kind === "sale" && x.laneId === laneId && x.orderRef === orderRef);
}
