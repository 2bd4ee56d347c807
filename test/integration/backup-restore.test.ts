// Backup and restore of stateDir as docs/deployment.md tells store IT to do it (issue 9, item 4):
// a hot copy of journal.log taken while the daemon runs — even one cut in the middle of a line,
// as a copy racing an append is — reads with `posbridge report day` up to its last whole line;
// restored into the stopped daemon's stateDir, the copy's unsettled payment is resumed and asked
// of the cloud, which settles it as the cloud knows it; a sale made after the backup is unknown to
// the restored bridge (the register's QY says so), as documented.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DayReport } from "../../daemon/report/day-report.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { BIN, type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { paymentResult, type ScriptedCloud, startScriptedCloud } from "../support/scripted-cloud.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";

describe("backup and restore of stateDir", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-backup-"));
  const prefix = `pbbackup-${Math.random().toString(36).slice(2, 8)}/v1`;
  const stateDir = join(dir, "state");
  const backupDir = join(dir, "backup");
  const tornDir = join(dir, "torn");
  let daemon: DaemonProcess;
  let regPty: PtyPair;
  let scanPty: PtyPair;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let register: VirtualRegister;
  let cloud: ScriptedCloud;
  /** Whether the cloud answers pay requests (PAID), and which attempts' queries it answers PAID. */
  let answerPay = true;
  const paidOnQuery = new Set<string>();
  let seq = 10;
  let lostB = "";

  function config(state: string): string {
    const path = join(dir, "posbridge.yaml");
    writeFileSync(
      path,
      `store: BKP
bridge: PC1
stateDir: ${state}
log: { level: info, format: json }
mqtt: { url: "${BROKER}", topicPrefix: "${prefix}", reconnectMinMs: 100, reconnectMaxMs: 1000 }
sale: { firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 60000 }
lanes:
  - id: lane1
    terminal: { path: ${regPty.daemonPath}, profile: ecr }
    scanner: { path: ${scanPty.daemonPath}, type: serial, suffix: CR }
`,
    );
    return path;
  }

  /** As docs/deployment.md shows: the live config, its stateDir pointed at a copy by the environment. */
  function report(state: string): DayReport {
    const r = spawnSync(process.execPath, [BIN, "report", "day", "--json", "--config", config(stateDir)], {
      encoding: "utf8",
      env: { ...process.env, POSBRIDGE_STATEDIR: state },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as DayReport;
  }

  async function startBridge(): Promise<void> {
    daemon = startDaemon(["run", "--config", config(stateDir)]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
  }

  /** A sale with a scan; resolves with the attempt id of its pay request. */
  async function sell(
    orderRef: string,
    code: string,
  ): Promise<{ sa: string; attemptId: string; mark: number }> {
    const sa = String(seq++);
    const mark = register.answers.length;
    register.request({ type: "sale", seq: sa, orderRef, amountFen: 500 });
    await register.waitFor((a) => a.type === "progress" && a.stage === "WAIT_SCAN", 5_000, mark);
    const seen = cloud.seen.length;
    await scanner.write(`${code}\r`);
    await expect.poll(() => cloud.seen.slice(seen).some((s) => s.request.command.type === "pay")).toBe(true);
    const pay = cloud.seen.slice(seen).find((s) => s.request.command.type === "pay");
    return { sa, attemptId: pay?.request.command.attemptId ?? "", mark };
  }

  beforeAll(async () => {
    regPty = await createPtyPair(dir, "register");
    scanPty = await createPtyPair(dir, "scanner");
    cloud = await startScriptedCloud(BROKER, prefix);
    cloud.setPolicy((r) => {
      const c = r.request.command;
      if (c.type === "pay") return answerPay ? paymentResult({ amountFen: 500 }) : undefined;
      if (c.type === "query" && paidOnQuery.has(c.attemptId)) return paymentResult({ amountFen: 500 });
      return undefined;
    });
    mkdirSync(backupDir);
    mkdirSync(tornDir);
    await startBridge();
    reg = await openSerialEnd(regPty.testPath);
    scanner = await openSerialEnd(scanPty.testPath);
    register = new VirtualRegister((b) => void reg.write(b));
    reg.onData((b) => register.receive(b));
  });

  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await Promise.all([reg?.close(), scanner?.close()]);
    await Promise.all([regPty?.close(), scanPty?.close(), cloud?.stop()]);
  });

  it("a hot copy taken while a payment is in flight reads with report day, up to its last whole line", async () => {
    // Sale A is paid at once. Sale B's answer is lost: the bridge keeps querying it.
    const a = await sell("BKP-A", "134567890123450001");
    expect((await register.result(a.sa, 10_000, a.mark)).status).toBe("PAID");
    answerPay = false;
    const b = await sell("BKP-B", "134567890123450002");
    lostB = b.attemptId;
    await expect
      .poll(() => cloud.of(b.attemptId).filter((s) => s.request.command.type === "query").length, {
        timeout: 5_000,
      })
      .toBeGreaterThanOrEqual(1);

    // The documented hot copy: cp while the daemon runs.
    copyFileSync(join(stateDir, "journal.log"), join(backupDir, "journal.log"));
    // A copy that raced an append ends in half a line.
    const bytes = readFileSync(join(backupDir, "journal.log"));
    const lastLineStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    writeFileSync(
      join(tornDir, "journal.log"),
      bytes.subarray(0, lastLineStart + Math.floor((bytes.length - lastLineStart) / 2)),
    );

    const whole = report(backupDir);
    expect(whole.journal?.tornTail).toBe(false);
    expect(whole.totals.sales.PAID).toEqual({ count: 1, amountFen: 500 });
    expect(whole.totals.sales.IN_PROGRESS.count).toBe(1);
    const torn = report(tornDir);
    expect(torn.journal?.tornTail).toBe(true);
    expect(torn.journal?.lines).toBe((whole.journal?.lines ?? 0) - 1);
    expect(torn.totals.sales.PAID).toEqual({ count: 1, amountFen: 500 });
    // Read only: the torn copy is left as it was.
    expect(readFileSync(join(tornDir, "journal.log")).length).toBeLessThan(bytes.length);
  });

  it("restored into the stopped daemon, the copy's unsettled payment is resumed and settled as the cloud knows it", async () => {
    // After the backup the cloud settles B (its queries now find it paid) and a sale C is paid.
    paidOnQuery.add(lostB);
    await expect.poll(() => report(stateDir).totals.sales.PAID.count, { timeout: 10_000 }).toBe(2);
    answerPay = true;
    const c = await sell("BKP-C", "134567890123450003");
    expect((await register.result(c.sa, 10_000, c.mark)).status).toBe("PAID");
    expect(report(stateDir).totals.sales.PAID.count).toBe(3);

    // Restore only while stopped.
    expect(await daemon.stop("SIGTERM")).toBe(0);
    copyFileSync(join(backupDir, "journal.log"), join(stateDir, "journal.log"));
    const queriesBefore = cloud.seen.filter((s) => s.request.command.type === "query").length;
    await startBridge();
    const resumed = await daemon.waitForLog(
      (e) => e.msg === "resuming unsettled sales and refunds from the journal",
    );
    expect(resumed).toMatchObject({ sales: 1, refunds: 0 });
    await expect
      .poll(() => cloud.seen.slice(queriesBefore).filter((s) => s.request.command.type === "query").length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(1);
    // B is PAID again in the restored journal; C, made after the backup, is not in it.
    await expect.poll(() => report(stateDir).totals.sales.PAID.count, { timeout: 10_000 }).toBe(2);
    const qy = String(seq++);
    const mark = register.answers.length;
    register.request({ type: "query", seq: qy, orderRef: "BKP-C" });
    const answer = await register.result(qy, 10_000, mark);
    expect(answer.status).toBe("REJECTED");
    expect(answer.text).toBe("未知订单");
  });
});
