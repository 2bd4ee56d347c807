// Test-only crash points: with PB_TEST_CRASH_AT=<point>[#n] in the environment the process kills
// itself with SIGKILL the n-th time (default 1st) it reaches that point, so fault tests can stop
// the daemon at every step of an attempt's life and prove recovery (issue 3, item 8). With
// PB_TEST_THROW_AT=<point>[#n] it dies of an uncaught exception there instead, so a test can read
// what a crash prints (the privacy canary: no payment code in crash output). Points:
//   journal:<kind>:<state>   after a journal record is durable (e.g. journal:attempt:sent,
//                            journal:sale:PAID, journal:refund:requested); with group commit,
//                            once the commit holding the step's records is, for each in order
//   publish:<kind>           after a request is handed to the broker (pay, query, cancel, refund)
//   answer:<status>          after an RS reached the register's port (PAID, UNKNOWN, …)
//   result:<status>          when a cloud result arrives, before anything is done with it
// Unset (production), `reach` is a no-op.

export type CrashPoint = (point: string) => void;

export function crashPointsFromEnv(env: NodeJS.ProcessEnv, kill: () => void = selfKill): CrashPoint {
  const kills = atNth(env.PB_TEST_CRASH_AT, kill);
  const throws = atNth(env.PB_TEST_THROW_AT, (point) => throwUncaught(point));
  return (reached) => {
    kills(reached);
    throws(reached);
  };
}

/** Calls `act` the n-th time `spec` (`<point>[#n]`) is reached; a no-op without a spec. */
function atNth(spec: string | undefined, act: (point: string) => void): CrashPoint {
  if (!spec) return () => {};
  const [point, nth] = spec.split("#");
  const target = nth ? Number(nth) : 1;
  let seen = 0;
  return (reached) => {
    if (reached !== point) return;
    seen++;
    if (seen === target) act(reached);
  };
}

function selfKill(): void {
  process.kill(process.pid, "SIGKILL");
}

/**
 * An error made here (its stack is the lane's, with a payment code perhaps in scope) and thrown
 * where nothing catches it: the callers of crash points guard their handlers, and the crash
 * under test is the process's own (main.ts: uncaughtException → PB_INTERNAL, exit 1).
 */
function throwUncaught(point: string): void {
  const err = new Error(`test crash at ${point} (PB_TEST_THROW_AT)`);
  setImmediate(() => {
    throw err;
  });
}
