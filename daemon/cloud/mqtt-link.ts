// The connection to the broker (mqtt-contract.md): retained `status` with a Last Will, `req`
// published QoS 1 with the v5 properties, `res` subscribed, and our own capped, jittered
// reconnect (mqtt.js's fixed reconnectPeriod makes a fleet reconnect in lockstep,
// reliability-messaging.md §2.2). Requests are never left in mqtt.js's offline queue: when the
// link is down, publishRequest says so and the caller decides.
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { backoffDelay } from "../../protocols/cloud/backoff.js";
import type { BridgeTopics } from "../../protocols/cloud/topics.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { MqttConfig } from "../config/config-types.js";
import { BridgeError } from "../errors.js";
import type { Logger } from "../log/logger.js";

export interface MqttLinkDeps {
  config: MqttConfig;
  clientId: string;
  topics: BridgeTopics;
  clock: Clock;
  log: Logger;
  random?: () => number;
  /** Encoded BridgeStatus for the given online flag; asked on every (re)connect. */
  statusPayload: (online: boolean) => Uint8Array;
}

export class MqttLink {
  private client: MqttClient | undefined;
  private retry: TimerHandle | undefined;
  private failures = 0;
  private stopped = false;
  private online = false;
  private lastErrorText: string | undefined;
  private readonly responseHandlers: ((bytes: Uint8Array) => void)[] = [];
  private readonly onlineHandlers: ((online: boolean) => void)[] = [];
  readonly counters = { connects: 0, disconnects: 0, published: 0, refusedOffline: 0, received: 0 };

  constructor(private readonly deps: MqttLinkDeps) {}

  get isOnline(): boolean {
    return this.online;
  }

  /** Why the last connection attempt failed ("connect ECONNREFUSED …"); undefined while online. */
  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  onResponse(fn: (bytes: Uint8Array) => void): void {
    this.responseHandlers.push(fn);
  }

  onOnlineChange(fn: (online: boolean) => void): void {
    this.onlineHandlers.push(fn);
  }

  start(): void {
    const { config, clientId, topics, log } = this.deps;
    const v5 = config.protocolVersion === 5;
    const options: IClientOptions = {
      protocolVersion: config.protocolVersion,
      clientId,
      keepalive: config.keepaliveSec,
      connectTimeout: config.connectTimeoutMs,
      reconnectPeriod: 0, // we own reconnects (backoff + jitter)
      // v5: a session that outlives short outages, so results published meanwhile still arrive.
      clean: !v5,
      queueQoSZero: false,
      resubscribe: true,
      will: {
        topic: topics.status,
        payload: Buffer.from(this.deps.statusPayload(false)),
        qos: 1,
        retain: true,
      },
      ...(v5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      ...tlsOptions(config),
    };
    const client = mqtt.connect(config.url, options);
    this.client = client;
    log.info(
      { url: redactUrl(config.url), clientId, protocolVersion: config.protocolVersion },
      "connecting to broker",
    );

    client.on("connect", () => {
      this.failures = 0;
      this.lastErrorText = undefined;
      this.counters.connects++;
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      client.subscribe(topics.res, { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message, topic: topics.res }, "subscribe to responses failed");
      });
      this.publishStatus();
      this.setOnline(true);
      log.info({ url: redactUrl(config.url) }, "broker connected");
    });
    client.on("message", (topic, payload) => {
      if (topic !== topics.res) return;
      this.counters.received++;
      for (const fn of this.responseHandlers)
        fn(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    });
    client.on("error", (err) => {
      this.lastErrorText = err.message;
      log.warn({ err: err.message }, "broker connection error");
    });
    client.on("close", () => {
      this.dropUnacknowledged(client);
      if (this.online) {
        this.counters.disconnects++;
        log.warn("broker connection lost");
      }
      this.setOnline(false);
      this.scheduleReconnect();
    });
  }

  /** Publishes a BridgeRequest. Returns false (and sends nothing) while the link is down. */
  publishRequest(
    bytes: Uint8Array,
    meta: { requestId: string; expirySec: number },
    onAck?: (acked: boolean) => void,
  ): boolean {
    const client = this.client;
    if (!client || !this.online || !client.connected) {
      this.counters.refusedOffline++;
      return false;
    }
    const v5 = this.deps.config.protocolVersion === 5;
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
        if (err)
          this.deps.log.warn({ err: err.message, requestId: meta.requestId }, "request not acknowledged");
        onAck?.(!err);
      },
    );
    this.counters.published++;
    return true;
  }

  publishEvent(bytes: Uint8Array): void {
    if (!this.client?.connected) return;
    this.client.publish(this.deps.topics.event, Buffer.from(bytes), { qos: 0, retain: false });
  }

  publishStatus(): void {
    if (!this.client?.connected) return;
    this.client.publish(this.deps.topics.status, Buffer.from(this.deps.statusPayload(true)), {
      qos: 1,
      retain: true,
    });
  }

  /** Clean shutdown: status online=false ourselves (the Will covers crashes), then disconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        client.publish(
          this.deps.topics.status,
          Buffer.from(this.deps.statusPayload(false)),
          { qos: 1, retain: true },
          () => resolve(),
        );
        this.deps.clock.setTimeout(resolve, 1000);
      });
    }
    await client.endAsync().catch(() => {});
    this.setOnline(false);
  }

  /**
   * mqtt.js would resend every unacknowledged QoS 1 publish after a reconnect, however stale.
   * The journal is our outbox, not mqtt.js's store: drop them here; the lanes resend what is
   * still worth sending (a pay request before its deadline) and query the rest.
   */
  private dropUnacknowledged(client: MqttClient): void {
    const outgoing = (client as unknown as { outgoing?: Record<string, { cmd?: string }> }).outgoing ?? {};
    let dropped = 0;
    for (const [id, entry] of Object.entries(outgoing)) {
      if (entry.cmd !== "publish") continue;
      client.removeOutgoingMessage(Number(id));
      dropped++;
    }
    if (dropped) this.deps.log.info({ dropped }, "unacknowledged publishes dropped from the client's store");
  }

  /** Packets mqtt.js holds in memory (offline queue + unacknowledged): stays 0 when offline. */
  queueDepth(): number {
    const c = this.client as unknown as { queue?: unknown[]; outgoing?: Record<string, unknown> } | undefined;
    return (c?.queue?.length ?? 0) + Object.keys(c?.outgoing ?? {}).length;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    const delay = backoffDelay(this.failures++, {
      minMs: this.deps.config.reconnectMinMs,
      maxMs: this.deps.config.reconnectMaxMs,
      random: this.deps.random ?? Math.random,
    });
    this.deps.log.info({ inMs: delay }, "reconnecting to broker");
    this.retry = this.deps.clock.setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) this.client?.reconnect();
    }, delay);
  }

  private setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    for (const fn of this.onlineHandlers) fn(online);
  }
}

function tlsOptions(config: MqttConfig): Partial<IClientOptions> {
  const tls = config.tls;
  if (!tls) return {};
  const read = (field: "ca" | "cert" | "key") => {
    const path = tls[field];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BridgeError(
        "PB_CONFIG_INVALID",
        `mqtt.tls.${field}: cannot read ${path}: ${(err as Error).message}`,
      );
    }
  };
  const out: Partial<IClientOptions> = { rejectUnauthorized: true };
  const ca = read("ca");
  const cert = read("cert");
  const key = read("key");
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

/** Drops credentials from a URL before it reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}
