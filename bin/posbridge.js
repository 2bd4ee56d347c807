#!/usr/bin/env node
// Entry point: the compiled daemon lives in build/ (npm run build).
import { main } from "../build/daemon/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
