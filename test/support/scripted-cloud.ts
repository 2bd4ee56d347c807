// A payment cloud under the test's control: it subscribes every bridge's `req` under a prefix,
// records each request with the moment it arrived (the test's monotonic clock) and its MQTT 5
// properties, and answers only what the test's policy says. For timing tests (when exactly does
// the bridge query or reverse?) and for clouds that misbehave on purpose.
import mqtt, { type MqttClient } from "mqtt";
import type { CloudRequest, PaymentResult } from "../../protocols/cloud/cloud-messages.js";
import { decodeRequest, encodeResponse } from "../../daemon/cloud/proto-codec.js";
import { payment } from "./sale-harness.js";

/** A PaymentResult with defaults (PAID, WeChat, nothing else) and the given fields. */
export const paymentResult = payment;

export interface SeenRequest {
  request: CloudRequest;
  topic: string;
  /** performance.now() of the test process when it arrived. */
  at: number;
  /** MQTT 5 Message Expiry Interval as the broker forwarded it (seconds), if any. */
  expirySec: number | undefined;
}

/** What to answer to a request: a payment result, or nothing (a lost answer). */
export type CloudPolicy = (req: SeenRequest) => PaymentResult | undefined;

export interface ScriptedCloud {
  seen: SeenRequest[];
  /** Requests of one attempt, in arrival order. */
  of(attemptId: string): SeenRequest[];
  /** Pay requests for an order, in arrival order. */
  pays(orderRef: string): SeenRequest[];
  setPolicy(policy: CloudPolicy): void;
  /** Publishes a result for `attemptId` to the bridge whose req topic was `reqTopic`, unasked. */
  send(reqTopic: string, attemptId: string, result: PaymentResult, requestId?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startScriptedCloud(brokerUrl: string, prefix: string): Promise<ScriptedCloud> {
  const client: MqttClient = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true });
  const seen: SeenRequest[] = [];
  let policy: CloudPolicy = () => undefined;
  const answer = (reqTopic: string, requestId: string, attemptId: string, result: PaymentResult) =>
    client.publishAsync(
      reqTopic.replace(/\/req$/, "/res"),
      Buffer.from(encodeResponse({ requestId, attemptId, sentAtMs: Date.now(), result })),
      { qos: 1 },
    );
  client.on("message", (topic, payload, packet) => {
    const decoded = decodeRequest(new Uint8Array(payload));
    if (!decoded.ok) return;
    const entry: SeenRequest = {
      request: decoded.value,
      topic,
      at: performance.now(),
      expirySec: packet.properties?.messageExpiryInterval,
    };
    seen.push(entry);
    const result = policy(entry);
    if (result) void answer(topic, decoded.value.requestId, decoded.value.command.attemptId, result);
  });
  await client.subscribeAsync(`${prefix}/+/+/req`, { qos: 1 });
  return {
    seen,
    of: (attemptId) => seen.filter((s) => s.request.command.attemptId === attemptId),
    pays: (orderRef) =>
      seen.filter((s) => s.request.command.type === "pay" && s.request.command.orderRef === orderRef),
    setPolicy: (p) => {
      policy = p;
    },
    send: async (reqTopic, attemptId, result, requestId = "UNASKED") => {
      await answer(reqTopic, requestId, attemptId, result);
    },
    stop: () => client.endAsync(),
  };
}
