// What a broker's reason code means for the bridge: which error it is, how soon trying again can
// help, and what a technician should change. One table for every packet that carries one:
//   - CONNACK: the broker refused the connection (MQTT 3.1.1 return codes 1–5, MQTT 5 0x80–0x9F);
//   - DISCONNECT (MQTT 5): the broker ended the connection and said why (0x8E: another client
//     took our client id over — two bridges configured alike);
//   - SUBACK: the subscription was refused (3.1.1: 0x80 "failure"; 5: 0x80–0xA2, e.g. an ACL 0x87);
//   - PUBACK (MQTT 5 only): the publish was not accepted, so it reached no subscriber. MQTT 3.1.1
//     has no reason code in PUBACK: a broker that drops a publish for its ACL still acknowledges it,
//     and the bridge cannot tell (docs/cloud-contract.md, "Broker ACL").
// Credentials and ACLs are retried at the slow pace, never given up: the daemon never exits by
// itself, and a fixed ACL on the broker must be picked up without a restart.
import type { RetryPace } from "../core/retry.js";

export type BrokerPacket = "connack" | "disconnect" | "suback" | "puback";

export type BrokerErrorCode = "PB_MQTT_AUTH" | "PB_MQTT_REFUSED";

export interface BrokerReason {
  /** The reason code as the broker sent it. */
  reasonCode: number;
  /** Hex and name, e.g. "0x87 not authorized": what log lines and events quote. */
  name: string;
  code: BrokerErrorCode;
  pace: RetryPace;
  /** What to change, for logs and docs/errors.md. */
  fix: string;
}

interface Row {
  name: string;
  /** Defaults to PB_MQTT_REFUSED. */
  code?: BrokerErrorCode;
  pace: RetryPace;
  fix: string;
}

const CREDENTIALS =
  "check mqtt.username / mqtt.password or the client certificate (mqtt.tls.cert) the broker expects";
const BROKER_LOG = "see the broker's log for why";

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
const V3_CONNACK: Record<number, Row> = {
  1: {
    name: "unacceptable protocol version",
    pace: "slow",
    fix: "the broker does not speak MQTT 3.1.1: set mqtt.protocolVersion to 5",
  },
  2: {
    name: "identifier rejected",
    pace: "slow",
    fix: "the broker rejects the client id: set mqtt.clientId",
  },
  3: { name: "server unavailable", pace: "backoff", fix: "the broker's MQTT service is down; it is retried" },
  4: { name: "bad user name or password", code: "PB_MQTT_AUTH", pace: "slow", fix: CREDENTIALS },
  5: { name: "not authorized", code: "PB_MQTT_AUTH", pace: "slow", fix: CREDENTIALS },
};

/**
 * A broker that speaks MQTT 3.1.1 only (NATS's MQTT front end, for one) answers an MQTT 5 CONNECT
 * with the 3.1.1 return code 1: the fix is the other way round from the 3.1.1 row's.
 */
const V5_CONNECT_TO_V3_BROKER: Row = {
  name: "unacceptable protocol version",
  pace: "slow",
  fix: "the broker speaks MQTT 3.1.1 only (NATS does): set mqtt.protocolVersion to 4",
};

/**
 * MQTT 3.1.1 has one SUBACK failure code and no reason: an ACL that refuses, or a broker that
 * cannot make the subscription yet (a NATS cluster electing JetStream leaders after losing a node
 * answers 0x80 for seconds). So it is retried at the back-off pace, like MQTT 5's "unspecified
 * error", and the fix names both.
 */
const V3_SUBACK_FAILURE: Row = {
  name: "failure",
  pace: "backoff",
  fix: "; or the broker could not make the subscription yet (MQTT 3.1.1 does not say which: a broker cluster that lost a node answers so until it has recovered), which passes by itself",
};

