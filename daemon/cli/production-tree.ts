// The files of a production install, taken from a built source checkout: the bundled daemon
// (build/dist, what bin/posbridge.js runs, scripts/bundle.mjs) and tsc's output it was made from
// (build/daemon, build/protocols, build/gen: the fallback with PB_NO_BUNDLE=1 — not build/bench,
// not the test results), the entry
// point, package.json (its "imports" map resolves #proto and #config-validator), the schema, docs and systemd files, and
// node_modules restricted to the production dependencies. Which packages those are comes from
// package-lock.json: every installed package not marked "dev" — the set `npm prune --omit=dev`
// keeps, so the checkout itself keeps its dev tools and the install needs no network. Optional
// packages that did not install on this PC are skipped.
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BridgeError } from "../errors.js";

export interface TreeEntry {
  /** Relative to the source root, "/"-separated. */
  rel: string;
  kind: "file" | "symlink";
  /** 0o755 for executables, 0o644 otherwise. */
  mode: number;
  bytes: number;
}

/**
 * Whole directories copied from the checkout; one that does not exist is skipped. voice/ holds the
 * voice clips `npm run voice-clips` renders (scripts/make-voice-clips.mjs), when they were made.
 */
const DIRS = [
  "build/dist",
  "build/daemon",
  "build/protocols",
  "build/gen",
  "schema",
  "systemd",
  "docs",
  "voice",
];
const FILES = ["bin/posbridge.js", "bin/code-cache.js", "package.json", "package-lock.json", "README.md"];
/** What must exist before a checkout can be installed (`npm ci && npm run build`). */
const BUILT = [
  "build/dist/main.js",
  "build/daemon/main.js",
  "build/gen/posbridge.js",
  "build/gen/config-validator.js",
  "node_modules",
  "package-lock.json",
];

interface LockPackage {
  dev?: boolean;
  link?: boolean;
}

export function checkBuilt(root: string): void {
  const missing = BUILT.filter((p) => !existsSync(join(root, p)));
  if (missing.length > 0) {
    throw new BridgeError(
      "PB_INSTALL_FAILED",
      `${root} is not a built checkout (missing ${missing.join(", ")}): run npm ci && npm run build there first`,
    );
  }
}

/** Directories under node_modules of the production packages, e.g. "node_modules/mqtt". */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    lockfileVersion?: number;
    packages?: Record<string, LockPackage>;
  };
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new BridgeError(
      "PB_INSTALL_FAILED",
      "package-lock.json has no 'packages' map (lockfileVersion >= 2, npm >= 7): regenerate it with npm install",
    );
  }
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith("node_modules/") && !p.dev && !p.link)
    .map(([path]) => path)
    .filter((path) => existsSync(join(root, path)))
    .sort();
}

/** Every file and symlink to copy, in a stable order. */
export function productionTree(root: string): TreeEntry[] {
  checkBuilt(root);
  const out: TreeEntry[] = [];
  for (const rel of FILES) add(root, rel, out);
  for (const dir of DIRS) walk(root, dir, out, () => true);
  for (const pkg of productionPackages(root)) {
    // A package's own node_modules holds other lockfile entries, each judged on its own.
    walk(root, pkg, out, (rel) => !rel.startsWith(`${pkg}/node_modules/`) && rel !== `${pkg}/node_modules`);
  }
  return out;
}

function add(root: string, rel: string, out: TreeEntry[]): void {
  const st = lstatSync(join(root, rel));
  if (st.isSymbolicLink()) out.push({ rel, kind: "symlink", mode: 0o777, bytes: 0 });
  else if (st.isFile())
    out.push({ rel, kind: "file", mode: st.mode & 0o111 ? 0o755 : 0o644, bytes: st.size });
}

function walk(root: string, dir: string, out: TreeEntry[], keep: (rel: string) => boolean): void {
  const abs = join(root, dir);
  if (!existsSync(abs)) return;
  for (const name of readdirSync(abs).sort()) {
    const rel = relative(root, join(abs, name)).split("\\").join("/");
    if (!keep(rel)) continue;
    const st = lstatSync(join(root, rel));
    if (st.isDirectory()) walk(root, rel, out, keep);
    else add(root, rel, out);
  }
}
