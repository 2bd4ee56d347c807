// The connection to the broker (mqtt-contract.md): retained `status` with a Last Will, `req`
// published QoS 1 with the v5 properties, `res` subscribed, and our own capped, jittered
// reconnect (mqtt.js's fixed reconnectPeriod makes a fleet reconnect in lockstep,
// reliability-messaging.md §2.2). Requests are never left in mqtt.js's offline queue: when the
// link is not online, publishRequest says so and the caller decides.
//
// States (`status`), each change logged once, never once per retry:
//   connecting → online: connected AND subscribed to `res` (a bridge that cannot hear answers is
//     not online: no sale starts, EC says offline);
//   offline (PB_MQTT_CONNECT, PB_MQTT_TLS): unreachable, handshake failed, connection lost, or
//     connecting threw (a TLS context Node refuses, a stream builder's exception): retried with
//     back-off from reconnectMinMs up to reconnectMaxMs. The back-off is forgotten only when a
//     connection that stayed up HEALTHY_MS (10 s) is lost, so a broker that accepts and drops us
//     at once (two bridges with one client id) is retried ever more slowly, not in a tight loop;
//   refused (PB_MQTT_AUTH, PB_MQTT_REFUSED): the broker said no with a reason code
//     (protocols/cloud/connack.ts). CONNACK: retried at the table's pace (credentials "slow",
//     ~30 s, never given up). SUBACK on `res`: connected but not online; the subscribe is retried
//     at the slow pace. PUBACK ≥ 0x80 on `req` (MQTT 5): the request reached no one; requests are
//     held back HOLD_OFF_MIN_MS (5 s), doubling while refusals repeat up to HOLD_OFF_MAX_MS (30 s),
//     then the link is online again so the next request probes; the first request the broker
//     accepts ends the doubling. MQTT 3.1.1 has no reason code in PUBACK: refusals go unseen there.
// A broker cluster (mqtt.url a list of nodes): the link is on one node at a time. Every failed
// attempt and every lost connection moves the next attempt on to the next node, round the list,
// at the same back-off pace (a dead node answers ECONNREFUSED at once, so a failover costs one
// back-off step). We rotate ourselves rather than through mqtt.js's `servers` option: that one
// rewrites the shared options' host on each reconnect (and with it the TLS server name) and keeps
// the node it is on in a private field; here each node gets its own client, made from its own
// URL, so the log line and the status name the node. A problem is logged once per outage, not
// once per node and round: three dead nodes are three lines, however long the outage lasts.
// A clean stop publishes the retained status online=false and waits (≤ STOP_ACK_MS) for its PUBACK
// before a DISCONNECT that makes the broker drop the Will: the status then says "stopped", not the
// Will's "connection lost"; the close it causes is logged at info, not as a lost connection.
import { X509Certificate } from "node:crypto";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { describeReason } from "../../protocols/cloud/connack.js";
import type { BridgeTopics } from "../../protocols/cloud/topics.js";
import { type RetryPace, retryDelay, SLOW_RETRY_MS } from "../../protocols/core/retry.js";
import type { Clock, TimerHandle } from "../clock.js";
import { checkTls, type TlsMaterial } from "../config/check-tls.js";
import { brokerUrls, isTlsUrl } from "../config/broker-urls.js";
import type { MqttConfig } from "../config/config-types.js";
import type { LinkSnapshot } from "../diagnostics/snapshot.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import { redactUrl } from "./redact-url.js";
import { brokerProblem, classifyLinkError, type LinkErrorCode, type LinkProblem } from "./link-errors.js";
import {
  heldPackets,
  pubackRefusalCode,
  sendNow,
  subackRefusalCode,
  unacknowledgedPublishIds,
} from "./mqtt-internals.js";

