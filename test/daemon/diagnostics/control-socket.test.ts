// The control socket on a real Unix socket: greeting, answers and errors by code, the limits a
// local client meets, a crashed daemon's socket replaced and a live one left alone, and what the
// client says when there is no daemon, a silent one, or something that is not a posbridge.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { askDaemon, streamDaemon } from "../../../daemon/diagnostics/control-client.js";
import { ControlServer, MAX_IN_FLIGHT } from "../../../daemon/diagnostics/control-server.js";
import { stateChannel } from "../../../daemon/diagnostics/channels.js";
import { monitorMethod } from "../../../daemon/diagnostics/methods/monitor.js";
import type { DiagContext, DiagMethod } from "../../../daemon/diagnostics/methods.js";
import { BridgeError, isBridgeError } from "../../../daemon/errors.js";

const log = pino({ level: "silent" });
const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

const METHODS: DiagMethod[] = [
  { name: "echo", remote: true, mutates: false, run: async (_c, p) => p },
  {
    name: "refuse",
    remote: false,
    mutates: true,
    run: async () => {
      throw new BridgeError("PB_CONTROL_REFUSED", "not now");
    },
  },
  {
    name: "bug",
    remote: false,
    mutates: false,
    run: async () => {
      throw new Error("boom");
    },
  },
  { name: "hang", remote: false, mutates: false, run: () => new Promise(() => {}) },
  {
    name: "count",
    remote: false,
    mutates: false,
    async *run(_c, _p, signal) {
      for (let i = 0; i < 3 && !signal.aborted; i++) yield { i };
    },
  },
];

function tempSocket(): string {
  return join(mkdtempSync(join(tmpdir(), "pb-ctl-")), "run", "control.sock");
}

async function serve(path: string, methods = METHODS): Promise<ControlServer> {
  const server = new ControlServer({ path, methods, context: {} as DiagContext, log, version: "9.9.9" });
  await server.start();
  servers.push(server);
  return server;
}

async function rejected(p: Promise<unknown>): Promise<BridgeError> {
  try {
    await p;
  } catch (err) {
    if (isBridgeError(err)) return err;
    throw err;
  }
  throw new Error("expected a BridgeError");
}

