// placeholder
import type { App } from "../app.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";

export async function startDiagnostics(_deps: {
  config: Config;
  configPath: string;
  app: App;
  log: Logger;
  clock: Clock;
}): Promise<{ stop(): Promise<void> }> {
  return { stop: async () => {} };
}
