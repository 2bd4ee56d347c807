// A whole capture through a reader and the amount machine, offline: what
// `posbridge display decode` prints, and what the tests assert on. Timed captures are replayed on
// their own clock (idle cuts and the stability window as on the live line); an untimed one has
// every byte at 0 ms, so nothing settles until the stream ends — then, as the issue says, the
// last total counts as stable: what a scan at the end of the stream would charge.
import {
  amountDueMono,
  type AmountMachineOptions,
  initialAmountState,
  standingTotal,
  stepAmount,
} from "./amount-machine.js";
import { isChargeable, type ReadingKind, readScreen } from "./amount-text.js";
import type { CaptureChunk } from "./capture.js";
import type { DisplayReader } from "./display-reader.js";
import type { Lamp, ScreenEvent } from "./screen-event.js";

export interface DecodedUpdate {
  lamp: Lamp | null;
  lines: string[];
  /** The amount the screen shows (a total, a price, a tender), in fen; null if none was read. */
  amountFen: number | null;
  /** A total a scan could be charged for, were it to stay (the machine's stability window aside). */
  chargeable: boolean;
  kind: ReadingKind;
  basis: string;
}

export interface DecodedStream {
  updates: DecodedUpdate[];
  /** The total a scan at the end of the stream would be charged, or null. */
  standingTotalFen: number | null;
  /** Accepted totals in order (seq, amount), for the tests. */
  accepted: { seq: number; amountFen: number }[];
  decodedBytes: number;
  discardedBytes: number;
}

export function decodeStream(
  chunks: readonly CaptureChunk[],
  reader: DisplayReader,
  machine: AmountMachineOptions = {},
): DecodedStream {
  let state = initialAmountState(machine);
  const updates: DecodedUpdate[] = [];
  const accepted: { seq: number; amountFen: number }[] = [];
  const { rules, maxAmountFen } = state.settings;

  const feed = (events: ScreenEvent[], at: number) => {
    for (const event of events) {
      if (event.type === "update") {
        const reading = readScreen(event.screen, rules);
        updates.push({
          lamp: event.screen.lamp,
          lines: [...event.screen.lines],
          amountFen: reading.amountFen,
          chargeable: isChargeable(reading, maxAmountFen),
          kind: reading.kind,
          basis: reading.basis,
        });
      }
      step(event, at);
    }
  };
  const step = (input: Parameters<typeof stepAmount>[1], at: number) => {
    const next = stepAmount(state, input, at);
    state = next.state;
    for (const effect of next.effects) {
      if (effect.type === "totalAccepted") accepted.push({ seq: effect.seq, amountFen: effect.amountFen });
    }
  };
  /** Idle cuts and settled totals due up to `until`, in time order. */
  const catchUp = (until: number) => {
    for (;;) {
      const idle = reader.idleDueMono;
      const settle = amountDueMono(state);
      const next = Math.min(idle ?? Number.POSITIVE_INFINITY, settle ?? Number.POSITIVE_INFINITY);
      if (next > until) return;
      if (idle !== null && idle === next) feed(reader.flush(idle), idle);
      else step({ type: "tick" }, next);
    }
  };

  let now = 0;
  for (const chunk of chunks) {
    catchUp(chunk.atMs);
    now = Math.max(now, chunk.atMs);
    feed(reader.push(chunk.bytes, now), now);
  }
  catchUp(now);
  feed(reader.end(), now);
  const due = amountDueMono(state);
  if (due !== null) step({ type: "tick" }, due);

  return {
    updates,
    standingTotalFen: standingTotal(state)?.amountFen ?? null,
    accepted,
    decodedBytes: reader.decodedTotal,
    discardedBytes: reader.discardedTotal,
  };
}
