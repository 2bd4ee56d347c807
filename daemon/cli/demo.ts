// `posbridge demo`: a whole store in one process (daemon/demo/demo.ts). Its packages are
// devDependencies: a production install says so instead of failing on a missing module.
import { BridgeError } from "../errors.js";
import { type Command, usageError } from "./command.js";

/** Packages only a source checkout has (devDependencies): a production install leaves them out. */
const DEMO_PACKAGES = ["aedes", "@serialport/binding-mock", "pino-pretty"];

export const demoCommand: Command = {
  name: "demo",
  summary:
    "run a whole store in one process: embedded broker, simulated cloud, virtual register, scanner and display; plays every sale path and prints a trace",
  usage: `posbridge demo

Runs a store in one process (embedded MQTT broker, the simulated cloud, a virtual register,
scanner and display on mock serial ports), plays every sale path and prints what each part saw.
Needs a source checkout (npm ci): a production install leaves the demo's packages out.`,
  options: {},
  async run({ positionals }, io) {
    if (positionals.length > 0) return usageError(io, "demo", `takes no argument '${positionals[0]}'`);
    let demo: typeof import("../demo/demo.js");
    try {
      demo = await import("../demo/demo.js");
    } catch (err) {
      const missing = DEMO_PACKAGES.find((p) => (err as Error).message?.includes(`'${p}'`));
      if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND" || !missing) throw err;
      const e = new BridgeError(
        "PB_DEMO_UNAVAILABLE",
        `the demo is not part of a production install (${missing} is a development package): run it from a source checkout with npm ci && npm run demo`,
      );
      io.err(`posbridge: ${e.message}`);
      return 1;
    }
    return demo.runDemo({ out: (line) => io.out(line) });
  },
};
