// Compares two `.heapsnapshot` files of the daemon (docs/performance.md, "Memory over a long run"):
// what grew between them, by constructor (objects and closures by name, other nodes by V8's type:
// "(array)", "(string)", "(code)"…; counts and self sizes), and with --retainers by where it is
// held: each node keyed by its own name and its first three retainers (edge name < holder), so a
// growing Map's backing store shows as "(array) .table<object:Map .submitted<object:RecentCodes …".
// Weak and shortcut edges are not retainers. Take the snapshots with `PB_BENCH_HEAP_SNAPSHOTS=<dir>`
// (bench/e2e/gc-probe.ts: after a full GC, at its two reads of the 32-lane bridge), or
// v8.writeHeapSnapshot. Not `--heapsnapshot-signal=SIGUSR2` there: the gc-probe answers SIGUSR2.
//
//   node build/bench/heapsnapshot-diff.js <a.heapsnapshot> <b.heapsnapshot> [--retainers] [--top N]
//
// A 20 MiB heap's snapshot needs ~1 GiB here: run it with --max-old-space-size=4096.
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Tally {
  count: number;
  bytes: number;
}

/** Self sizes of the snapshot's nodes, summed by key (see the head of this file). */
function tally(s: Snapshot, retainers: boolean): Map<string, Tally> {
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const iType = meta.node_fields.indexOf("type");
  const iName = meta.node_fields.indexOf("name");
  const iSize = meta.node_fields.indexOf("self_size");
  const iEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eName = meta.edge_fields.indexOf("name_or_index");
  const eTo = meta.edge_fields.indexOf("to_node");
  const n = s.nodes.length / nf;
  const at = (i: number, field: number) => s.nodes[i * nf + field] as number;
  const name = (i: number) => {
    const type = nodeTypes[at(i, iType)] ?? "?";
    const own = String(s.strings[at(i, iName)] ?? "").slice(0, 40);
    return type === "object" || type === "closure" || type === "native" ? `${type}:${own}` : `(${type})`;
  };
  // The first strong retainer of each node, and the edge it holds it by.
  const holder = new Int32Array(n).fill(-1);
  const holderEdge = new Int32Array(n).fill(-1);
  if (retainers) {
    for (let i = 0, e = 0; i < n; i++) {
      for (let k = at(i, iEdges); k > 0; k--, e += ef) {
        const type = edgeTypes[s.edges[e + eType] as number];
        if (type === "weak" || type === "shortcut") continue;
        const to = (s.edges[e + eTo] as number) / nf;
        if (holder[to] === -1) {
          holder[to] = i;
          holderEdge[to] = e;
        }
      }
    }
  }
  const edgeName = (e: number) => {
    const type = edgeTypes[s.edges[e + eType] as number];
    return type === "element" || type === "hidden" ? "[]" : `.${s.strings[s.edges[e + eName] as number]}`;
  };
  const out = new Map<string, Tally>();
  for (let i = 0; i < n; i++) {
    let key = name(i);
    for (let c = i, depth = 0; retainers && depth < 3 && (holder[c] as number) >= 0; depth++) {
      key += ` ${edgeName(holderEdge[c] as number)}<${name(holder[c] as number)}`;
      c = holder[c] as number;
    }
    const t = out.get(key) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += at(i, iSize);
    out.set(key, t);
  }
  return out;
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith("--") && !/^\d+$/.test(a));
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40;
if (files.length !== 2) {
  console.error("usage: heapsnapshot-diff <a.heapsnapshot> <b.heapsnapshot> [--retainers] [--top N]");
  process.exit(64);
}
const retainers = args.includes("--retainers");
const [a, b] = files.map((f) => tally(JSON.parse(readFileSync(f, "utf8")) as Snapshot, retainers));
const keys = new Set([...(a?.keys() ?? []), ...(b?.keys() ?? [])]);
const zero = { count: 0, bytes: 0 };
const rows = [...keys].map((key) => {
  const x = a?.get(key) ?? zero;
  const y = b?.get(key) ?? zero;
  return { key, dBytes: y.bytes - x.bytes, dCount: y.count - x.count, count: y.count };
});
rows.sort((p, q) => Math.abs(q.dBytes) - Math.abs(p.dBytes));
const total = rows.reduce((sum, r) => sum + r.dBytes, 0);
console.log(`self size, b − a: ${(total / 2 ** 20).toFixed(2)} MiB`);
console.log(`${"Δ bytes".padStart(10)} ${"Δ count".padStart(8)} ${"count".padStart(8)}  what`);
for (const r of rows.slice(0, top))
  console.log(
    `${String(r.dBytes).padStart(10)} ${String(r.dCount).padStart(8)} ${String(r.count).padStart(8)}  ${r.key}`,
  );
