// Connection failures classified by their code, never by message text.
import { describe, expect, it } from "vitest";
import { classifyLinkError } from "../../../daemon/cloud/link-errors.js";

const err = (message: string, code?: string | number) => Object.assign(new Error(message), { code });

describe("classifyLinkError", () => {
  it("TLS verification codes are PB_MQTT_TLS with a fix", () => {
    const cases: [string, RegExp, RegExp][] = [
      ["CERT_HAS_EXPIRED", /has expired/, /clock/],
      ["CERT_NOT_YET_VALID", /not valid yet/, /clock is probably wrong/],
      ["ERR_TLS_CERT_ALTNAME_INVALID", /does not name the host/, /mqtt\.url/],
      ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", /not signed by a trusted CA/, /mqtt\.tls\.ca/],
      ["DEPTH_ZERO_SELF_SIGNED_CERT", /self-signed/, /mqtt\.tls\.ca/],
      ["SELF_SIGNED_CERT_IN_CHAIN", /untrusted CA/, /mqtt\.tls\.ca/],
      ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", /requires a client certificate/, /set mqtt\.tls\.cert/],
      ["ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", /does not trust the CA that signed our/, /CA the broker trusts/],
      [
        "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED",
        /our client certificate has expired/,
        /renew mqtt\.tls\.cert/,
      ],
      ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", /rejected our client certificate/, /mqtt\.tls\.cert/],
      ["ERR_SSL_WRONG_VERSION_NUMBER", /does not speak TLS/, /8883/],
    ];
    for (const [code, reason, fix] of cases) {
      const p = classifyLinkError(err("whatever the text says", code), 5);
      expect(p.code, code).toBe("PB_MQTT_TLS");
      expect(p.reason, code).toMatch(reason);
      expect(p.reason, code).toContain(code);
      expect(p.fix, code).toMatch(fix);
      expect(p.pace).toBe("backoff");
    }
  });

  it("a CONNACK refusal carries the broker's reason code", () => {
    expect(classifyLinkError(err("Connection refused: Not authorized", 0x87), 5)).toMatchObject({
      code: "PB_MQTT_AUTH",
      reason: "broker refused the connection: 0x87 not authorized",
      pace: "slow",
      reasonCode: 0x87,
    });
    expect(classifyLinkError(err("Connection refused: Server unavailable", 3), 4)).toMatchObject({
      code: "PB_MQTT_REFUSED",
      pace: "backoff",
    });
  });

  it("network errors and timeouts are PB_MQTT_CONNECT", () => {
    expect(classifyLinkError(err("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED"), 5)).toMatchObject({
      code: "PB_MQTT_CONNECT",
      reason: "nothing listens on the broker's port (ECONNREFUSED)",
    });
    // Node's network errors say where: the technician checks that host and port.
    const refused = Object.assign(err("connect ECONNREFUSED 10.0.0.5:8883", "ECONNREFUSED"), {
      address: "10.0.0.5",
      port: 8883,
    });
    expect(classifyLinkError(refused, 5).reason).toBe(
      "nothing listens on the broker's port: 10.0.0.5:8883 (ECONNREFUSED)",
    );
    const dns = Object.assign(err("getaddrinfo ENOTFOUND broker.example", "ENOTFOUND"), {
      hostname: "broker.example",
    });
    expect(classifyLinkError(dns, 5).reason).toBe(
      "the broker's host name does not resolve: broker.example (ENOTFOUND)",
    );
    expect(classifyLinkError(err("getaddrinfo ENOTFOUND x", "ENOTFOUND"), 5).reason).toContain(
      "does not resolve",
    );
    expect(classifyLinkError(err("connack timeout"), 5).reason).toContain("connectTimeoutMs");
    expect(classifyLinkError("a string", 5)).toMatchObject({ code: "PB_MQTT_CONNECT", reason: "a string" });
  });
});
