// Config file + POSBRIDGE_* environment → validate everything → deep-freeze → Config.
// Every problem found is reported at once, with its field path, in one PB_CONFIG_INVALID.
// Messages name fields and environment variables but never echo values: a value may be a password.

import { readFileSync } from "node:fs";
import type { ErrorObject } from "ajv";
import validate from "#config-validator";
import { LineCounter, parse as parseYaml, parseDocument } from "yaml";
import { BridgeError } from "../errors.js";
import { brokerUrls, isTlsUrl } from "./broker-urls.js";
import type { Config, LaneConfig, UsbDeviceId } from "./config-types.js";
import { configSchema, MQTT_URL_PATTERN, PATTERN_HINTS, TYPE_HINTS } from "./schema.js";

export { exitCodeFor } from "../errors.js";

export interface ConfigProblem {
  /** Field path in human form, e.g. "lanes[0].terminal.baudRate"; "config" for the whole file. */
  path: string;
  message: string;
}

export interface LoadConfigOptions {
  path: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to fs.readFileSync(p, "utf8"). */
  readFile?: (p: string) => string;
}

export const ENV_PREFIX = "POSBRIDGE_";
/**
 * POSBRIDGE_* variables that are not overrides: the config's path, and the support account's
 * broker password of `posbridge status --remote` (daemon/cli/status.ts).
 */
export const NON_OVERRIDE_ENV: readonly string[] = ["POSBRIDGE_CONFIG", "POSBRIDGE_SUPPORT_PASSWORD"];

type Segment = string | number;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type SchemaNode = {
  /** A list for a union (mqtt.url: a string or a list of strings). */
  type?: string | readonly string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: readonly unknown[];
  pattern?: string;
};

// `validate` is the schema (daemon/config/schema.ts) compiled with Ajv at build time
// (scripts/gen-config-validator.mjs): compiling it at every start cost more than the rest of the
// start together (docs/performance.md, "Start and memory"). Its errors carry parentSchema (Ajv's
// `verbose`), used to suggest the right name for an unknown property.

export function loadConfig(opts: LoadConfigOptions): Config {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const doc = parseFile(opts.path, readText(opts.path, readFile));

  const problems: ConfigProblem[] = [];
  const overridden = applyEnvOverrides(doc, opts.env ?? process.env, problems);

  if (!validate(doc)) problems.push(...schemaProblems(validate.errors ?? []));
  // Also run on an invalid document, so that one run reports everything; the checks skip what is malformed.
  problems.push(...crossFieldProblems(doc as unknown as Loose<Config>));

  if (problems.length > 0) {
    for (const p of problems) {
      const source = overridden.find((o) => p.path === o.path || p.path.startsWith(`${o.path}.`));
      if (source) p.message += ` (set by ${source.name})`;
    }
    const list = problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n");
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    throw new BridgeError(
      "PB_CONFIG_INVALID",
      `invalid configuration in ${opts.path} (${count}):\n${list}\n`,
      {
        context: { path: opts.path, problems },
      },
    );
  }

  const config = doc as unknown as Config;
  config.mqtt.clientId ??= `posbridge-${config.store}-${config.bridge}`;
  return deepFreeze(config);
}

function readText(path: string, readFile: (p: string) => string): string {
  try {
    return readFile(path);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === "ENOENT") {
      throw new BridgeError("PB_CONFIG_NOT_FOUND", `configuration file not found: ${path}`, {
        context: { path },
        cause: e,
      });
    }
    throw new BridgeError("PB_CONFIG_UNREADABLE", `cannot read configuration file ${path}: ${errno ?? e}`, {
      context: { path, errno },
      cause: e,
    });
  }
}

function parseFile(path: string, text: string): { [k: string]: Json } {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending source line, which may hold a password.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = lineCounter.linePos(err.pos[0]);
    throw new BridgeError(
      "PB_CONFIG_PARSE",
      `YAML syntax error in ${path} at line ${line}, column ${col}: ${err.message}`,
      { context: { path, line, column: col, yamlCode: err.code } },
    );
  }
  const value = doc.toJS() as Json;
  // An empty file is treated as an empty mapping so that the missing fields are named.
  return value === null || value === undefined ? {} : (value as { [k: string]: Json });
}

