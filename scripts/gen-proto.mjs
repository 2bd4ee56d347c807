// Generates static protobufjs code from proto/ into build/gen (never hand-edited, never committed).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const protoDir = join(root, "proto/posbridge/v1");
const outDir = join(root, "build/gen");
mkdirSync(outDir, { recursive: true });
const files = readdirSync(protoDir)
  .filter((f) => f.endsWith(".proto"))
  .map((f) => join(protoDir, f));
const js = join(outDir, "posbridge.js");
const bin = join(root, "node_modules/.bin");
execFileSync(
  join(bin, "pbjs"),
  ["-t", "static-module", "-w", "es6", "--force-long", "--no-beautify", "-o", js, ...files],
  { stdio: "inherit" },
);
// Node's ESM loader needs the file extension on a deep import of a package without an exports map.
writeFileSync(
  js,
  readFileSync(js, "utf8").replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"'),
);
execFileSync(join(bin, "pbts"), ["-o", join(outDir, "posbridge.d.ts"), js], { stdio: "inherit" });