export const HOLD_OFF_MIN_MS = 5_000;
export const HOLD_OFF_MAX_MS = SLOW_RETRY_MS;
/** A connection that stayed up this long has its back-off forgotten when it is lost. */
export const HEALTHY_MS = 10_000;
/** How long a clean stop waits for the broker to acknowledge the offline status. */
export const STOP_ACK_MS = 2_000;
/** The Last Will's reason: what the fleet reads when the bridge vanished without a goodbye. */
export const WILL_REASON = "no goodbye: connection lost or bridge crashed (Last Will)";
export const STOPPED_REASON = "stopped";

export type LinkState = "connecting" | "online" | "refused" | "offline";

export interface LinkStatus {
  state: LinkState;
  /** The error behind a state other than online and connecting. */
  code: LinkErrorCode | undefined;
  /** Why the link is not online, for logs and the retained status ("" when online). */
  reason: string;
  /** The broker's reason code, when it refused us (CONNACK, SUBACK, PUBACK). */
  reasonCode: number | undefined;
  /** Wall-clock ms of the change. */
  since: number;
  /** The broker node the link is on, or trying next (its URL, credentials masked). */
  node: string;
  /** How many nodes mqtt.url names (1 for a single broker). */
  nodes: number;
}

/** A request the broker refused (MQTT 5 PUBACK ≥ 0x80): it was not delivered to anyone. */
export interface PublishRefusal {
  reasonCode: number;
  /** Hex and name, e.g. "0x87 not authorized". */
  name: string;
}

export interface MqttLinkDeps {
  config: MqttConfig;
  clientId: string;
  topics: BridgeTopics;
  clock: Clock;
  log: Logger;
  random?: () => number;
  /** Encoded BridgeStatus for the given online flag and reason; asked on every publish of it. */
  statusPayload: (online: boolean, reason: string) => Uint8Array;
  /** Makes the client without connecting it; tests inject one whose stream builder throws. */
  createClient?: (url: string, options: IClientOptions) => MqttClient;
  /** The files of config.tls, already read and checked (check-tls.ts); read here when absent. */
  tls?: TlsMaterial;
  /** The slow pace's mean (credentials, a refused subscription); default SLOW_RETRY_MS. */
  slowRetryMs?: number;
  /** First hold-off after a refused request; default HOLD_OFF_MIN_MS. */
  holdOffMinMs?: number;
}

interface Next {
  state: LinkState;
  code?: LinkErrorCode | undefined;
  reason?: string;
  reasonCode?: number | undefined;
}

interface LogLine {
  level: "info" | "warn" | "error";
  msg: string;
  fields?: Record<string, unknown>;
  /** Through the RepeatLimiter under this key (lines that come back with every hold-off). */
  limitKey?: string;
}

export class MqttLink {
  private client: MqttClient | undefined;
  /** mqtt.url as a list: the nodes of the broker (cluster). */
  private readonly urls: readonly string[];
  /** The node the next attempt goes to (and the client is made for), an index into urls. */
  private node = 0;
  /** The node `client` was made for: another node needs another client. */
  private clientNode = 0;
  /** What was logged since the link was last online: each problem once per outage. */
  private readonly loggedInOutage = new Set<string>();
  private readonly options: IClientOptions;
  private readonly limiter: RepeatLimiter;
  private retryTimer: TimerHandle | undefined;
  private resubscribeTimer: TimerHandle | undefined;
  private holdOffTimer: TimerHandle | undefined;
  /** Retries at the back-off pace since the last healthy connection. */
  private failures = 0;
  /** Connection attempts since the link was last online. */
  private attemptsSinceOnline = 0;
  /** Refused requests in a row (a hold-off each); reset by a request the broker accepts. */
  private refusedStreak = 0;
  private started = false;
  private stopped = false;
  /** Bumped on every connect and close: callbacks of an older connection are ignored. */
  private connection = 0;
  /** Monotonic time of the CONNACK, while connected. */
  private connectedMono: number | undefined;
  /** Expiry (wall ms) of the broker's certificate in the last TLS handshake. */
  private brokerCertExpiresAt: number | null = null;
  /** What the current attempt failed with ('error', 'disconnect'), reported at its 'close'. */
  private problem: LinkProblem | undefined;
  private current: LinkStatus;
  private readonly responseHandlers: ((bytes: Uint8Array) => void)[] = [];
  private readonly onlineHandlers: ((online: boolean) => void)[] = [];
  private readonly statusHandlers: ((status: LinkStatus) => void)[] = [];
  /** Topics besides `res` (remote diagnostics' diag/req): subscribed on every connect, apart from going online. */
  private readonly extra = new Map<string, (bytes: Uint8Array, correlation: Buffer | undefined) => void>();
  readonly counters = {
    attempts: 0,
    connects: 0,
    disconnects: 0,
    published: 0,
    refusedOffline: 0,
    refusedByBroker: 0,
    received: 0,
  };

