// A pino logger whose lines are kept parsed, for tests that assert on what was logged
// (pino's test/helper.js sink, in the daemon's real logger setup: redaction and digit masking).
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../daemon/log/logger.js";

export interface LogSink {
  log: Logger;
  /** Every line written, parsed. */
  entries: Record<string, unknown>[];
  /** Every line as written (to grep for what must never appear). */
  text(): string;
}

export function logSink(level: "trace" | "debug" | "info" | "warn" = "debug"): LogSink {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(l);
      done();
    },
  });
  const log = createLogger({ level, format: "json", destination });
  return {
    log,
    get entries() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => lines.join("\n"),
  };
}
