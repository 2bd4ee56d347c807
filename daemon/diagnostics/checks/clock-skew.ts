// Is this PC's clock close to the payment cloud's? MQTT carries no time, but every answer of the
// cloud carries its `sent_at_ms`, and the running daemon keeps the median difference of the last
// few (CloudRpc.cloudSkewMs). Every timeout of the bridge is monotonic and does not care; what a
// wrong clock spoils is what the cloud is told: the `deadline_ms` of each pay request (a code
// may be refused as expired, or charged after the customer gave up) and every record's time.
import { type Check, finding } from "./check.js";

const SUBJECT = "clock";
/** Beyond this the deadlines the cloud sees are off by a noticeable part of a code's 60 s life. */
export const SKEW_WARN_MS = 5_000;
export const SKEW_ERROR_MS = 30_000;

const FIX =
  "set the clock from the network (timedatectl set-ntp true; check that NTP can reach its servers: timedatectl timesync-status)";

export const clockSkewCheck: Check = {
  id: "clock-skew",
  title: "this PC's clock agrees with the payment cloud's",
  run(ctx) {
    if (!ctx.daemon.running) return [];
    const skew = ctx.daemon.facts.cloudClockSkewMs;
    if (skew === null)
      return [
        finding(
          this.id,
          "ok",
          SUBJECT,
          "skew against the payment cloud not measured yet: the daemon measures it from the cloud's answers",
        ),
      ];
    const s = Math.abs(skew) / 1000;
    const side = skew > 0 ? "behind" : "ahead of";
    const words = `this PC's clock is ${s.toFixed(1)} s ${side} the payment cloud's (from its answers)`;
    if (Math.abs(skew) <= SKEW_WARN_MS) return [finding(this.id, "ok", SUBJECT, words)];
    return [
      finding(this.id, Math.abs(skew) > SKEW_ERROR_MS ? "error" : "warn", SUBJECT, words, {
        code: "PB_CLOCK_WRONG",
        detail: `every pay request's deadline (60 s after the scan) reaches the cloud ${s.toFixed(1)} s off`,
        fix: FIX,
      }),
    ];
  },
};
