// The doctor's own look at the broker, for when the daemon is not running: one connection with
// the config's URL, TLS files and credentials, then one SUBSCRIBE to the bridge's `res` topic,
// classified by the daemon's own tables (cloud/link-errors.ts): unreachable, DNS, TLS, bad
// credentials (CONNACK) and an ACL that refuses `res` (SUBACK) each come out as themselves.
//
// What it does not do, on purpose:
//   - publish anything. A publish to `req` would reach the cloud as a request, and one to
//     `status` would overwrite the bridge's retained status; so whether the ACL lets the bridge
//     publish cannot be checked from here (the daemon sees it: PUBACK refusals, MQTT 5).
//   - use the bridge's client id. Connecting as the bridge would throw a running daemon off
//     the broker (session taken over) and, with MQTT 5's kept session, take the answers queued for
//     it. The probe connects as `<clientId>-doctor` with a clean session and no Last Will; a
//     broker that ties client ids to users may refuse that id, which the result says.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { bridgeTopics } from "../../protocols/cloud/topics.js";
import { brokerUrls } from "../config/broker-urls.js";
import { checkTls } from "../config/check-tls.js";
import type { Config } from "../config/config-types.js";
import { brokerProblem, classifyLinkError, type LinkProblem } from "../cloud/link-errors.js";
import { subackRefusalCode } from "../cloud/mqtt-internals.js";
import { redactUrl } from "../cloud/redact-url.js";

export interface BrokerProbe {
  /** mqtt.url without a password. */
  url: string;
  /** The client id the probe used. */
  clientId: string;
  /** Why no connection was tried ("" when one was): the TLS files cannot be read. */
  skipped: string;
  connected: boolean;
  /** Why connecting failed; undefined when it connected (or was not tried). */
  problem?: LinkProblem;
  /** The subscription to `<prefix>/<store>/<bridge>/res`. */
  subscription: "granted" | "refused" | "unanswered" | "notTried";
  subscriptionProblem?: LinkProblem;
  resTopic: string;
  elapsedMs: number;
}

export interface ProbeOptions {
  config: Config;
  /** How long to wait for CONNACK, then for SUBACK. */
  timeoutMs: number;
  /** Wall clock for the TLS files' dates. */
  nowMs: number;
  createClient?: (url: string, options: IClientOptions) => MqttClient;
}

export const PROBE_CLIENT_SUFFIX = "-doctor";

/**
 * Probes the broker as the daemon would reach it: a single URL, or the nodes of a cluster in
 * order until one connects (the daemon fails over the same way). The answer is that node's, or,
 * when none connects, the first node's failure, its URL naming every node tried.
 */
export async function probeBroker(o: ProbeOptions): Promise<BrokerProbe> {
  const urls = brokerUrls(o.config.mqtt.url);
  let first: BrokerProbe | undefined;
  for (const url of urls) {
    const p = await probeNode(o, url);
    if (p.connected || p.skipped) return p;
    first ??= p;
  }
  const tried = first as BrokerProbe;
  return urls.length > 1 ? { ...tried, url: urls.map(redactUrl).join(", ") } : tried;
}

function probeNode(o: ProbeOptions, url: string): Promise<BrokerProbe> {
  const { mqtt: m } = o.config;
  const v = m.protocolVersion;
  const clientId = `${m.clientId ?? `posbridge-${o.config.store}-${o.config.bridge}`}${PROBE_CLIENT_SUFFIX}`;
  const resTopic = bridgeTopics(m.topicPrefix, o.config.store, o.config.bridge).res;
  const started = performance.now();
  const base = { url: redactUrl(url), clientId, resTopic };
  const tls = checkTls(m.tls, o.nowMs);
  const tlsProblem = tls.problems[0];
  if (tlsProblem) {
    return Promise.resolve({
      ...base,
      skipped: `${tlsProblem.path}: ${tlsProblem.message}`,
      connected: false,
      subscription: "notTried",
      elapsedMs: 0,
    });
  }
  const options: IClientOptions = {
    protocolVersion: v,
    clientId,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0,
    connectTimeout: o.timeoutMs,
    resubscribe: false,
    ...(m.username !== undefined ? { username: m.username } : {}),
    ...(m.password !== undefined ? { password: m.password } : {}),
    ...(m.tls
      ? {
          rejectUnauthorized: true,
          ...(tls.material.ca ? { ca: tls.material.ca } : {}),
          ...(tls.material.cert ? { cert: tls.material.cert } : {}),
          ...(tls.material.key ? { key: tls.material.key } : {}),
        }
      : {}),
  };
  return new Promise((resolve) => {
    let client: MqttClient | undefined;
    let settled = false;
    let connected = false;
    let lastError: unknown;
    const finish = (r: Pick<BrokerProbe, "subscription"> & Partial<BrokerProbe>) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      // DISCONNECT, not a dropped socket: the broker logs a clean goodbye; there is no Will to fire.
      client?.end(false);
      resolve({
        ...base,
        skipped: "",
        connected,
        ...r,
        elapsedMs: Math.round(performance.now() - started),
      });
    };
    // mqtt.js times out CONNECT itself (connectTimeout); this catches whatever else hangs
    // (a SUBACK that never comes), and holds the process open while it waits.
    const guard = setTimeout(
      () => {
        if (connected) finish({ subscription: "unanswered" });
        else
          finish({
            subscription: "notTried",
            problem: lastError
              ? classifyLinkError(lastError, v)
              : classifyLinkError(new Error("connack timeout"), v),
          });
      },
      o.timeoutMs * 2 + 500,
    );
    try {
      client = (o.createClient ?? ((u, opts) => mqtt.connect(u, opts)))(url, options);
    } catch (err) {
      finish({ subscription: "notTried", problem: classifyLinkError(err, v) });
      return;
    }
    client.on("error", (err) => {
      lastError = err;
      if (!connected) finish({ subscription: "notTried", problem: classifyLinkError(err, v) });
    });
    client.on("close", () => {
      if (connected) finish({ subscription: "unanswered" });
      else
        finish({
          subscription: "notTried",
          problem: lastError
            ? classifyLinkError(lastError, v)
            : {
                code: "PB_MQTT_CONNECT",
                reason: "the broker closed the connection before answering CONNECT",
                fix: "check mqtt.url: the port may belong to another service, or the broker drops this client",
                pace: "backoff",
              },
        });
    });
    client.on("connect", () => {
      connected = true;
      client?.subscribe(resTopic, { qos: 1 }, (err, granted) => {
        const refused =
          subackRefusalCode(err) ??
          granted?.map((g) => g.qos as number).find((q) => typeof q === "number" && (q & 0x80) !== 0);
        if (refused !== undefined) {
          finish({
            subscription: "refused",
            subscriptionProblem: brokerProblem("suback", refused, v, `subscription to ${resTopic} refused`),
          });
        } else if (err) {
          finish({ subscription: "unanswered", subscriptionProblem: classifyLinkError(err, v) });
        } else {
          finish({ subscription: "granted" });
        }
      });
    });
  });
}
