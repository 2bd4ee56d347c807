// A lane in no-integration mode (docs/hardware.md): the daemon reads the register's display line.
// While it runs, says what it reads it at (configured, or found by auto-detection) and whether it
// decodes; a line still being detected, or one detection could not place, is a warning with what
// to do: ring up a sale while it listens, or set the settings a capture decodes at.
import { daemonDevice } from "../daemon-facts.js";
import { type Check, finding, type Finding } from "./check.js";

export const displayTapCheck: Check = {
  id: "display-tap",
  title: "the register's display line is read (no-integration mode)",
  run(ctx) {
    if (!ctx.config || !ctx.daemon.running) return [];
    const out: Finding[] = [];
    for (const lane of ctx.config.lanes) {
      if (!lane.displayTap) continue;
      const subject = `${lane.id} display tap`;
      const tap = daemonDevice(ctx.daemon, lane.id, "terminal")?.tap;
      if (!tap) continue;
      const d = tap.detection;
      const at = `${d.baudRate} baud, parity ${d.parity}, dialect ${d.dialect}`;
      if (d.state === "detecting") {
        out.push(
          finding(
            this.id,
            "warn",
            subject,
            `still detecting the display line (${d.tried} setting(s) listened to)`,
            {
              fix: "ring up a sale on the register while the bridge listens; detection needs the register to write to its display",
            },
          ),
        );
      } else if (d.state === "nothing") {
        out.push(
          finding(this.id, "warn", subject, `the display line was not detected: ${d.reason}`, {
            fix: "record the line (docs/hardware.md, 'Captures') and run `posbridge display decode --dialect auto` on it; then set baudRate, parity and dialect in lanes[].displayTap",
          }),
        );
      } else {
        const how = d.state === "locked" ? `detected, confidence ${d.confidence}` : "as configured";
        const reading = tap.reading
          ? `it shows ${tap.reading.lines.map((l) => `"${l}"`).join(" / ")}`
          : "nothing decoded yet";
        out.push(finding(this.id, "ok", subject, `reads the display line at ${at} (${how}); ${reading}`));
      }
      if (tap.realDisplay && tap.realDisplay.state !== "CONNECTED") {
        out.push(
          finding(
            this.id,
            "error",
            `${lane.id} real display`,
            `the real display behind the tap is ${tap.realDisplay.state}: ${tap.realDisplay.error}`,
            {
              fix: "plug the customer display into the port named by lanes[].displayTap.display; in passThrough the register's text reaches it only through the bridge",
            },
          ),
        );
      }
    }
    return out;
  },
};
