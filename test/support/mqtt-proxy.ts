// A userspace TCP proxy between an MQTT client and a broker, for fault tests (tc/netem is not
// available here, reliability-messaging.md §7.2). It only reads the MQTT fixed header, so it works
// for MQTT 3.1.1 and 5 alike:
//   - "pass": bytes go through untouched (PUBLISH packets are still counted);
//   - "duplicatePublish": every client→broker PUBLISH is forwarded twice, the copy with the same
//     packet id (and DUP set when QoS > 0) — what a client resending after a lost PUBACK looks like;
//   - "dropAfterPublish": after forwarding every `dropEvery`-th client→broker PUBLISH, both sockets
//     are destroyed: the broker has the message, the client never sees its PUBACK.
// `dropAll()` kills every open connection at once (a NAT timeout, a Wi-Fi drop).
import { connect, createServer, type Server, type Socket } from "node:net";

/** MQTT control packet type 3 (both 3.1.1 §2.2.1 and 5.0 §2.1.2). */
const PUBLISH = 3;

/**
 * Cuts a byte stream into whole MQTT control packets using only the fixed header: one type/flags
 * byte, then the Remaining Length as a variable byte integer (1–4 bytes, 7 bits each, least
 * significant group first, high bit = "more bytes follow"; MQTT 3.1.1 §2.2.3, 5.0 §1.5.5).
 * Chunks are kept as received and only copied once a packet is complete, so a packet arriving one
 * byte at a time costs no quadratic copying.
 */
export class MqttPacketSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total length of the packet at the head, once its fixed header is complete. */
  private needed: number | undefined;

  /** Bytes held that do not yet form a whole packet. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds bytes; returns the packets they complete, in order (each a fresh Buffer). */
  push(bytes: Uint8Array): Buffer[] {
    if (bytes.length > 0) {
      this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      this.buffered += bytes.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      this.needed ??= this.packetLength();
      if (this.needed === undefined || this.buffered < this.needed) return out;
      out.push(this.take(this.needed));
      this.needed = undefined;
    }
  }

  /** Length of the head packet, or undefined while its fixed header is incomplete. */
  private packetLength(): number | undefined {
    let remaining = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.byteAt(1 + i);
      if (b === undefined) return undefined;
      remaining += (b & 0x7f) * 128 ** i;
      if ((b & 0x80) === 0) return 1 + (i + 1) + remaining;
    }
    throw new Error("malformed MQTT fixed header: Remaining Length longer than 4 bytes");
  }

  private byteAt(index: number): number | undefined {
    if (index >= this.buffered) return undefined;
    let i = index;
    for (const c of this.chunks) {
      if (i < c.length) return c[i];
      i -= c.length;
    }
    return undefined;
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // whole chunks consumed, removed in one splice (shift() per chunk is quadratic)
    while (filled < n) {
      const chunk = this.chunks[used]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        used++;
      } else {
        chunk.copy(out, filled, 0, want);
        filled += want;
        this.chunks[used] = chunk.subarray(want);
      }
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return out;
  }
}

/** True when `packet` (a whole packet from MqttPacketSplitter) is a PUBLISH. */
export function isPublish(packet: Uint8Array): boolean {
  return packet.length > 0 && packet[0]! >> 4 === PUBLISH;
}

/** QoS of a PUBLISH packet (fixed-header flags bits 1–2). */
export function publishQos(packet: Uint8Array): number {
  return (packet[0]! >> 1) & 0x03;
}

export type MqttProxyMode = "pass" | "duplicatePublish" | "dropAfterPublish";

export interface MqttProxyOptions {
  target: { host: string; port: number };
  mode: MqttProxyMode;
  /** dropAfterPublish: drop after every n-th client→broker PUBLISH, counted across connections. Default 1. */
  dropEvery?: number;
  /** duplicatePublish: set DUP on the copy of a QoS 1/2 PUBLISH, as a real resend does. Default true. */
  markDuplicate?: boolean;
}

