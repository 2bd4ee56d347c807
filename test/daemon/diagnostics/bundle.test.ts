// The support bundle holds no secret and no payment code: the config is redacted by the schema's
// `secret` marks, and every file is scrubbed of the config's secret values and of long digit runs,
// whatever slipped into a log line. The TLS key file is never read into it.
import { readFileSync } from "node:fs";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../daemon/clock.js";
import { loadConfig } from "../../../daemon/config/load-config.js";
import { REDACTED, redactConfig, secretValues } from "../../../daemon/config/redact.js";
import { type BundleFile, scrub } from "../../../daemon/diagnostics/bundle-files.js";
import type { DiagContext, DiagMethod } from "../../../daemon/diagnostics/methods.js";
import { bundleMethod } from "../../../daemon/diagnostics/methods/bundle.js";
import type { BridgeSnapshot } from "../../../daemon/diagnostics/snapshot.js";
import { tarGz, untarGz } from "../../../daemon/diagnostics/tar.js";
import { LogLevels } from "../../../daemon/log/log-levels.js";
import { LogTail } from "../../../daemon/log/log-tail.js";
import { TestCa } from "../../support/certs.js";

const CODE = "134567890123456789";
const PASSWORD = "hunter2-broker-pw";
const URL_PASSWORD = "url-pw-9f";

function setup() {
  const ca = new TestCa();
  const client = ca.issue("client", { cn: "S1/B1" });
  const config = loadConfig({
    path: "/etc/posbridge/posbridge.yaml",
    env: { POSBRIDGE_MQTT__PASSWORD: PASSWORD },
    readFile: () =>
      `store: S1\nbridge: B1\nmqtt:\n  url: "mqtts://support:${URL_PASSWORD}@broker.example.com:8883"\n  username: bridge\n  tls: { ca: ${ca.cert}, cert: ${client.cert}, key: ${client.key} }\nlanes:\n  - id: l1\n    terminal: { path: /dev/ttyUSB0 }\n    scanner: { path: /dev/ttyACM0 }\n`,
  });
  const tail = new LogTail();
  // Lines as a buggy component might have logged them: a code and a password that slipped in.
  tail.push(`{"msg":"scan ${CODE} for order O1"}`);
  tail.push(`{"msg":"auth with ${PASSWORD} and ${URL_PASSWORD}"}`);
  const context: DiagContext = {
    config,
    configPath: "/etc/posbridge/posbridge.yaml",
    version: "0.1.0",
    clock: new ManualClock(),
    log: pino({ level: "silent" }),
    snapshot: () =>
      ({
        link: { counters: {} },
        rpc: { counters: {} },
        journal: {},
        lanes: [],
      }) as unknown as BridgeSnapshot,
    logLevels: new LogLevels(),
    logTail: tail,
    lanes: [],
    methods: [],
    testsRunning: new Set(),
  };
  return { config, context, keyPem: readFileSync(client.key, "utf8") };
}

describe("support bundle", () => {
  it("redacts what the schema marks secret: the password, and a URL's credentials", () => {
    const { config } = setup();
    const r = redactConfig(config) as { mqtt: Record<string, unknown> };
    expect(r.mqtt.password).toBe(REDACTED);
    expect(r.mqtt.url).toBe("mqtts://broker.example.com:8883 (credentials removed)");
    expect(r.mqtt.username).toBe("bridge");
    expect(secretValues(config).sort()).toEqual([PASSWORD, URL_PASSWORD].sort());
  });

  it("is free of the password, the URL's password, the TLS key's contents and any payment code", async () => {
    const { context, keyPem } = setup();
    const devices: DiagMethod = {
      name: "devices",
      remote: true,
      mutates: false,
      run: async () => ({ devices: [] }),
    };
    const out = (await bundleMethod.run(
      { ...context, methods: [devices] },
      {},
      new AbortController().signal,
    )) as {
      files: BundleFile[];
    };
    const tar = tarGz(scrub(out.files, context.config), 1_700_000_000_000);
    const files = untarGz(tar);
    expect(files.map((f) => f.name)).toEqual([
      "README.txt",
      "config.json",
      "status.json",
      "counters.json",
      "devices.json",
      "versions.json",
      "log-levels.json",
      "daemon-log.ndjson",
    ]);
    const all = files.map((f) => f.content.toString("utf8")).join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(URL_PASSWORD);
    expect(all).not.toContain(CODE);
    const keyBody = keyPem.split("\n").filter((l) => l && !l.startsWith("-----"));
    for (const line of keyBody) expect(all).not.toContain(line);
    expect(all).toContain("scan …6789 for order O1"); // the tail of a code is all that is left
    expect(all).toContain("auth with [REDACTED] and [REDACTED]");
  });
});
