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

/**
 * The values of every field the schema marks `secret: true` (a password set in the file or by
 * POSBRIDGE_MQTT__PASSWORD), and the password of `secret: "userinfo"` URLs: the support bundle
 * scrubs each of them from every file it holds, wherever it might have slipped in.
 */
export function secretValues(config: Config): string[] {
  const found: string[] = [];
  const walk = (value: unknown, schema: Node | undefined) => {
    if (schema?.secret === true && typeof value === "string" && value !== "") found.push(value);
    else if (schema?.secret === "userinfo" && typeof value === "string") {
      try {
        const u = new URL(value);
        if (u.password) found.push(decodeURIComponent(u.password), u.password);
      } catch {
        // not a URL: nothing inside to find
      }
    } else if (Array.isArray(value)) for (const v of value) walk(v, schema?.items);
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, schema?.properties?.[k]);
  };
  walk(config, configSchema as unknown as Node);
  return [...new Set(found)];
}