  constructor(private readonly deps: MqttLinkDeps) {
    this.options = clientOptions(deps);
    this.limiter = new RepeatLimiter(deps.log, deps.clock);
    this.urls = brokerUrls(deps.config.url);
    this.current = {
      state: "offline",
      code: undefined,
      reason: "not started",
      reasonCode: undefined,
      since: deps.clock.wallNow(),
      ...this.nodeStatus(),
    };
  }

  get isOnline(): boolean {
    return this.current.state === "online";
  }

  /**
   * The broker accepted the connection (CONNACK). Not the same as online: between CONNACK and the
   * SUBACK for `res` the link is connected, not online, and mqtt.js holds the SUBSCRIBE.
   */
  get isConnected(): boolean {
    return this.client?.connected === true;
  }

  get status(): LinkStatus {
    return { ...this.current };
  }

  onResponse(fn: (bytes: Uint8Array) => void): void {
    this.responseHandlers.push(fn);
  }

  /**
   * Subscribes `topic` (QoS 1) on every connect from now on, and hands its messages to `fn`. A
   * refusal is logged and does not touch the link's state: sales do not depend on it.
   */
  subscribeExtra(topic: string, fn: (bytes: Uint8Array, correlation: Buffer | undefined) => void): void {
    this.extra.set(topic, fn);
    const client = this.client;
    if (client?.connected) this.subscribeExtraOn(client, topic);
  }

  unsubscribeExtra(topic: string): void {
    if (!this.extra.delete(topic)) return;
    if (this.client?.connected && !this.stopped) this.client.unsubscribe(topic);
  }

  /** Publishes on a topic of this bridge (QoS 1, not retained) while connected; false otherwise. */
  publishOn(topic: string, bytes: Uint8Array, correlation?: Buffer): boolean {
    const client = this.client;
    if (this.stopped || !client?.connected) return false;
    const v5 = this.deps.config.protocolVersion === 5;
    client.publish(topic, Buffer.from(bytes), {
      qos: 1,
      retain: false,
      ...(v5 && correlation ? { properties: { correlationData: correlation } } : {}),
    });
    return true;
  }

  private subscribeExtraOn(client: MqttClient, topic: string): void {
    client.subscribe(topic, { qos: 1 }, (err) => {
      if (!err || this.stopped) return;
      const rc = subackRefusalCode(err);
      this.limiter.warn(
        `extra:${topic}`,
        { topic, reasonCode: rc === undefined ? undefined : `0x${rc.toString(16)}`, err: err.message },
        "broker refused a subscription the bridge does not need for sales (remote diagnostics): check the ACL",
      );
    });
  }

  onOnlineChange(fn: (online: boolean) => void): void {
    this.onlineHandlers.push(fn);
  }

  /** Every change of state, code or reason (not called after stop: the lanes have stopped). */
  onStatusChange(fn: (status: LinkStatus) => void): void {
    this.statusHandlers.push(fn);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const { config, clientId } = this.deps;
    this.setState(
      { state: "connecting" },
      {
        level: "info",
        msg: "connecting to broker",
        fields: {
          url: this.nodeUrl(),
          ...(this.urls.length > 1 ? { nodes: this.urls.map(redactUrl) } : {}),
          clientId,
          protocolVersion: config.protocolVersion,
        },
      },
    );
    this.attempt();
  }

