// The journal's memory and open-time figures (bench/journal-memory.ts) as a section of
// `npm run bench`: they run in a process of their own (with --expose-gc, so the RSS trend is not
// the bench's own garbage); its table is printed here and its JSON line goes under "journalMemory".
import { spawn } from "node:child_process";
import type { BenchSection } from "./section.js";

export const journalMemorySection: BenchSection = {
  key: "journalMemory",
  title: "journal memory and open (a process of its own)",
  async run(options) {
    const args = ["--expose-gc", new URL("./journal-memory.js", import.meta.url).pathname];
    if (options.quick) args.push("--quick");
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      out += s;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const lines = out.trimEnd().split("\n");
    const last = lines.at(-1) ?? "";
    let json: unknown = { error: `journal-memory exited ${code}` };
    if (last.startsWith("{")) {
      json = JSON.parse(last);
      lines.pop();
    }
    return { lines, json };
  },
};
