// The lane's state in one word, as the register's EC answer and the status show it.
import type { LaneSaleState } from "./sale-types.js";

export function laneState(state: LaneSaleState): string {
  const cur = state.current;
  if (!cur) return state.refunds.some((r) => !r.answered) ? "REFUNDING" : "IDLE";
  const phase = cur.attempt?.phase;
  if (!phase) return "WAIT_SCAN";
  if (phase === "waitCustomer") return "WAIT_CUSTOMER";
  if (phase === "unknown") return "QUERYING";
  if (phase === "reversing") return "REVERSING";
  return "SUBMITTED";
}
