// Is the wall clock synchronised? Asked of timedatectl (systemd: NTPSynchronized reflects the
// kernel's sync flag, whichever of timesyncd, chrony or ntpd sets it), else systemd-timesyncd's
// flag file. MQTT carries no time, so skew against the broker is not measured; clock-sane.ts
// bounds the clock by what this PC has seen instead.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Check, finding } from "./check.js";

const SUBJECT = "clock";
const TIMEDATECTL_MS = 2_000;

export const clockSyncCheck: Check = {
  id: "clock-sync",
  title: "the clock is synchronised",
  async run(ctx) {
    const r = await ctx.runCommand(
      "timedatectl",
      ["show", "-p", "NTPSynchronized", "--value"],
      TIMEDATECTL_MS,
    );
    const answer = r.ok ? r.stdout.trim() : "";
    if (answer === "yes")
      return [finding(this.id, "ok", SUBJECT, "synchronised (timedatectl: NTPSynchronized=yes)")];
    if (answer === "no")
      return [
        finding(this.id, "warn", SUBJECT, "not synchronised (timedatectl: NTPSynchronized=no)", {
          code: "PB_CLOCK_WRONG",
          detail:
            "sales are stamped and the cloud's deadline set with this clock; TLS certificates are checked against it",
          fix: "timedatectl set-ntp true, and let the PC reach an NTP server (UDP 123) or the store's time source",
        }),
      ];
    if (existsSync(join(ctx.roots.run, "systemd", "timesync", "synchronized")))
      return [finding(this.id, "ok", SUBJECT, "synchronised (systemd-timesyncd)")];
    return [
      finding(
        this.id,
        "ok",
        SUBJECT,
        "synchronisation unknown: no answer from timedatectl and no systemd-timesyncd flag",
        {
          detail: "see clock-sane for what this PC's own records say about the clock",
        },
      ),
    ];
  },
};
