// The pino root logger and its per-lane and per-device children.
// JSON lines go to stdout synchronously (journald owns storage; nothing is lost in a buffer at exit).
// Two guards keep payment codes out of logs: redact paths compiled once at the root, and a digit
// filter over every finished line. Neither replaces protocols/payment/mask.ts: log masked codes only.

import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger } from "pino";
import type { LogConfig } from "../config/config-types.js";
import type { LogTail } from "./log-tail.js";

export type { Logger } from "pino";

export type DeviceKind = "terminal" | "scanner" | "display";

export interface CreateLoggerOptions {
  level: LogConfig["level"];
  /** "auto": pretty when stdout is a TTY and no destination is given, JSON otherwise. */
  format: LogConfig["format"];
  /** Defaults to stdout (fd 1, synchronous). */
  destination?: NodeJS.WritableStream | DestinationStream;
  /** Test seam: loads pino-pretty (default: require it; null when it is not installed). */
  loadPretty?: () => PrettyFactory | null;
  /** Called with every child logger made from this one (log-levels.ts tracks them). */
  onChild?: (child: Logger) => void;
  /** Keeps the last lines written (log-tail.ts), for the support bundle. */
  tail?: LogTail;
}

/** The part of pino-pretty's default export used here. */
export type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/**
 * pino-pretty is a devDependency: a production install (`npm prune --omit=dev`, `posbridge
 * install`) does not have it, and journald wants JSON anyway. Loaded only when pretty output is
 * asked for; null when it is not installed.
 */
export function loadPinoPretty(): PrettyFactory | null {
  try {
    const mod = createRequire(import.meta.url)("pino-pretty") as PrettyFactory | { default: PrettyFactory };
    return typeof mod === "function" ? mod : mod.default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return null;
    throw err;
  }
}

const SECRET_KEYS = ["authCode", "auth_code", "code", "password"] as const;

/** Top-level keys and the same keys one level down; wildcards beyond that cost too much per line. */
export const REDACT_PATHS: readonly string[] = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)];
export const REDACTED = "[REDACTED]";

/**
 * 12+ consecutive digits anywhere in a finished JSON line (message, string fields, error messages
 * and stacks, bindings) become "…" + the last 4: payment codes are 16–24 digits. pino's epoch-ms
 * `"time":` (13 digits) is left alone. A bare JSON number after a key is quoted so the line stays JSON.
 */
export function maskLongDigits(line: string): string {
  return line.replace(LONG_DIGITS, (run, offset: number) => {
    const masked = `…${run.slice(-4)}`;
    const bareNumber =
      line[offset - 1] === ":" &&
      line[offset - 2] === '"' &&
      /^[,}\]\n]?$/.test(line[offset + run.length] ?? "");
    return bareNumber ? `"${masked}"` : masked;
  });
}
const LONG_DIGITS = /(?<!"time":|\d)\d{12,}/g;

export function createLogger(opts: CreateLoggerOptions): Logger {
  const wantPretty =
    opts.format === "pretty" || (opts.format === "auto" && !opts.destination && process.stdout.isTTY);
  const pretty = wantPretty ? (opts.loadPretty ?? loadPinoPretty)() : null;
  const stream = pretty
    ? pretty({
        destination: opts.destination ?? 1,
        sync: true,
        colorize: !opts.destination && process.stdout.isTTY === true,
        translateTime: "SYS:HH:MM:ss.l",
        ignore: "pid,hostname",
      })
    : (opts.destination ?? pino.destination({ dest: 1, sync: true }));

  const tail = opts.tail;
  const target = stream as DestinationStream;
  const destination: DestinationStream = tail
    ? {
        write(line: string) {
          tail.push(line);
          return target.write(line);
        },
      }
    : target;
  const log = pino(
    {
      level: opts.level,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: serializeError },
      hooks: { streamWrite: maskLongDigits },
      ...(opts.onChild ? { onChild: opts.onChild } : {}),
    },
    destination,
  );
  if (wantPretty && !pretty) {
    log.info("pretty log output needs pino-pretty, which a production install leaves out: logging JSON");
  }
  return log;
}

/**
 * pino's error serializer, with `code` renamed `errCode`: the redact path `*.code` would otherwise
 * censor "PB_PORT_OPEN" or "EACCES" in every logged error.
 */
function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (out && typeof out === "object" && "code" in out) {
    const { code, ...rest } = out;
    return { ...rest, errCode: code };
  }
  return out;
}

const laneChildren = new WeakMap<Logger, Map<string, Logger>>();
const deviceChildren = new WeakMap<Logger, Map<string, Logger>>();

/** The child logger of one lane (binding `lane`); made once per root and lane id. */
export function laneLogger(root: Logger, laneId: string): Logger {
  return childOnce(laneChildren, root, laneId, () => root.child({ lane: laneId }));
}

/** The child logger of one device of a lane (bindings `device`, `path`); made once per lane, device and path. */
export function deviceLogger(laneLog: Logger, device: DeviceKind, path: string): Logger {
  return childOnce(deviceChildren, laneLog, `${device}\0${path}`, () => laneLog.child({ device, path }));
}

function childOnce(
  cache: WeakMap<Logger, Map<string, Logger>>,
  parent: Logger,
  key: string,
  make: () => Logger,
): Logger {
  let children = cache.get(parent);
  if (!children) {
    children = new Map();
    cache.set(parent, children);
  }
  let child = children.get(key);
  if (!child) {
    child = make();
    children.set(key, child);
  }
  return child;
}