// ---- environment overrides -------------------------------------------------------------------

interface Override {
  name: string;
  path: string;
}

/**
 * POSBRIDGE_MQTT__URL → mqtt.url. Segments are joined by "__" and matched to schema property names
 * ignoring case and "_" (POSBRIDGE_MQTT__RECONNECT_MIN_MS works too); array items are addressed by
 * index and may extend an array by one. Values are coerced by the schema type at that path: string
 * fields take the value verbatim (a numeric-looking password stays a string), others are parsed as YAML.
 */
function applyEnvOverrides(
  doc: { [k: string]: Json },
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): Override[] {
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX) && !NON_OVERRIDE_ENV.includes(n))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const applied: Override[] = [];
  for (const name of names) {
    const raw = env[name] ?? "";
    const resolved = resolveEnvPath(name.slice(ENV_PREFIX.length));
    if (typeof resolved === "string") {
      problems.push({ path: name, message: resolved });
      continue;
    }
    const value = coerce(raw, resolved.schema);
    if (value === undefined) {
      problems.push({ path: humanPath(resolved.segments), message: `${name} is not valid YAML` });
      continue;
    }
    const error = setPath(doc, resolved.segments, value);
    if (error) {
      problems.push({ path: name, message: error });
      continue;
    }
    applied.push({ name, path: humanPath(resolved.segments) });
  }
  return applied;
}

function resolveEnvPath(rest: string): { segments: Segment[]; schema: SchemaNode } | string {
  let node: SchemaNode = configSchema as unknown as SchemaNode;
  const segments: Segment[] = [];
  for (const part of rest.split("__")) {
    if (hasType(node, "array") && node.items) {
      if (!/^\d+$/.test(part))
        return `names no known setting: "${part}" should be an index into ${humanPath(segments)}`;
      segments.push(Number(part));
      node = node.items;
      continue;
    }
    const wanted = part.replaceAll("_", "").toLowerCase();
    const key = Object.keys(node.properties ?? {}).find((k) => k.toLowerCase() === wanted);
    if (key === undefined || !node.properties) {
      const where = segments.length === 0 ? "at the top level" : `in ${humanPath(segments)}`;
      return `names no known setting: there is no field "${part}" ${where}`;
    }
    segments.push(key);
    node = node.properties[key] as SchemaNode;
  }
  return { segments, schema: node };
}

function coerce(raw: string, schema: SchemaNode): Json | undefined {
  if (schema.type === "string") return raw;
  let value: Json;
  try {
    value = parseYaml(raw) as Json;
  } catch {
    return schema.type?.includes("string") ? raw : undefined;
  }
  // A string or a list (mqtt.url): a YAML list is the list, anything else the string verbatim.
  if (Array.isArray(schema.type) && schema.type.includes("string") && !Array.isArray(value)) return raw;
  return value;
}

function hasType(node: SchemaNode, type: string): boolean {
  return node.type === type || (Array.isArray(node.type) && node.type.includes(type));
}

function setPath(doc: { [k: string]: Json }, segments: Segment[], value: Json): string | undefined {
  let parent: Json = doc;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment;
    const last = i === segments.length - 1;
    const next = segments[i + 1];
    if (typeof seg === "number") {
      if (!Array.isArray(parent)) return `${humanPath(segments.slice(0, i))} in the file is not a list`;
      if (seg > parent.length) {
        return `index ${seg} skips entries: ${humanPath(segments.slice(0, i))} has ${parent.length}`;
      }
      if (last) parent[seg] = value;
      else parent[seg] ??= typeof next === "number" ? [] : {};
      parent = parent[seg] as Json;
    } else {
      if (parent === null || typeof parent !== "object" || Array.isArray(parent)) {
        return `${humanPath(segments.slice(0, i)) || "the file"} is not a mapping`;
      }
      if (last) parent[seg] = value;
      else parent[seg] ??= typeof next === "number" ? [] : {};
      parent = parent[seg] as Json;
    }
  }
  return undefined;
}

