// Can the bridge reach the broker, and does the broker let it hear answers? While the daemon
// runs, its link state says (online = connected and subscribed to `res`). Without it the doctor
// connects once itself (broker-probe.ts) and the daemon's tables tell apart: nothing listening
// or no route (PB_MQTT_CONNECT), a name that does not resolve (DNS), TLS (PB_MQTT_TLS), bad
// credentials (CONNACK, PB_MQTT_AUTH) and an ACL refusing the subscription to `res` (SUBACK,
// PB_MQTT_REFUSED). Publishing is never tried: see broker-probe.ts for why.
import type { LinkErrorCode } from "../../cloud/link-errors.js";
import { redactUrl } from "../../cloud/redact-url.js";
import { brokerUrls } from "../../config/broker-urls.js";
import { type Check, finding, type Finding } from "./check.js";

const SUBJECT = "broker";

/** The fix for each link error as the daemon reports it (its status carries no fix). */
const LINK_FIX: Record<LinkErrorCode, string> = {
  PB_MQTT_CONNECT: "check mqtt.url (host and port), DNS, the network and the firewall toward the broker",
  PB_MQTT_TLS:
    "mqtt.tls.ca must be the CA that signed the broker's certificate, the URL's host must be the one it names, and this PC's clock must be right (docs/errors.md, PB_MQTT_TLS)",
  PB_MQTT_AUTH: "check mqtt.username / mqtt.password (POSBRIDGE_MQTT__PASSWORD) or the client certificate",
  PB_MQTT_REFUSED:
    "the broker's ACL must let the bridge subscribe to P/res and publish to P/req, P/status and P/event (docs/cloud-contract.md, 'Broker ACL')",
};

const NOT_CHECKED =
  "whether it lets the bridge publish to req is not checked: a test publish would reach the cloud; the running daemon reports refused publishes with MQTT 5";

export const brokerCheck: Check = {
  id: "broker",
  title: "the broker is reachable, accepts the bridge and lets it hear answers",
  async run(ctx) {
    const config = ctx.config;
    if (!config) return [];
    if (ctx.daemon.running) {
      const link = ctx.daemon.facts.link;
      if (link.state === "online")
        return [
          finding(
            this.id,
            "ok",
            SUBJECT,
            `the daemon is online: connected to ${brokerUrls(config.mqtt.url).map(redactUrl).join(" or ")} and subscribed to res`,
          ),
        ];
      if (link.state === "connecting")
        return [
          finding(
            this.id,
            "warn",
            SUBJECT,
            `the daemon is connecting${link.reason ? `: ${link.reason}` : ""}`,
            {
              fix: "wait a few seconds and run the doctor again",
            },
          ),
        ];
      const code = link.code as LinkErrorCode | undefined;
      return [
        finding(this.id, "error", SUBJECT, `the daemon is ${link.state}: ${link.reason}`, {
          ...(code ? { code } : {}),
          fix: code ? LINK_FIX[code] : LINK_FIX.PB_MQTT_CONNECT,
        }),
      ];
    }
    const p = await ctx.probeBroker();
    if (p.skipped)
      return [
        finding(this.id, "warn", SUBJECT, `not tried: ${p.skipped}`, {
          fix: "fix the TLS files first (see config)",
        }),
      ];
    const out: Finding[] = [];
    if (!p.connected) {
      const problem = p.problem;
      if (!problem)
        return [
          finding(this.id, "error", SUBJECT, `cannot connect to ${p.url}`, { fix: LINK_FIX.PB_MQTT_CONNECT }),
        ];
      // 0x85 / MQTT 3.1.1 code 2: the broker refuses the doctor's own client id, not the bridge's.
      if (problem.reasonCode === 0x85 || (config.mqtt.protocolVersion === 4 && problem.reasonCode === 2))
        return [
          finding(
            this.id,
            "warn",
            SUBJECT,
            `the broker refuses the doctor's client id ${p.clientId}: credentials and ACL cannot be checked from here`,
            {
              detail: `${problem.reason}; a broker may tie client ids to users`,
              fix: "start the daemon and run the doctor again: it then reports the daemon's own link",
            },
          ),
        ];
      return [
        finding(this.id, "error", SUBJECT, `cannot connect to ${p.url}: ${problem.reason}`, {
          code: problem.code,
          detail: `the doctor's own attempt as client ${p.clientId}, after ${p.elapsedMs} ms`,
          fix: problem.fix,
        }),
      ];
    }
    out.push(finding(this.id, "ok", SUBJECT, `connected to ${p.url} as ${p.clientId} (${p.elapsedMs} ms)`));
    if (p.subscription === "granted")
      out.push(
        finding(this.id, "ok", SUBJECT, `the broker grants the subscription to ${p.resTopic}`, {
          detail: NOT_CHECKED,
        }),
      );
    else if (p.subscription === "refused" && p.subscriptionProblem)
      out.push(
        finding(this.id, "error", SUBJECT, p.subscriptionProblem.reason, {
          code: p.subscriptionProblem.code,
          detail: "the bridge could not hear the cloud's answers: it would take no sale",
          fix: LINK_FIX.PB_MQTT_REFUSED,
        }),
      );
    else
      out.push(
        finding(this.id, "warn", SUBJECT, `no answer to the subscription to ${p.resTopic}`, {
          detail: p.subscriptionProblem?.reason ?? "",
          fix: "run the doctor again; if it repeats, see the broker's log",
        }),
      );
    return out;
  },
};
