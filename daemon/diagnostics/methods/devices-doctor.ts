// "devices" and "doctor" asked of the running daemon (remotely, or by the support bundle): the
// same checks `posbridge devices` and `posbridge doctor` run on the PC (devices.ts, doctor.ts),
// with the daemon's own view of its link and devices (it is running: it asks itself, never the
// broker a second time, and does not count itself as another program holding its ports).
// Read-only; remote.
import { daemonFacts, type DaemonView } from "../daemon-facts.js";
import { runDevices } from "../devices.js";
import { runDoctor } from "../doctor.js";
import type { DiagContext, DiagMethod } from "../methods.js";

function selfView(ctx: DiagContext): DaemonView {
  return { running: true, facts: daemonFacts(ctx.snapshot()) };
}

export const devicesMethod: DiagMethod = {
  name: "devices",
  remote: true,
  mutates: false,
  run: (ctx) =>
    runDevices({ config: ctx.config, configPath: ctx.configPath, configProblem: "", daemon: selfView(ctx) }),
};

export const doctorMethod: DiagMethod = {
  name: "doctor",
  remote: true,
  mutates: false,
  run: (ctx) =>
    runDoctor({
      configPath: ctx.configPath,
      env: process.env,
      config: ctx.config,
      clock: ctx.clock,
      daemon: selfView(ctx),
    }),
};
