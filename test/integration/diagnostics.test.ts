// Diagnostics mode against the built daemon on ptys (register, scanner, display) and Mosquitto:
// status, monitor, the test actions (training sale included), log-level and bundle through the
// control socket; the same read-only questions through the broker; and what each command says
// when there is no daemon. Payment codes are grepped for in everything the commands print.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { decodeDiagResponse, encodeDiagRequest } from "../../daemon/diagnostics/diag-codec.js";
import type { BridgeSnapshot } from "../../daemon/diagnostics/snapshot.js";
import { untarGz } from "../../daemon/diagnostics/tar.js";
import { readJournal } from "../../daemon/journal/journal.js";
import { type BridgeRig, runCli, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { startDaemon } from "../support/daemon-process.js";

const PASSWORD = "s3cret-Pa55w0rd-for-the-broker";

describe("diagnostics against a running daemon", () => {
  let rig: BridgeRig;
  let sim: CloudSim;
  /** Every full payment code the rig scanned: none may appear in any output. */
  const codes: string[] = [];
  const scan = async (code = rig.nextCode()) => {
    codes.push(code);
    await rig.scanner.write(`${code}\r`);
    return code;
  };
  const noCodeIn = (text: string) => {
    for (const code of codes) expect(text).not.toContain(code);
  };

  beforeAll(async () => {
    rig = await startBridgeRig({
      name: "diag",
      display: true,
      logLevel: "info",
      diagnostics: "remote: true",
      extraConfig: "sale: { scanTimeoutMs: 20000 }",
      // The broker lets anyone in; the password only has to be somewhere it must not leak from.
      env: { POSBRIDGE_MQTT__USERNAME: "bridge", POSBRIDGE_MQTT__PASSWORD: PASSWORD },
    });
    sim = await startCloudSim({ brokerUrl: TEST_BROKER, topicPrefix: rig.prefix, confirmDelayMs: 300 });
  });

  afterAll(async () => {
    await rig?.stop();
    await sim?.stop();
  });

  it("status --json is the daemon's snapshot: link, each lane's devices with identity and counters, journal, process", async () => {
    const code = rig.nextCode();
    codes.push(code);
    await rig.sell("ST1", 1234, code);
    const r = await rig.cli(["status", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as BridgeSnapshot;
    expect(s).toMatchObject({ schema: 1, store: rig.store, bridge: "PC1", pid: rig.daemon.proc.pid });
    expect(s.link).toMatchObject({ state: "online", code: null, url: TEST_BROKER, protocolVersion: 5 });
    expect(s.link.connectedSinceMs).toBeGreaterThan(0);
    const lane = s.lanes[0];
    expect(lane?.id).toBe("lane1");
    expect(lane?.state).toBe("IDLE");
    expect(lane?.devices.terminal).toMatchObject({
      kind: "terminal",
      type: "ecr",
      state: "CONNECTED",
      identity: { configured: join(rig.dir, "register-daemon") },
      opens: 1,
    });
    expect(lane?.devices.terminal.counters.framesIn).toBeGreaterThanOrEqual(1);
    expect(lane?.devices.terminal.lastGoodAgoMs).toBeGreaterThanOrEqual(0);
    expect(lane?.devices.scanner.counters.reads).toBeGreaterThanOrEqual(1);
    expect(lane?.devices.display?.state).toBe("CONNECTED");
    expect(s.journal.liveRecords).toBeGreaterThanOrEqual(2);
    expect(s.journal.lastFsyncAt).toBeGreaterThan(s.startedAt);
    expect(s.process.rssBytes).toBeGreaterThan(0);
    expect(s.rpc.counters.sent).toBeGreaterThanOrEqual(1);
    // The text form names the same things, one line each.
    const text = await rig.cli(["status"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^broker {3}ONLINE since /m);
    expect(text.stdout).toMatch(/^ {2}register {2}CONNECTED .*register-daemon \(ecr\)$/m);
    expect(text.stdout).toMatch(/frames in \d+ out \d+, NAKs sent 0 received 0, resends 0/);
    expect(text.stdout).toMatch(/^journal .*journal\.log +[\d.]+ (B|KiB), \d+ records, last fsync/m);
    expect(text.stdout).not.toContain(PASSWORD);
  });

  it("monitor shows a sale as it happens: annotated frames, the scan masked and classified, cloud results, display, state", async () => {
    const mon = startDaemon(["monitor", "--json", "-c", rig.configPath]);
    try {
      await expect
        .poll(() => mon.lines.some((l) => l.includes("watching posbridge")), { timeout: 10_000 })
        .toBe(true);
      const code = rig.nextCode();
      codes.push(code);
      const result = await rig.sell("MON1", 1234, code);
      expect(result.status).toBe("PAID");
      const sa = await mon.waitForLog(
        (e) => e.type === "frame" && e.dir === "in" && String(e.meaning).startsWith("SA"),
      );
      expect(sa.meaning).toMatch(/^SA \d\d MON1 ¥12\.34$/);
      expect(sa.hex).toMatch(/^02 00 [0-9a-f]{2} 53 41 1c/); // STX, length, "SA" FS
      await mon.waitForLog((e) => e.type === "frame" && e.dir === "out" && e.kind === "ack");
      await mon.waitForLog(
        (e) => e.type === "frame" && e.dir === "out" && /^PR 00 MON1 WAIT_SCAN/.test(String(e.meaning)),
      );
      const scanned = await mon.waitForLog((e) => e.type === "scan");
      expect(scanned).toMatchObject({
        length: 18,
        masked: `WECHAT…${code.slice(-4)}`,
        classification: "payment code, WECHAT",
        outcome: "submitted for order MON1",
      });
      const pay = await mon.waitForLog((e) => e.type === "cloud" && e.dir === "out" && e.kind === "pay");
      expect(pay).toMatchObject({ amountFen: 1234, masked: `WECHAT…${code.slice(-4)}`, training: false });
      await mon.waitForLog((e) => e.type === "cloud" && e.dir === "in" && e.status === "PAID");
      await mon.waitForLog(
        (e) =>
          e.type === "frame" &&
          e.dir === "out" &&
          /^RS \d\d MON1 00 PAID ¥12\.34 WECHAT/.test(String(e.meaning)),
      );
      await mon.waitForLog((e) => e.type === "display" && JSON.stringify(e.lines).includes("PAID"));
      await mon.waitForLog((e) => e.type === "state" && e.subject === "lane" && e.to === "IDLE");
    } finally {
      expect(await mon.stop("SIGINT")).toBe(0);
    }
    noCodeIn(mon.lines.join("\n"));
  });

  it("test display shows the text on the customer display, and idle again after it", async () => {
    const before = rig.display?.received.length ?? 0;
    const r = await rig.cli(["test", "display", "lane1", "HELLO TECH|LINE TWO"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"HELLO TECH"');
    await rig.display?.waitFor(Buffer.from("HELLO TECH"));
    await rig.display?.waitFor(Buffer.from("LINE TWO"));
    expect((rig.display?.received.length ?? 0) > before).toBe(true);
  });

  it("test scan reports the next read (masked, classified, what a sale would do) and forgets it", async () => {
    const tapped = () => rig.daemon.lines.filter((l) => l.includes("test scan: the next read")).length;
    const before = tapped();
    const pending = rig.cli(["test", "scan", "lane1", "--timeout", "10", "--json"]);
    await expect.poll(tapped, { timeout: 10_000 }).toBe(before + 1);
    const code = await scan();
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      read: true,
      length: 18,
      masked: `WECHAT…${code.slice(-4)}`,
      classification: "payment code, WECHAT",
      wouldDo: "submit it to the payment cloud as a payment code of WECHAT",
    });
    noCodeIn(r.stdout + r.stderr);
    // Not remembered: the same code pays a real sale right after (a spent code would be refused).
    expect((await rig.sell("SCAN1", 500, code)).status).toBe("PAID");
    const product = rig.cli(["test", "scan", "lane1", "--timeout", "10"]);
    await expect.poll(tapped, { timeout: 10_000 }).toBe(before + 2);
    await rig.scanner.write("5901234123457\r");
    const p = await product;
    expect(p.stdout).toContain(
      "not a payment code (ean13): 13-digit product barcode (EAN-13), not a payment code",
    );
    expect(p.stdout).toContain("a sale would ask the cashier to rescan");
  });

  it("test register: an ES round trip with the link counters; no ACK from a silent register is said so", async () => {
    const ok = await rig.cli(["test", "register", "lane1"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ES sent, ACK after \d+ ms: the register link works/);
    expect(rig.register.answers.at(-1)?.answer).toMatchObject({
      type: "echoReply",
      seq: "00",
      brokerOnline: true,
    });
    rig.register.autoAck = false;
    try {
      const silent = await rig.cli(["test", "register", "lane1", "--json"]);
      expect(silent.code).toBe(1);
      const r = JSON.parse(silent.stdout) as { outcome: string; sinceProbe: Record<string, number> };
      expect(r.outcome).toBe("noAck");
      expect(r.sinceProbe.retransmits).toBe(2);
      expect(r.sinceProbe.faults).toBe(1);
    } finally {
      rig.register.autoAck = true;
    }
  });

  it("test sale is a training sale: the simulated cloud answers, nothing reaches P/req, register and display are marked, the day report keeps it apart", async () => {
    const watcher = await mqtt.connectAsync(TEST_BROKER, { protocolVersion: 5 });
    const published: string[] = [];
    watcher.on("message", (topic) => published.push(topic));
    await watcher.subscribeAsync(`${rig.topicRoot}/req`, { qos: 1 });
    const mark = rig.register.answers.length;
    const displayMark = rig.display?.received.length ?? 0;
    const sale = startDaemon(["test", "sale", "lane1", "1", "--json", "-c", rig.configPath]);
    try {
      const started = await sale.waitForLog((e) => e.type === "started");
      expect(started.orderRef).toMatch(/^TRAIN-/);
      await rig.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
      await scan();
      const result = await sale.waitForLog((e) => e.type === "result");
      expect(result).toMatchObject({ status: "PAID", amountFen: 1, scheme: "WECHAT", text: "培训 支付成功" });
      expect(await sale.exit).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(published).toEqual([]);
      // The register heard the training sale's progress, marked, and no result (it never asked).
      const heard = rig.register.answers.slice(mark).map((r) => r.answer);
      expect(heard.filter((a) => a.type === "progress").map((a) => a.type === "progress" && a.text)).toEqual([
        "培训 请出示付款码 ¥0.01",
        "培训 支付中",
      ]);
      expect(heard.filter((a) => a.type === "result")).toEqual([]);
      expect(rig.display?.received.subarray(displayMark).toString("latin1")).toContain("TRAINING");
      // The journal marks it; the day report keeps it out of the totals.
      const j = readJournal(join(rig.stateDir, "journal.log"));
      const trained = j.records.find((r) => r.kind === "sale" && r.orderRef === started.orderRef);
      expect(trained).toMatchObject({ status: "PAID", training: true });
      expect(
        j.records
          .filter((r) => r.kind === "attempt" && r.training)
          .map((r) => r.kind === "attempt" && r.attemptId),
      ).toEqual([expect.stringMatching(/^trn_/)]);
      const report = await rig.cli(["report", "day", "--json"]);
      const day = JSON.parse(report.stdout) as {
        totals: { sales: { PAID: { count: number } } };
        training: { sales: { PAID: { count: number; amountFen: number } } };
      };
      const paidSales = j.records.filter(
        (r) => r.kind === "sale" && r.status === "PAID" && !r.training,
      ).length;
      expect(day.totals.sales.PAID.count).toBe(paidSales);
      expect(day.training.sales.PAID).toEqual({ count: 1, amountFen: 1 });
    } finally {
      await sale.stop("SIGINT");
      await watcher.endAsync();
    }
    noCodeIn(sale.lines.join("\n"));
  });

  it("a real sale refuses a test action, and a test action running refuses another on the same lane", async () => {
    const seq = rig.nextSeq();
    const mark = rig.register.answers.length;
    rig.register.request({ type: "sale", seq, orderRef: "BUSY1", amountFen: 100 });
    await rig.register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
    const refused = await rig.cli(["test", "display", "lane1", "NOPE"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /a sale is open on lane lane1 \(order BUSY1\): test actions wait until it ends \(PB_CONTROL_REFUSED\)/,
    );
    rig.register.request({ type: "cancel", seq: rig.nextSeq(), orderRef: "BUSY1" });
    await rig.register.result(seq, 5_000, mark);
    const tapped = rig.daemon.lines.filter((l) => l.includes("test scan: the next read")).length;
    const first = rig.cli(["test", "scan", "lane1", "--timeout", "1"]);
    await expect
      .poll(() => rig.daemon.lines.filter((l) => l.includes("test scan: the next read")).length, {
        timeout: 10_000,
      })
      .toBe(tapped + 1);
    const second = await rig.cli(["test", "register", "lane1"]);
    expect(second.stderr).toContain("another test action is running on lane lane1 (PB_CONTROL_BUSY)");
    expect((await first).code).toBe(1); // no read within 1 s
  });

  it("log-level changes what one component logs until the daemon restarts", async () => {
    const scanLines = () => rig.daemon.lines.filter((l) => l.includes('"msg":"scanner read"')).length;
    await rig.scanner.write("X1\r"); // no sale open: dropped, logged at debug only
    await new Promise((r) => setTimeout(r, 300));
    expect(scanLines()).toBe(0);
    const set = await rig.cli(["log-level", "scanner", "debug"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/scanner: debug \(1 logger; until the daemon restarts\)/);
    expect(set.stdout).toMatch(/lane-lane1\/scanner +debug/);
    expect(set.stdout).toMatch(/lane-lane1\/terminal +info/);
    await rig.scanner.write("X2\r");
    await rig.daemon.waitForLog((e) => e.msg === "scanner read" && e.device === "scanner" && e.length === 2);
    expect(rig.daemon.lines.some((l) => l.includes('"level":20') && l.includes('"device":"terminal"'))).toBe(
      false,
    );
    const bad = await rig.cli(["log-level", "frobnicator", "debug"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("no component 'frobnicator'");
    await rig.restart();
    await rig.scanner.write("X3\r");
    await new Promise((r) => setTimeout(r, 500));
    expect(scanLines()).toBe(0);
    const levels = await rig.cli(["log-level", "--json"]);
    expect(JSON.parse(levels.stdout).levels["lane-lane1/scanner"]).toBe("info");
  });

  it("bundle: a tar.gz with config, status, versions, counters and logs, and no password or payment code", async () => {
    const file = join(rig.dir, "support.tar.gz");
    const logFile = join(rig.dir, "extra.log");
    // A log file given to the bundle that holds a full code and the password: both scrubbed.
    writeFileSync(logFile, `line with ${codes[0]} and ${PASSWORD}\n`);
    const r = await rig.cli(["bundle", "-o", file, "--log-file", logFile], {
      env: { POSBRIDGE_MQTT__PASSWORD: PASSWORD },
    });
    expect(r.code, r.stderr).toBe(0);
    const files = untarGz(readFileSync(file));
    const names = files.map((f) => f.name);
    for (const n of [
      "README.txt",
      "config.json",
      "status.json",
      "counters.json",
      "versions.json",
      "daemon-log.ndjson",
      "journald.txt",
      "host.json",
    ])
      expect(names).toContain(n);
    const all = files.map((f) => f.content.toString("utf8")).join("\n");
    expect(all).not.toContain(PASSWORD);
    noCodeIn(all);
    expect(all).toContain(`…${codes[0]?.slice(-4)}`);
    const config = JSON.parse(files.find((f) => f.name === "config.json")?.content.toString() ?? "{}");
    expect(config.mqtt).toMatchObject({ username: "bridge", password: "[REDACTED]" });
    const versions = JSON.parse(files.find((f) => f.name === "versions.json")?.content.toString() ?? "{}");
    expect(versions).toMatchObject({ node: process.version, packages: { mqtt: expect.any(String) } });
    expect(files.find((f) => f.name === "daemon-log.ndjson")?.content.toString()).toContain(
      '"msg":"broker connected"',
    );
  });

  it("remotely: status over MQTT with the retained status decoded; changes and test actions refused", async () => {
    const remote = [
      "--remote",
      "--broker",
      TEST_BROKER,
      "--store",
      rig.store,
      "--bridge",
      "PC1",
      "--prefix",
      rig.prefix,
    ];
    const r = await rig.cli(["status", ...remote]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^retained status: ONLINE, posbridge \d+\.\d+\.\d+/m);
    expect(r.stdout).toContain("lane lane1: register CONNECTED, scanner CONNECTED, display CONNECTED");
    expect(r.stdout).toMatch(/^broker {3}ONLINE since /m);
    const json = await rig.cli(["status", "--json", ...remote]);
    expect(JSON.parse(json.stdout).status.lanes[0].id).toBe("lane1");

    const client = await mqtt.connectAsync(TEST_BROKER, { protocolVersion: 5 });
    try {
      const answers: ReturnType<typeof decodeDiagResponse>[] = [];
      client.on("message", (_t, payload) => answers.push(decodeDiagResponse(new Uint8Array(payload))));
      await client.subscribeAsync(`${rig.topicRoot}/diag/res`, { qos: 1 });
      for (const [id, method, params] of [
        ["r1", "test-sale", { lane: "lane1", amountFen: 1 }],
        ["r2", "log-level", { component: "all", level: "trace" }],
        ["r3", "monitor", {}],
        ["r4", "frobnicate", {}],
      ] as const)
        await client.publishAsync(
          `${rig.topicRoot}/diag/req`,
          Buffer.from(encodeDiagRequest({ requestId: id, method, params: { ...params } })),
          { qos: 1 },
        );
      await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(4);
      const by = Object.fromEntries(answers.map((a) => (a.ok ? [a.value.requestId, a.value] : ["bad", a])));
      expect(by.r1).toMatchObject({ ok: false, errorCode: "PB_CONTROL_REFUSED" });
      expect(by.r1.errorMessage).toMatch(
        /'test-sale' is not available remotely: read-only methods only \(status, bundle/,
      );
      expect(by.r2).toMatchObject({ ok: false, errorCode: "PB_CONTROL_REFUSED" });
      expect(by.r3).toMatchObject({ ok: false, errorCode: "PB_CONTROL_REFUSED" });
      expect(by.r4).toMatchObject({ ok: false, errorCode: "PB_CONTROL_REQUEST" });
    } finally {
      await client.endAsync();
    }
    // Nothing changed: no training sale, no level changed.
    const levels = await rig.cli(["log-level", "--json"]);
    expect(JSON.parse(levels.stdout).levels.all).toBe("info");
  });
});

describe("diagnostics without a daemon", () => {
  it("each command says plainly that posbridge is not running (exit 3), and status tells what it can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posbridge-nodaemon-"));
    const config = join(dir, "posbridge.yaml");
    writeFileSync(
      config,
      `store: S1\nbridge: B1\nstateDir: ${join(dir, "state")}\nmqtt: { url: "mqtt://127.0.0.1:1883" }\ndiagnostics: { socket: ${join(dir, "control.sock")} }\nlanes:\n  - id: l1\n    terminal: { path: /dev/null }\n    scanner: { path: /dev/zero }\n`,
    );
    const status = await runCli(["status", "-c", config]);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(
      `posbridge is not running: no control socket at ${join(dir, "control.sock")}: the daemon is not running`,
    );
    expect(status.stdout).toContain("config");
    expect(status.stdout).toMatch(/journal .*journal\.log: no journal file/);
    const json = JSON.parse((await runCli(["status", "--json", "-c", config])).stdout);
    expect(json).toMatchObject({ running: false, journal: { missing: true } });
    for (const args of [["monitor"], ["test", "register", "l1"], ["log-level", "debug"]]) {
      const r = await runCli([...args, "-c", config]);
      expect(r.code, args.join(" ")).toBe(3);
      expect(r.stderr).toMatch(/posbridge is not running: no control socket at /);
    }
    const bundle = await runCli([
      "bundle",
      "-o",
      join(dir, "b.tgz"),
      "--log-file",
      "/dev/null",
      "-c",
      config,
    ]);
    expect(bundle.code).toBe(0);
    expect(bundle.stdout).toContain("the daemon is not running");
    const names = untarGz(readFileSync(join(dir, "b.tgz"))).map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining(["config.json", "status.json", "versions.json", "host.json"]),
    );
  });
});
