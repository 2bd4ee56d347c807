// Summarises a `.cpuprofile` (node --cpu-prof) of the daemon (docs/performance.md, "Where the CPU
// goes (32 lanes)"): busy samples by self time (per function, per module group) and top-down (each
// sample counted once for every function on its stack). Idle samples are left out; so are the
// first --skip-ms of the profile (start and JIT warm-up).
//
//   node build/bench/cpuprofile-summary.js <file.cpuprofile> [--skip-ms N] [--top N]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) {
  console.error("usage: cpuprofile-summary <file.cpuprofile> [--skip-ms N] [--top N]");
  process.exit(64);
}
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i > 0 ? Number(args[i + 1]) : fallback;
};
const skipMs = option("--skip-ms", 0);
const top = option("--top", 30);

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const nodeOf = (id: number) => byId.get(id) as ProfileNode;

function* stack(id: number): Generator<ProfileNode> {
  for (let x: number | undefined = id; x !== undefined; x = parentOf.get(x)) yield nodeOf(x);
}
const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(build|node_modules)\//, "$1/");
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const under = (id: number, pattern: RegExp) =>
  [...stack(id)].some((n) => pattern.test(`${n.callFrame.url} ${n.callFrame.functionName}`));

const SYSCALLS = new Set([
  "writeBuffer",
  "writev",
  "writeString",
  "fsync",
  "fstat",
  "stat",
  "read",
  "readSync",
]);

/** The group a sample's self time belongs to (the rows of the table in docs/performance.md). */
function group(id: number): string {
  const { functionName: fn, url } = nodeOf(id).callFrame;
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(program)") return "(program: V8 and native code outside JavaScript)";
  if (/randomFillSync|Hmac|crypto/.test(fn + url)) return "crypto (ids, code digests)";
  if (
    /pino|sonic-boom|redact|log\/logger|log\/log-tail/.test(url) ||
    (fn === "writeString" && under(id, /sonic-boom/))
  )
    return "logging (pino, redaction, digit mask, stdout)";
  if (/journal\//.test(url) || ((SYSCALLS.has(fn) || fn === "FSReqCallback") && under(id, /journal\//)))
    return "journal (encode, check, write, fsync, fold)";
  if (fn === "writeBuffer" || fn === "read" || fn === "readSync") return "serial read/write syscalls";
  if (fn === "writev" || /mqtt|node:net|stream_base/.test(url)) return "MQTT (mqtt.js, socket writes)";
  if (/serialport|streams\/|node:events/.test(url)) return "serialport streams, events";
  if (/protocols\//.test(url)) return "protocols (framing, sale machine)";
  if (/gen\/|protobuf|proto-codec/.test(url)) return "protobuf";
  if (/build\/daemon/.test(url)) return "daemon (lanes, rpc, devices)";
  return "other node internals";
}

const self = new Map<string, number>();
const groups = new Map<string, number>();
const inclusive = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
let t = 0;
let busy = 0;
for (const [i, id] of profile.samples.entries()) {
  t += profile.timeDeltas[i] ?? 0;
  if (t / 1000 < skipMs || nodeOf(id).callFrame.functionName === "(idle)") continue;
  busy++;
  add(self, label(nodeOf(id)));
  add(groups, group(id));
  for (const k of new Set([...stack(id)].map(label))) add(inclusive, k);
}

const print = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, c] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${((100 * c) / busy).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`${busy} busy samples (idle and the first ${skipMs} ms left out); shares of them:`);
print("by group (self time)", groups, 20);
print("by function (self time)", self, top);
print("top-down (on the stack)", inclusive, top);
