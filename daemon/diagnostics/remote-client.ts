// The support side of remote diagnostics (`posbridge status --remote`, `bundle --remote`): asks
// one bridge through the broker and reads its retained status, decoded (it is protobuf on the
// wire, which mosquitto_sub shows as binary). Needs the broker's ACL to let the support account
// publish P/diag/req and read P/diag/res and P/status (docs/cloud-contract.md).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions } from "mqtt";
import type { BridgeStatusView } from "../../protocols/cloud/cloud-messages.js";
import { bridgeTopics } from "../../protocols/cloud/topics.js";
import { decodeStatus } from "../cloud/proto-codec.js";
import { redactUrl } from "../cloud/redact-url.js";
import { BridgeError } from "../errors.js";
import { decodeDiagResponse, type DiagResponseView, encodeDiagRequest } from "./diag-codec.js";

export interface RemoteTarget {
  broker: string;
  store: string;
  bridge: string;
  /** Default posbridge/v1. */
  prefix?: string;
  username?: string;
  password?: string;
  /** PEM files for mqtts:// */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface RemoteAnswer {
  /** The retained status, when the broker holds one. */
  retained: BridgeStatusView | undefined;
  /** The bridge's answer, or undefined when none came in time. */
  answer: DiagResponseView | undefined;
}

export async function askRemote(
  target: RemoteTarget,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<RemoteAnswer> {
  const topics = bridgeTopics(target.prefix ?? "posbridge/v1", target.store, target.bridge);
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: `posbridge-support-${randomBytes(4).toString("hex")}`,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.ca ? { ca: readFileSync(target.ca) } : {}),
    ...(target.cert ? { cert: readFileSync(target.cert) } : {}),
    ...(target.key ? { key: readFileSync(target.key) } : {}),
  };
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(target.broker, options);
  } catch (err) {
    throw new BridgeError(
      "PB_MQTT_CONNECT",
      `cannot reach the broker ${redactUrl(target.broker)}: ${(err as Error).message}`,
    );
  }
  const requestId = `support-${randomBytes(6).toString("hex")}`;
  let retained: BridgeStatusView | undefined;
  try {
    const answer = await new Promise<DiagResponseView | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      client.on("message", (topic, payload) => {
        const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
        if (topic === topics.status) {
          const s = decodeStatus(bytes);
          if (s.ok) retained = s.value;
          return;
        }
        if (topic !== topics.diagRes) return;
        const r = decodeDiagResponse(bytes);
        if (!r.ok || r.value.requestId !== requestId) return;
        clearTimeout(timer);
        resolve(r.value);
      });
      void (async () => {
        const granted = await client.subscribeAsync([topics.diagRes, topics.status], { qos: 1 });
        if (granted.some((g) => g.qos >= 0x80)) {
          clearTimeout(timer);
          resolve(undefined);
          return;
        }
        await client.publishAsync(
          topics.diagReq,
          Buffer.from(encodeDiagRequest({ requestId, method, params })),
          {
            qos: 1,
            properties: { responseTopic: topics.diagRes, correlationData: Buffer.from(requestId) },
          },
        );
      })().catch(() => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    // The retained status arrives at once on subscribing; give it a moment when no answer came.
    if (!retained) await new Promise((r) => setTimeout(r, 200));
    return { retained, answer };
  } finally {
    await client.endAsync(true).catch(() => {});
  }
}