  /** Publishes a BridgeRequest. Returns false (and sends nothing) while the link is not online. */
  publishRequest(
    bytes: Uint8Array,
    meta: { requestId: string; expirySec: number },
    /** acked: the broker took it. A refusal (MQTT 5) says the broker refused it: delivered to no one. */
    onAck?: (acked: boolean, refusal?: PublishRefusal) => void,
  ): boolean {
    const client = this.client;
    if (!client || !this.isOnline || !client.connected) {
      this.counters.refusedOffline++;
      return false;
    }
    const v5 = this.deps.config.protocolVersion === 5;
    const connection = this.connection;
    client.publish(
      this.deps.topics.req,
      Buffer.from(bytes),
      {
        qos: 1,
        retain: false,
        ...(v5
          ? {
              properties: {
                responseTopic: this.deps.topics.res,
                correlationData: Buffer.from(meta.requestId),
                contentType: "application/x-protobuf",
                messageExpiryInterval: Math.max(1, Math.floor(meta.expirySec)),
              },
            }
          : {}),
      },
      (err) => {
        const reasonCode = pubackRefusalCode(err);
        if (reasonCode !== undefined) {
          onAck?.(false, this.requestRefused(reasonCode, meta.requestId, connection));
          return;
        }
        if (err)
          this.deps.log.info({ err: err.message, requestId: meta.requestId }, "request not acknowledged");
        else this.refusedStreak = 0;
        onAck?.(!err);
      },
    );
    sendNow(client);
    this.counters.published++;
    return true;
  }

  publishEvent(bytes: Uint8Array): void {
    if (this.stopped || !this.client?.connected) return;
    this.client.publish(this.deps.topics.event, Buffer.from(bytes), { qos: 0, retain: false });
  }

  /**
   * The retained status as the link stands: online, or connected and refused (online=false with
   * the reason). Not while subscribing: going online (or refused) publishes it then.
   */
  publishStatus(): void {
    const client = this.client;
    if (this.stopped || !client?.connected || this.connectedMono === undefined) return;
    const { state } = this.current;
    if (state !== "online" && state !== "refused") return;
    client.publish(this.deps.topics.status, Buffer.from(this.statusBytes()), { qos: 1, retain: true });
  }

  /** Clean shutdown: status online=false ourselves (the Will covers crashes), then disconnect. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimers();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    // Quietly: the lanes have stopped and must not be stepped again.
    this.current = {
      state: "offline",
      code: undefined,
      reason: STOPPED_REASON,
      reasonCode: undefined,
      since: this.deps.clock.wallNow(),
      ...this.nodeStatus(),
    };
    const client = this.client;
    if (client) {
      let acked = false;
      if (client.connected) {
        // Requests nobody waits for any more: a graceful end would wait for their acks.
        for (const id of unacknowledgedPublishIds(client)) client.removeOutgoingMessage(id);
        acked = await new Promise<boolean>((resolve) => {
          const timer = this.deps.clock.setTimeout(() => resolve(false), STOP_ACK_MS);
          client.publish(
            this.deps.topics.status,
            Buffer.from(this.deps.statusPayload(false, STOPPED_REASON)),
            { qos: 1, retain: true },
            (err) => {
              timer.cancel();
              resolve(!err);
            },
          );
        });
      }
      await this.end(client, !acked || heldPackets(client) > 0);
    }
    this.limiter.clearAll();
  }

  /** The link for diagnostics (daemon/diagnostics/snapshot.ts). */
  describe(): LinkSnapshot {
    const s = this.current;
    const { config, clientId } = this.deps;
    return {
      state: s.state,
      code: s.code ?? null,
      reason: s.reason,
      reasonCode: s.reasonCode === undefined ? null : `0x${s.reasonCode.toString(16).padStart(2, "0")}`,
      since: s.since,
      connectedSinceMs:
        this.connectedMono === undefined ? null : this.deps.clock.monoNow() - this.connectedMono,
      url: this.nodeUrl(),
      nodes: this.urls.map(redactUrl),
      clientId,
      protocolVersion: config.protocolVersion,
      tls: isTlsUrl(this.urls[0] as string)
        ? {
            brokerCertExpiresAt: this.brokerCertExpiresAt,
            clientCertExpiresAt: certExpiry(this.options.cert),
            caExpiresAt: certExpiry(this.options.ca),
          }
        : null,
      queueDepth: this.queueDepth(),
      counters: { ...this.counters },
    };
  }

