#!/usr/bin/env node
// Entry point: the compiled daemon lives in build/ (npm run build). Checks the Node.js version
// before anything is loaded, so an old Node says what to do instead of failing on a missing API.
const major = Number(process.versions.node.split(".")[0]);
if (major < 20) {
  console.error(
    `posbridge needs Node.js 20 or later; ${process.execPath} is ${process.version}. ` +
      "Debian 12 ships Node.js 18: install Node.js 20 or later system-wide (NodeSource's apt " +
      "repository, or the official linux build in /usr/local) — see docs/deployment.md, 'Node.js'.",
  );
  process.exit(1);
}

const { main } = await import("../build/daemon/main.js");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
