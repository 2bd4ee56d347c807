// The config file: does it load (schema, cross-field checks, environment overrides) and do the
// files and devices it names pass the start-time checks (TLS files, one device per role)? Each
// problem is one finding naming its field, as `check-config` prints them; the checks that need a
// config (lane devices, broker, stateDir, journal) are skipped when it does not load.
import { checkConfigFiles } from "../../config/check-files.js";
import { DeviceResolver } from "../../devices/device-identity.js";
import { isBridgeError } from "../../errors.js";
import { type Check, type Finding, finding } from "./check.js";

const FIX_FIELD =
  "correct that field (posbridge check-config lists every problem; schema/posbridge.example.yaml)";

export const configCheck: Check = {
  id: "config",
  title: "the configuration loads and its files and devices pass the start-time checks",
  run(ctx) {
    const e = ctx.configError;
    if (e) {
      const skipped = "not checked without it: the lanes' devices, the broker, stateDir and the journal";
      if (e.code === "PB_CONFIG_NOT_FOUND")
        return [
          finding(this.id, "error", "config", `no configuration file at ${ctx.configPath}`, {
            code: e.code,
            detail: skipped,
            fix: "pass --config PATH (or set POSBRIDGE_CONFIG), or create it from schema/posbridge.example.yaml",
          }),
        ];
      if (e.problems.length === 0)
        return [
          finding(this.id, "error", "config", e.message, {
            code: e.code,
            detail: skipped,
            fix: "fix the file (posbridge check-config says the same)",
          }),
        ];
      return e.problems.map((p, i) =>
        finding(this.id, "error", "config", `${p.path}: ${p.message}`, {
          code: e.code,
          detail: i === 0 ? `${ctx.configPath}; ${skipped}` : ctx.configPath,
          fix: FIX_FIELD,
        }),
      );
    }
    const config = ctx.config;
    if (!config) return [];
    const out: Finding[] = [];
    try {
      const { warnings } = checkConfigFiles(config, ctx.configPath, {
        resolver: new DeviceResolver({ sysfsRoot: ctx.roots.sys, devRoot: ctx.roots.dev, cacheMs: 0 }),
        nowMs: ctx.clock.wallNow(),
      });
      for (const w of warnings)
        out.push(finding(this.id, "warn", "config", `${w.path}: ${w.message}`, { fix: FIX_FIELD }));
    } catch (err) {
      if (!isBridgeError(err)) throw err;
      const problems = (err.context?.problems ?? []) as { path: string; message: string }[];
      for (const p of problems)
        out.push(
          finding(this.id, "error", "config", `${p.path}: ${p.message}`, { code: err.code, fix: FIX_FIELD }),
        );
    }
    if (!out.some((f) => f.level === "error"))
      out.unshift(
        finding(
          this.id,
          "ok",
          "config",
          `${ctx.configPath} is valid: store ${config.store}, bridge ${config.bridge}, ${config.lanes.length} lane${config.lanes.length === 1 ? "" : "s"}`,
        ),
      );
    return out;
  },
};
