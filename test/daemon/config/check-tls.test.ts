// The TLS files of mqtt.tls, checked at config time with certificates made by openssl here: a key
// of another pair, garbage files, expired and not-yet-valid certificates, an encrypted key.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkTls, clearTextWarnings } from "../../../daemon/config/check-tls.js";
import type { MqttConfig } from "../../../daemon/config/config-types.js";
import { garbageFile, opensslDate, type Pair, strayKey, TestCa } from "../../support/certs.js";

const DAY = 86_400_000;

describe("checkTls", () => {
  let ca: TestCa;
  let client: Pair;
  let dir: string;
  beforeAll(() => {
    ca = new TestCa();
    client = ca.issue("client", { cn: "S1/B1" });
    dir = mkdtempSync(join(tmpdir(), "pb-tls-"));
  });
  const now = () => Date.now();

  it("passes a CA, a client certificate and its own key, and hands back their bytes", () => {
    const r = checkTls({ ca: ca.cert, cert: client.cert, key: client.key }, now());
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.material.ca?.toString()).toContain("BEGIN CERTIFICATE");
    expect(r.material.key?.length).toBeGreaterThan(100);
  });

  it("a key of another pair is a problem on mqtt.tls.key", () => {
    const r = checkTls({ ca: ca.cert, cert: client.cert, key: strayKey(dir) }, now());
    expect(r.problems).toEqual([
      {
        path: "mqtt.tls.key",
        message: expect.stringContaining("does not belong to the certificate in mqtt.tls.cert"),
      },
    ]);
  });

  it("garbage in any of the three files names that field", () => {
    const junk = garbageFile(dir);
    expect(checkTls({ ca: junk }, now()).problems).toEqual([
      { path: "mqtt.tls.ca", message: `${junk} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")` },
    ]);
    expect(checkTls({ cert: junk, key: client.key }, now()).problems.map((p) => p.path)).toEqual([
      "mqtt.tls.cert",
    ]);
    const key = checkTls({ cert: client.cert, key: junk }, now()).problems;
    expect(key).toEqual([
      { path: "mqtt.tls.key", message: expect.stringContaining("is not a PEM private key") },
    ]);
    // A certificate block whose body is not a certificate.
    const broken = join(dir, "broken.pem");
    writeFileSync(broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    expect(checkTls({ ca: broken }, now()).problems[0]?.message).toContain("certificate 1 cannot be parsed");
  });

  it("an unreadable file, and cert without key", () => {
    expect(checkTls({ ca: "/nonexistent/ca.pem" }, now()).problems).toEqual([
      { path: "mqtt.tls.ca", message: "cannot read /nonexistent/ca.pem (ENOENT)" },
    ]);
    expect(checkTls({ ca: dir }, now()).problems).toEqual([
      { path: "mqtt.tls.ca", message: `${dir} is not a file` },
    ]);
    expect(checkTls({ cert: client.cert }, now()).problems).toEqual([
      { path: "mqtt.tls", message: "cert and key go together: set both for mutual TLS, or neither" },
    ]);
  });

  it("an expired client certificate is a problem; one not valid yet is a warning about the clock", () => {
    const old = ca.issue("old", { cn: "old", startdate: opensslDate(-3 * DAY), enddate: opensslDate(-DAY) });
    const expired = checkTls({ cert: old.cert, key: old.key }, now()).problems;
    expect(expired).toEqual([
      { path: "mqtt.tls.cert", message: expect.stringMatching(/expired on .*clock/) },
    ]);
    const future = ca.issue("future", {
      cn: "f",
      startdate: opensslDate(DAY),
      enddate: opensslDate(3 * DAY),
    });
    const r = checkTls({ cert: future.cert, key: future.key }, now());
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([
      { path: "mqtt.tls.cert", message: expect.stringContaining("the clock is probably wrong") },
    ]);
  });

  it("an encrypted key says that posbridge takes no passphrase", () => {
    const enc = join(dir, "enc.key");
    execFileSync("openssl", ["pkcs8", "-topk8", "-in", client.key, "-out", enc, "-passout", "pass:secret"]);
    expect(checkTls({ cert: client.cert, key: enc }, now()).problems).toEqual([
      {
        path: "mqtt.tls.key",
        message: expect.stringContaining("encrypted key; posbridge takes no passphrase"),
      },
    ]);
  });
});

describe("clearTextWarnings", () => {
  const mqtt = (url: string | string[], creds = true): MqttConfig => ({
    url,
    topicPrefix: "p",
    protocolVersion: 5,
    keepaliveSec: 30,
    reconnectMinMs: 1000,
    reconnectMaxMs: 60000,
    connectTimeoutMs: 10000,
    ...(creds ? { username: "u", password: "p" } : {}),
  });

  it("warns of credentials sent in clear text to another host, not to loopback or over TLS", () => {
    expect(clearTextWarnings(mqtt("mqtt://broker.example.com:1883"))).toEqual([
      { path: "mqtt.password", message: expect.stringContaining("clear text") },
    ]);
    expect(clearTextWarnings(mqtt("ws://10.0.0.5/mqtt"))).toHaveLength(1);
    expect(clearTextWarnings(mqtt("mqtt://127.0.0.1:1883"))).toEqual([]);
    expect(clearTextWarnings(mqtt("mqtt://localhost"))).toEqual([]);
    expect(clearTextWarnings(mqtt("mqtt://[::1]:1883"))).toEqual([]);
    expect(clearTextWarnings(mqtt("mqtts://broker.example.com"))).toEqual([]);
    expect(clearTextWarnings(mqtt("mqtt://broker.example.com", false))).toEqual([]);
    // A cluster: one warning, naming the first node that is not on this PC.
    expect(clearTextWarnings(mqtt(["mqtt://127.0.0.1:1883", "mqtt://mq2.example.com:1883"]))).toEqual([
      { path: "mqtt.password", message: expect.stringContaining("credentials go to mq2.example.com") },
    ]);
    expect(clearTextWarnings(mqtt(["mqtts://mq1.example.com", "mqtts://mq2.example.com"]))).toEqual([]);
  });
});
