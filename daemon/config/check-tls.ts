// The TLS files of `mqtt.tls`, checked once when the config is read (check-config and run alike):
// each must parse, the key must belong to the certificate, and Node must be able to build a TLS
// context from them. Otherwise the daemon learns it from the first handshake, after the lanes
// have opened, with a stack trace from deep inside mqtt.js (or, for a garbage CA file, not at all:
// Node ignores one that holds no certificate). A problem names its field (`mqtt.tls.key`), exit 78.
//
// Dates: an expired client certificate or CA never works again, so it is a problem; one that is
// not valid yet usually means this PC's clock is wrong (a dead CMOS battery, no NTP), which a
// person must fix but which may fix itself (NTP), so it is a warning that says so.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import { brokerUrls } from "./broker-urls.js";
import type { MqttConfig, TlsConfig } from "./config-types.js";

export interface TlsProblem {
  /** The config field, e.g. "mqtt.tls.key". */
  path: string;
  message: string;
}

/** The files' bytes, as mqtt.js (tls.connect) takes them. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsCheck {
  material: TlsMaterial;
  problems: TlsProblem[];
  warnings: TlsProblem[];
}

type Field = "ca" | "cert" | "key";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads and checks the files `tls` names; `nowMs` is the wall clock (certificate dates). */
export function checkTls(tls: TlsConfig | undefined, nowMs: number): TlsCheck {
  const out: TlsCheck = { material: {}, problems: [], warnings: [] };
  if (!tls) return out;
  const problem = (field: Field | "", message: string) =>
    out.problems.push({ path: field ? `mqtt.tls.${field}` : "mqtt.tls", message });
  const warn = (field: Field, message: string) => out.warnings.push({ path: `mqtt.tls.${field}`, message });

  for (const field of ["ca", "cert", "key"] as const) {
    const file = tls[field];
    if (!file) continue;
    try {
      out.material[field] = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problem(
        field,
        code === "EISDIR" ? `${file} is not a file` : `cannot read ${file} (${code ?? "error"})`,
      );
    }
  }
  if (Boolean(tls.cert) !== Boolean(tls.key))
    problem("", "cert and key go together: set both for mutual TLS, or neither");
  if (out.problems.length) return out;

  const { ca, cert, key } = out.material;
  let leaf: X509Certificate | undefined;
  if (ca && tls.ca) {
    const certs = parseCertificates(ca, tls.ca, (m) => problem("ca", m));
    if (certs.length && certs.every((c) => Date.parse(c.validTo) < nowMs))
      problem("ca", `${tls.ca}: ${expired(certs[0] as X509Certificate, nowMs)}`);
    for (const c of certs)
      if (Date.parse(c.validFrom) > nowMs) warn("ca", `${tls.ca}: ${notYetValid(c, nowMs)}`);
  }
  if (cert && tls.cert) {
    leaf = parseCertificates(cert, tls.cert, (m) => problem("cert", m))[0];
    if (leaf && Date.parse(leaf.validTo) < nowMs) problem("cert", `${tls.cert}: ${expired(leaf, nowMs)}`);
    if (leaf && Date.parse(leaf.validFrom) > nowMs) warn("cert", `${tls.cert}: ${notYetValid(leaf, nowMs)}`);
  }
  let privateKey: KeyObject | undefined;
  if (key && tls.key) {
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      const m = (err as Error).message;
      problem(
        "key",
        /passphrase|encrypted/i.test(m) || /ENCRYPTED/.test(key.toString("latin1"))
          ? `${tls.key} is an encrypted key; posbridge takes no passphrase: store it unencrypted, readable by the service user only (mode 0600)`
          : `${tls.key} is not a PEM private key (${m})`,
      );
    }
  }
  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey))
    problem(
      "key",
      `${tls.key} does not belong to the certificate in mqtt.tls.cert (${tls.cert}): use the key made with it`,
    );
  if (out.problems.length) return out;

  // What tls.connect will do on every connect, done once now: anything Node still refuses.
  try {
    createSecureContext({ ...out.material });
  } catch (err) {
    problem("", `the TLS files cannot be used together: ${(err as Error).message}`);
  }
  return out;
}

function parseCertificates(pem: Buffer, file: string, report: (m: string) => void): X509Certificate[] {
  const blocks = pem.toString("latin1").match(PEM_CERT) ?? [];
  if (blocks.length === 0) {
    report(`${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
    return [];
  }
  const certs: X509Certificate[] = [];
  blocks.forEach((block, i) => {
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      report(`${file}: certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
  return certs;
}

function expired(c: X509Certificate, nowMs: number): string {
  return `certificate "${c.subject.replace(/\n/g, ", ")}" expired on ${iso(c.validTo)} (this PC's clock says ${new Date(nowMs).toISOString()}; if the clock is wrong, set it: timedatectl)`;
}

function notYetValid(c: X509Certificate, nowMs: number): string {
  return `certificate "${c.subject.replace(/\n/g, ", ")}" is not valid before ${iso(c.validFrom)}, but this PC's clock says ${new Date(nowMs).toISOString()}: the clock is probably wrong (dead CMOS battery, no NTP; timedatectl). The broker refuses the handshake until it is right (PB_MQTT_TLS)`;
}

function iso(date: string): string {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? date : new Date(ms).toISOString();
}

/**
 * Credentials sent in clear text over the network: a warning at start. Loopback is exempt (a
 * broker on the same PC, or a local TLS-terminating proxy).
 */
export function clearTextWarnings(mqtt: MqttConfig): TlsProblem[] {
  if (mqtt.username === undefined && mqtt.password === undefined) return [];
  // One warning for the first such node: the nodes of a cluster are all plain or all TLS.
  for (const u of brokerUrls(mqtt.url)) {
    if (!URL.canParse(u)) continue;
    const url = new URL(u);
    if (url.protocol !== "mqtt:" && url.protocol !== "ws:") continue;
    if (isLoopback(url.hostname)) continue;
    return [
      {
        path: mqtt.password !== undefined ? "mqtt.password" : "mqtt.username",
        message: `credentials go to ${url.hostname} in clear text (${url.protocol}//): use mqtts:// or wss:// with mqtt.tls`,
      },
    ];
  }
  return [];
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return h === "::1";
}