// ---- schema errors in human form -------------------------------------------------------------

function schemaProblems(errors: ErrorObject[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // A wrong type makes enum/range errors at the same path noise: keep only the type error.
  const typed = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== "type" && typed.has(e.instancePath)) continue;
    const p = describe(e);
    const key = `${p.path}\0${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  }
  return problems;
}

function describe(e: ErrorObject): ConfigProblem {
  const segments = pointerToSegments(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: humanPath([...segments, String(params.missingProperty)]), message: "is required" };
    case "additionalProperties": {
      const name = String(params.additionalProperty);
      const known = Object.keys((e.parentSchema as SchemaNode | undefined)?.properties ?? {});
      const near = known.find((k) => closeEnough(k, name));
      const hint = near
        ? `; did you mean "${near}"?`
        : known.length > 0
          ? `; known: ${known.join(", ")}`
          : "";
      return { path: humanPath([...segments, name]), message: `is not a known setting${hint}` };
    }
    case "type": {
      const field = segments.at(-1);
      const hint = typeof field === "string" ? TYPE_HINTS[field] : undefined;
      return { path: humanPath(segments), message: hint ?? `must be ${article(String(params.type))}` };
    }
    case "enum":
      return { path: humanPath(segments), message: oneOf(params.allowedValues as unknown[]) };
    case "pattern": {
      const pattern = String(params.pattern);
      return { path: humanPath(segments), message: PATTERN_HINTS[pattern] ?? `must match ${pattern}` };
    }
    case "minimum":
      return { path: humanPath(segments), message: `must be at least ${params.limit}` };
    case "maximum":
      return { path: humanPath(segments), message: `must be at most ${params.limit}` };
    case "minItems":
      return {
        path: humanPath(segments),
        message: `must have at least ${params.limit} ${plural(params.limit)}`,
      };
    case "minLength":
      return {
        path: humanPath(segments),
        message: params.limit === 1 ? "must not be empty" : `must be at least ${params.limit} characters`,
      };
    case "maxLength":
      return { path: humanPath(segments), message: `must be at most ${params.limit} characters` };
    default:
      return { path: humanPath(segments), message: e.message ?? e.keyword };
  }
}

function pointerToSegments(pointer: string): Segment[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** ["lanes", 0, "terminal"] → "lanes[0].terminal"; [] → "config". */
export function humanPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) out += typeof s === "number" ? `[${s}]` : out === "" ? s : `.${s}`;
  return out === "" ? "config" : out;
}

function oneOf(values: unknown[]): string {
  const shown = values.map((v) => (typeof v === "string" ? `"${v}"` : String(v)));
  if (shown.length === 1) return `must be ${shown[0]}`;
  if (shown.length === 2) return `must be ${shown[0]} or ${shown[1]}`;
  return `must be one of ${shown.join(", ")}`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: "a mapping",
    array: "a list",
    integer: "an integer",
    number: "a number",
    string: "a string",
    boolean: "true or false",
  };
  return names[type] ?? type;
}

function plural(n: unknown): string {
  return n === 1 ? "entry" : "entries";
}

/** Same name ignoring case and "_"/"-", or one edit away. */
function closeEnough(known: string, given: string): boolean {
  const a = known.toLowerCase();
  const b = given.toLowerCase().replaceAll(/[_-]/g, "");
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  return Math.max(a.length, b.length) - i - j <= 1;
}

// ---- cross-field checks ----------------------------------------------------------------------

/** What the cross-field checks may meet before the schema has passed: anything may be missing or wrong. */
type Loose<T> = T extends readonly (infer U)[]
  ? readonly Loose<U>[] | undefined
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> } | undefined
    : T | undefined;

function crossFieldProblems(c: Loose<Config>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const lanes = Array.isArray(c?.lanes) ? c.lanes : [];

  const laneIds = new Map<string, number>();
  lanes.forEach((lane, i) => {
    if (typeof lane?.id !== "string") return;
    const first = laneIds.get(lane.id);
    if (first === undefined) laneIds.set(lane.id, i);
    else add(`lanes[${i}].id`, `"${lane.id}" is already the id of lanes[${first}]`);
  });

  const mqtt = c?.mqtt;
  if (typeof mqtt?.reconnectMaxMs === "number" && typeof mqtt.reconnectMinMs === "number") {
    if (mqtt.reconnectMaxMs < mqtt.reconnectMinMs) {
      add("mqtt.reconnectMaxMs", `must be at least mqtt.reconnectMinMs (${mqtt.reconnectMinMs})`);
    }
  }
  problems.push(...brokerUrlProblems(mqtt));

  // Each device names itself by exactly one of path and usb.
  lanes.forEach((lane, i) => {
    for (const device of DEVICES) {
      const d = lane?.[device];
      if (d === null || typeof d !== "object") continue;
      const at = `lanes[${i}].${device}`;
      if (d.path === undefined && d.usb === undefined) {
        add(
          `${at}.path`,
          "is required (or name the device by its USB ids with usb: { vendorId, productId })",
        );
      } else if (d.path !== undefined && d.usb !== undefined) {
        add(`${at}.usb`, `set either ${at}.path or ${at}.usb, not both`);
      }
    }
  });

  lanes.forEach((lane, i) => {
    problems.push(...displayTapProblems(lane, i));
  });

  // Spellings are compared as written here (paths, USB ids); two spellings of one device (a by-id
  // link and /dev/ttyUSB0) are caught by checkConfigFiles when the device is plugged in at start,
  // and otherwise when the second lane opens it.
  const seen = new Map<string, string>();
  lanes.forEach((lane, i) => {
    for (const [at, d] of laneDevices(lane, i)) {
      const key = typeof d?.path === "string" ? `path:${d.path}` : usbKey(d?.usb);
      if (key === undefined) continue;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, at);
        continue;
      }
      if (typeof d?.path === "string") add(`${at}.path`, `${d.path} is already used by ${first}`);
      else add(`${at}.usb`, `names the same USB device as ${first}`);
    }
  });

  lanes.forEach((lane, i) => {
    const scanner = lane?.scanner;
    if (!scanner) return;
    const at = `lanes[${i}].scanner`;
    if (scanner.source !== undefined && scanner.type !== "keyboard") {
      add(`${at}.source`, `applies to keyboard scanners only (${at}.type is "${scanner.type ?? "serial"}")`);
    }
    if (scanner.type === "keyboard" && (scanner.source ?? "evdev") === "evdev" && scanner.usb !== undefined) {
      add(
        `${at}.usb`,
        "a keyboard scanner read through evdev is named by path (/dev/input/by-id/…-event-kbd); to match it by USB ids set source: hidraw",
      );
    }
  });

  lanes.forEach((lane, i) => {
    const display = lane?.display;
    if (display?.charset === "gb18030" && display.type !== "escpos") {
      add(
        `lanes[${i}].display.charset`,
        `gb18030 needs type escpos (lanes[${i}].display.type is "${display.type ?? "cd5220"}")`,
      );
    }
  });

  lanes.forEach((lane, i) => {
    const scanner = lane?.scanner;
    if (typeof scanner?.prefix !== "string" || typeof scanner.maxLength !== "number") return;
    // A read carries the prefix, so a prefix as long as maxLength leaves no room for a code.
    if (scanner.prefix.length >= scanner.maxLength) {
      add(
        `lanes[${i}].scanner.prefix`,
        `must be shorter than lanes[${i}].scanner.maxLength (${scanner.maxLength})`,
      );
    }
  });

  const sale = c?.sale;
  if (typeof sale?.sendWindowMs === "number" && typeof sale.codeLifetimeMs === "number") {
    if (sale.sendWindowMs >= sale.codeLifetimeMs)
      add("sale.sendWindowMs", `must be below sale.codeLifetimeMs (${sale.codeLifetimeMs})`);
  }
  if (typeof sale?.reverseAfterMs === "number" && typeof sale.firstQueryMs === "number") {
    if (sale.reverseAfterMs <= sale.firstQueryMs)
      add("sale.reverseAfterMs", `must be above sale.firstQueryMs (${sale.firstQueryMs})`);
  }

  const schemes = Array.isArray(c?.sale?.schemes) ? c.sale.schemes : [];
  const rules = schemes.map((r) =>
    r && typeof r.minLength === "number" && typeof r.maxLength === "number" && Array.isArray(r.prefixes)
      ? {
          scheme: r.scheme,
          minLength: r.minLength,
          maxLength: r.maxLength,
          prefixes: (r.prefixes as readonly unknown[]).filter(isString),
        }
      : undefined,
  );
  rules.forEach((rule, i) => {
    if (!rule) return;
    const at = `sale.schemes[${i}]`;
    if (rule.minLength > rule.maxLength)
      add(`${at}.maxLength`, `must be at least minLength (${rule.minLength})`);
    rule.prefixes.forEach((prefix, k) => {
      if (prefix.length >= rule.minLength) {
        add(`${at}.prefixes[${k}]`, `must be shorter than minLength (${rule.minLength})`);
      }
    });
    // Two rows must not both match one code: overlapping lengths and one prefix starting the other.
    for (let j = 0; j < i; j++) {
      const other = rules[j];
      if (!other || other.maxLength < rule.minLength || rule.maxLength < other.minLength) continue;
      rule.prefixes.forEach((prefix, k) => {
        const clash = other.prefixes.find((o) => o.startsWith(prefix) || prefix.startsWith(o));
        if (clash !== undefined) {
          add(
            `${at}.prefixes[${k}]`,
            `"${prefix}" overlaps "${clash}" of sale.schemes[${j}] (${other.scheme})`,
          );
        }
      });
    }
  });
  return problems;
}

const DEVICES = ["terminal", "scanner", "display"] as const;

type LooseLocation = { path?: unknown; usb?: Loose<UsbDeviceId> } | undefined;

/** Every device a lane names, with its field path: the register link or the tap, its real display. */
function laneDevices(lane: Loose<LaneConfig>, i: number): [string, LooseLocation][] {
  const out: [string, LooseLocation][] = DEVICES.map((device) => [
    `lanes[${i}].${device}`,
    lane?.[device] as LooseLocation,
  ]);
  const tap = lane?.displayTap;
  if (tap !== null && typeof tap === "object") {
    out.push([`lanes[${i}].displayTap`, tap as LooseLocation]);
    out.push([`lanes[${i}].displayTap.display`, tap.display as LooseLocation]);
  }
  return out;
}

/**
 * A lane has a register link (terminal) or a display tap, never both. "auto" settings are found by
 * listening only (a passThrough or bridgeOwned line must forward at the register's settings from
 * the first byte); the real display is set exactly in the modes that write to it.
 */
function displayTapProblems(lane: Loose<LaneConfig>, i: number): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (lane === null || typeof lane !== "object") return problems;
  const tap = lane.displayTap;
  if (tap === undefined || tap === null || typeof tap !== "object") {
    if (lane.terminal === undefined)
      add(
        `lanes[${i}].terminal`,
        `is required (the register link), or set lanes[${i}].displayTap for no-integration mode`,
      );
    return problems;
  }
  if (lane.terminal !== undefined)
    add(
      `lanes[${i}].displayTap`,
      `a lane has either a register link (lanes[${i}].terminal) or a display tap, not both`,
    );
  const at = `lanes[${i}].displayTap`;
  for (const [where, d] of [
    [at, tap as LooseLocation],
    [`${at}.display`, tap.display as LooseLocation],
  ] as const) {
    if (d === null || typeof d !== "object") continue;
    if (d.path === undefined && d.usb === undefined)
      add(
        `${where}.path`,
        "is required (or name the device by its USB ids with usb: { vendorId, productId })",
      );
    else if (d.path !== undefined && d.usb !== undefined)
      add(`${where}.usb`, `set either ${where}.path or ${where}.usb, not both`);
  }
  const mode = tap.mode ?? "listen";
  if (mode !== "listen") {
    for (const field of ["baudRate", "parity", "dialect"] as const) {
      if (tap[field] === "auto")
        add(
          `${at}.${field}`,
          `"auto" is for mode listen only (mode is "${mode}"): set the register's ${field}`,
        );
    }
    if (tap.display === undefined)
      add(`${at}.display`, `is required in mode ${mode}: the real customer display's port`);
    if (lane.display !== undefined)
      add(
        `lanes[${i}].display`,
        `not with displayTap mode ${mode}: the bridge's prompts go to ${at}.display, between the register's frames`,
      );
  } else if (tap.display !== undefined) {
    add(
      `${at}.display`,
      "is for passThrough and bridgeOwned: in listen mode the bridge never writes to the display line",
    );
  }
  return problems;
}
const URL_PATTERN = new RegExp(MQTT_URL_PATTERN);

