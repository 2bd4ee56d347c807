// `posbridge monitor [--lane L] [--device D] [--json]`: the daemon's live, decoded traffic until
// Ctrl-C: register frames (hex and meaning), ACK/NAK and resends, scans (masked, classified),
// what the display shows, requests to the cloud and its results, state changes. Costs the bridge
// nothing while nobody watches; a terminal that reads too slowly is told how many events it lost.
import type { MissedEvent, MonitorEvent } from "../diagnostics/channels.js";
import { streamDaemon } from "../diagnostics/control-client.js";
import type { Greeting } from "../diagnostics/control-server.js";
import { formatEvent } from "../diagnostics/format.js";
import { type Command, usageError } from "./command.js";
import { DIAG_OPTIONS, DIAG_USAGE, notRunning, targetOf } from "./diag-client.js";

export const monitorCommand: Command = {
  name: "monitor",
  summary:
    "live decoded traffic until Ctrl-C: register frames, scans (masked), display, cloud requests, state changes",
  usage: `posbridge monitor [--lane L] [--device terminal|scanner|display|cloud] [--json] [-c PATH]

Shows what the running daemon sees, as it happens, until Ctrl-C: register frames as hex with
their meaning (SA 01 ORD123 ¥12.34), ACK/NAK and resends; scans with their length, masked code
(scheme + last 4) and classification; what the customer display shows; requests to the payment
cloud and its results (kind, attempt, amount, status: never a payment code); device, lane and
broker state changes. Watching never slows a sale: a terminal that reads too slowly loses the
oldest events and is told how many.

Options:
      --lane L        one lane only
      --device D      one device only: terminal (the register link), scanner, display, cloud
      --json          one JSON object per event (docs/diagnostics.md, "monitor")
${DIAG_USAGE}`,
  options: {
    ...DIAG_OPTIONS,
    lane: { type: "string" },
    device: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) return usageError(io, "monitor", `takes no argument '${positionals[0]}'`);
    const target = targetOf(values, io);
    if ("exit" in target) return target.exit;
    const params = {
      ...(typeof values.lane === "string" ? { lane: values.lane } : {}),
      ...(typeof values.device === "string" ? { device: values.device } : {}),
    };
    const json = values.json === true;
    let greeting: Greeting | undefined;
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const answer = await streamDaemon<MonitorEvent | MissedEvent, unknown>(
        target.socket,
        "monitor",
        params,
        (event) => io.out(json ? JSON.stringify(event) : formatEvent(event)),
        {
          signal: stop.signal,
          stream: true,
          onGreeting: (g) => {
            greeting = g;
          },
          // Said once the daemon is subscribed, not at its greeting: what follows is all shown.
          onStarted: () =>
            io.err(
              `posbridge monitor: watching posbridge ${greeting?.version} (pid ${greeting?.pid})${params.lane ? ` lane ${params.lane}` : ""}${params.device ? ` ${params.device}` : ""}; Ctrl-C to stop`,
            ),
        },
      );
      if (!answer.running) return notRunning(io, "monitor", answer.reason);
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
