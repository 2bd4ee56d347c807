// Storage full and read-only for real (issue 8, item 7): the state directory lives on a small
// ext4 loop mount. The disk is filled while a sale waits for the customer (ENOSPC), then the
// filesystem is forced read-only by an ext4 error (EROFS, as `errors=remount-ro` does on a failing
// disk). Each time: a new SA is refused with RS 40 and the storage reason (not "busy"), the open
// sale's PAID is not told before it is recorded, and is told exactly once when the storage is
// back. Needs root (mount, losetup, /sys/fs/ext4/*/trigger_fs_error); skipped otherwise, and
// test/daemon/lanes/journal-fault.test.ts covers the same with faults injected in the journal.
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { JOURNAL_FILE, readJournal } from "../../daemon/journal/journal.js";
import type { SaleRecord } from "../../protocols/sale/records.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbtest-${run}/v1`;
const STORE = `S${run}`;
const SCOPE = `${STORE}/PC1/lane1`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: "pipe" }).toString();

/** A loop-mounted ext4 of 8 MiB (1 KiB blocks, no reserved blocks) at `mnt`, or why not. */
function mountDisk(base: string): { img: string; mnt: string; sysfs: string } | string {
  if (process.getuid?.() !== 0) return "not root";
  const img = join(base, "disk.img");
  const mnt = join(base, "mnt");
  try {
    sh("truncate", "-s", "8M", img);
    sh("mkfs.ext4", "-q", "-F", "-b", "1024", "-m", "0", img);
    mkdirSync(mnt);
    // Under the mount point, where the state directory will be, a plain file: while the disk is
    // unmounted the daemon cannot recreate the directory on the wrong filesystem.
    writeFileSync(join(mnt, "state"), "not the state directory\n");
    sh("mount", "-o", "loop,errors=remount-ro", img, mnt);
    const dev = sh("findmnt", "-no", "SOURCE", mnt).trim();
    const sysfs = `/sys/fs/ext4/${basename(dev)}/trigger_fs_error`;
    sh("test", "-w", sysfs);
    return { img, mnt, sysfs };
  } catch (err) {
    try {
      sh("umount", mnt);
    } catch {
      // not mounted
    }
    return `cannot mount a loop ext4 here: ${(err as Error).message.split("\n")[0]}`;
  }
}

