import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ConfigProblem, exitCodeFor, loadConfig } from "../../../daemon/config/load-config.js";
import { DEFAULT_SCHEMES } from "../../../daemon/config/schema.js";
import { BridgeError, isBridgeError } from "../../../daemon/errors.js";

const MINIMAL = `
store: store-1
bridge: bridge-1
mqtt:
  url: mqtt://localhost:1883
lanes:
  - id: lane-1
    terminal: { path: /dev/ttyUSB0 }
    scanner: { path: /dev/ttyUSB1 }
`;

function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ path: "/etc/posbridge/config.yaml", env, readFile: () => yaml });
}

/** Loads and returns the PB_CONFIG_INVALID error's problems; fails when loading succeeds. */
function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  const err = catchError(() => load(yaml, env));
  expect(isBridgeError(err, "PB_CONFIG_INVALID"), String(err)).toBe(true);
  const problems = (err as BridgeError).context?.problems as ConfigProblem[];
  for (const p of problems) expect((err as BridgeError).message).toContain(`${p.path}: ${p.message}`);
  return problems;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("loadConfig", () => {
  it("fills in the defaults of a minimal config and freezes it", () => {
    const c = load(MINIMAL);
    expect(c.stateDir).toBe("/var/lib/posbridge");
    expect(c.log).toEqual({ level: "info", format: "auto", statsIntervalMs: 60000, repeatWindowMs: 60000 });
    expect(c.journal).toEqual({ retentionDays: 30, checkIntervalMs: 5000 });
    expect(c.mqtt).toMatchObject({
      topicPrefix: "posbridge/v1",
      protocolVersion: 5,
      clientId: "posbridge-store-1-bridge-1",
      keepaliveSec: 30,
      reconnectMinMs: 1000,
      reconnectMaxMs: 60000,
      connectTimeoutMs: 10000,
    });
    expect(c.sale).toEqual({
      scanTimeoutMs: 120000,
      firstQueryMs: 5000,
      queryIntervalMs: 5000,
      reverseAfterMs: 45000,
      reverseRetryMs: 5000,
      maxReversals: 10,
      reconcileIntervalMs: 60000,
      sendWindowMs: 20000,
      answerAfterRestart: true,
      refundRetryMs: 5000,
      refundAnswerWithinMs: 30000,
      maxRefundsPerSale: 50,
      codeLifetimeMs: 60000,
      maxAmountFen: 10000000,
      schemes: DEFAULT_SCHEMES,
    });
    expect(c.lanes[0]?.terminal).toEqual({
      path: "/dev/ttyUSB0",
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      profile: "ecr",
      ackTimeoutMs: 1000,
      maxDataLength: 1024,
      encoding: "utf8",
    });
    expect(c.lanes[0]?.scanner).toMatchObject({ type: "serial", suffix: "CR", prefix: "", maxLength: 128 });
    expect(c.lanes[0]?.display).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.sale.schemes[0]?.prefixes)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SCHEMES[0].prefixes)).toBe(false); // defaults are copied, not shared
  });

  it("accepts the example config in schema/", () => {
    const example = readFileSync(new URL("../../../schema/posbridge.example.yaml", import.meta.url), "utf8");
    expect(load(example).lanes.map((l) => l.id)).toEqual(["lane-1"]);
  });

  it("names lanes when it is missing", () => {
    expect(problemsOf(MINIMAL.replace(/lanes:[\s\S]*/, ""))).toEqual([
      { path: "lanes", message: "is required" },
    ]);
  });

  it("names the field of a wrong type, once", () => {
    const problems = problemsOf(
      MINIMAL.replace("{ path: /dev/ttyUSB0 }", '{ path: /dev/ttyUSB0, baudRate: "fast" }'),
    );
    expect(problems).toEqual([{ path: "lanes[0].terminal.baudRate", message: "must be an integer" }]);
  });

  it("lists the allowed values of an enum", () => {
    const problems = problemsOf(
      `${MINIMAL.replace("url: mqtt://localhost:1883", "url: mqtt://localhost:1883\n  protocolVersion: 3")}`.replace(
        "{ path: /dev/ttyUSB0 }",
        "{ path: /dev/ttyUSB0, baudRate: 9601 }",
      ),
    );
    expect(problems).toEqual([
      { path: "mqtt.protocolVersion", message: "must be 5 or 4" },
      {
        path: "lanes[0].terminal.baudRate",
        message: "must be one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200",
      },
    ]);
  });

  it("names an unknown property and suggests the known one", () => {
    const problems = problemsOf(
      MINIMAL.replace("{ path: /dev/ttyUSB0 }", "{ path: /dev/ttyUSB0, baudrate: 9600 }"),
    );
    expect(problems).toEqual([
      { path: "lanes[0].terminal.baudrate", message: 'is not a known setting; did you mean "baudRate"?' },
    ]);
  });

  it("reports every problem in one error, with human messages", () => {
    const problems = problemsOf(`
store: "store 1"
bridge: b
extra: 1
mqtt: { url: "http://broker", reconnectMinMs: 5000, reconnectMaxMs: 2000 }
lanes: []
`);
    expect(problems).toEqual([
      { path: "extra", message: expect.stringMatching(/^is not a known setting/) },
      { path: "store", message: "must be 1 to 32 letters, digits, '_' or '-'" },
      { path: "mqtt.url", message: "must be an mqtt://, mqtts://, ws:// or wss:// URL" },
      { path: "lanes", message: "must have at least 1 entry" },
      { path: "mqtt.reconnectMaxMs", message: "must be at least mqtt.reconnectMinMs (5000)" },
    ]);
  });

  it("mqtt.tls with a plain mqtt:// or ws:// URL is a problem (mqtt.js would ignore it: clear text)", () => {
    for (const url of ["mqtt://broker:1883", "ws://broker/mqtt"]) {
      const problems = problemsOf(
        MINIMAL.replace("url: mqtt://localhost:1883", `url: ${url}\n  tls: { ca: /x }`),
      );
      expect(problems).toEqual([
        { path: "mqtt.tls", message: expect.stringMatching(/^applies to mqtts:\/\/ and wss:\/\/ only/) },
      ]);
    }
    expect(() =>
      load(MINIMAL.replace("url: mqtt://localhost:1883", "url: mqtts://b\n  tls: { ca: /x }")),
    ).not.toThrow();
  });

  it("mqtt.url may list the nodes of a broker cluster, each checked as a single URL is", () => {
    const c = load(
      MINIMAL.replace(
        "url: mqtt://localhost:1883",
        "url: [mqtts://mq1.example.com:8883, mqtts://mq2.example.com:8883]\n  tls: { ca: /x }",
      ),
    );
    expect(c.mqtt.url).toEqual(["mqtts://mq1.example.com:8883", "mqtts://mq2.example.com:8883"]);
    const urls = (list: string) => MINIMAL.replace("url: mqtt://localhost:1883", `url: ${list}`);
    expect(problemsOf(urls('[mqtt://a:1883, "http://b", "mqtt://c d"]'))).toEqual([
      { path: "mqtt.url[1]", message: "must be an mqtt://, mqtts://, ws:// or wss:// URL" },
      { path: "mqtt.url[2]", message: "must be an mqtt://, mqtts://, ws:// or wss:// URL" },
    ]);
    expect(problemsOf(urls("[mqtt://a:1883, mqtt://b:99999]"))).toEqual([
      { path: "mqtt.url[1]", message: "is not a valid URL" },
    ]);
    expect(problemsOf(urls("[]"))).toEqual([{ path: "mqtt.url", message: "must have at least 1 entry" }]);
    expect(problemsOf(urls("42"))).toEqual([
      { path: "mqtt.url", message: "must be a URL, or a list of URLs (the nodes of a broker cluster)" },
    ]);
    expect(problemsOf(urls("[mqtt://a:1883, mqtt://b:1883, mqtt://a:1883]"))).toEqual([
      { path: "mqtt.url[2]", message: "names the same node as mqtt.url[0]" },
    ]);
  });

  it("the nodes of a cluster are all TLS or all plain, and mqtt.tls needs TLS nodes", () => {
    const urls = (list: string, tls = "") =>
      MINIMAL.replace("url: mqtt://localhost:1883", `url: ${list}${tls ? `\n  tls: ${tls}` : ""}`);
    // A plain node in a TLS list would take the credentials in clear text on a failover.
    expect(problemsOf(urls("[mqtts://a:8883, wss://b/mqtt, mqtt://c:1883]", "{ ca: /x }"))).toEqual([
      {
        path: "mqtt.url[2]",
        message:
          "is mqtt:// but mqtt.url[0] is mqtts://: the nodes of a cluster are all TLS (mqtts://, wss://) or all plain",
      },
    ]);
    expect(problemsOf(urls("[mqtt://a:1883, ws://b/mqtt]", "{ ca: /x }"))).toEqual([
      {
        path: "mqtt.tls",
        message:
          "applies to mqtts:// and wss:// only, but mqtt.url[0] is mqtt://: use mqtts:// (or wss://), or remove mqtt.tls",
      },
    ]);
    expect(() => load(urls("[mqtt://a:1883, ws://b/mqtt]"))).not.toThrow();
  });

  it("POSBRIDGE_MQTT__URL sets one URL, or a cluster's list written as a YAML list", () => {
    expect(load(MINIMAL, { POSBRIDGE_MQTT__URL: "mqtt://a:1883" }).mqtt.url).toBe("mqtt://a:1883");
    expect(load(MINIMAL, { POSBRIDGE_MQTT__URL: "[mqtt://a:1883, mqtt://b:1883]" }).mqtt.url).toEqual([
      "mqtt://a:1883",
      "mqtt://b:1883",
    ]);
    // Anything that is not a YAML list is the URL verbatim (YAML would read "mqtt://a: x" as a map).
    expect(problemsOf(MINIMAL, { POSBRIDGE_MQTT__URL: "mqtt://a: x" })).toEqual([
      {
        path: "mqtt.url",
        message: "must be an mqtt://, mqtts://, ws:// or wss:// URL (set by POSBRIDGE_MQTT__URL)",
      },
    ]);
    const twoNodes = MINIMAL.replace("url: mqtt://localhost:1883", "url: [mqtt://a:1883, mqtt://b:1883]");
    expect(load(twoNodes, { POSBRIDGE_MQTT__URL__1: "mqtt://c:1883" }).mqtt.url).toEqual([
      "mqtt://a:1883",
      "mqtt://c:1883",
    ]);
  });

  it("rejects duplicate lane ids and two devices on one path", () => {
    const problems = problemsOf(`${MINIMAL}
  - id: lane-1
    terminal: { path: /dev/ttyUSB2 }
    scanner: { path: /dev/ttyUSB0 }
`);
    expect(problems).toEqual([
      { path: "lanes[1].id", message: '"lane-1" is already the id of lanes[0]' },
      { path: "lanes[1].scanner.path", message: "/dev/ttyUSB0 is already used by lanes[0].terminal" },
    ]);
  });

  it("rejects a scanner prefix that leaves no room for a code", () => {
    const problems = problemsOf(
      MINIMAL.replace(
        "scanner: { path: /dev/ttyUSB1 }",
        "scanner: { path: /dev/ttyUSB1, prefix: ABCDEFGH, maxLength: 8 }",
      ),
    );
    expect(problems).toEqual([
      { path: "lanes[0].scanner.prefix", message: "must be shorter than lanes[0].scanner.maxLength (8)" },
    ]);
  });

  it("rejects attempt timings that contradict each other, and out-of-range ones, by field", () => {
    const problems = problemsOf(`${MINIMAL}
sale: { codeLifetimeMs: 30000, sendWindowMs: 30000, firstQueryMs: 10000, reverseAfterMs: 10000, maxReversals: 0 }
journal: { retentionDays: 0 }
`);
    expect(problems.map((p) => p.path).sort()).toEqual([
      "journal.retentionDays",
      "sale.maxReversals",
      "sale.reverseAfterMs",
      "sale.sendWindowMs",
    ]);
  });

  it("rejects a scheme table that is not sane", () => {
    const problems = problemsOf(`${MINIMAL}
sale:
  schemes:
    - { scheme: WECHAT, minLength: 18, maxLength: 18, prefixes: ["10"] }
    - { scheme: ALIPAY, minLength: 20, maxLength: 16, prefixes: ["25"] }
    - { scheme: ECNY, minLength: 16, maxLength: 19, prefixes: ["1"] }
`);
    expect(problems).toEqual([
      { path: "sale.schemes[1].maxLength", message: "must be at least minLength (20)" },
      { path: "sale.schemes[2].prefixes[0]", message: '"1" overlaps "10" of sale.schemes[0] (WECHAT)' },
    ]);
  });

  it("applies environment overrides, matched case-insensitively to field names", () => {
    const c = load(MINIMAL, {
      POSBRIDGE_MQTT__URL: "mqtts://cloud.example.com:8883",
      POSBRIDGE_LANES__0__TERMINAL__PATH: "/dev/serial/by-id/usb-register",
      POSBRIDGE_STATEDIR: "/srv/posbridge",
      POSBRIDGE_MQTT__KEEPALIVE_SEC: "60",
      POSBRIDGE_LOG__LEVEL: "debug",
      POSBRIDGE_CONFIG: "/etc/posbridge/other.yaml",
      // The support account's password for `status --remote`: not a setting, not an error.
      POSBRIDGE_SUPPORT_PASSWORD: "support-pw",
      PATH: "/usr/bin",
    });
    expect(c.mqtt.url).toBe("mqtts://cloud.example.com:8883");
    expect(c.lanes[0]?.terminal?.path).toBe("/dev/serial/by-id/usb-register");
    expect(c.stateDir).toBe("/srv/posbridge");
    expect(c.mqtt.keepaliveSec).toBe(60);
    expect(c.log.level).toBe("debug");
  });

  it("keeps a numeric-looking password a string", () => {
    const c = load(MINIMAL, { POSBRIDGE_MQTT__PASSWORD: "0012345", POSBRIDGE_MQTT__USERNAME: "true" });
    expect(c.mqtt.password).toBe("0012345");
    expect(c.mqtt.username).toBe("true");
  });

  it("can add a lane from the environment", () => {
    const c = load(MINIMAL, {
      POSBRIDGE_LANES__1__ID: "lane-2",
      POSBRIDGE_LANES__1__TERMINAL__PATH: "/dev/ttyS0",
      POSBRIDGE_LANES__1__SCANNER__PATH: "/dev/ttyS1",
    });
    expect(c.lanes.map((l) => l.id)).toEqual(["lane-1", "lane-2"]);
  });

  it("names an override that matches no field, and the variable behind a bad value", () => {
    const problems = problemsOf(MINIMAL, {
      POSBRIDGE_MQTT__URLL: "mqtt://x",
      POSBRIDGE_LANES__FIRST__ID: "x",
      POSBRIDGE_MQTT__KEEPALIVESEC: "often",
    });
    expect(problems).toEqual([
      {
        path: "POSBRIDGE_LANES__FIRST__ID",
        message: expect.stringContaining('"FIRST" should be an index into lanes'),
      },
      { path: "POSBRIDGE_MQTT__URLL", message: 'names no known setting: there is no field "URLL" in mqtt' },
      { path: "mqtt.keepaliveSec", message: "must be an integer (set by POSBRIDGE_MQTT__KEEPALIVESEC)" },
    ]);
  });

  it("never puts a value in the error message", () => {
    const err = catchError(() =>
      load(MINIMAL.replace("url: mqtt://localhost:1883", "url: mqtt://localhost:1883\n  password: 5"), {
        POSBRIDGE_MQTT__KEEPALIVESEC: "s3cr3t-value",
      }),
    );
    expect((err as Error).message).not.toContain("s3cr3t-value");
  });

  it("reports a YAML syntax error with its line and column", () => {
    const err = catchError(() => load("store: s\nmqtt:\n  url: [unclosed\nlanes: x\n"));
    expect(isBridgeError(err, "PB_CONFIG_PARSE")).toBe(true);
    expect((err as BridgeError).message).toMatch(/at line \d+, column \d+/);
    expect((err as BridgeError).context).toMatchObject({
      path: "/etc/posbridge/config.yaml",
      line: expect.any(Number),
    });
  });

  it("reports the line of a duplicate key", () => {
    const err = catchError(() => load("store: a\nbridge: b\nstore: c\n"));
    expect(isBridgeError(err, "PB_CONFIG_PARSE")).toBe(true);
    expect((err as BridgeError).context).toMatchObject({ line: 3, column: 1 });
  });

  it("names the path of a missing file", () => {
    const err = catchError(() => loadConfig({ path: "/nonexistent/posbridge.yaml", env: {} }));
    expect(isBridgeError(err, "PB_CONFIG_NOT_FOUND")).toBe(true);
    expect((err as Error).message).toContain("/nonexistent/posbridge.yaml");
  });

  it("reports an unreadable file separately", () => {
    const readFile = () => {
      throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    };
    const err = catchError(() => loadConfig({ path: "/etc/posbridge/config.yaml", env: {}, readFile }));
    expect(isBridgeError(err, "PB_CONFIG_UNREADABLE")).toBe(true);
  });

  it("treats an empty file as empty and names what is missing", () => {
    expect(problemsOf("").map((p) => p.path)).toEqual(["store", "bridge", "mqtt", "lanes"]);
  });
});

