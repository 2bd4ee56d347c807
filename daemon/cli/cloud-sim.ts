// `posbridge cloud-sim`: the simulated payment cloud on its own, against a broker (docs/cloud-sim.md).
import { type Command, usageError } from "./command.js";

export const cloudSimCommand: Command = {
  name: "cloud-sim",
  summary: "run the simulated payment cloud against a broker (--broker URL)",
  usage: `posbridge cloud-sim [--broker URL] [--prefix TOPIC] [--protocol 5|4]

Answers every bridge's requests on <prefix>/+/+/req by the rules of docs/cloud-sim.md (the amount
and the code pick the outcome); Ctrl-C stops it. Moves no money: it is a ledger in memory.

Options:
      --broker URL    broker to connect to (default mqtt://127.0.0.1:1883)
      --prefix TOPIC  topic prefix (default posbridge/v1)
      --protocol 5|4  MQTT protocol version (default 5; 4 = MQTT 3.1.1)`,
  options: { broker: { type: "string" }, prefix: { type: "string" }, protocol: { type: "string" } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) return usageError(io, "cloud-sim", `takes no argument '${positionals[0]}'`);
    const broker = (values.broker as string | undefined) ?? "mqtt://127.0.0.1:1883";
    const prefix = (values.prefix as string | undefined) ?? "posbridge/v1";
    const protocol = (values.protocol as string | undefined) ?? "5";
    if (protocol !== "5" && protocol !== "4") return usageError(io, "cloud-sim", "--protocol must be 5 or 4");
    const { startCloudSim } = await import("../cloud-sim/cloud-sim.js");
    const sim = await startCloudSim({
      brokerUrl: broker,
      topicPrefix: prefix,
      protocolVersion: protocol === "5" ? 5 : 4,
      log: (line) => io.out(line),
    });
    io.out(`cloud-sim: answering ${prefix}/+/+/req on ${broker}; Ctrl-C to stop`);
    return new Promise<number>((resolve) => {
      const stop = () => void sim.stop().then(() => resolve(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
  },
};