export interface MqttProxyStats {
  /** Client connections accepted. */
  connections: number;
  /** Client→broker PUBLISH packets seen (a duplicated one counts once). */
  publishesSeen: number;
  /** Extra copies sent in duplicatePublish mode. */
  publishesDuplicated: number;
  /** Connections the proxy destroyed (dropAfterPublish, dropAll). */
  drops: number;
}

export interface MqttProxy {
  port: number;
  /** mqtt://127.0.0.1:<port> */
  url: string;
  readonly stats: MqttProxyStats;
  /** Destroys every open connection now (both sockets of each). */
  dropAll(): void;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Set once the proxy has decided to kill this connection: nothing more is forwarded. */
  dropped: boolean;
}

export async function startMqttProxy(options: MqttProxyOptions): Promise<MqttProxy> {
  const { target, mode } = options;
  const dropEvery = options.dropEvery ?? 1;
  const markDuplicate = options.markDuplicate ?? true;
  if (!Number.isInteger(dropEvery) || dropEvery < 1) {
    throw new TypeError(`dropEvery must be a positive integer, got ${dropEvery}`);
  }
  const stats: MqttProxyStats = { connections: 0, publishesSeen: 0, publishesDuplicated: 0, drops: 0 };
  const pairs = new Set<Pair>();

  const drop = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const markDropped = (pair: Pair) => {
    if (pair.dropped) return;
    pair.dropped = true;
    stats.drops++;
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    client.setNoDelay(true);
    const upstream = connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream, dropped: false };
    pairs.add(pair);

    // A reset or error on one side resets the other; an orderly close is passed on as a FIN
    // (end() still flushes what was written, e.g. a DISCONNECT, where destroy() would drop it).
    const closeBoth = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
    client.on("close", () => {
      pairs.delete(pair);
      upstream.end();
    });
    upstream.on("close", () => {
      pairs.delete(pair);
      client.end();
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());

    // Broker → client: untouched, until the proxy decides to drop the connection.
    upstream.on("data", (chunk: Buffer) => {
      if (!pair.dropped) client.write(chunk);
    });

    // Client → broker: cut into packets so PUBLISHes can be counted, copied or used as a trigger.
    const splitter = new MqttPacketSplitter();
    let parsing = true;
    client.on("data", (chunk: Buffer) => {
      if (pair.dropped) return;
      if (mode === "pass") {
        upstream.write(chunk);
        if (!parsing) return;
        try {
          for (const p of splitter.push(chunk)) if (isPublish(p)) stats.publishesSeen++;
        } catch {
          parsing = false; // pass mode forwards even what it cannot parse
        }
        return;
      }
      let packets: Buffer[];
      try {
        packets = splitter.push(chunk);
      } catch {
        closeBoth(); // a malformed header: a broker would disconnect too
        return;
      }
      for (const p of packets) {
        if (!isPublish(p)) {
          upstream.write(p);
          continue;
        }
        stats.publishesSeen++;
        if (mode === "duplicatePublish") {
          upstream.write(p);
          const copy = Buffer.from(p);
          if (markDuplicate && publishQos(copy) > 0) copy[0] = copy[0]! | 0x08;
          upstream.write(copy);
          stats.publishesDuplicated++;
        } else if (stats.publishesSeen % dropEvery === 0) {
          // Let the PUBLISH reach the kernel first (destroy discards unwritten data), then kill
          // both sides: the connection dies with the message in flight.
          // The broker's answer (the PUBACK) is not forwarded from here on.
          markDropped(pair);
          upstream.write(p, () => drop(pair));
          return; // whatever the client sent after it is lost with the connection
        } else {
          upstream.write(p);
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stats,
    dropAll() {
      for (const pair of [...pairs]) {
        markDropped(pair);
        drop(pair);
      }
    },
    stop() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
