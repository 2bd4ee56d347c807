// `posbridge conformance register` as a POS vendor runs it: the built CLI on one end of a socat pty
// pair, a register on the other, driven by an automatic operator that does what the tool's
// prompts say and answers its questions from what the register shows. The project's
// VirtualRegister (keeping the link layer) conforms; registers with one mistake each are told
// exactly that mistake, with its bytes. Short timeouts keep each run to about a second.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import type { Check, ConformanceEffect } from "../../protocols/conformance/conformance-types.js";
import { AutoOperator } from "../support/auto-operator.js";
import { startDaemon } from "../support/daemon-process.js";
import { makeLineRegister, makeRegister, type RegisterFault } from "../support/faulty-registers.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd } from "../support/serial-end.js";

const ACK_MS = 300;
const dir = mkdtempSync(join(tmpdir(), "posbridge-conformance-"));
const pairs: PtyPair[] = [];
let runs = 0;
afterAll(async () => {
  await Promise.all(pairs.map((p) => p.close()));
});

interface ToolRun {
  code: number | null;
  events: (ConformanceEffect | { type: string; [k: string]: unknown })[];
  failures: Check[];
  text: string[];
}

/**
 * Runs the CLI against a register on a fresh pty pair. `json`: the operator reads JSON events;
 * otherwise it reads the human text (▶ lines) and never answers questions (stdin closed).
 */
async function runTool(
  args: string[],
  opts: { fault?: RegisterFault; profile?: "ecr" | "line"; json?: boolean } = {},
): Promise<ToolRun> {
  const json = opts.json ?? true;
  const pair = await createPtyPair(dir, `p${++runs}`);
  pairs.push(pair);
  const end = await openSerialEnd(pair.testPath);
  const write = (bytes: Uint8Array) => void end.write(bytes).catch(() => {});
  const test =
    opts.profile === "line"
      ? makeLineRegister(opts.fault ?? "none", write)
      : makeRegister(opts.fault ?? "none", write, { ackTimeoutMs: ACK_MS });
  end.onData((bytes) => test.receive(bytes));
  const operator = new AutoOperator(test.register);
  const tool = startDaemon(
    [
      "conformance",
      "register",
      "--port",
      pair.daemonPath,
      "--ack-timeout-ms",
      String(ACK_MS),
      "--operator-timeout-s",
      "4",
      ...(json ? ["--json"] : []),
      ...args,
    ],
    {},
    { stdin: json },
  );
  const events: ToolRun["events"] = [];
  const text: string[] = [];
  createInterface({ input: tool.proc.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    text.push(line);
    if (!json) {
      const sale = /▶ On the register: ring up a sale of ¥(\d+)\.(\d\d)/.exec(line);
      if (sale)
        setTimeout(() => operator.act({ kind: "sale", amountFen: Number(`${sale[1]}${sale[2]}`) }), 20);
      return;
    }
    const e = JSON.parse(line) as ToolRun["events"][number];
    events.push(e);
    if (e.type === "prompt") {
      const action = (e as Extract<ConformanceEffect, { type: "prompt" }>).action;
      setTimeout(() => operator.act(action), 20);
    }
    if (e.type === "question") {
      const q = e as Extract<ConformanceEffect, { type: "question" }>;
      // The operator looks at the register once what the terminal sent has reached it.
      setTimeout(() => tool.proc.stdin?.write(operator.answer(q.check) ? "y\n" : "n\n"), 100);
    }
  });
  const code = await tool.exit;
  if ("close" in test.register) test.register.close();
  await end.close();
  const failures = events.flatMap((e) =>
    e.type === "check" && !(e as { check: Check }).check.ok ? [(e as { check: Check }).check] : [],
  );
  return { code, events, failures, text };
}

const summaryOf = (r: ToolRun) =>
  (r.events.find((e) => e.type === "done") as Extract<ConformanceEffect, { type: "done" }>).summary;

