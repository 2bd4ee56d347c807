// "bundle": what the daemon knows for a support bundle, as files (bundle-files.ts). The CLI adds
// journald's lines and packs them (posbridge bundle); the remote channel packs them as they are.
// Read-only; remote. devices.json and doctor.json come from those methods when the table has them.
import { configFile, json, BUNDLE_README, type BundleFile } from "../bundle-files.js";
import type { DiagMethod } from "../methods.js";
import { integerParam, paramsOf } from "../params.js";
import { versions } from "../versions.js";

export const bundleMethod: DiagMethod = {
  name: "bundle",
  remote: true,
  mutates: false,
  async run(ctx, params, signal) {
    const p = paramsOf(params);
    const lines = integerParam(p, "logLines", 0, 10_000) ?? 500;
    const status = ctx.snapshot();
    const files: BundleFile[] = [
      { name: "README.txt", content: BUNDLE_README },
      configFile(ctx.config),
      json("status.json", status),
      json("counters.json", {
        link: status.link.counters,
        rpc: status.rpc.counters,
        journal: status.journal,
        lanes: Object.fromEntries(
          status.lanes.map((l) => [
            l.id,
            {
              lane: l.counters,
              terminal: l.devices.terminal.counters,
              scanner: l.devices.scanner.counters,
              display: l.devices.display?.counters ?? null,
            },
          ]),
        ),
      }),
    ];
    for (const name of ["devices", "doctor"]) {
      const method = ctx.methods.find((m) => m.name === name);
      if (!method) continue;
      try {
        const result = await method.run(ctx, {}, signal);
        files.push(json(`${name}.json`, result));
      } catch (err) {
        files.push(json(`${name}.json`, { error: (err as Error).message }));
      }
    }
    files.push(json("versions.json", await versions()));
    files.push(json("log-levels.json", ctx.logLevels.levels()));
    files.push({ name: "daemon-log.ndjson", content: `${ctx.logTail.last(lines).join("\n")}\n` });
    return { createdAt: ctx.clock.wallNow(), store: ctx.config.store, bridge: ctx.config.bridge, files };
  },
};
