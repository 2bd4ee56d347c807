// Is the daemon's event loop held up? Everything the bridge does (the register's ACKs, scans,
// the journal's writes) waits on it; held past the watchdog's ping interval, systemd restarts
// the bridge (PB_WATCHDOG_WITHHELD). Only the running daemon can measure its own loop.
import { type Check, finding } from "./check.js";

/** A register waits about a second for an ACK: a loop held this long is felt at the till. */
export const LOOP_WARN_MS = 200;
export const LOOP_ERROR_MS = 1_000;

export const eventLoopCheck: Check = {
  id: "event-loop",
  title: "the daemon's event loop is not held up",
  run(ctx) {
    if (!ctx.daemon.running) return [];
    const ms = Math.round(ctx.daemon.facts.eventLoopDelayMs);
    if (ms < LOOP_WARN_MS) return [finding(this.id, "ok", "event loop", `delay ${ms} ms`)];
    return [
      finding(
        this.id,
        ms >= LOOP_ERROR_MS ? "error" : "warn",
        "event loop",
        `held up ${ms} ms (limit ${LOOP_WARN_MS} ms)`,
        {
          code: "PB_WATCHDOG_WITHHELD",
          detail: "the register's ACKs and the journal's writes wait while it is held",
          fix: "a slow or failing disk (dmesg, the journal's fsync) or an overloaded PC (top); if it lasts, systemd restarts the bridge",
        },
      ),
    ];
  },
};
