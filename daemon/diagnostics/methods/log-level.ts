// "log-level": `posbridge log-level [component] <level>`. Without a level, the levels now. The
// change lasts until the daemon restarts (log.level in the config is the level it starts with).
import { LOG_LEVELS, type LogLevel } from "../../log/log-levels.js";
import type { DiagMethod } from "../methods.js";
import { paramsOf, requestError, stringParam } from "../params.js";

export const logLevelMethod: DiagMethod = {
  name: "log-level",
  remote: false,
  mutates: true,
  async run(ctx, params) {
    const p = paramsOf(params);
    const component = stringParam(p, "component") ?? "all";
    const level = stringParam(p, "level");
    const laneIds = ctx.lanes.map((l) => l.id);
    if (!ctx.logLevels.isKnown(component, laneIds))
      throw requestError(
        `no component '${component}': use all, mqtt, rpc, journal, clock, systemd, diagnostics, training, terminal, scanner, display, or lane-<id> (${laneIds.map((id) => `lane-${id}`).join(", ")})`,
      );
    if (level === undefined) return { levels: ctx.logLevels.levels() };
    if (!(LOG_LEVELS as readonly string[]).includes(level))
      throw requestError(`level must be one of ${LOG_LEVELS.join(", ")}`);
    const changed = ctx.logLevels.set(component, level as LogLevel);
    ctx.log.warn({ component, level, loggers: changed }, "log level changed at runtime (until restart)");
    return { component, level, loggers: changed, levels: ctx.logLevels.levels() };
  },
};
