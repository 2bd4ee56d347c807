// Is the wall clock plausible? It cannot be earlier than this program was built or installed,
// nor earlier than the newest record this PC wrote to its journal: either means the clock was
// set back (a dead CMOS battery resets it at every boot). Skew against the payment cloud is
// clock-skew.ts's (from the cloud's answers, while the daemon runs); a broker certificate "not yet
// valid" is the broker finding's, and says so.
import { type Check, finding } from "./check.js";

const SUBJECT = "clock";
/** Within this, a clock behind a record is rounding or a small NTP step, not a wrong clock. */
export const CLOCK_SLACK_MS = 5 * 60_000;

const FIX =
  "set the clock (timedatectl set-ntp true, or timedatectl set-time); if it is wrong after every boot, replace the CMOS battery";

export const clockSaneCheck: Check = {
  id: "clock-sane",
  title: "the clock is not earlier than this program and the journal",
  run(ctx) {
    const now = ctx.clock.wallNow();
    if (now + CLOCK_SLACK_MS < ctx.programTimeMs)
      return [
        finding(
          this.id,
          "error",
          SUBJECT,
          `the clock says ${iso(now)}, earlier than this program was installed (${iso(ctx.programTimeMs)})`,
          {
            code: "PB_CLOCK_WRONG",
            fix: FIX,
          },
        ),
      ];
    const newest = newestRecordAt(ctx);
    if (newest !== undefined && now + CLOCK_SLACK_MS < newest)
      return [
        finding(
          this.id,
          "error",
          SUBJECT,
          `the clock says ${iso(now)}, earlier than the journal's newest record (${iso(newest)})`,
          {
            code: "PB_CLOCK_WRONG",
            detail: "the clock was set back since that record was written",
            fix: FIX,
          },
        ),
      ];
    return [
      finding(
        this.id,
        "ok",
        SUBJECT,
        `${iso(now)} is after this program's install${newest !== undefined ? " and the journal's newest record" : ""}`,
      ),
    ];
  },
};

function newestRecordAt(ctx: Parameters<typeof clockSaneCheck.run>[0]): number | undefined {
  if (!ctx.config) return undefined;
  const j = ctx.journal();
  if (!("records" in j) || j.records.length === 0) return undefined;
  return j.records.reduce((max, r) => Math.max(max, r.updatedAt), 0);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
