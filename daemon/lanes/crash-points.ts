// Test-only crash points: with PB_TEST_CRASH_AT=<point>[#n] in the environment the process kills
// itself with SIGKILL the n-th time (default 1st) it reaches that point, so fault tests can stop
// the daemon at every step of an attempt's life and prove recovery (issue 3, item 8). Points:
//   journal:<kind>:<state>   after a journal record is durable (e.g. journal:attempt:sent,
//                            journal:sale:PAID, journal:refund:requested)
//   publish:<kind>           after a request is handed to the broker (pay, query, cancel, refund)
//   answer:<status>          after an RS reached the register's port (PAID, UNKNOWN, …)
//   result:<status>          when a cloud result arrives, before anything is done with it
// Unset (production), `reach` is a no-op.

export type CrashPoint = (point: string) => void;

export function crashPointsFromEnv(env: NodeJS.ProcessEnv, kill: () => void = selfKill): CrashPoint {
  const spec = env.PB_TEST_CRASH_AT;
  if (!spec) return () => {};
  const [point, nth] = spec.split("#");
  const target = nth ? Number(nth) : 1;
  let seen = 0;
  return (reached) => {
    if (reached !== point) return;
    seen++;
    if (seen === target) kill();
  };
}

function selfKill(): void {
  process.kill(process.pid, "SIGKILL");
}
