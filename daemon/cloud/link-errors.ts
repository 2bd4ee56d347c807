// Why a connection to the broker failed, from the error's code (never its message text): a
// broker's reason code (CONNACK, DISCONNECT: protocols/cloud/connack.ts), a TLS verification or
// alert code (PB_MQTT_TLS), or a network errno (PB_MQTT_CONNECT). Each comes with the reason a
// technician reads, what to change, and the pace at which trying again can help.
import { type BrokerPacket, describeReason } from "../../protocols/cloud/connack.js";
import type { RetryPace } from "../../protocols/core/retry.js";
import type { BridgeErrorCode } from "../errors.js";

export type LinkErrorCode = Extract<
  BridgeErrorCode,
  "PB_MQTT_CONNECT" | "PB_MQTT_TLS" | "PB_MQTT_AUTH" | "PB_MQTT_REFUSED"
>;

export interface LinkProblem {
  code: LinkErrorCode;
  /** What happened, e.g. "broker refused the connection: 0x86 bad user name or password". */
  reason: string;
  fix: string;
  pace: RetryPace;
  /** The broker's reason code, when it sent one. */
  reasonCode?: number;
}

const CA_FIX = "set mqtt.tls.ca to the CA that signed the broker's certificate";
const CLOCK = "or this PC's clock is wrong (timedatectl)";

/** Node's TLS verification codes (X509_V_ERR_* names) and what they mean for the bridge. */
const TLS_CODES: Record<string, { reason: string; fix: string }> = {
  CERT_HAS_EXPIRED: {
    reason: "the broker's certificate has expired",
    fix: `renew the broker's certificate, ${CLOCK}`,
  },
  CERT_NOT_YET_VALID: {
    reason: "the broker's certificate is not valid yet",
    fix: "this PC's clock is probably wrong (dead CMOS battery, no NTP): set it (timedatectl)",
  },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    reason: "the broker's certificate does not name the host in mqtt.url",
    fix: "put in mqtt.url the host name (or IP) the broker's certificate names, or reissue the certificate for this host",
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    reason: "the broker's certificate is not signed by a trusted CA",
    fix: CA_FIX,
  },
  UNABLE_TO_GET_ISSUER_CERT: {
    reason: "the broker's certificate is not signed by a trusted CA",
    fix: CA_FIX,
  },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    reason: "the broker's certificate is not signed by a trusted CA",
    fix: CA_FIX,
  },
  SELF_SIGNED_CERT_IN_CHAIN: {
    reason: "the broker's certificate chain ends in an untrusted CA",
    fix: CA_FIX,
  },
  DEPTH_ZERO_SELF_SIGNED_CERT: {
    reason: "the broker's certificate is self-signed and not trusted",
    fix: "set mqtt.tls.ca to the broker's certificate (or to the CA that signed it)",
  },
  CERT_SIGNATURE_FAILURE: { reason: "the broker's certificate signature does not verify", fix: CA_FIX },
  CERT_UNTRUSTED: { reason: "the broker's certificate is not trusted", fix: CA_FIX },
  CERT_REVOKED: { reason: "the broker's certificate is revoked", fix: "the broker needs a new certificate" },
  ERR_SSL_WRONG_VERSION_NUMBER: {
    reason: "the broker does not speak TLS on this port",
    fix: "mqtts:// needs the broker's TLS port (usually 8883); mqtt.url may name a plain MQTT port",
  },
};

/**
 * TLS alerts the broker sends when it rejects our client certificate (mutual TLS), by the alert's
 * name at the end of Node's code (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED,
 * ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED…). Each cause has its own
 * fix: a missing certificate, one from a CA the broker does not trust and an expired one are three
 * different errands for the technician (test/integration/tls.test.ts meets each on a real broker).
 */
