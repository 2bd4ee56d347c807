// Test actions that never move money (local only; each takes its lane for itself, one at a time,
// and only while no sale is open on it):
//   test-display   shows a text on the customer display for a few seconds
//   test-scan      waits for one read: its length, classification, masked code and what a sale
//                  would do with it; the read is not a sale's, not remembered, never sent
//   test-register  an ES frame to the register and its ACK (ecr), with the link counters
//   test-sale      a training sale: the real sale engine, the register and the display, but the
//                  payment cloud is the simulation inside the bridge (lanes/training-cloud.ts);
//                  streams its progress until its result
import { BridgeError } from "../../errors.js";
import type { TrainingEvent } from "../../lanes/lane-training.js";
import { BoundedQueue } from "../bounded-queue.js";
import type { DiagContext, DiagMethod, LaneDiagnostics } from "../methods.js";
import { integerParam, laneParam, paramsOf, requestError, stringParam } from "../params.js";

/** How long a test text stays on the display before it shows idle again. */
export const TEST_DISPLAY_MS = 10_000;
const DISPLAY_COLUMNS = 20;

/** Takes the lane for a test action, or says why it cannot; returns the release. */
function takeLane(ctx: DiagContext, lane: LaneDiagnostics): () => void {
  if (ctx.testsRunning.has(lane.id))
    throw new BridgeError("PB_CONTROL_BUSY", `another test action is running on lane ${lane.id}`);
  const busy = lane.busyReason();
  if (busy) throw new BridgeError("PB_CONTROL_REFUSED", `${busy}: test actions wait until it ends`);
  ctx.testsRunning.add(lane.id);
  return () => ctx.testsRunning.delete(lane.id);
}

/** "WELCOME|LINE 2" or a text of up to 40 characters cut into two display lines. */
export function displayLines(text: string): [string, string] {
  const [a, b] = text.includes("|")
    ? text.split("|", 2)
    : [text.slice(0, DISPLAY_COLUMNS), text.slice(DISPLAY_COLUMNS)];
  return [(a ?? "").trim(), (b ?? "").trim()];
}

export const testDisplayMethod: DiagMethod = {
  name: "test-display",
  remote: false,
  mutates: true,
  async run(ctx, params) {
    const p = paramsOf(params);
    const lane = laneParam(ctx, p);
    const text = stringParam(p, "text", { max: 41 });
    if (text === undefined || text.trim() === "")
      throw requestError("text is required (up to 40 characters; '|' starts the second line)");
    if (!lane.config.display) throw requestError(`lane ${lane.id} has no display configured`);
    const release = takeLane(ctx, lane);
    try {
      const lines = lane.testDisplay({ type: "text", lines: displayLines(text) }, TEST_DISPLAY_MS);
      const device = ctx.snapshot().lanes.find((l) => l.id === lane.id)?.devices.display;
      return {
        lane: lane.id,
        shown: lines,
        forMs: TEST_DISPLAY_MS,
        state: device?.state,
        error: device?.error,
      };
    } finally {
      release();
    }
  },
};

export const testScanMethod: DiagMethod = {
  name: "test-scan",
  remote: false,
  mutates: true,
  async run(ctx, params, signal) {
    const p = paramsOf(params);
    const lane = laneParam(ctx, p);
    const timeoutMs = integerParam(p, "timeoutMs", 1_000, 600_000) ?? 30_000;
    const release = takeLane(ctx, lane);
    const scanner = ctx.snapshot().lanes.find((l) => l.id === lane.id)?.devices.scanner;
    ctx.log.info(
      { lane: lane.id, timeoutMs },
      "test scan: the next read on this lane is the test's, not a sale's",
    );
    try {
      const code = await new Promise<string | undefined>((resolve) => {
        const untap = lane.tapNextScan((read) => done(read));
        const timer = ctx.clock.setTimeout(() => done(undefined), timeoutMs);
        const onAbort = () => done(undefined);
        signal.addEventListener("abort", onAbort, { once: true });
        function done(read: string | undefined) {
          untap();
          timer.cancel();
          signal.removeEventListener("abort", onAbort);
          resolve(read);
        }
      });
      if (code === undefined)
        return {
          lane: lane.id,
          read: false,
          waitedMs: timeoutMs,
          scanner: { state: scanner?.state, error: scanner?.error },
        };
      return { lane: lane.id, read: true, ...lane.judgeScan(code) };
    } finally {
      release();
    }
  },
};

export const testRegisterMethod: DiagMethod = {
  name: "test-register",
  remote: false,
  mutates: true,
  async run(ctx, params) {
    const p = paramsOf(params);
    const lane = laneParam(ctx, p);
    const release = takeLane(ctx, lane);
    try {
      const before = lane.terminalStatus();
      const probe = await lane.probeRegister();
      const after = lane.terminalStatus();
      return {
        lane: lane.id,
        profile: lane.config.terminal?.profile ?? "displayTap",
        ...probe,
        state: after.state,
        error: after.error,
        node: after.device,
        counters: after.counters,
        sinceProbe: Object.fromEntries(
          Object.entries(after.counters).map(([k, v]) => [
            k,
            v - (before.counters[k as keyof typeof before.counters] ?? 0),
          ]),
        ),
      };
    } finally {
      release();
    }
  },
};

export const testSaleMethod: DiagMethod = {
  name: "test-sale",
  remote: false,
  mutates: true,
  run(ctx, params, signal) {
    const p = paramsOf(params);
    const lane = laneParam(ctx, p);
    const amountFen = integerParam(p, "amountFen", 1, ctx.config.sale.maxAmountFen);
    if (amountFen === undefined)
      throw requestError(`amountFen is required (1 to ${ctx.config.sale.maxAmountFen})`);
    const release = takeLane(ctx, lane);
    const queue = new BoundedQueue<TrainingEvent, { type: "missed"; count: number }>(200, (count) => ({
      type: "missed",
      count,
    }));
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      release();
      queue.close();
    };
    const sale = lane.startTraining(amountFen, (event) => {
      queue.push(event);
      if (event.type === "result") end();
    });
    ctx.log.warn(
      { lane: lane.id, orderRef: sale.orderRef, amountFen },
      "training sale started (posbridge test sale)",
    );
    // The technician gave up (Ctrl-C): the training sale is cancelled as CA would.
    signal.addEventListener(
      "abort",
      () => {
        if (!ended) sale.cancel();
        end();
      },
      { once: true },
    );
    return queue;
  },
};
