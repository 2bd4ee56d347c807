// The config with what the schema marks `secret` taken out (schema.ts SECRET_KEYWORD), for the
// support bundle and remote answers: a password becomes "[REDACTED]", a URL keeps its host but not
// its credentials. Driven by the schema, so a new secret field is marked where it is defined.
import type { Config } from "./config-types.js";
import { configSchema } from "./schema.js";

export const REDACTED = "[REDACTED]";

type Node = { secret?: true | "userinfo"; properties?: Record<string, Node>; items?: Node };

export function redactConfig(config: Config): unknown {
  return redact(config, configSchema as unknown as Node);
}

function redact(value: unknown, schema: Node | undefined): unknown {
  if (schema?.secret === true) return value === undefined ? undefined : REDACTED;
  if (schema?.secret === "userinfo" && typeof value === "string") return withoutUserinfo(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, schema?.items));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = schema?.properties?.[k];
      // A field the schema does not know cannot be judged: left out rather than risked.
      if (schema?.properties && !child) continue;
      out[k] = redact(v, child);
    }
    return out;
  }
  return value;
}

/** The URL without user name and password; a value that does not parse is withheld whole. */
function withoutUserinfo(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return `${u.toString()} (credentials removed)`;
  } catch {
    return REDACTED;
  }
}
