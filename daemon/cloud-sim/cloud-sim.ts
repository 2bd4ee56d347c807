// The simulated payment cloud: a real MQTT peer that follows the contract (mqtt-contract.md).
// It subscribes to every bridge's `req` (a shared subscription on MQTT 5, as a worker fleet
// would), decodes each BridgeRequest, executes it against its ledger at most once, and answers
// on the `res` topic of the store/bridge the request's topic names — never on a topic the
// request asks for. Its log lines show payment codes masked.
//
// A fleet: `workers: N` connects N MQTT clients that share one subscription group
// (`$share/<group>/…`), so the broker hands each request to one of them, and one ledger, so a
// resend of an attempt that lands on another worker is still executed once. The ledger stands for
// what a real fleet shares through its database (docs/cloud-contract.md, "Running the cloud at
// fleet scale"): one process here, because "exactly once" needs that shared ledger, and a shared
// in-memory one shows the broker spreading the load just as well. Each worker answers the
// requests it received itself.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
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
  /**
   * Shared-subscription group (`$share/<group>/…`): used on MQTT 5, and on 3.1.1 with more than
   * one worker (Mosquitto, EMQX, HiveMQ and VerneMQ take `$share` on 3.1.1 too; NATS does not).
   */
  group?: string;
  /** MQTT clients that share the group and the ledger; default 1. */
  workers?: number;
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

/** What one worker of the fleet handled. */
export interface WorkerStats {
  clientId: string;
  /** Requests the broker handed to this worker (decodable or not). */
  requests: number;
  /** Pay requests this worker executed (new attempts). */
  pays: number;
  /** Pay requests for an attempt already executed (by any worker): answered, not executed. */
  duplicates: number;
}

export interface CloudSim {
  ledger: Ledger;
  /** Per worker, in the order they connected. */
  workers(): WorkerStats[];
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
  const workerCount = opts.workers ?? 1;
  if (!Number.isInteger(workerCount) || workerCount < 1)
    throw new Error(`cloud-sim: workers must be a whole number ≥ 1, not ${workerCount}`);
  // Plain subscriptions would hand every request to every worker: a fleet needs the group.
  const shared = v5 || workerCount > 1;
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
  /** Waiting payments to confirm by hand (manualConfirm): who answers, where, and what. */
  const waiting = new Map<string, { worker: Worker; resTopic: string; req: CloudRequest }>();

  const filter = `${prefix}/+/+/req`;
  const subscription = shared ? `$share/${opts.group ?? "posbridge-cloud-sim"}/${filter}` : filter;
  const run = Math.random().toString(36).slice(2, 10);
  const workers: Worker[] = [];
  /** Which worker, in log lines of a fleet: " [w2]". */
  const workerTag = (worker: Worker) =>
    workerCount > 1 ? ` [${worker.stats.clientId.replace(/.*-/, "")}]` : "";

  const answer = (
    worker: Worker,
    resTopic: string,
    req: CloudRequest,
    result: PaymentResult | RefundResult,
  ) => {
    const res: CloudResponse = {
      requestId: req.requestId,
      attemptId: req.command.attemptId,
      sentAtMs: now(),
      result,
    };
    worker.client.publish(resTopic, Buffer.from(encodeResponse(res)), {
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
    log(`← ${req.command.attemptId} ${detail}${workerTag(worker)}`);
  };

  function onRequest(worker: Worker, topic: string, payload: Buffer, packet: IPublishPacket): void {
    const where = parseBridgeTopic(prefix, topic);
    if (where?.leaf !== "req") return;
    counters.requests++;
    worker.stats.requests++;
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
        if (duplicate) worker.stats.duplicates++;
        else worker.stats.pays++;
        log(
          `→ pay ${c.attemptId} ${c.amountFen} fen ${maskCode(c.authCode, c.scheme)}${duplicate ? " (duplicate: not executed again)" : ""}${workerTag(worker)}`,
        );
        if (outcome?.kind === "silent") {
          log(`  ${c.attemptId} charged, answer lost (rule: amount ends in 99)`);
          return;
        }
        answer(worker, resTopic, req, result);
        if (outcome?.kind === "waiting" && opts.manualConfirm) {
          waiting.set(c.attemptId, { worker, resTopic, req });
        } else if (outcome?.kind === "waiting") {
          const t = setTimeout(() => {
            timers.delete(t);
            const confirmed = ledger.confirm(c.attemptId);
            if (confirmed) answer(worker, resTopic, req, confirmed);
          }, confirmDelayMs);
          timers.add(t);
        }
        return;
      }
      case "query":
        log(`→ query ${c.attemptId}${workerTag(worker)}`);
        answer(worker, resTopic, req, ledger.query(c.attemptId));
        return;
      case "cancel":
        log(`→ cancel ${c.attemptId}${workerTag(worker)}`);
        answer(worker, resTopic, req, ledger.cancel(c));
        return;
      case "refund":
        log(`→ refund ${c.attemptId} ${c.amountFen} fen${workerTag(worker)}`);
        answer(worker, resTopic, req, ledger.refund(c));
        return;
    }
  }

  // Connected last: a request may arrive as soon as the first worker has subscribed.
  try {
    for (let i = 0; i < workerCount; i++) {
      const clientId = `posbridge-cloud-sim-${run}${workerCount > 1 ? `-w${i + 1}` : ""}`;
      const client = await mqtt.connectAsync(opts.brokerUrl, {
        protocolVersion: v5 ? 5 : 4,
        clientId,
        reconnectPeriod: 1000,
        ...opts.tls,
      });
      const worker: Worker = { client, stats: { clientId, requests: 0, pays: 0, duplicates: 0 } };
      workers.push(worker);
      client.on("message", (topic, payload, packet) => onRequest(worker, topic, payload, packet));
      const granted = await client.subscribeAsync(subscription, { qos: 1 });
      if (granted.some((g) => g.qos > 2))
        throw new Error(`cloud-sim: the broker refused the subscription to ${subscription}`);
    }
  } catch (err) {
    await Promise.all(workers.map((w) => w.client.endAsync(true)));
    throw err;
  }

  return {
    ledger,
    workers: () => workers.map((w) => ({ ...w.stats })),
    stats: () => ({ ...counters, ...ledger.stats }),
    confirm(attemptId) {
      const w = waiting.get(attemptId);
      const confirmed = w ? ledger.confirm(attemptId) : undefined;
      if (!w || !confirmed) return false;
      waiting.delete(attemptId);
      answer(w.worker, w.resTopic, w.req, confirmed);
      return true;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(workers.map((w) => w.client.endAsync()));
    },
  };
}

interface Worker {
  client: MqttClient;
  stats: WorkerStats;
}