  /** Packets mqtt.js holds in memory (offline queue + unacknowledged): stays 0 when offline. */
  queueDepth(): number {
    return heldPackets(this.client);
  }

  // ── connecting ───────────────────────────────────────────────────────────────────────────

  /** One connection attempt. Whatever it throws fails this attempt only: the link retries. */
  private attempt(): void {
    if (this.stopped) return;
    this.counters.attempts++;
    this.attemptsSinceOnline++;
    this.problem = undefined;
    try {
      if (this.client && this.clientNode === this.node) {
        this.client.reconnect();
      } else {
        if (this.client) this.discard(this.client);
        this.client = this.makeClient();
        this.client.connect();
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.deps.log.debug({ err: e }, "connection attempt threw");
      this.failed(
        {
          code: "PB_MQTT_CONNECT",
          reason: `connecting threw: ${e?.message ?? String(err)}${typeof e?.code === "string" ? ` (${e.code})` : ""}`,
          fix: "report it with this log line; retried with back-off",
          pace: "backoff",
        },
        false,
      );
    }
  }

  private makeClient(): MqttClient {
    const { config, topics, log } = this.deps;
    const v5 = config.protocolVersion === 5;
    const create = this.deps.createClient ?? ((url, options) => mqtt.connect(url, options));
    this.clientNode = this.node;
    const client = create(this.urls[this.node] as string, this.options);
    client.on("connect", () => this.onConnect(client));
    client.on("message", (topic, payload, packet) => {
      const extra = this.extra.get(topic);
      if (extra) {
        try {
          extra(
            new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
            packet.properties?.correlationData,
          );
        } catch (err) {
          this.deps.log.error({ topic, err: (err as Error).message }, "handling a message failed");
        }
        return;
      }
      if (topic !== topics.res) return;
      this.counters.received++;
      for (const fn of this.responseHandlers)
        fn(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    });
    client.on("error", (err) => {
      this.problem = classifyLinkError(err, config.protocolVersion);
      log.debug({ err }, "broker connection error");
    });
    client.on("disconnect", (packet) => {
      const rc = packet.reasonCode ?? 0;
      if (v5 && rc >= 0x80) this.problem = brokerProblem("disconnect", rc, 5, "broker ended the connection");
    });
    client.on("close", () => this.onClose(client));
    return client;
  }

  private onConnect(client: MqttClient): void {
    this.connection++;
    this.connectedMono = this.deps.clock.monoNow();
    const peer = (
      client.stream as { getPeerCertificate?: () => { valid_to?: string } }
    ).getPeerCertificate?.();
    const validTo = peer?.valid_to ? Date.parse(peer.valid_to) : Number.NaN;
    if (Number.isFinite(validTo)) this.brokerCertExpiresAt = validTo;
    this.counters.connects++;
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    this.subscribe(client, this.connection);
    for (const topic of this.extra.keys()) this.subscribeExtraOn(client, topic);
  }

  /** Online only once the broker granted `res`: a bridge that cannot hear answers takes no sale. */
  private subscribe(client: MqttClient, connection: number): void {
    const { topics, config } = this.deps;
    client.subscribe(topics.res, { qos: 1 }, (err) => {
      if (connection !== this.connection || this.stopped) return;
      if (!err) {
        this.goOnline("subscribed");
        return;
      }
      const rc = subackRefusalCode(err);
      if (rc === undefined) return; // not acknowledged: the connection is going; its close says why
      this.counters.refusedByBroker++;
      const problem = brokerProblem(
        "suback",
        rc,
        config.protocolVersion,
        `subscription to ${topics.res} refused`,
      );
      this.setState(
        { state: "refused", code: problem.code, reason: problem.reason, reasonCode: rc },
        {
          level: "error",
          msg: "broker refused the subscription to responses: not online, the subscribe is retried",
          fields: { topic: topics.res, url: this.nodeUrl(), fix: problem.fix },
        },
      );
      this.publishStatus();
      const delay = this.delay(problem.pace);
      this.resubscribeTimer = this.deps.clock.setTimeout(() => {
        this.resubscribeTimer = undefined;
        if (connection === this.connection && !this.stopped && client.connected)
          this.subscribe(client, connection);
      }, delay);
    });
  }

  /** `subscribed`: connected and granted `res`. `holdOffOver`: requests may go out again. */
  private goOnline(why: "subscribed" | "holdOffOver"): void {
    const attempts = this.attemptsSinceOnline;
    this.attemptsSinceOnline = 0;
    this.setState(
      { state: "online" },
      why === "holdOffOver"
        ? { level: "info", msg: "requests allowed again; the next one probes the broker", limitKey: "probe" }
        : {
            level: "info",
            msg: "broker connected",
            fields: {
              url: this.nodeUrl(),
              ...(this.urls.length > 1 ? { node: `${this.node + 1}/${this.urls.length}` } : {}),
              attempts,
            },
          },
    );
    this.publishStatus();
  }

  private onClose(client: MqttClient): void {
    const wasConnected = this.connectedMono !== undefined;
    const upMs = wasConnected ? this.deps.clock.monoNow() - (this.connectedMono ?? 0) : 0;
    this.connectedMono = undefined;
    this.connection++;
    this.cancelTimers();
    this.dropUnacknowledged(client);
    if (this.stopped) {
      if (wasConnected) this.deps.log.info("disconnected from broker");
      return;
    }
    if (wasConnected) {
      this.counters.disconnects++;
      if (upMs >= HEALTHY_MS) this.failures = 0;
    }
    const problem: LinkProblem = this.problem ?? {
      code: "PB_MQTT_CONNECT",
      reason: wasConnected ? "connection lost" : "connection closed before the broker answered",
      fix: "check the network and the broker; retried with back-off",
      pace: "backoff",
    };
    this.problem = undefined;
    this.failed(problem, wasConnected && this.current.state === "online");
  }

  private failed(problem: LinkProblem, lost: boolean): void {
    const refused = problem.code === "PB_MQTT_AUTH" || problem.code === "PB_MQTT_REFUSED";
    this.setState(
      {
        state: refused ? "refused" : "offline",
        code: problem.code,
        reason: problem.reason,
        reasonCode: problem.reasonCode,
      },
      {
        level: problem.code === "PB_MQTT_CONNECT" ? "warn" : "error",
        msg: lost
          ? "broker connection lost"
          : refused
            ? "broker refused the bridge; retrying in the background"
            : "broker unreachable; retrying in the background",
        fields: { url: this.nodeUrl(), fix: problem.fix, retry: problem.pace },
      },
    );
    this.nextNode();
    this.scheduleReconnect(problem.pace);
  }

  /** A cluster: the next attempt goes to the next node (quietly: the attempt's line names it). */
  private nextNode(): void {
    if (this.urls.length < 2) return;
    this.node = (this.node + 1) % this.urls.length;
    this.current = { ...this.current, ...this.nodeStatus() };
  }

  private nodeUrl(): string {
    return redactUrl(this.urls[this.node] as string);
  }

  private nodeStatus(): Pick<LinkStatus, "node" | "nodes"> {
    return { node: this.nodeUrl(), nodes: this.urls.length };
  }

  /** The client of a node we left: closed already; its late events must reach no one. */
  private discard(client: MqttClient): void {
    client.removeAllListeners();
    client.on("error", () => {}); // an 'error' without a listener would throw
    try {
      client.end(true, {}, () => {});
    } catch {
      // nothing to close
    }
  }

  private scheduleReconnect(pace: RetryPace): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.delay(pace);
    this.deps.log.debug(
      { inMs: delay, pace, attempt: this.attemptsSinceOnline + 1 },
      "reconnecting to broker",
    );
    this.retryTimer = this.deps.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.attempt();
    }, delay);
  }

  private delay(pace: RetryPace): number {
    const { config } = this.deps;
    const slowMs = this.deps.slowRetryMs ?? SLOW_RETRY_MS;
    return (
      retryDelay(pace, {
        attempt: pace === "backoff" ? this.failures++ : this.failures,
        minMs: config.reconnectMinMs,
        maxMs: config.reconnectMaxMs,
        slowMs,
        random: this.deps.random ?? Math.random,
      }) ?? slowMs
    );
  }

  // ── refusals of requests ───────────────────────────────────────────────────────────────

  /**
   * The broker refused a request (PUBACK ≥ 0x80): logged (repeats counted), and requests are held
   * back for a while so lanes and EC do not take the link for online while every request bounces.
   */
  private requestRefused(reasonCode: number, requestId: string, connection: number): PublishRefusal {
    const { topics } = this.deps;
    const r = describeReason("puback", reasonCode, 5);
    this.counters.refusedByBroker++;
    this.limiter.error(
      `puback:${reasonCode}`,
      { errCode: r.code, topic: topics.req, reason: r.name, requestId, fix: r.fix },
      `broker refused a request published to ${topics.req}: ${r.name} (${r.code})`,
    );
    if (connection === this.connection && this.current.state === "online" && !this.stopped) {
      const minMs = this.deps.holdOffMinMs ?? HOLD_OFF_MIN_MS;
      const holdMs = Math.min(
        Math.max(minMs, HOLD_OFF_MAX_MS),
        minMs * 2 ** Math.min(this.refusedStreak, 10),
      );
      this.refusedStreak++;
      this.setState(
        { state: "refused", code: r.code, reason: `publish to ${topics.req} refused: ${r.name}`, reasonCode },
        {
          level: "error",
          msg: "broker refuses requests: held back, then the next one probes again",
          fields: { holdOffMs: holdMs, fix: r.fix },
          limitKey: "holdOff",
        },
      );
      this.publishStatus();
      this.holdOffTimer = this.deps.clock.setTimeout(() => {
        this.holdOffTimer = undefined;
        if (connection === this.connection && !this.stopped && this.client?.connected)
          this.goOnline("holdOffOver");
      }, holdMs);
    }
    return { reasonCode, name: r.name };
  }

  // ── state ──────────────────────────────────────────────────────────────────────────────

  private setState(next: Next, line: LogLine): void {
    const was = this.current;
    const code = next.code;
    const reason = next.reason ?? "";
    if (was.state === next.state && was.code === code && was.reason === reason) return;
    this.current = {
      state: next.state,
      code,
      reason,
      reasonCode: next.reasonCode,
      since: this.deps.clock.wallNow(),
      ...this.nodeStatus(),
    };
    // Each problem once per outage: nodes of a cluster that fail in turn (each reason names its
    // host) would otherwise write a line per attempt, round after round.
    const key = `${next.state}\u0000${code ?? ""}\u0000${reason}`;
    const repeat = next.state !== "online" && this.loggedInOutage.has(key);
    if (next.state === "online") this.loggedInOutage.clear();
    else this.loggedInOutage.add(key);
    const fields: Record<string, unknown> = {
      state: next.state,
      ...(code ? { errCode: code, reason } : {}),
      ...(next.reasonCode !== undefined
        ? { reasonCode: `0x${next.reasonCode.toString(16).padStart(2, "0")}` }
        : {}),
      ...line.fields,
    };
    // The message stays the same for every reason (what log searches and tests key on); the
    // reason and the PB_ code are fields.
    if (line.limitKey) this.limiter[line.level](line.limitKey, fields, line.msg);
    else if (!repeat) this.deps.log[line.level](fields, line.msg);
    if (this.stopped) return;
    const onlineChanged = (was.state === "online") !== (next.state === "online");
    for (const fn of this.statusHandlers) fn(this.status);
    if (onlineChanged) for (const fn of this.onlineHandlers) fn(next.state === "online");
  }

  private statusBytes(): Uint8Array {
    const s = this.current;
    return this.deps.statusPayload(s.state === "online", s.code ? `${s.reason} (${s.code})` : s.reason);
  }

  private cancelTimers(): void {
    this.resubscribeTimer?.cancel();
    this.holdOffTimer?.cancel();
    this.resubscribeTimer = undefined;
    this.holdOffTimer = undefined;
  }

  /**
   * mqtt.js would resend every unacknowledged QoS 1 publish after a reconnect, however stale.
   * The journal is our outbox, not mqtt.js's store: drop them here; the lanes resend what is
   * still worth sending (a pay request before its deadline) and query the rest.
   */
  private dropUnacknowledged(client: MqttClient): void {
    const ids = unacknowledgedPublishIds(client);
    for (const id of ids) client.removeOutgoingMessage(id);
    if (ids.length)
      this.deps.log.info({ dropped: ids.length }, "unacknowledged publishes dropped from the client's store");
  }

  /** Ends the client, bounded: a client whose first connect threw has no stream to close. */
  private end(client: MqttClient, force: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.deps.clock.setTimeout(resolve, STOP_ACK_MS);
      const done = () => {
        timer.cancel();
        resolve();
      };
      try {
        client.end(force, {}, done);
      } catch {
        done();
      }
    });
  }
}

