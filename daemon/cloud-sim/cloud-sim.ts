// The simulated payment cloud: a real MQTT peer that follows the contract (mqtt-contract.md).
// It subscribes to every bridge's `req` (a shared subscription on MQTT 5, as a worker fleet
// would), decodes each BridgeRequest, executes it against its ledger at most once, and answers
// on the `res` topic of the store/bridge the request's topic names — never on a topic the
// request asks for. Its log lines show payment codes masked.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type {
  CloudRequest,
  CloudResponse,
  PaymentResult,
  RefundResult,
} from "../../protocols/cloud/cloud-messages.js";
import { parseBridgeTopic } from "../../protocols/cloud/topics.js";
import { maskCode } from "../../protocols/payment/mask.js";
import { decodeRequest, encodeResponse } from "../cloud/proto-codec.js";
import { Ledger } from "./ledger.js";

export interface CloudSimOptions {
  brokerUrl: string;
  topicPrefix?: string;
  protocolVersion?: 4 | 5;
  /** Shared-subscription group (MQTT 5 only). */
  group?: string;
  /** How long a customer takes to confirm on the phone (amounts ending 77). */
  confirmDelayMs?: number;
  /**
   * Waiting payments (amounts ending 77) are confirmed only when `confirm(attemptId)` is called,
   * not after confirmDelayMs: a test decides when the PAID is sent.
   */
  manualConfirm?: boolean;
  log?: (line: string) => void;
  clock?: { now(): number };
  /**
   * TLS material of a worker's identity (mqtts://): `ca`, and `cert`/`key` of its client
   * certificate when the broker requires one (docs/cloud-contract.md, "Broker ACL").
   */
  tls?: Pick<IClientOptions, "ca" | "cert" | "key">;
}

export interface CloudSim {
  ledger: Ledger;
  /** Transport counters (garbage = undecodable requests, ignored) plus the ledger's. */
  stats(): {
    requests: number;
    garbage: number;
    answered: number;
    foreignResponseTopic: number;
    /** Pay requests the bridge stamped at or after their deadline (the bridge must never do this). */
    publishedLate: number;
    /** Pay requests that arrived after their deadline (held by a broker): refused, never charged. */
    arrivedLate: number;
  } & Ledger["stats"];
  /**
   * The customer confirms a waiting payment now: it becomes PAID and the result is sent to the
   * bridge that asked. False when the attempt is not waiting (with manualConfirm only).
   */
  confirm(attemptId: string): boolean;
  stop(): Promise<void>;
}

