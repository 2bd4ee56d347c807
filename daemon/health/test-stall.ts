// Test-only: with PB_TEST_STALL_MS=<ms> in the environment, SIGUSR2 makes the daemon hold its
// event loop for that long (a busy wait), as a wedged fsync or a runaway loop would, so the
// notify test can see the watchdog pings stop while the loop is held and resume after it
// (test/integration/systemd-notify.test.ts). Unset (production), nothing is installed and SIGUSR2
// keeps its default action.
import type { Logger } from "../log/logger.js";

export function installTestStall(env: NodeJS.ProcessEnv, log: Logger): void {
  const ms = Number(env.PB_TEST_STALL_MS);
  if (!Number.isFinite(ms) || ms <= 0) return;
  process.on("SIGUSR2", () => {
    log.warn({ stallMs: ms }, "test stall: holding the event loop (PB_TEST_STALL_MS)");
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // held on purpose
    }
    log.warn({ stallMs: ms }, "test stall: event loop released");
  });
}