describe("control socket", () => {
  it("creates its directory, is mode 0660, greets, answers, and turns failures into PB_ codes", async () => {
    const path = tempSocket();
    await serve(path);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(statSync(path).isSocket()).toBe(true);
    expect(await askDaemon(path, "echo", { a: 1 })).toEqual({ running: true, result: { a: 1 } });
    expect((await rejected(askDaemon(path, "refuse"))).code).toBe("PB_CONTROL_REFUSED");
    const bug = await rejected(askDaemon(path, "bug"));
    expect(bug.code).toBe("PB_CONTROL_FAILED");
    expect(bug.message).toBe("boom (PB_CONTROL_FAILED)");
    const unknown = await rejected(askDaemon(path, "nope"));
    expect(unknown.code).toBe("PB_CONTROL_REQUEST");
    expect(unknown.message).toContain("no method 'nope'");
  });

  it("streams events, then the end", async () => {
    const path = tempSocket();
    await serve(path);
    const events: unknown[] = [];
    const answer = await streamDaemon(path, "count", {}, (e) => events.push(e), { stream: true });
    expect(events).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(answer).toEqual({ running: true, result: { ended: true } });
  });

  it("a streaming method says it started before its events: a monitor told so misses nothing after it", async () => {
    const path = tempSocket();
    await serve(path, [...METHODS, monitorMethod]);
    const seen: string[] = [];
    const stop = new AbortController();
    const event = { type: "state", at: 1, lane: "lane1", subject: "lane", to: "IDLE", detail: "right after" };
    const count = await streamDaemon(path, "count", {}, () => seen.push("event"), {
      stream: true,
      onStarted: () => seen.push("started"),
    });
    expect(count).toEqual({ running: true, result: { ended: true } });
    expect(seen).toEqual(["started", "event", "event", "event"]);
    // The first thing after "started" is published on the daemon's side at once, synchronously:
    // it reaches the client (at the greeting the monitor was not yet subscribed, and it was lost).
    const events: unknown[] = [];
    const answer = streamDaemon(
      path,
      "monitor",
      {},
      (e) => {
        events.push(e);
        stop.abort();
      },
      { stream: true, signal: stop.signal, onStarted: () => stateChannel.publish(event) },
    );
    expect(await answer).toEqual({ running: true, result: { ended: true } });
    expect(events).toEqual([event]);
  });

  it("says the daemon is not running: no socket, a socket nobody listens on, something that is not a posbridge", async () => {
    const path = tempSocket();
    expect(await askDaemon(path, "echo")).toEqual({
      running: false,
      reason: `no control socket at ${path}: the daemon is not running (or diagnostics.socket names another path)`,
    });
    await staleSocket(path);
    expect(await askDaemon(path, "echo")).toEqual({
      running: false,
      reason: `nothing listens on ${path}: the daemon is not running (the socket file is left from an earlier run)`,
    });
    const other = createServer((s) => s.end("HTTP/1.0 400 Bad Request\r\n\r\n"));
    const otherPath = join(mkdtempSync(join(tmpdir(), "pb-ctl-")), "x.sock");
    await new Promise<void>((r) => other.listen(otherPath, r));
    try {
      const a = await askDaemon(otherPath, "echo");
      expect(a).toMatchObject({
        running: false,
        reason: expect.stringMatching(/not as a posbridge control socket/),
      });
    } finally {
      other.close();
    }
  });

  it("a daemon that accepts but never answers (event loop blocked) is a timeout, not 'not running'", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pb-ctl-")), "silent.sock");
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(path, r));
    try {
      const err = await rejected(askDaemon(path, "status", undefined, 300));
      expect(err.code).toBe("PB_CONTROL_TIMEOUT");
      expect(err.message).toMatch(/did not answer within 0\.3 s: its event loop may be blocked/);
    } finally {
      silent.close();
    }
    const hanging = tempSocket();
    await serve(hanging);
    expect((await rejected(askDaemon(hanging, "hang", undefined, 300))).message).toContain(
      "the daemon did not answer 'hang' within 0.3 s",
    );
  });

  it("replaces a crashed daemon's socket, leaves a live one and a non-socket alone (PB_CONTROL_UNAVAILABLE)", async () => {
    const path = tempSocket();
    await staleSocket(path);
    await serve(path);
    expect(await askDaemon(path, "echo", 1)).toEqual({ running: true, result: 1 });
    const second = new ControlServer({
      path,
      methods: METHODS,
      context: {} as DiagContext,
      log,
      version: "x",
    });
    const busy = await rejected(second.start());
    expect(busy.code).toBe("PB_CONTROL_UNAVAILABLE");
    expect(busy.message).toContain(`another process (a second posbridge?) answers on ${path}`);
    expect(await askDaemon(path, "echo", 2)).toEqual({ running: true, result: 2 });
    const file = join(mkdtempSync(join(tmpdir(), "pb-ctl-")), "control.sock");
    writeFileSync(file, "not a socket");
    const refused = await rejected(
      new ControlServer({
        path: file,
        methods: METHODS,
        context: {} as DiagContext,
        log,
        version: "x",
      }).start(),
    );
    expect(refused.message).toContain("exists and is not a socket; refusing to replace it");
    expect(existsSync(file)).toBe(true);
  });

  it("limits what one local client can make the daemon hold: line length and requests in flight", async () => {
    const path = tempSocket();
    await serve(path);
    const lines = await exchange(path, `${"x".repeat(70 * 1024)}`);
    expect(lines.at(-1)).toMatchObject({ ok: false, error: { code: "PB_CONTROL_REQUEST" } });
    expect(String((lines.at(-1) as { error: { message: string } }).error.message)).toContain(
      "longer than 65536 bytes",
    );
    const many = Array.from({ length: MAX_IN_FLIGHT + 1 }, (_, i) =>
      JSON.stringify({ id: i, method: "hang" }),
    ).join("\n");
    const answers = await exchange(path, `${many}\n`, 1);
    expect(answers).toEqual([
      {
        id: MAX_IN_FLIGHT,
        ok: false,
        error: {
          code: "PB_CONTROL_REQUEST",
          message: `more than ${MAX_IN_FLIGHT} requests in flight (PB_CONTROL_REQUEST)`,
        },
      },
    ]);
  });
});

/** A socket file whose listener was killed (SIGKILL: nothing unlinked it). */
async function staleSocket(path: string): Promise<void> {
  const { mkdirSync } = await import("node:fs");
  const { dirname } = await import("node:path");
  mkdirSync(dirname(path), { recursive: true });
  const child = spawn(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`,
  ]);
  await new Promise<void>((r) => child.stdout.once("data", () => r()));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  expect(statSync(path).isSocket()).toBe(true);
}

/** Sends raw text after the greeting; returns the lines that came back (greeting excluded). */
async function exchange(path: string, text: string, want = 1): Promise<unknown[]> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const got: unknown[] = [];
    let buffered = "";
    let greeted = false;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!greeted) {
          greeted = true;
          socket.write(text);
          continue;
        }
        got.push(JSON.parse(line));
        if (got.length >= want) {
          socket.destroy();
          resolve(got);
        }
      }
    });
    socket.on("close", () => resolve(got));
  });
}