describe("exitCodeFor", () => {
  it("is 78 (EX_CONFIG) for configuration errors", () => {
    expect(exitCodeFor(catchError(() => load("")))).toBe(78);
    expect(exitCodeFor(catchError(() => loadConfig({ path: "/nonexistent.yaml", env: {} })))).toBe(78);
    expect(exitCodeFor(new BridgeError("PB_MQTT_CONNECT", "refused"))).toBe(1);
  });
});

describe("loadConfig: devices", () => {
  const lane = (devices: string) => `
store: store-1
bridge: bridge-1
mqtt:
  url: mqtt://localhost:1883
lanes:
  - id: lane-1
${devices}`;

  it("fills in the device defaults: stripAim false, display charset ascii, profile ecr", () => {
    const c = load(
      lane(`    terminal: { path: /dev/ttyUSB0, profile: line }
    scanner: { path: /dev/ttyACM0, type: ssi }
    display: { path: /dev/ttyUSB2, type: escpos }
`),
    );
    expect(c.lanes[0]?.terminal?.profile).toBe("line");
    expect(c.lanes[0]?.scanner).toMatchObject({ type: "ssi", stripAim: false, suffix: "CR" });
    expect(c.lanes[0]?.scanner.source).toBeUndefined();
    expect(c.lanes[0]?.display).toMatchObject({ type: "escpos", charset: "ascii" });
  });

  it("takes every scanner and display type, and devices named by USB ids", () => {
    const c = load(
      lane(`    terminal: { usb: { vendorId: "0403", productId: "6001", serialNumber: "A10KZ3QX" } }
    scanner: { type: hidpos, usb: { vendorId: "0c2e", productId: "0B61" }, stripAim: true }
    display: { path: /dev/serial/by-path/pci-0000:00:14.0-usb-0:3:1.0-port0, type: led8, baudRate: 2400 }
  - id: lane-2
    terminal: { path: /dev/ttyS0 }
    scanner: { type: keyboard, path: /dev/input/by-id/usb-Newland-event-kbd, suffix: TAB }
    display: { path: /dev/ttyUSB3, type: escpos, charset: gb18030 }
  - id: lane-3
    terminal: { path: /dev/ttyS1 }
    scanner: { type: keyboard, source: hidraw, usb: { vendorId: "1eab", productId: "0d10" } }
`),
    );
    expect(c.lanes[0]?.terminal?.usb).toEqual({
      vendorId: "0403",
      productId: "6001",
      serialNumber: "A10KZ3QX",
    });
    expect(c.lanes[0]?.terminal?.path).toBeUndefined();
    expect(c.lanes.map((l) => l.scanner.type)).toEqual(["hidpos", "keyboard", "keyboard"]);
    expect(c.lanes.map((l) => l.display?.type)).toEqual(["led8", "escpos", undefined]);
  });

  it("wants exactly one of path and usb for each device", () => {
    const problems = problemsOf(
      lane(`    terminal: { baudRate: 9600 }
    scanner: { path: /dev/ttyACM0, usb: { vendorId: "0403", productId: "6001" } }
`),
    );
    expect(problems).toEqual([
      {
        path: "lanes[0].terminal.path",
        message: "is required (or name the device by its USB ids with usb: { vendorId, productId })",
      },
      {
        path: "lanes[0].scanner.usb",
        message: "set either lanes[0].scanner.path or lanes[0].scanner.usb, not both",
      },
    ]);
  });

  it("explains unquoted and malformed USB ids", () => {
    const problems = problemsOf(
      lane(`    terminal: { usb: { vendorId: 0403, productId: "60011" } }
    scanner: { usb: { vendorId: "0403", productId: "6001", serialNumber: 12345 } }
`),
    );
    expect(problems).toEqual([
      {
        path: "lanes[0].terminal.usb.vendorId",
        message:
          'must be a string of 4 hex digits in quotes, e.g. "0403" (unquoted, YAML reads it as a number)',
      },
      { path: "lanes[0].terminal.usb.productId", message: 'must be 4 hex digits in quotes, e.g. "0403"' },
      {
        path: "lanes[0].scanner.usb.serialNumber",
        message: "must be a string: put the serial number in quotes (unquoted, YAML may read it as a number)",
      },
    ]);
  });

  it("names the same USB device given to two roles, ids compared ignoring case", () => {
    const problems = problemsOf(
      lane(`    terminal: { usb: { vendorId: "10c4", productId: "ea60", serialNumber: "0001" } }
    scanner: { usb: { vendorId: "10C4", productId: "EA60", serialNumber: "0001" } }
`),
    );
    expect(problems).toEqual([
      { path: "lanes[0].scanner.usb", message: "names the same USB device as lanes[0].terminal" },
    ]);
  });

  it("refuses unknown types and settings that do not fit the type", () => {
    const problems = problemsOf(
      lane(`    terminal: { path: /dev/ttyUSB0, profile: text }
    scanner: { path: /dev/ttyACM0, type: serial, source: evdev }
    display: { path: /dev/ttyUSB2, type: cd5220, charset: gb18030 }
  - id: lane-2
    terminal: { path: /dev/ttyS0 }
    scanner: { type: keyboard, usb: { vendorId: "1eab", productId: "0d10" } }
    display: { path: /dev/ttyUSB3, type: vfd }
`),
    );
    expect(problems).toEqual([
      { path: "lanes[0].terminal.profile", message: 'must be "ecr" or "line"' },
      { path: "lanes[1].display.type", message: 'must be one of "cd5220", "escpos", "led8"' },
      {
        path: "lanes[0].scanner.source",
        message: 'applies to keyboard scanners only (lanes[0].scanner.type is "serial")',
      },
      {
        path: "lanes[1].scanner.usb",
        message:
          "a keyboard scanner read through evdev is named by path (/dev/input/by-id/…-event-kbd); to match it by USB ids set source: hidraw",
      },
      {
        path: "lanes[0].display.charset",
        message: 'gb18030 needs type escpos (lanes[0].display.type is "cd5220")',
      },
    ]);
  });

  it("can name a device by USB ids from the environment", () => {
    const c = load(MINIMAL, {
      POSBRIDGE_LANES__1__ID: "lane-2",
      POSBRIDGE_LANES__1__TERMINAL__USB__VENDOR_ID: "0403",
      POSBRIDGE_LANES__1__TERMINAL__USB__PRODUCT_ID: "6001",
      POSBRIDGE_LANES__1__SCANNER__PATH: "/dev/ttyACM1",
    });
    expect(c.lanes[1]?.terminal?.usb).toEqual({ vendorId: "0403", productId: "6001" });
  });
});

