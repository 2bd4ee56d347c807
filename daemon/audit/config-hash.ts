// The configuration a start ran with, as one hash for the audit trail: SHA-256 of the validated
// config (defaults filled in, env overrides applied) with its secrets removed, as canonical JSON
// (keys sorted at every level). Two starts with the same hash ran the same settings; a changed
// hash says someone changed one. The secrets are left out rather than hashed: a hash of a short
// password can be guessed back, and a password change is the broker's business to record.
import { createHash } from "node:crypto";
import type { Config } from "../config/config-types.js";

/** Config fields never hashed (nor written anywhere by the audit): paths from the root. */
export const SECRET_FIELDS: readonly (readonly string[])[] = [["mqtt", "password"]];

export function configHash(config: Config): string {
  return createHash("sha256")
    .update(canonicalJson(withoutSecrets(config)), "utf8")
    .digest("hex");
}

function withoutSecrets(config: Config): unknown {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const path of SECRET_FIELDS) {
    let node: Record<string, unknown> | undefined = copy;
    for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    if (node) delete node[path[path.length - 1] as string];
  }
  return copy;
}

/** JSON with object keys sorted at every level; arrays keep their order; undefined is left out. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
