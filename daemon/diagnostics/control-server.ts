// The control socket: how `posbridge status`, `monitor`, `test`, `log-level` and `bundle` reach
// the running daemon. A local Unix socket only, never a network port.
//
//   where      diagnostics.socket (default /run/posbridge/control.sock; systemd's
//              RuntimeDirectory=posbridge makes the directory, otherwise it is created 0750)
//   who        mode 0660, group posbridge when that group exists: root and the group's members
//   stale      a socket file left by a crashed daemon is replaced once nothing answers on it; a
//              socket a running posbridge answers on is left alone (PB_CONTROL_UNAVAILABLE)
//   protocol   JSON lines. The server greets first: {"posbridge":"control","protocol":1,…}. A
//              request {id, method, params} gets {id, ok:true, result} or {id, ok:false,
//              error:{code, message}}; a streaming method first sends {id, started:true} once
//              it is running (a monitor subscribed: every event from then on is sent), then
//              {id, event} lines, then its result when it ends, or until the client closes
//   limits     a request line of at most 64 KiB, 8 requests in flight per connection, 16
//              connections: a local client cannot make the daemon hold more than that
//
// Diagnostics never stop the bridge: a socket that cannot be served is logged once and sales go on.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { BridgeError, isBridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { DiagContext, DiagMethod } from "./methods.js";

export const CONTROL_PROTOCOL = 1;
export const MAX_LINE_BYTES = 64 * 1024;
export const MAX_IN_FLIGHT = 8;
export const MAX_CONNECTIONS = 16;
/** The group whose members may use the socket (the unit's Group=). */
export const CONTROL_GROUP = "posbridge";

export interface ControlServerOptions {
  path: string;
  methods: readonly DiagMethod[];
  context: DiagContext;
  log: Logger;
  version: string;
}

/** The greeting: a client knows it talks to a posbridge, and which one. */
export interface Greeting {
  posbridge: "control";
  protocol: number;
  version: string;
  pid: number;
}

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: ControlServerOptions) {}

  /** Listens on the socket; throws PB_CONTROL_UNAVAILABLE when it cannot. */
  async start(): Promise<void> {
    const { path } = this.opts;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    } catch (err) {
      throw unavailable(
        `cannot create the directory of ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    await replaceStale(path);
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(unavailable(`cannot listen on ${path}: ${err.code ?? err.message}`)),
      );
      server.listen(path, () => resolve());
    });
    server.on("error", (err) => this.opts.log.error({ err: err.message }, "control socket error"));
    this.server = server;
    // 0660 and the group: the unit's UMask=0077 would leave it to the service user alone.
    chmodSync(path, 0o660);
    const gid = groupId(CONTROL_GROUP);
    if (gid !== undefined) {
      try {
        chownSync(path, -1, gid);
      } catch {
        // Not root and not in the group: the socket keeps the process's group.
      }
    }
    this.opts.log.info({ socket: path }, "control socket ready");
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const controller = new AbortController();
    let buffered = "";
    let inFlight = 0;
    socket.setEncoding("utf8");
    const send = (message: unknown) => {
      if (!socket.destroyed) return socket.write(`${JSON.stringify(message)}\n`);
      return false;
    };
    const greeting: Greeting = {
      posbridge: "control",
      protocol: CONTROL_PROTOCOL,
      version: this.opts.version,
      pid: process.pid,
    };
    send(greeting);
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === "") continue;
        if (inFlight >= MAX_IN_FLIGHT) {
          send(errorReply(idOf(line), requestError(`more than ${MAX_IN_FLIGHT} requests in flight`)));
          continue;
        }
        inFlight++;
        void this.handle(line, send, socket, controller.signal).finally(() => inFlight--);
      }
      if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
        send(errorReply(null, requestError(`a request line longer than ${MAX_LINE_BYTES} bytes`)));
        socket.end();
        buffered = "";
      }
    });
    const closed = () => {
      this.sockets.delete(socket);
      controller.abort();
    };
    socket.on("close", closed);
    socket.on("error", () => socket.destroy());
  }

  private async handle(
    line: string,
    send: (m: unknown) => boolean,
    socket: Socket,
    signal: AbortSignal,
  ): Promise<void> {
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      send(errorReply(null, requestError("a request must be one JSON object per line")));
      return;
    }
    const id = typeof request.id === "string" || typeof request.id === "number" ? request.id : null;
    const method = this.opts.methods.find((m) => m.name === request.method);
    if (!method) {
      send(errorReply(id, requestError(`no method '${String(request.method).slice(0, 40)}'`)));
      return;
    }
    try {
      const out = method.run(this.opts.context, request.params, signal);
      if (isAsyncIterable(out)) {
        // run() has subscribed by now: a client told "started" misses nothing that follows.
        send({ id, started: true });
        for await (const event of out) {
          if (signal.aborted) break;
          // The client reads slowly: wait for it here; the method's own queue drops what it must.
          if (!send({ id, event }))
            await new Promise<void>((resolve) => {
              socket.once("drain", resolve);
              socket.once("close", resolve);
            });
        }
        if (!signal.aborted) send({ id, ok: true, result: { ended: true } });
        return;
      }
      send({ id, ok: true, result: await out });
    } catch (err) {
      if (!isBridgeError(err))
        this.opts.log.error(
          { errCode: "PB_CONTROL_FAILED", method: method.name, err },
          "diagnostics method failed",
        );
      send(
        errorReply(
          id,
          isBridgeError(err) ? err : new BridgeError("PB_CONTROL_FAILED", (err as Error).message),
        ),
      );
    }
  }
}

function errorReply(id: unknown, err: BridgeError) {
  return { id, ok: false, error: { code: err.code, message: err.message } };
}

function requestError(message: string): BridgeError {
  return new BridgeError("PB_CONTROL_REQUEST", message);
}

function unavailable(message: string): BridgeError {
  return new BridgeError("PB_CONTROL_UNAVAILABLE", message);
}

function idOf(line: string): unknown {
  try {
    return (JSON.parse(line) as { id?: unknown }).id ?? null;
  } catch {
    return null;
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof (v as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === "function";
}

/**
 * A socket file at `path`: removed when nothing answers on it (a crashed daemon's), refused when
 * something does (another daemon), refused when it is no socket at all (never delete a file we
 * did not make).
 */
async function replaceStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw unavailable(`${path} exists and is not a socket; refusing to replace it`);
  const answers = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // accepted but silent: something holds it; do not take it away
    }, 1_000);
    probe.once("connect", () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (answers) throw unavailable(`another process (a second posbridge?) answers on ${path}`);
  unlinkSync(path);
}

/** gid of a group by name, from /etc/group. */
function groupId(name: string): number | undefined {
  try {
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [group, , gid] = line.split(":");
      if (group === name && gid !== undefined) return Number(gid);
    }
  } catch {
    // no /etc/group
  }
  return undefined;
}