describe("loadConfig: no-integration mode (lanes[].displayTap)", () => {
  const TAP = (lane: string) => `
store: store-1
bridge: bridge-1
mqtt:
  url: mqtt://localhost:1883
lanes:
  - id: lane-1
${lane}
    scanner: { path: /dev/ttyACM0 }
`;

  it("a lane with displayTap instead of terminal: defaults filled in, every mode", () => {
    const c = load(TAP("    displayTap: { path: /dev/ttyUSB0 }"));
    expect(c.lanes[0]?.terminal).toBeUndefined();
    expect(c.lanes[0]?.displayTap).toEqual({
      path: "/dev/ttyUSB0",
      mode: "listen",
      baudRate: 9600,
      dataBits: 8,
      parity: "none",
      stopBits: 1,
      rtscts: false,
      dialect: "auto",
      encoding: "gb18030",
      idleMs: 100,
      stableMs: 800,
      wholeNumbers: "refuse",
      detectSampleMs: 4000,
    });
    const pass = load(
      TAP(
        "    displayTap: { mode: passThrough, path: /dev/ttyUSB0, baudRate: 2400, dialect: led8-binary, rtscts: true, totalLabels: [合计, 应收, TOTAL], display: { path: /dev/ttyUSB1 } }",
      ),
    );
    expect(pass.lanes[0]?.displayTap).toMatchObject({
      mode: "passThrough",
      baudRate: 2400,
      rtscts: true,
      totalLabels: ["合计", "应收", "TOTAL"],
      display: { path: "/dev/ttyUSB1", charset: "gb18030" },
    });
    const auto = load(
      TAP("    displayTap: { path: /dev/ttyUSB0, baudRate: auto, parity: auto, dialect: auto }"),
    );
    expect(auto.lanes[0]?.displayTap).toMatchObject({ baudRate: "auto", parity: "auto", dialect: "auto" });
  });

  it("names each field that is wrong: both links, neither, auto outside listen, the real display's place", () => {
    expect(
      problemsOf(TAP("    terminal: { path: /dev/ttyUSB0 }\n    displayTap: { path: /dev/ttyUSB2 }")),
    ).toContainEqual({
      path: "lanes[0].displayTap",
      message: "a lane has either a register link (lanes[0].terminal) or a display tap, not both",
    });
    expect(problemsOf(TAP(""))).toContainEqual({
      path: "lanes[0].terminal",
      message: "is required (the register link), or set lanes[0].displayTap for no-integration mode",
    });
    expect(
      problemsOf(
        TAP("    displayTap: { mode: passThrough, path: /dev/ttyUSB0, baudRate: auto, dialect: auto }"),
      ),
    ).toEqual([
      {
        path: "lanes[0].displayTap.baudRate",
        message: '"auto" is for mode listen only (mode is "passThrough"): set the register\'s baudRate',
      },
      {
        path: "lanes[0].displayTap.dialect",
        message: '"auto" is for mode listen only (mode is "passThrough"): set the register\'s dialect',
      },
      {
        path: "lanes[0].displayTap.display",
        message: "is required in mode passThrough: the real customer display's port",
      },
    ]);
    expect(
      problemsOf(TAP("    displayTap: { path: /dev/ttyUSB0, display: { path: /dev/ttyUSB1 } }")),
    ).toEqual([
      {
        path: "lanes[0].displayTap.display",
        message:
          "is for passThrough and bridgeOwned: in listen mode the bridge never writes to the display line",
      },
    ]);
    expect(
      problemsOf(
        TAP(
          "    displayTap: { mode: bridgeOwned, path: /dev/ttyUSB0, dialect: cd5220, display: { path: /dev/ttyACM0 } }",
        ),
      ),
    ).toContainEqual({
      path: "lanes[0].displayTap.display.path",
      message: "/dev/ttyACM0 is already used by lanes[0].scanner",
    });
    expect(
      problemsOf(TAP("    displayTap: { path: /dev/ttyUSB0, dialect: vfd9000, baudRate: 115200 }")),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "lanes[0].displayTap.dialect" }),
        expect.objectContaining({ path: "lanes[0].displayTap.baudRate" }),
      ]),
    );
  });

  it("exits 78 for a config error in the tap section", () => {
    const err = catchError(() => load(TAP("    displayTap: { mode: mirror, path: /dev/ttyUSB0 }")));
    expect(isBridgeError(err, "PB_CONFIG_INVALID")).toBe(true);
    expect(exitCodeFor(err as BridgeError)).toBe(78);
    expect((err as BridgeError).message).toContain("lanes[0].displayTap.mode");
  });
});
