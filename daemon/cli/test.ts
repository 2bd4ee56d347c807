// `posbridge test display|scan|register|sale <lane> …`: test actions on the running daemon that
// never move money (daemon/diagnostics/methods/test.ts). Each waits for the lane to be free of
// sales and takes it for itself while it runs.
import { formatYuan } from "../../protocols/payment/amount.js";
import { askDaemon, streamDaemon } from "../diagnostics/control-client.js";
import type { TrainingEvent } from "../lanes/lane-training.js";
import { type Command, type Io, usageError } from "./command.js";
import { DIAG_OPTIONS, DIAG_USAGE, notRunning, targetOf } from "./diag-client.js";

const ACTIONS = ["display", "scan", "register", "sale"] as const;

export const testCommand: Command = {
  name: "test",
  summary:
    "test actions that never move money: display <lane> <text>, scan <lane>, register <lane>, sale <lane> <amountFen> (training)",
  usage: `posbridge test display <lane> <text>      show a text on the customer display for 10 s
                                         (up to 40 characters; '|' starts the second line)
       posbridge test scan <lane>                wait for one scan: its length, scheme, masked code
                                         and what a sale would do with it (--timeout S, default 30)
       posbridge test register <lane>            an ES frame to the register and its ACK (ecr), and
                                         the link counters
       posbridge test sale <lane> <amountFen>    a TRAINING sale: the register and the display take
                                         part (marked 培训 / TRAINING), the customer's code is
                                         scanned, but the bridge's own simulated cloud answers:
                                         nothing is published to the payment cloud, no money
                                         moves; the day report keeps it apart. Ctrl-C cancels it.
                                         The amount picks the simulated outcome (docs/cloud-sim.md):
                                         …98 UNKNOWN, …99 answer lost, …77 customer confirms, …97
                                         declined, anything else PAID.

Each action needs the lane free of sales and takes it for itself while it runs. Local only:
never over the remote channel.

Options:
      --timeout S     test scan: seconds to wait for a read (default 30)
      --json          print the result as JSON (test sale: one JSON object per event)
${DIAG_USAGE}`,
  options: { ...DIAG_OPTIONS, timeout: { type: "string" }, json: { type: "boolean" } },
  async run({ values, positionals }, io) {
    const [action, lane, ...rest] = positionals;
    if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
      return usageError(
        io,
        "test",
        action === undefined ? "which test? (display, scan, register, sale)" : `unknown test '${action}'`,
      );
    if (lane === undefined) return usageError(io, "test", `test ${action} needs a lane`);
    if (action === "sale" && (rest.length !== 1 || !/^[1-9][0-9]{0,11}$/.test(rest[0] ?? "")))
      return usageError(io, "test", "test sale needs a lane and an amount in fen, e.g. test sale lane-1 1");
    if (action === "display" && rest.length === 0) return usageError(io, "test", "test display needs a text");
    if ((action === "scan" || action === "register") && rest.length > 0)
      return usageError(io, "test", `test ${action} takes no argument '${rest[0]}'`);
    const target = targetOf(values, io);
    if ("exit" in target) return target.exit;
    const json = values.json === true;
    const print = (text: string, value: unknown) => io.out(json ? JSON.stringify(value, null, 2) : text);
    switch (action) {
      case "display": {
        const text = rest.join(" ");
        const a = await askDaemon<{ shown: string[]; forMs: number; state?: string; error?: string }>(
          target.socket,
          "test-display",
          { lane, text },
        );
        if (!a.running) return notRunning(io, "test", a.reason);
        const r = a.result;
        const state =
          r.state && r.state !== "CONNECTED"
            ? `\nthe display is ${r.state}: ${r.error} (shown when it is back)`
            : "";
        print(
          `lane ${lane} display shows for ${r.forMs / 1000} s:\n${r.shown.map((l) => `  "${l}"`).join("\n")}${state}`,
          r,
        );
        return 0;
      }
      case "scan": {
        const seconds = values.timeout === undefined ? 30 : Number(values.timeout);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600)
          return usageError(io, "test", "--timeout must be whole seconds, 1 to 600");
        if (!json) io.err(`posbridge test: scan a code on lane ${lane} now (waiting ${seconds} s)…`);
        const a = await askDaemon<Record<string, unknown>>(
          target.socket,
          "test-scan",
          { lane, timeoutMs: seconds * 1000 },
          seconds * 1000 + 10_000,
        );
        if (!a.running) return notRunning(io, "test", a.reason);
        const r = a.result;
        if (r.read !== true) {
          const scanner = r.scanner as { state?: string; error?: string } | undefined;
          print(
            `no read within ${seconds} s${scanner?.state && scanner.state !== "CONNECTED" ? `: the scanner is ${scanner.state} (${scanner.error})` : ""}`,
            r,
          );
          return 1;
        }
        print(
          `read ${r.length} characters: ${r.masked}\n  ${r.classification}\n  a sale would ${r.wouldDo}\n(nothing was sent, and the code is not remembered)`,
          r,
        );
        return 0;
      }
      case "register": {
        const a = await askDaemon<
          Record<string, unknown> & { outcome: string; counters: Record<string, number> }
        >(target.socket, "test-register", { lane }, 30_000);
        if (!a.running) return notRunning(io, "test", a.reason);
        const r = a.result;
        const c = r.counters;
        const verdict: Record<string, string> = {
          acked: `ES sent, ACK after ${r.ms} ms: the register link works`,
          noAck: `ES sent ${c.retransmits === undefined ? "" : "3 times, "}no ACK (${r.ms} ms): the register is off, on another port, or at another baud rate`,
          sent: "ECHO line sent (the line profile has no acknowledgement: look at the register)",
          down: `the register port is not open: ${r.state} ${r.error}`,
        };
        print(
          `lane ${lane} register (${r.profile}) ${r.node || ""}: ${verdict[r.outcome] ?? r.outcome}\n  frames in ${c.framesIn} out ${c.framesOut}, NAKs sent ${c.naksSent} received ${c.naksReceived}, resends ${c.retransmits}, given up ${c.faults}, noise ${c.discardedBytes} B`,
          r,
        );
        return r.outcome === "acked" || r.outcome === "sent" ? 0 : 1;
      }
      default:
        return trainingSale(io, target.socket, lane, rest, json);
    }
  },
};

