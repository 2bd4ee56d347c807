// Is the daemon running (did it answer on its control socket)? Without it no sale is taken, and
// every other finding is the doctor's own look at this PC rather than the daemon's view.
import { type Check, finding } from "./check.js";

export const daemonRunningCheck: Check = {
  id: "daemon",
  title: "the daemon answers on its control socket",
  run(ctx) {
    if (ctx.daemon.running)
      return [finding(this.id, "ok", "daemon", "running: it answered on its control socket")];
    return [
      finding(this.id, "warn", "daemon", `not running: ${ctx.daemon.reason}`, {
        detail: "the findings below are this PC as the doctor sees it, not the daemon's view",
        fix: "systemctl start posbridge (journalctl -u posbridge -n 50 says why it stopped)",
      }),
    ];
  },
};
