// The baseline of every MQTT figure: a bare mqtt.js request/response through the same broker and
// the same responder process as the bridge's (bench/e2e/instant-cloud.ts answers bench-bare/req/<n>
// on bench-bare/res/<n> at once). QoS 1 both ways, payloads the size of a PayRequest.
import type { MqttClient } from "mqtt";
import { sharedNow } from "./parts.js";

const PAYLOAD = Buffer.alloc(120, 0x2a);

export interface BareRequester {
  /** One request; resolves with the round trip (ms) and the moment it was sent (sharedNow). */
  ask(lane: number): Promise<{ sentAt: number; rttMs: number; backAt: number }>;
}

export async function bareRequester(client: MqttClient): Promise<BareRequester> {
  const waiting = new Map<string, (at: number) => void>();
  client.on("message", (topic) => {
    if (!topic.startsWith("bench-bare/res/")) return;
    const at = sharedNow();
    const id = topic.slice(15);
    waiting.get(id)?.(at);
    waiting.delete(id);
  });
  await client.subscribeAsync("bench-bare/res/+", { qos: 1 });
  return {
    ask(lane) {
      const id = String(lane);
      return new Promise((resolve) => {
        const sentAt = sharedNow();
        waiting.set(id, (backAt) => resolve({ sentAt, rttMs: backAt - sentAt, backAt }));
        client.publish(`bench-bare/req/${id}`, PAYLOAD, { qos: 1 });
      });
    },
  };
}

/** `lanes` requesters, each asking again as soon as it is answered, for `ms`: round trips/s and RTTs. */
export async function bareLoad(
  requester: BareRequester,
  lanes: number,
  ms: number,
): Promise<{ perSecond: number; rtts: number[] }> {
  const rtts: number[] = [];
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (performance.now() < end) rtts.push((await requester.ask(lane)).rttMs);
    }),
  );
  return { perSecond: (rtts.length * 1000) / (performance.now() - start), rtts };
}
