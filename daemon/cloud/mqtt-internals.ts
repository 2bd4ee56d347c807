// The few places the link depends on how mqtt.js works inside, in one file, checked against the
// installed version by test/daemon/cloud/mqtt-internals.test.ts (which fails when mqtt.js is
// upgraded, so these are read again against node_modules/mqtt/build/lib/client.js and
// handlers/ack.js):
//   - `client.outgoing`: packets sent and not yet acknowledged, by message id ({ cmd, cb });
//   - `client.queue`: packets waiting for a connection (we never let requests wait there);
//   - a PUBACK with a failure reason code reaches the publish callback as an Error whose `code`
//     is that number (ErrorWithReasonCode);
//   - a SUBACK with one reaches the subscribe callback as an ErrorWithSubackPacket whose
//     `packet.granted` holds the reason codes (its `code` is not set: ack.js sets it on an inner
//     error that subscribe() wraps);
//   - an ack that never came because the link dropped is an Error with neither ("Connection
//     closed", "Message removed", "client disconnecting");
//   - publish() writes a connected client's packet synchronously through mqtt-packet's
//     writeToStream, which corks the socket and uncorks it at process.nextTick.
import type { MqttClient } from "mqtt";

/** The mqtt.js version this file was checked against. */
export const VERIFIED_MQTT_VERSION = "5.16.0";

interface Internals {
  outgoing?: Record<string, { cmd?: string } | undefined>;
  queue?: unknown[];
}

function internals(client: MqttClient | undefined): Internals {
  return (client ?? {}) as unknown as Internals;
}

/** Message ids of QoS ≥ 1 publishes handed to the broker and not acknowledged. */
export function unacknowledgedPublishIds(client: MqttClient): number[] {
  const outgoing = internals(client).outgoing ?? {};
  return Object.entries(outgoing)
    .filter(([, entry]) => entry?.cmd === "publish")
    .map(([id]) => Number(id));
}

/** Packets mqtt.js holds in memory: the offline queue plus everything unacknowledged. */
export function heldPackets(client: MqttClient | undefined): number {
  const c = internals(client);
  return (c.queue?.length ?? 0) + Object.keys(c.outgoing ?? {}).length;
}

/**
 * The broker's reason code when a publish callback's error is a refusal (PUBACK reason code
 * ≥ 0x80), undefined when the error means "not acknowledged" (the link dropped, the message was
 * removed) or there is no error.
 */
export function pubackRefusalCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "number" && code >= 0x80 ? code : undefined;
}

/** The first failure reason code (bit 0x80 set) of a subscribe callback's SUBACK error, if any. */
export function subackRefusalCode(err: unknown): number | undefined {
  const granted = (err as { packet?: { granted?: unknown } } | null | undefined)?.packet?.granted;
  if (!Array.isArray(granted)) return undefined;
  return granted.find((g): g is number => typeof g === "number" && (g & 0x80) !== 0);
}

/**
 * Puts what publish() just wrote on the wire now. mqtt-packet corks the socket for each packet and
 * uncorks it at process.nextTick, which runs only once the caller's whole step has run (the
 * register's answer, the display, the log lines after the publish): a pay request would wait for
 * them (docs/performance.md, "Where the single-lane latency goes"). Uncorking early only ends
 * the batching of those corks; the bytes and their order are the same, and the pending
 * nextTick uncork finds nothing left to do.
 */
export function sendNow(client: MqttClient): void {
  const stream = client.stream as { writableCorked?: number; uncork?: () => void } | undefined;
  if (!stream?.uncork) return;
  // One cork per packet written this tick: the pay request goes with any written before it.
  while ((stream.writableCorked ?? 0) > 0) stream.uncork();
}