async function trainingSale(
  io: Io,
  socket: string,
  lane: string,
  rest: string[],
  json: boolean,
): Promise<number> {
  const amount = rest[0] ?? "";
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let result: Extract<TrainingEvent, { type: "result" }> | undefined;
  try {
    const a = await streamDaemon<TrainingEvent, unknown>(
      socket,
      "test-sale",
      { lane, amountFen: Number(amount) },
      (e) => {
        if (e.type === "result") result = e;
        if (json) return io.out(JSON.stringify(e));
        if (e.type === "started")
          io.out(
            `TRAINING sale ${e.orderRef} on lane ${e.lane}: ¥${formatYuan(e.amountFen)} — the simulated cloud answers; no money moves. Scan a payment code (Ctrl-C cancels).`,
          );
        else if (e.type === "progress") io.out(`  register  ${e.stage} ${e.text}`);
        else if (e.type === "display") io.out(`  display   ${e.lines.map((l) => `"${l}"`).join(" / ")}`);
        else
          io.out(
            `  result    ${e.status}${e.amountFen === null ? "" : ` ¥${formatYuan(e.amountFen)}`}${e.scheme ? ` ${e.scheme}` : ""}${e.channelTradeNo ? ` trade ${e.channelTradeNo}` : ""} ${e.text}\n(a training sale: kept apart in the journal and the day report; the register was not sent this result)`,
          );
      },
      { signal: stop.signal, stream: true },
    );
    if (!a.running) return notRunning(io, "test", a.reason);
    if (!result) {
      if (!json) io.out("  cancelled (the training sale was ended as the register's CA would)");
      return 1;
    }
    return result.status === "PAID" ? 0 : 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