describe("posbridge conformance register against the project's register emulator", () => {
  it.concurrent("the VirtualRegister keeping the link layer conforms to the full script: exit 0", async () => {
    const r = await runTool(["--script", "full"]);
    expect(r.failures).toEqual([]);
    expect(r.code).toBe(0);
    const summary = summaryOf(r);
    expect(summary).toMatchObject({ conforms: true, deviations: 0, unchecked: 0 });
    expect(summary.steps.map((s) => s.result)).toEqual(Array(7).fill("passed"));
    expect(r.events[0]).toMatchObject({ type: "start", profile: "ecr", script: "full" });
    // Every probe ran against the register and it passed each.
    const passed = r.events.flatMap((e) =>
      e.type === "check"
        ? [`${(e as { check: Check }).check.step} ${(e as { check: Check }).check.rule}`]
        : [],
    );
    for (const probe of [
      "paid link-resend",
      "paid link-nak",
      "waiting link-resend",
      "rescan link-duplicate",
      "unknown link-max-sends",
      "unknown query-request",
      "cancelled cancel-request",
      "refund refund-request",
    ])
      expect(passed).toContain(probe);
  });

  it.concurrent("a line-profile register conforms too (no link layer to probe)", async () => {
    const r = await runTool(["--profile", "line"], { profile: "line" });
    expect(r.failures).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe("posbridge conformance register against registers with one mistake each: exit 1", () => {
  const cases: { fault: RegisterFault; steps: string; rule: string; bytes: RegExp; message: RegExp }[] = [
    {
      fault: "wrongLrc",
      steps: "paid",
      rule: "frame-lrc",
      bytes: /^02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 2a$/,
      message: /LRC is 2a, expected 28 .*it includes STX/,
    },
    {
      fault: "ignoresNak",
      steps: "paid",
      rule: "link-resend",
      bytes: /^02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28$/,
      message: /no resend within 550 ms after its NAK/,
    },
    {
      fault: "lateAck",
      steps: "rejected",
      rule: "link-ack",
      bytes: /^02 00 \d\d 52 53 1c 30 31 1c 43 46 31 1c 34 30 1c/, // the RS 40 it was slow on
      message: /no ACK within 300 ms/,
    },
    {
      fault: "newSeqOnResend",
      steps: "paid",
      rule: "data-seq",
      bytes: /^02 00 14 53 41 1c 35 31 1c/, // seq 51 where 01 was sent first
      message: /has another seq: a resend is the same frame byte for byte/,
    },
    {
      fault: "actsTwice",
      steps: "rescan",
      rule: "link-duplicate",
      bytes: /^$/,
      message: /the operator says the register does not do this: .*completed once on a repeated RS/,
    },
    {
      fault: "decimalAmount",
      steps: "paid",
      rule: "data-amount",
      bytes: /^02 00 15 53 41 1c 30 31 1c 43 46 31 1c 31 32 2e 33 34 03 07$/,
      message: /amount has a decimal point/,
    },
  ];
  // Each on its own pty pair, side by side: the timings (ACK 300 ms) leave room for a busy machine.
  for (const c of cases)
    it.concurrent(`${c.fault}: reported as ${c.rule} with the register's bytes`, async () => {
      const r = await runTool(["--steps", c.steps], { fault: c.fault });
      expect(r.code).toBe(1);
      const f = r.failures.find((x) => x.rule === c.rule);
      expect(f, JSON.stringify(r.failures)).toBeDefined();
      expect(f?.bytes ?? "").toMatch(c.bytes);
      expect(f?.message).toMatch(c.message);
      expect(f?.section).toMatch(/^\d+\. /);
      expect(summaryOf(r)).toMatchObject({ conforms: false });
    });

  it.concurrent("in text mode a deviation shows the bytes, the expected frame, the rule and its section", async () => {
    const r = await runTool(["--steps", "paid"], { fault: "wrongLrc", json: false });
    expect(r.code).toBe(1);
    const out = r.text.join("\n");
    expect(out).toContain(
      "✗ DEVIATION frame-lrc (docs/terminal-protocol.md §3. Framing): frame NAKed: LRC is 2a, expected 28 (XOR of LEN, DATA and ETX): it includes STX; start after STX",
    );
    expect(out).toContain("      bytes:    02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 2a");
    expect(out).toContain("      expected: 02 00 14 53 41 1c 30 31 1c 43 46 31 1c 31 32 33 34 03 28");
    expect(out).toContain("      rule:     LRC = XOR of every byte after STX up to and including ETX");
    expect(out).toContain("DOES NOT CONFORM: 1 deviation(s)");
  });
});

describe("posbridge conformance register: refusals", () => {
  it("refuses a port another program holds (the bridge's own daemon), saying so: exit 2", async () => {
    const pair = await createPtyPair(dir, "held");
    pairs.push(pair);
    const holder = await openSerialEnd(pair.daemonPath); // locks it, as posbridge run does
    try {
      const tool = startDaemon(["conformance", "register", "--port", pair.daemonPath]);
      expect(await tool.exit).toBe(2);
      const out = tool.lines.join("\n");
      expect(out).toContain(`${pair.daemonPath} is in use by another program`);
      expect(out).toContain("sudo systemctl stop posbridge");
      expect(out).toContain("(PB_PORT_LOCKED)");
    } finally {
      await holder.close();
    }
  });

  it("Ctrl-C stops the run with a summary of what was found: exit 2", async () => {
    const pair = await createPtyPair(dir, "ctrlc");
    pairs.push(pair);
    const tool = startDaemon(
      ["conformance", "register", "--port", pair.daemonPath, "--json"],
      {},
      { stdin: true },
    );
    await expect
      .poll(() => tool.lines.some((l) => l.includes('"type":"prompt"')), { timeout: 5000 })
      .toBe(true);
    tool.proc.kill("SIGINT");
    expect(await tool.exit).toBe(2);
    const done = tool.lines
      .map((l) => JSON.parse(l.startsWith("{") ? l : "{}"))
      .find((e) => e.type === "done");
    expect(done.summary).toMatchObject({ conforms: false, incomplete: true, deviations: 0 });
    expect(done.summary.steps[0]).toEqual({ id: "paid", result: "incomplete" });
    expect(tool.lines.join("\n")).toContain("posbridge conformance: stopped by the operator");
  });

  it("bad usage exits 64 naming the problem; --help exits 0", async () => {
    const noPort = startDaemon(["conformance", "register"]);
    const badStep = startDaemon(["conformance", "register", "--port", "/dev/null", "--steps", "payed"]);
    const help = startDaemon(["conformance", "--help"]);
    expect(await Promise.all([noPort.exit, badStep.exit, help.exit])).toEqual([64, 64, 0]);
    expect(noPort.lines.join("\n")).toContain("--port PATH is required");
    expect(badStep.lines.join("\n")).toContain("unknown step payed");
    expect(help.lines.join("\n")).toContain("Usage: posbridge conformance register --port PATH");
  });
});