/** Writes a file until the filesystem is full. */
function fill(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    for (;;) {
      try {
        writeSync(fd, chunk, 0, 1024); // the last blocks
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function umount(mnt: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      sh("umount", mnt);
      return;
    } catch (err) {
      if (i >= 50) throw err;
      await sleep(100); // a restore attempt may hold a file open for a moment
    }
  }
}

const base = mkdtempSync(join(tmpdir(), "posbridge-storage-"));
const disk = mountDisk(base);
if (typeof disk === "string") rmSync(base, { recursive: true, force: true });

describe.skipIf(typeof disk === "string")("storage full and read-only on a real filesystem", () => {
  const { img, mnt, sysfs } = disk as Exclude<typeof disk, string>;
  const stateDir = join(mnt, "state");
  let ptys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: CloudSim;
  let reg: SerialEnd;
  let scanner: SerialEnd;
  let register: VirtualRegister;
  let seq = 10;
  let code = 2000;
  const nextSeq = () => String(seq++);
  const nextCode = () => `13456789012345${code++}`;

  /** SA + scan for an amount ending 77: the customer must confirm (by `sim.confirm`). */
  async function waitingSale(orderRef: string): Promise<{ seq: string; attemptId: string }> {
    const s = nextSeq();
    const mark = register.answers.length;
    register.request({ type: "sale", seq: s, orderRef, amountFen: 1077 });
    await register.waitFor(
      (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
      5000,
      mark,
    );
    await scanner.write(`${nextCode()}\r`);
    await register.waitFor(
      (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_CUSTOMER",
      5000,
      mark,
    );
    const attemptId = sim.ledger.ofOrder(SCOPE, orderRef)[0]?.attemptId ?? "";
    return { seq: s, attemptId };
  }

  async function ask(
    request: { type: "sale"; orderRef: string; amountFen: number } | { type: "query"; orderRef: string },
  ) {
    const s = nextSeq();
    const mark = register.answers.length;
    register.request({ ...request, seq: s });
    return register.result(s, 10_000, mark);
  }

  const rsCount = (s: string) =>
    register.answers.filter((a) => a.answer.type === "result" && a.answer.seq === s).length;

  function onDisk(orderRef: string): string | undefined {
    const sale = readJournal(join(stateDir, JOURNAL_FILE)).records.find(
      (r): r is SaleRecord => r.kind === "sale" && r.orderRef === orderRef,
    );
    return sale?.status;
  }

  beforeAll(async () => {
    const [r, s] = await Promise.all([createPtyPair(base, "register"), createPtyPair(base, "scanner")]);
    ptys = [r, s];
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: `g${run}`,
      manualConfirm: true,
    });
    const configPath = join(base, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${stateDir}
log: { level: debug, format: json }
journal: { checkIntervalMs: 500 }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 30000, firstQueryMs: 1000, queryIntervalMs: 1000, reverseAfterMs: 120000 }
lanes:
  - id: lane1
    terminal: { path: ${r.daemonPath}, profile: ecr, ackTimeoutMs: 500 }
    scanner: { path: ${s.daemonPath}, type: serial, suffix: CR }
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "terminal");
    await daemon.waitForLog((e) => e.msg === "device opened" && e.device === "scanner");
    [reg, scanner] = await Promise.all([openSerialEnd(r.testPath), openSerialEnd(s.testPath)]);
    register = new VirtualRegister((bytes) => void reg.write(bytes));
    reg.onData((bytes) => register.receive(bytes));
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([reg?.close(), scanner?.close()]);
    await Promise.all([...ptys.map((p) => p.close()), sim?.stop()]);
    try {
      sh("umount", mnt);
    } catch {
      // already unmounted
    }
    rmSync(base, { recursive: true, force: true });
  });

  it("disk full while a sale waits: SA refused 'storage full' (not busy), the PAID answered once after space returns", async () => {
    const open = await waitingSale("FULL-1");
    fill(join(mnt, "filler"));
    // The lane goes on querying the waiting payment; the first record that needs a block fails.
    await daemon.waitForLog((e) => e.errCode === "PB_JOURNAL_WRITE", 10_000);

    const refused = await ask({ type: "sale", orderRef: "FULL-2", amountFen: 200 });
    expect(refused).toMatchObject({ status: "REJECTED", text: expect.stringContaining("存储空间已满") });
    expect(refused.text).not.toContain("忙");
    expect(await ask({ type: "query", orderRef: "FULL-1" })).toMatchObject({ status: "PENDING" });
    await daemon.waitForLog(
      (e) => e.errCode === "PB_JOURNAL_WRITE" && e.fault === "full" && e.errno === "ENOSPC",
    );

    // The customer confirms: the bridge knows it is paid, but cannot record it, so says nothing.
    expect(sim.confirm(open.attemptId)).toBe(true);
    await sleep(700);
    expect(rsCount(open.seq)).toBe(0);

    rmSync(join(mnt, "filler"));
    const rs = await register.result(open.seq, 10_000);
    expect(rs).toMatchObject({ status: "PAID", amountFen: 1077 });
    expect(onDisk("FULL-1")).toBe("PAID");
    await daemon.waitForLog((e) => typeof e.msg === "string" && e.msg.startsWith("journal restored"));
    await sleep(500);
    expect(rsCount(open.seq)).toBe(1);
    expect(sim.ledger.ofOrder(SCOPE, "FULL-1").filter((e) => e.charged)).toHaveLength(1);
    expect(await ask({ type: "query", orderRef: "FULL-1" })).toMatchObject({ status: "PAID" });
  });

  it("filesystem forced read-only while a sale waits: SA refused 'read-only', the PAID answered once the disk is back", async () => {
    const open = await waitingSale("RO-1");
    sh("sh", "-c", `echo posbridge-test > ${sysfs}`);
    const failures = daemon.lines.filter((l) => l.includes('"errCode":"PB_JOURNAL_WRITE"')).length;
    await expect
      .poll(() => daemon.lines.filter((l) => l.includes('"errCode":"PB_JOURNAL_WRITE"')).length, {
        timeout: 10_000,
      })
      .toBeGreaterThan(failures);

    const refused = await ask({ type: "sale", orderRef: "RO-2", amountFen: 200 });
    expect(refused).toMatchObject({ status: "REJECTED", text: expect.stringContaining("存储只读") });
    await daemon.waitForLog(
      (e) => e.errCode === "PB_JOURNAL_WRITE" && e.fault === "readOnly" && e.errno === "EROFS",
    );
    expect(sim.confirm(open.attemptId)).toBe(true);
    await sleep(700);
    expect(rsCount(open.seq)).toBe(0);

    // What a technician does: unmount, check, mount again.
    await umount(mnt);
    try {
      sh("e2fsck", "-fy", img);
    } catch (err) {
      if ((err as { status?: number }).status !== 1) throw err; // 1: errors corrected
    }
    sh("mount", "-o", "loop,errors=remount-ro", img, mnt);

    const rs = await register.result(open.seq, 15_000);
    expect(rs).toMatchObject({ status: "PAID", amountFen: 1077 });
    expect(onDisk("RO-1")).toBe("PAID");
    expect(onDisk("FULL-1")).toBe("PAID");
    await sleep(500);
    expect(rsCount(open.seq)).toBe(1);
    // Sales resume.
    const s = nextSeq();
    const mark = register.answers.length;
    register.request({ type: "sale", seq: s, orderRef: "RO-3", amountFen: 300 });
    await register.waitFor(
      (a) => a.type === "progress" && a.orderRef === "RO-3" && a.stage === "WAIT_SCAN",
      5000,
      mark,
    );
    expect(daemon.proc.exitCode).toBeNull();
  });
});