/** MQTT 5 reason codes ≥ 0x80 (§2.4), as they apply to the bridge. */
const V5: Record<number, Row> = {
  128: { name: "unspecified error", pace: "backoff", fix: BROKER_LOG },
  129: { name: "malformed packet", pace: "slow", fix: `${BROKER_LOG}; report it with the bridge's version` },
  130: { name: "protocol error", pace: "slow", fix: `${BROKER_LOG}; report it with the bridge's version` },
  131: {
    name: "implementation specific error",
    pace: "backoff",
    fix: `an auth plugin or rule refused it: ${BROKER_LOG}`,
  },
  132: {
    name: "unsupported protocol version",
    pace: "slow",
    fix: "the broker does not speak MQTT 5: set mqtt.protocolVersion to 4",
  },
  133: {
    name: "client identifier not valid",
    pace: "slow",
    fix: "the broker rejects the client id: set mqtt.clientId",
  },
  134: { name: "bad user name or password", code: "PB_MQTT_AUTH", pace: "slow", fix: CREDENTIALS },
  135: { name: "not authorized", code: "PB_MQTT_AUTH", pace: "slow", fix: CREDENTIALS },
  136: { name: "server unavailable", pace: "backoff", fix: "the broker is not ready; it is retried" },
  137: { name: "server busy", pace: "backoff", fix: "the broker is overloaded; it is retried" },
  138: {
    name: "banned",
    code: "PB_MQTT_AUTH",
    pace: "slow",
    fix: "the broker banned this client: ask its operator",
  },
  139: { name: "server shutting down", pace: "backoff", fix: "the broker is restarting; it is retried" },
  140: { name: "bad authentication method", code: "PB_MQTT_AUTH", pace: "slow", fix: CREDENTIALS },
  141: {
    name: "keep alive timeout",
    pace: "backoff",
    fix: "the link was silent longer than the keep-alive: check the network (or raise mqtt.keepaliveSec)",
  },
  142: {
    name: "session taken over",
    pace: "slow",
    fix: "another client connected with this client id: two bridges share mqtt.clientId (or store and bridge); give each its own",
  },
  143: {
    name: "topic filter invalid",
    pace: "slow",
    fix: "check mqtt.topicPrefix, store and bridge (no + # or empty levels)",
  },
  144: {
    name: "topic name invalid",
    pace: "slow",
    fix: "check mqtt.topicPrefix, store and bridge (no + # or empty levels)",
  },
  145: { name: "packet identifier in use", pace: "backoff", fix: BROKER_LOG },
  147: { name: "receive maximum exceeded", pace: "backoff", fix: BROKER_LOG },
  148: { name: "topic alias invalid", pace: "backoff", fix: BROKER_LOG },
  149: { name: "packet too large", pace: "slow", fix: "raise the broker's message size limit" },
  150: {
    name: "message rate too high",
    pace: "backoff",
    fix: "the broker limits this client's message rate",
  },
  151: {
    name: "quota exceeded",
    pace: "slow",
    fix: "the broker's quota for this client is used up: ask its operator",
  },
  152: { name: "administrative action", pace: "slow", fix: "an administrator disconnected this client" },
  153: { name: "payload format invalid", pace: "slow", fix: BROKER_LOG },
  154: {
    name: "retain not supported",
    pace: "slow",
    fix: "the retained status needs retain: enable it on the broker",
  },
  155: { name: "QoS not supported", pace: "slow", fix: "the bridge needs QoS 1: enable it on the broker" },
  156: { name: "use another server", pace: "slow", fix: "the broker names another server: set mqtt.url" },
  157: { name: "server moved", pace: "slow", fix: "the broker moved: set mqtt.url" },
  158: { name: "shared subscriptions not supported", pace: "slow", fix: BROKER_LOG },
  159: {
    name: "connection rate exceeded",
    pace: "slow",
    fix: "the broker limits how often this client may connect",
  },
  160: {
    name: "maximum connect time",
    pace: "backoff",
    fix: "the broker limits how long a connection may last",
  },
  161: { name: "subscription identifiers not supported", pace: "slow", fix: BROKER_LOG },
  162: { name: "wildcard subscriptions not supported", pace: "slow", fix: BROKER_LOG },
};

/** "0x87": reason codes are quoted in hex, as the MQTT 5 spec and broker logs write them. */
export function hexCode(reasonCode: number): string {
  return `0x${reasonCode.toString(16).padStart(2, "0")}`;
}

/** True when `reasonCode` in this packet means "refused" (MQTT 5: ≥ 0x80; 3.1.1 CONNACK: ≠ 0). */
export function isRefusal(packet: BrokerPacket, reasonCode: number, protocolVersion: 4 | 5): boolean {
  if (packet === "connack" && protocolVersion === 4) return reasonCode !== 0;
  return reasonCode >= 0x80;
}

/**
 * What a refusal means. Unknown codes are PB_MQTT_REFUSED, retried slowly. On a SUBACK or a
 * PUBACK, "not authorized" is the broker's ACL, not our credentials: PB_MQTT_REFUSED.
 */
export function describeReason(
  packet: BrokerPacket,
  reasonCode: number,
  protocolVersion: 4 | 5,
): BrokerReason {
  const v3 = protocolVersion === 4 && packet === "connack";
  const row: Row | undefined = v3
    ? V3_CONNACK[reasonCode]
    : protocolVersion === 4 && packet === "suback" && reasonCode === 0x80
      ? V3_SUBACK_FAILURE
      : packet === "connack" && reasonCode === 1
        ? V5_CONNECT_TO_V3_BROKER
        : V5[reasonCode];
  const known: Row = row ?? { name: "unknown reason", pace: "slow", fix: BROKER_LOG };
  const acl = packet === "suback" || packet === "puback";
  const aclRefusal = acl && (reasonCode === 0x87 || reasonCode === 0x80 || reasonCode === 0x83);
  const aclFix = `the broker's ACL (or an auth plugin) refuses this ${packet === "suback" ? "subscription" : "publish"}: allow this bridge to publish to P/req, P/status, P/event and to subscribe to P/res (docs/cloud-contract.md, "Broker ACL")`;
  return {
    reasonCode,
    name: `${v3 ? String(reasonCode) : hexCode(reasonCode)} ${known.name}`,
    code: acl ? "PB_MQTT_REFUSED" : (known.code ?? "PB_MQTT_REFUSED"),
    pace: known.pace,
    fix: aclRefusal ? `${aclFix}${known === V3_SUBACK_FAILURE ? V3_SUBACK_FAILURE.fix : ""}` : known.fix,
  };
}
