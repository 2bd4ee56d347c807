// `posbridge cloud-sim`: the simulated payment cloud on its own, against a broker (docs/cloud-sim.md).
import { type Command, usageError } from "./command.js";

export const cloudSimCommand: Command = {
  name: "cloud-sim",
  summary: "run the simulated payment cloud against a broker (--broker URL)",
  usage: `posbridge cloud-sim [--broker URL] [--prefix TOPIC] [--protocol 5|4] [--workers N]

Answers every bridge's requests on <prefix>/+/+/req by the rules of docs/cloud-sim.md (the amount
and the code pick the outcome); Ctrl-C stops it. Moves no money: it is a ledger in memory.

Options:
      --broker URL    broker to connect to (default mqtt://127.0.0.1:1883)
      --prefix TOPIC  topic prefix (default posbridge/v1)
      --protocol 5|4  MQTT protocol version (default 5; 4 = MQTT 3.1.1)
      --workers N     N workers sharing one subscription group and one ledger, as a cloud fleet
                      (default 1, at most 64; docs/cloud-sim.md)`,
  options: {
    broker: { type: "string" },
    prefix: { type: "string" },
    protocol: { type: "string" },
    workers: { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) return usageError(io, "cloud-sim", `takes no argument '${positionals[0]}'`);
    const broker = (values.broker as string | undefined) ?? "mqtt://127.0.0.1:1883";
    const prefix = (values.prefix as string | undefined) ?? "posbridge/v1";
    const protocol = (values.protocol as string | undefined) ?? "5";
    if (protocol !== "5" && protocol !== "4") return usageError(io, "cloud-sim", "--protocol must be 5 or 4");
    const workersText = (values.workers as string | undefined) ?? "1";
    const workers = /^[1-9][0-9]?$/.test(workersText) ? Number(workersText) : 0;
    if (workers < 1 || workers > 64)
      return usageError(io, "cloud-sim", "--workers must be a whole number from 1 to 64");
    const { startCloudSim } = await import("../cloud-sim/cloud-sim.js");
    const sim = await startCloudSim({
      brokerUrl: broker,
      topicPrefix: prefix,
      protocolVersion: protocol === "5" ? 5 : 4,
      workers,
      log: (line) => io.out(line),
    });
    const fleet = workers > 1 ? ` with ${workers} workers (one subscription group, one ledger)` : "";
    io.out(`cloud-sim: answering ${prefix}/+/+/req on ${broker}${fleet}; Ctrl-C to stop`);
    return new Promise<number>((resolve) => {
      const stop = () => void sim.stop().then(() => resolve(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
  },
};