export async function startCloudSim(opts: CloudSimOptions): Promise<CloudSim> {
  const prefix = opts.topicPrefix ?? "posbridge/v1";
  const v5 = (opts.protocolVersion ?? 5) === 5;
  const log = opts.log ?? (() => {});
  const now = () => (opts.clock ?? Date).now();
  const confirmDelayMs = opts.confirmDelayMs ?? 1500;
  const ledger = new Ledger();
  const counters = {
    requests: 0,
    garbage: 0,
    answered: 0,
    foreignResponseTopic: 0,
    publishedLate: 0,
    arrivedLate: 0,
  };
  const timers = new Set<NodeJS.Timeout>();
  /** Waiting payments to confirm by hand (manualConfirm): where and what to answer. */
  const waiting = new Map<string, { resTopic: string; req: CloudRequest }>();

  const client: MqttClient = await mqtt.connectAsync(opts.brokerUrl, {
    protocolVersion: v5 ? 5 : 4,
    clientId: `posbridge-cloud-sim-${Math.random().toString(36).slice(2, 10)}`,
    reconnectPeriod: 1000,
    ...opts.tls,
  });
  const filter = `${prefix}/+/+/req`;
  const granted = await client.subscribeAsync(
    v5 ? `$share/${opts.group ?? "posbridge-cloud-sim"}/${filter}` : filter,
    { qos: 1 },
  );
  if (granted.some((g) => g.qos > 2)) {
    await client.endAsync(true);
    throw new Error(`cloud-sim: the broker refused the subscription to ${filter}`);
  }

  const answer = (resTopic: string, req: CloudRequest, result: PaymentResult | RefundResult) => {
    const res: CloudResponse = {
      requestId: req.requestId,
      attemptId: req.command.attemptId,
      sentAtMs: now(),
      result,
    };
    client.publish(resTopic, Buffer.from(encodeResponse(res)), {
      qos: 1,
      ...(v5
        ? {
            properties: {
              correlationData: Buffer.from(req.requestId),
              contentType: "application/x-protobuf",
            },
          }
        : {}),
    });
    counters.answered++;
    const detail =
      result.type === "payment"
        ? `${result.status}${result.reasonCode ? ` ${result.reasonCode}` : ""}`
        : `refund ${result.status}`;
    log(`← ${req.command.attemptId} ${detail}`);
  };

  client.on("message", (topic, payload, packet) => {
    const where = parseBridgeTopic(prefix, topic);
    if (where?.leaf !== "req") return;
    counters.requests++;
    const decoded = decodeRequest(new Uint8Array(payload));
    if (!decoded.ok) {
      counters.garbage++;
      log(`✗ undecodable request on ${topic}: ${decoded.error}`);
      return;
    }
    const req = decoded.value;
    // The reply topic comes from the ACL-enforced request topic, never from the request itself
    // (a Response Topic naming another store would make this worker a confused deputy).
    const resTopic = `${prefix}/${where.store}/${where.bridge}/res`;
    const asked = packet.properties?.responseTopic;
    if (asked !== undefined && asked !== resTopic) {
      counters.foreignResponseTopic++;
      log(`! ${req.requestId} asked for replies on ${asked}; answering on ${resTopic}`);
    }
    const c = req.command;
    switch (c.type) {
      case "pay": {
        if (req.sentAtMs >= c.deadlineMs) counters.publishedLate++;
        if (now() > c.deadlineMs) counters.arrivedLate++;
        // The orderRef belongs to the lane of the bridge the (ACL-enforced) topic names.
        const scope = `${where.store}/${where.bridge}/${req.laneId}`;
        const { duplicate, outcome, result } = ledger.pay(c, now(), scope);
        log(
          `→ pay ${c.attemptId} ${c.amountFen} fen ${maskCode(c.authCode, c.scheme)}${duplicate ? " (duplicate: not executed again)" : ""}`,
        );
        if (outcome?.kind === "silent") {
          log(`  ${c.attemptId} charged, answer lost (rule: amount ends in 99)`);
          return;
        }
        answer(resTopic, req, result);
        if (outcome?.kind === "waiting" && opts.manualConfirm) {
          waiting.set(c.attemptId, { resTopic, req });
        } else if (outcome?.kind === "waiting") {
          const t = setTimeout(() => {
            timers.delete(t);
            const confirmed = ledger.confirm(c.attemptId);
            if (confirmed) answer(resTopic, req, confirmed);
          }, confirmDelayMs);
          timers.add(t);
        }
        return;
      }
      case "query":
        log(`→ query ${c.attemptId}`);
        answer(resTopic, req, ledger.query(c.attemptId));
        return;
      case "cancel":
        log(`→ cancel ${c.attemptId}`);
        answer(resTopic, req, ledger.cancel(c));
        return;
      case "refund":
        log(`→ refund ${c.attemptId} ${c.amountFen} fen`);
        answer(resTopic, req, ledger.refund(c));
        return;
    }
  });

  return {
    ledger,
    stats: () => ({ ...counters, ...ledger.stats }),
    confirm(attemptId) {
      const w = waiting.get(attemptId);
      const confirmed = w ? ledger.confirm(attemptId) : undefined;
      if (!w || !confirmed) return false;
      waiting.delete(attemptId);
      answer(w.resTopic, w.req, confirmed);
      return true;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await client.endAsync();
    },
  };
}