function clientOptions(deps: MqttLinkDeps): IClientOptions {
  const { config, clientId, topics } = deps;
  const v5 = config.protocolVersion === 5;
  return {
    protocolVersion: config.protocolVersion,
    clientId,
    keepalive: config.keepaliveSec,
    connectTimeout: config.connectTimeoutMs,
    reconnectPeriod: 0, // we own reconnects (backoff + jitter)
    // We connect inside a try: a throw from the stream builder (a TLS context Node refuses) must
    // fail one attempt, not escape from mqtt.connect (as it did: the link was dead for good).
    manualConnect: true,
    // v5: a session that outlives short outages, so results published meanwhile still arrive.
    clean: !v5,
    queueQoSZero: false,
    // We subscribe on every connect ourselves and go online on its SUBACK.
    resubscribe: false,
    // mqtt-packet would otherwise build a cache of 65,536 two-byte Buffers on the first packet:
    // ~6 MiB of heap and ~60 ms at start, to save a 2-byte allocation per packet
    // (docs/performance.md, "Start and memory").
    writeCache: false,
    will: {
      topic: topics.status,
      payload: Buffer.from(deps.statusPayload(false, WILL_REASON)),
      qos: 1,
      retain: true,
    },
    ...(v5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
    ...(config.tls ? tlsOptions(deps) : {}),
  };
}

function tlsOptions(deps: MqttLinkDeps): Partial<IClientOptions> {
  let material = deps.tls;
  if (!material) {
    // Checked at config time already (check-files.ts); read again only for a link made without it.
    const checked = checkTls(deps.config.tls, deps.clock.wallNow());
    const first = checked.problems[0];
    if (first) throw new BridgeError("PB_CONFIG_INVALID", `${first.path}: ${first.message}`);
    material = checked.material;
  }
  return {
    rejectUnauthorized: true,
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
  };
}

/** notAfter of the first certificate in a PEM, as wall ms; null when there is none. */
function certExpiry(pem: IClientOptions["cert"]): number | null {
  if (!pem) return null;
  try {
    const first = Array.isArray(pem) ? pem[0] : pem;
    return Date.parse(new X509Certificate(first as Buffer).validTo);
  } catch {
    return null;
  }
}

export { redactUrl };
