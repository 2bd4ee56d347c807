// A fake systemd notify socket: a unix datagram socket bound in a temporary directory, received by
// a tiny python3 helper (Node has no AF_UNIX datagrams) that prints each message as a JSON line
// and closes the file descriptors systemd-notify passes with BARRIER=1, as the manager does —
// otherwise systemd-notify would wait its 5 s barrier timeout. Give the daemon
// NOTIFY_SOCKET=<path>; `messages` are the notifications, barriers left out.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface NotifyMessage {
  /** performance.now() of the test process when the line arrived. */
  at: number;
  fields: Record<string, string>;
}

export interface NotifySocket {
  path: string;
  messages: NotifyMessage[];
  /** Messages carrying `key` (e.g. "WATCHDOG"), in arrival order. */
  with(key: string): NotifyMessage[];
  close(): Promise<void>;
}

const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"bound": True}), flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % 4])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"msg": msg.decode("utf-8", "replace")}), flush=True)
`;

export async function createNotifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, "notify.sock");
  const proc: ChildProcess = spawn("python3", ["-c", RECEIVER, path], { stdio: ["ignore", "pipe", "pipe"] });
  const messages: NotifyMessage[] = [];
  let bound = false;
  let rest = "";
  proc.stdout?.on("data", (buf: Buffer) => {
    const text = rest + buf.toString();
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const entry = JSON.parse(line) as { bound?: boolean; msg?: string };
      if (entry.bound) bound = true;
      if (entry.msg === undefined || entry.msg === "BARRIER=1") continue;
      const fields = Object.fromEntries(
        entry.msg.split("\n").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );
      messages.push({ at: performance.now(), fields });
    }
  });
  let stderr = "";
  proc.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const deadline = Date.now() + 5_000;
  while (!bound || !existsSync(path)) {
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`the notify socket receiver (python3) did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    path,
    messages,
    with: (key) => messages.filter((m) => key in m.fields),
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}