/**
 * mqtt.url, one URL or a cluster's list: each parses; TLS applies to all nodes or none (a plain
 * node in a TLS list would take the credentials in clear text, unverified, on a failover);
 * each node is named once.
 */
function brokerUrlProblems(mqtt: Loose<Config["mqtt"]>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const url = mqtt?.url;
  if (typeof url !== "string" && !Array.isArray(url)) return problems;
  const single = typeof url === "string";
  const urls = brokerUrls(url as string | string[]);
  const at = (i: number) => (single ? "mqtt.url" : `mqtt.url[${i}]`);
  // Only URLs the schema's pattern passes: the schema has named the others.
  const schemes = urls.map((u) =>
    typeof u === "string" && URL_PATTERN.test(u) ? /^(mqtts?|wss?):/.exec(u)?.[1] : undefined,
  );
  const seen = new Map<string, number>();
  urls.forEach((u, i) => {
    if (schemes[i] === undefined) return;
    if (!URL.canParse(u)) {
      problems.push({ path: at(i), message: "is not a valid URL" });
      return;
    }
    const key = new URL(u).href;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else problems.push({ path: at(i), message: `names the same node as mqtt.url[${first}]` });
  });
  const tls = urls.map((u, i) => (schemes[i] === undefined ? undefined : isTlsUrl(u)));
  const firstTls = tls.indexOf(true);
  const firstPlain = tls.indexOf(false);
  if (firstTls >= 0 && firstPlain >= 0) {
    const odd = Math.max(firstTls, firstPlain);
    const base = odd === firstPlain ? firstTls : firstPlain;
    problems.push({
      path: at(odd),
      message: `is ${schemes[odd]}:// but mqtt.url[${base}] is ${schemes[base]}://: the nodes of a cluster are all TLS (mqtts://, wss://) or all plain`,
    });
  }
  // mqtt.js ignores TLS files on a plain URL: the bridge would connect in clear text, unverified.
  if (mqtt?.tls !== undefined && firstPlain >= 0 && firstTls < 0) {
    problems.push({
      path: "mqtt.tls",
      message: `applies to mqtts:// and wss:// only, but ${at(firstPlain)} is ${schemes[firstPlain]}://: use mqtts:// (or wss://), or remove mqtt.tls`,
    });
  }
  return problems;
}

/** One spelling of a USB id set: ids compared ignoring case, the serial number exactly. */
function usbKey(usb: Loose<UsbDeviceId>): string | undefined {
  if (typeof usb?.vendorId !== "string" || typeof usb.productId !== "string") return undefined;
  return `usb:${usb.vendorId.toLowerCase()}:${usb.productId.toLowerCase()}:${usb.serialNumber ?? ""}`;
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