const CLIENT_CERT_ALERTS: Record<string, { reason: string; fix: string }> = {
  CERTIFICATE_REQUIRED: {
    reason: "the broker requires a client certificate and the bridge sent none",
    fix: "set mqtt.tls.cert and mqtt.tls.key to this bridge's certificate and key (CN <store>/<bridge>, issued by the cloud: docs/cloud-contract.md)",
  },
  UNKNOWN_CA: {
    reason: "the broker does not trust the CA that signed our client certificate",
    fix: "mqtt.tls.cert must be issued by the CA the broker trusts for bridges (Mosquitto cafile): ask the cloud team for this bridge's certificate",
  },
  CERTIFICATE_EXPIRED: {
    reason: "the broker says our client certificate has expired",
    fix: "renew mqtt.tls.cert and mqtt.tls.key (ask the cloud team); if the certificate is still valid, the broker's clock is wrong",
  },
  CERTIFICATE_REVOKED: {
    reason: "the broker says our client certificate is revoked",
    fix: "this bridge needs a new certificate from the cloud team (mqtt.tls.cert and mqtt.tls.key)",
  },
  BAD_CERTIFICATE: {
    reason: "the broker rejected our client certificate as bad",
    fix: "mqtt.tls.cert and mqtt.tls.key must be signed by a CA the broker trusts (Mosquitto cafile), and not expired",
  },
  CERTIFICATE_UNKNOWN: {
    reason: "the broker rejected our client certificate",
    fix: "mqtt.tls.cert and mqtt.tls.key must be signed by a CA the broker trusts (Mosquitto cafile), and not expired",
  },
  UNSUPPORTED_CERTIFICATE: {
    reason: "the broker does not accept our client certificate's type",
    fix: "ask the cloud team which key type and certificate profile the broker takes (mqtt.tls.cert)",
  },
  ACCESS_DENIED: {
    reason: "the broker rejected our client certificate (access denied)",
    fix: "the broker accepts the certificate's CA but not this certificate: ask the cloud team (mqtt.tls.cert)",
  },
  HANDSHAKE_FAILURE: {
    reason: "the broker rejected the TLS handshake (often our client certificate)",
    fix: "mqtt.tls.cert and mqtt.tls.key must be signed by a CA the broker trusts (Mosquitto cafile), and not expired",
  },
};
const CLIENT_CERT_ALERT = new RegExp(`_ALERT_(${Object.keys(CLIENT_CERT_ALERTS).join("|")})$`);

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "nothing listens on the broker's port",
  ENOTFOUND: "the broker's host name does not resolve",
  EAI_AGAIN: "the broker's host name cannot be resolved now (DNS)",
  ETIMEDOUT: "the broker does not answer (timed out)",
  EHOSTUNREACH: "no route to the broker's host",
  ENETUNREACH: "the network is unreachable",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed while writing",
};

const NETWORK_FIX = "check mqtt.url (host and port), the network and the firewall; retried with back-off";

/** A broker's refusal (CONNACK, DISCONNECT, SUBACK, PUBACK) as a link problem. */
export function brokerProblem(
  packet: BrokerPacket,
  reasonCode: number,
  protocolVersion: 4 | 5,
  what: string,
): LinkProblem {
  const r = describeReason(packet, reasonCode, protocolVersion);
  return { code: r.code, reason: `${what}: ${r.name}`, fix: r.fix, pace: r.pace, reasonCode };
}

/** An 'error' from mqtt.js, or an exception thrown while connecting, as a link problem. */
export function classifyLinkError(err: unknown, protocolVersion: 4 | 5): LinkProblem {
  const e = err as
    | { code?: unknown; message?: unknown; address?: unknown; port?: unknown; hostname?: unknown }
    | undefined;
  // Where it failed, as Node's network errors say it: the technician checks that host and port.
  const where =
    typeof e?.address === "string"
      ? `${e.address}${typeof e.port === "number" ? `:${e.port}` : ""}`
      : typeof e?.hostname === "string"
        ? e.hostname
        : "";
  const code = e?.code;
  const message = typeof e?.message === "string" ? e.message : String(err);
  // mqtt.js puts the CONNACK reason code on the error as a number (ErrorWithReasonCode).
  if (typeof code === "number" && /refused/i.test(message))
    return brokerProblem("connack", code, protocolVersion, "broker refused the connection");
  if (typeof code === "string") {
    const tls = TLS_CODES[code];
    if (tls)
      return { code: "PB_MQTT_TLS", reason: `TLS: ${tls.reason} (${code})`, fix: tls.fix, pace: "backoff" };
    const alert = CLIENT_CERT_ALERTS[CLIENT_CERT_ALERT.exec(code)?.[1] ?? ""];
    if (alert)
      return {
        code: "PB_MQTT_TLS",
        reason: `TLS: ${alert.reason} (${code})`,
        fix: alert.fix,
        pace: "backoff",
      };
    if (/^(ERR_SSL_|ERR_TLS_|ERR_OSSL_)/.test(code) || /^(CERT_|UNABLE_TO_)/.test(code))
      return { code: "PB_MQTT_TLS", reason: `TLS: ${message} (${code})`, fix: CA_FIX, pace: "backoff" };
    const net = NETWORK_CODES[code];
    if (net)
      return {
        code: "PB_MQTT_CONNECT",
        reason: where ? `${net}: ${where} (${code})` : `${net} (${code})`,
        fix: NETWORK_FIX,
        pace: "backoff",
      };
    return { code: "PB_MQTT_CONNECT", reason: `${message} (${code})`, fix: NETWORK_FIX, pace: "backoff" };
  }
  if (/TLS not authorized/i.test(message))
    return {
      code: "PB_MQTT_TLS",
      reason: "TLS: the broker's certificate is not trusted",
      fix: CA_FIX,
      pace: "backoff",
    };
  if (/connack timeout/i.test(message))
    return {
      code: "PB_MQTT_CONNECT",
      reason: "the broker did not answer CONNECT within mqtt.connectTimeoutMs",
      fix: NETWORK_FIX,
      pace: "backoff",
    };
  return { code: "PB_MQTT_CONNECT", reason: message, fix: NETWORK_FIX, pace: "backoff" };
}
