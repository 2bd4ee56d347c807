// Each fault of FaultyOpener, seen the way the daemon sees it: through SerialOpener / OpenPort only
// (the MockPeer is the device's end of the wire).
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../daemon/clock.js";
import type { OpenPort, SerialOpener } from "../../daemon/devices/serial-binding.js";
import { FaultyOpener, ioError } from "./faulty-binding.js";

let seq = 0;
const opened: OpenPort[] = [];

afterEach(async () => {
  for (const p of opened.splice(0)) await p.close().catch(() => {});
});

function settings(path: string) {
  return { path, baudRate: 9600, dataBits: 8 as const, parity: "none" as const, stopBits: 1 as const };
}

/** A fresh device on its own path, and a port opened on it the way the daemon does (reader attached). */
async function setup(faulty = new FaultyOpener()) {
  const path = `/dev/ttyFAULT${++seq}`;
  const peer = faulty.createPort(path);
  const opener: SerialOpener = faulty;
  const written: Buffer[] = [];
  peer.onWrite((b) => written.push(Buffer.from(b)));
  const open = async () => {
    const port = await opener.open(settings(path));
    opened.push(port);
    const r = { port, data: [] as Buffer[], closes: [] as (Error | undefined)[] };
    port.onData((b) => r.data.push(Buffer.from(b)));
    port.onClose((err) => r.closes.push(err));
    return r;
  };
  return { faulty, opener, path, peer, written, open };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Tracks a promise's outcome without awaiting it. */
function track(p: Promise<unknown>) {
  const s: { state: "pending" | "resolved" | "rejected"; error?: Error } = { state: "pending" };
  p.then(
    () => {
      s.state = "resolved";
    },
    (err: Error) => {
      s.state = "rejected";
      s.error = err;
    },
  );
  return s;
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

describe("FaultyOpener", () => {
  it("without faults behaves like the mock: bytes both ways, a clean close", async () => {
    const { peer, written, open } = await setup();
    const a = await open();
    peer.emit("hello");
    await waitUntil(() => a.data.length > 0, "data");
    expect(Buffer.concat(a.data).toString()).toBe("hello");
    await a.port.write(bytes("world"));
    expect(Buffer.concat(written).toString()).toBe("world");
    await a.port.close();
    expect(a.closes).toEqual([undefined]);
  });

  describe("unplug / replug", () => {
    it("closes the open port with an EIO read error, fails writes, and the path is gone until replug", async () => {
      const { faulty, opener, path, peer, written, open } = await setup();
      const a = await open();
      await sleep(10); // the stream has a read waiting, as in the daemon
      faulty.unplug(path);
      await waitUntil(() => a.closes.length > 0, "onClose");
      expect(a.closes).toHaveLength(1);
      expect(a.closes[0]?.message).toMatch(/EIO/);
      expect((a.closes[0] as { disconnected?: boolean }).disconnected).toBe(true);
      expect(peer.isOpen).toBe(false);
      expect(faulty.isOpen(path)).toBe(false);
      await expect(a.port.write(bytes("x"))).rejects.toThrow(/closed/);

      const err = await opener.open(settings(path)).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err?.code).toBe("ENOENT");
      expect(err?.message).toMatch(/ENOENT: no such file or directory/);

      faulty.replug(path);
      const b = await open();
      await b.port.write(bytes("back"));
      peer.emit("again");
      await waitUntil(() => b.data.length > 0, "data after replug");
      expect(Buffer.concat(b.data).toString()).toBe("again");
      expect(Buffer.concat(written).toString()).toBe("back");
    });

    it("a write in progress when the adapter goes away fails", async () => {
      const { faulty, path, open } = await setup();
      faulty.neverDrain(path);
      const a = await open();
      const w = track(a.port.write(bytes("stuck")));
      await sleep(10);
      faulty.unplug(path);
      await waitUntil(() => w.state !== "pending" && a.closes.length > 0, "write failure and close");
      expect(w.state).toBe("rejected");
      expect(w.error?.message).toMatch(/EIO/);
    });

    it("an unplug before the open makes the open fail", async () => {
      const { faulty, opener, path } = await setup();
      faulty.unplug(path);
      await expect(opener.open(settings(path))).rejects.toMatchObject({ code: "ENOENT" });
    });
  });

  describe("silentUnplug", () => {
    it("reports nothing until the next write, which fails and closes the port", async () => {
      const { faulty, opener, path, open } = await setup();
      const a = await open();
      await sleep(10);
      faulty.silentUnplug(path);
      await sleep(50);
      expect(a.closes).toEqual([]); // no close event, no error: the read just never completes
      await expect(opener.open(settings(path))).rejects.toMatchObject({ code: "ENOENT" });

      await expect(a.port.write(bytes("ping"))).rejects.toThrow(/EIO/);
      await waitUntil(() => a.closes.length > 0, "onClose after the write");
      expect(a.closes[0]?.message).toMatch(/EIO/);
      expect(a.closes).toHaveLength(1); // serialport may emit 'close' twice; OpenPort reports once
    });

    it("after replug a new port works while the stale one still fails on its next write", async () => {
      const { faulty, path, peer, written, open } = await setup();
      const stale = await open();
      await sleep(10);
      faulty.silentUnplug(path);
      faulty.replug(path);
      const fresh = await open();
      await fresh.port.write(bytes("new"));
      peer.emit("hi");
      await waitUntil(() => fresh.data.length > 0, "data on the new port");
      expect(stale.data).toEqual([]);
      await expect(stale.port.write(bytes("old"))).rejects.toThrow(/EIO/);
      expect(Buffer.concat(written).toString()).toBe("new");
    });
  });

  describe("failNextRead", () => {
    it("fails the waiting read: the port closes with that error, and the device can be reopened", async () => {
      const { faulty, path, peer, open } = await setup();
      const a = await open();
      await sleep(10);
      faulty.failNextRead(path, ioError("EPROTO", "protocol error", "read"));
      await waitUntil(() => a.closes.length > 0, "onClose");
      expect(a.closes[0]?.message).toMatch(/EPROTO: protocol error/);
      const b = await open();
      peer.emit("ok");
      await waitUntil(() => b.data.length > 0, "data on the reopened port");
      expect(b.closes).toEqual([]);
    });

    it("armed before the open, it fails the first read", async () => {
      const { faulty, path, open } = await setup();
      faulty.failNextRead(path);
      const a = await open();
      await waitUntil(() => a.closes.length > 0, "onClose");
      expect(a.closes[0]?.message).toMatch(/EIO/);
      // Only once: the next port reads normally.
      const b = await open();
      await sleep(30);
      expect(b.closes).toEqual([]);
    });
  });

  describe("failWrites", () => {
    it("fails the next n writes across reopens (each failure closes the port), then writes go through", async () => {
      const { faulty, path, written, open } = await setup();
      faulty.failWrites(path, 2, ioError("EIO", "i/o error", "write"));
      for (let i = 0; i < 2; i++) {
        const a = await open();
        await expect(a.port.write(bytes(`try${i}`))).rejects.toThrow(/EIO: i\/o error, write/);
        await waitUntil(() => a.closes.length > 0, "onClose after the failed write");
        expect(a.closes[0]?.message).toMatch(/EIO/);
      }
      const b = await open();
      await b.port.write(bytes("third"));
      expect(Buffer.concat(written).toString()).toBe("third");
      expect(b.closes).toEqual([]);
    });
  });

  describe("partialWrites", () => {
    it("delivers one write in pieces of at most n bytes, in order, and completes after the last", async () => {
      const { faulty, path, written, open } = await setup();
      faulty.partialWrites(path, 3);
      const a = await open();
      await a.port.write(bytes("0123456789"));
      expect(written.map((b) => b.toString())).toEqual(["012", "345", "678", "9"]);
      await a.port.write(bytes("ab"));
      expect(written.at(-1)?.toString()).toBe("ab");
      faulty.partialWrites(path, 0);
      await a.port.write(bytes("whole write"));
      expect(written.at(-1)?.toString()).toBe("whole write");
    });

    it("rejects a piece size that is not a non-negative integer", () => {
      expect(() => new FaultyOpener().partialWrites("/dev/x", 1.5)).toThrow(TypeError);
    });
  });

  describe("slowWrites", () => {
    it("on a manual clock, a write completes (and reaches the device) only when the clock has moved", async () => {
      const clock = new ManualClock();
      const { faulty, path, written, open } = await setup(new FaultyOpener({ clock }));
      faulty.slowWrites(path, 500);
      const a = await open();
      const w = track(a.port.write(bytes("slow")));
      await sleep(10);
      clock.advance(499);
      await sleep(10);
      expect(w.state).toBe("pending");
      expect(written).toEqual([]);
      clock.advance(1);
      await waitUntil(() => w.state !== "pending", "the write to complete");
      expect(w.state).toBe("resolved");
      expect(Buffer.concat(written).toString()).toBe("slow");
    });

    it("on the system clock, a write takes at least the delay", async () => {
      const { faulty, path, written, open } = await setup();
      faulty.slowWrites(path, 60);
      const a = await open();
      const t0 = Date.now();
      await a.port.write(bytes("x"));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
      expect(written).toHaveLength(1);
    });

    it("a slow write pending at close is failed, not left hanging", async () => {
      const clock = new ManualClock();
      const { faulty, path, written, open } = await setup(new FaultyOpener({ clock }));
      faulty.slowWrites(path, 1000);
      const a = await open();
      const w = track(a.port.write(bytes("late")));
      await sleep(10);
      await a.port.close();
      await waitUntil(() => w.state !== "pending", "the write to settle");
      expect(w.state).toBe("rejected");
      clock.advance(2000);
      await sleep(10);
      expect(written).toEqual([]);
    });
  });

  describe("neverDrain", () => {
    it("writes never complete nor reach the device; close() still works and fails them", async () => {
      const { faulty, path, written, open } = await setup();
      faulty.neverDrain(path);
      const a = await open();
      const w1 = track(a.port.write(bytes("line 1")));
      const w2 = track(a.port.write(bytes("line 2"))); // queued behind the stuck one
      await sleep(50);
      expect([w1.state, w2.state]).toEqual(["pending", "pending"]);
      expect(written).toEqual([]);
      await a.port.close();
      await waitUntil(() => w1.state !== "pending" && w2.state !== "pending", "both writes to settle");
      expect([w1.state, w2.state]).toEqual(["rejected", "rejected"]);
      expect(a.closes).toEqual([undefined]); // our own close
    });

    it("clearFaults lets the held write through (the display drained after all)", async () => {
      const { faulty, path, written, open } = await setup();
      faulty.neverDrain(path);
      const a = await open();
      const w1 = track(a.port.write(bytes("held")));
      const w2 = track(a.port.write(bytes("next")));
      await sleep(30);
      faulty.clearFaults(path);
      await waitUntil(() => w1.state === "resolved" && w2.state === "resolved", "both writes");
      expect(written.map(String)).toEqual(["held", "next"]);
    });
  });
});
