// "devices" and "doctor" asked of the running daemon (remotely, or by the support bundle): the
// same checks `posbridge devices` and `posbridge doctor` run on the PC (devices.ts, doctor.ts),
// with the daemon's own view of its link and devices (it is running: it asks itself, never the
// broker a second time, and does not count itself as another program holding its ports).
// Read-only; remote. Their checks are loaded when first asked for, not at every start of the
// daemon (docs/performance.md, "Start and memory").
import { daemonFacts, type DaemonView } from "../daemon-facts.js";
import type { DiagContext, DiagMethod } from "../methods.js";

function selfView(ctx: DiagContext): DaemonView {
  return { running: true, facts: daemonFacts(ctx.snapshot()) };
}

export const devicesMethod: DiagMethod = {
  name: "devices",
  remote: true,
  mutates: false,
  run: async (ctx) =>
    (await import("../devices.js")).runDevices({
      config: ctx.config,
      configPath: ctx.configPath,
      configProblem: "",
      daemon: selfView(ctx),
    }),
};

export const doctorMethod: DiagMethod = {
  name: "doctor",
  remote: true,
  mutates: false,
  run: async (ctx) =>
    (await import("../doctor.js")).runDoctor({
      configPath: ctx.configPath,
      env: process.env,
      config: ctx.config,
      clock: ctx.clock,
      daemon: selfView(ctx),
    }),
};
