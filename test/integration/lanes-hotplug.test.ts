// Eight lanes in one daemon (child process, real Mosquitto, the cloud simulator), each with its
// own register, scanner and display on socat pty pairs, selling at the same time. Mid-run one
// lane's scanner and display are unplugged for real (their socat processes killed): the other
// lanes keep selling, that lane's sale keeps waiting for its scan without a false answer, and when
// the devices come back (same paths) the lane is back within 2 s, its display repainted with the
// sale's current state, and the scan completes the sale.
//
// The lanes mix what the daemon supports: `ecr` and `line` registers; serial (CR, and CRLF with
// an AIM id stripped) and Zebra SSI scanners; CD5220, ESC/POS (GB18030) and LED-8 displays.
import { renameSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import iconv from "iconv-lite";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LaneStatusView } from "../../protocols/cloud/cloud-messages.js";
import { concatBytes } from "../../protocols/core/bytes.js";
import { CD5220_INIT, encodeCd5220 } from "../../protocols/display/cd5220.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import { encodeEscPosView } from "../../protocols/display/escpos-display.js";
import { encodeLed8View } from "../../protocols/display/led8.js";
import { encodeSsiPacket, SSI_OPCODE, SSI_SOURCE } from "../../protocols/scanner/ssi.js";
import { decodeStatus } from "../../daemon/cloud/proto-codec.js";
import { startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import { VirtualRegister } from "../../daemon/demo/virtual-register.js";
import { type DaemonProcess, startDaemon } from "../support/daemon-process.js";
import { createPtyPair, type PtyPair } from "../support/pty-pair.js";
import { openSerialEnd, type SerialEnd } from "../support/serial-end.js";

const BROKER = process.env.PB_TEST_BROKER ?? "mqtt://127.0.0.1:1883";
const run = Math.random().toString(36).slice(2, 8);
const PREFIX = `pbhot-${run}/v1`;
const STORE = `H${run}`;
const LANES = 8;
const UNPLUGGED = 3; // the lane whose scanner and display are pulled

type Profile = "ecr" | "line";
type ScannerKind = "serial" | "aim-crlf" | "ssi";
type DisplayKind = "cd5220" | "escpos" | "led8";

interface LaneSpec {
  n: number;
  profile: Profile;
  scanner: ScannerKind;
  display: DisplayKind;
}

const SPECS: LaneSpec[] = Array.from({ length: LANES }, (_, i) => {
  const n = i + 1;
  if (n === 6) return { n, profile: "ecr", scanner: "ssi", display: "escpos" };
  if (n === 7) return { n, profile: "ecr", scanner: "aim-crlf", display: "led8" };
  if (n === 8) return { n, profile: "line", scanner: "serial", display: "cd5220" };
  return { n, profile: "ecr", scanner: "serial", display: "cd5220" };
});

/** A WeChat code (18 digits, prefix 13) unique per lane and sale; the simulator pays it. */
const codeFor = (lane: number, sale: number) =>
  `13${String(lane).padStart(2, "0")}${String(sale).padStart(2, "0")}567890123456`;
/** Amounts the simulator pays at once (not ending in 77, 97, 98 or 99). */
const amountFor = (lane: number, sale: number) => 1000 + lane * 100 + sale * 10;

const gb = (t: string) => new Uint8Array(iconv.encode(t.replaceAll("\u00a5", "\uffe5"), "gb18030"));
function viewBytes(kind: DisplayKind, view: DisplayView): Uint8Array {
  if (kind === "escpos") return encodeEscPosView(view, { charset: "gb18030", encodeText: gb });
  if (kind === "led8") return encodeLed8View(view);
  return encodeCd5220(view);
}

/** The register's end of a `line` profile lane: writes request lines, collects answer lines. */
class LineRegister {
  readonly lines: string[] = [];
  private buf = "";
  constructor(private readonly end: SerialEnd) {
    end.onData((b) => {
      this.buf += Buffer.from(b).toString("utf8");
      for (let i = this.buf.indexOf("\n"); i >= 0; i = this.buf.indexOf("\n")) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ""));
        this.buf = this.buf.slice(i + 1);
      }
    });
  }
  send(line: string): Promise<void> {
    return this.end.write(`${line}\r\n`);
  }
  async waitLine(pred: (l: string) => boolean, timeoutMs = 10_000, since = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(since).find(pred);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`line register: no matching line; got ${this.lines.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

interface Rig {
  spec: LaneSpec;
  id: string;
  ptys: { register: PtyPair; scanner: PtyPair; display: PtyPair };
  reg: SerialEnd;
  scanEnd: SerialEnd;
  displayEnd: SerialEnd;
  ecr?: VirtualRegister;
  line?: LineRegister;
  seq: number;
}

function scanBytes(kind: ScannerKind, code: string): Uint8Array | string {
  if (kind === "ssi") {
    return encodeSsiPacket({
      opcode: SSI_OPCODE.DECODE_DATA,
      source: SSI_SOURCE.DECODER,
      data: [0x1c, ...Buffer.from(code)], // QR Code
    });
  }
  if (kind === "aim-crlf") return `]Q1${code}\r\n`;
  return `${code}\r`;
}

/** Starts a sale and resolves once the lane waits for the scan. */
async function startSale(rig: Rig, orderRef: string, amountFen: number): Promise<() => Promise<string>> {
  if (rig.line) {
    const since = rig.line.lines.length;
    await rig.line.send(`SALE ${orderRef} ${amountFen}`);
    await rig.line.waitLine((l) => l.startsWith(`PROGRESS ${orderRef} WAIT_SCAN `), 10_000, since);
    return async () => {
      const result = await rig.line?.waitLine((l) => l.startsWith(`RESULT ${orderRef} `), 15_000, since);
      return (result ?? "").split(" ")[2] ?? "";
    };
  }
  const ecr = rig.ecr as VirtualRegister;
  const seq = String(rig.seq++).padStart(2, "0");
  const mark = ecr.answers.length;
  ecr.request({ type: "sale", seq, orderRef, amountFen });
  await ecr.waitFor(
    (a) => a.type === "progress" && a.orderRef === orderRef && a.stage === "WAIT_SCAN",
    10_000,
    mark,
  );
  return async () => (await ecr.result(seq, 15_000, mark)).status;
}

/** One whole sale: SA/SALE, wait for the scan prompt, scan, final answer; checks the display. */
async function sell(rig: Rig, sale: number): Promise<string> {
  const orderRef = `L${rig.spec.n}S${sale}`;
  const amountFen = amountFor(rig.spec.n, sale);
  const finished = await startSale(rig, orderRef, amountFen);
  await rig.scanEnd.write(scanBytes(rig.spec.scanner, codeFor(rig.spec.n, sale)));
  const status = await finished();
  await rig.displayEnd.waitFor(viewBytes(rig.spec.display, { type: "paid", amountFen }), 10_000);
  return status;
}

describe("eight lanes, one unplugged and replugged mid-run", () => {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-hot-"));
  const rigs: Rig[] = [];
  const extraPtys: PtyPair[] = [];
  let daemon: DaemonProcess;
  let sim: Awaited<ReturnType<typeof startCloudSim>>;
  let watcher: mqtt.MqttClient;
  let lastStatus: LaneStatusView[] = [];

  beforeAll(async () => {
    for (const spec of SPECS) {
      const id = `lane${spec.n}`;
      const [register, scanner, display] = await Promise.all([
        createPtyPair(dir, `${id}-register`),
        createPtyPair(dir, `${id}-scanner`),
        createPtyPair(dir, `${id}-display`),
      ]);
      rigs.push({ spec, id, ptys: { register, scanner, display } } as Rig);
    }
    watcher = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    watcher.on("message", (_t, payload) => {
      const s = decodeStatus(new Uint8Array(payload));
      if (s.ok) lastStatus = s.value.lanes;
    });
    await watcher.subscribeAsync(`${PREFIX}/${STORE}/PC1/status`, { qos: 1 });
    sim = await startCloudSim({
      brokerUrl: BROKER,
      topicPrefix: PREFIX,
      protocolVersion: 5,
      group: `g${run}`,
    });

    const laneYaml = rigs
      .map(({ spec, id, ptys }) => {
        const scanner =
          spec.scanner === "ssi"
            ? `{ path: ${ptys.scanner.daemonPath}, type: ssi }`
            : spec.scanner === "aim-crlf"
              ? `{ path: ${ptys.scanner.daemonPath}, type: serial, suffix: CRLF, stripAim: true }`
              : `{ path: ${ptys.scanner.daemonPath}, type: serial, suffix: CR }`;
        const display =
          spec.display === "escpos"
            ? `{ path: ${ptys.display.daemonPath}, type: escpos, charset: gb18030 }`
            : `{ path: ${ptys.display.daemonPath}, type: ${spec.display} }`;
        return `  - id: ${id}
    terminal: { path: ${ptys.register.daemonPath}, profile: ${spec.profile}, ackTimeoutMs: 500 }
    scanner: ${scanner}
    display: ${display}`;
      })
      .join("\n");
    const configPath = join(dir, "posbridge.yaml");
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC1
stateDir: ${dir}
log: { level: debug, format: json }
mqtt: { url: "${BROKER}", topicPrefix: "${PREFIX}", protocolVersion: 5, reconnectMinMs: 200 }
sale: { scanTimeoutMs: 60000 }
lanes:
${laneYaml}
`,
    );
    daemon = startDaemon(["run", "--config", configPath]);
    await daemon.waitForLog((e) => e.msg === "broker connected");
    const deadline = Date.now() + 10_000;
    while (daemon.lines.filter((l) => l.includes('"msg":"device opened"')).length < LANES * 3) {
      if (Date.now() > deadline)
        throw new Error(`not every device opened:\n${daemon.lines.slice(-30).join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const rig of rigs) {
      [rig.reg, rig.scanEnd, rig.displayEnd] = await Promise.all([
        openSerialEnd(rig.ptys.register.testPath),
        openSerialEnd(rig.ptys.scanner.testPath),
        openSerialEnd(rig.ptys.display.testPath),
      ]);
      rig.seq = 10;
      if (rig.spec.profile === "line") rig.line = new LineRegister(rig.reg);
      else {
        const ecr = new VirtualRegister((b) => void rig.reg.write(b));
        rig.reg.onData((b) => ecr.receive(b));
        rig.ecr = ecr;
      }
    }
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    for (const rig of rigs) {
      await Promise.all(
        [rig.reg?.close(), rig.scanEnd?.close(), rig.displayEnd?.close()].map((p) => p?.catch(() => {})),
      );
    }
    await sim?.stop();
    await watcher?.endAsync();
    await Promise.all(
      [...rigs.flatMap((r) => [r.ptys.register, r.ptys.scanner, r.ptys.display]), ...extraPtys].map((p) =>
        p.close(),
      ),
    );
  });

  it("sells on every lane at once (lane 1's scanner sends garbage first: counted, and the lane sells on)", async () => {
    const noisy = rigs[0] as Rig;
    await noisy.scanEnd.write(Buffer.from([0x01, 0xfe, 0x02, 0x0d, 0x00, 0x00, 0x0d]));
    const statuses = await Promise.all(rigs.map((rig) => sell(rig, 1)));
    expect(statuses).toEqual(Array(LANES).fill("PAID"));
    await expect
      .poll(() =>
        daemon.lines.some((l) => l.includes('"msg":"scanner bytes discarded"') && l.includes('"lane1"')),
      )
      .toBe(true);
  });

  it("the line-profile lane answers an overlong line with a REJECTED result line", async () => {
    const rig = rigs.find((r) => r.spec.profile === "line") as Rig;
    const line = rig.line as LineRegister;
    const since = line.lines.length;
    await line.send(`SALE ${"X".repeat(300)} 100`);
    expect(await line.waitLine((l) => l.startsWith("RESULT "), 5000, since)).toBe(
      "RESULT - REJECTED - - - line is longer than 256 bytes",
    );
  });

  it("a lane whose scanner and display are pulled mid-sale keeps waiting; the others keep selling; it is back within 2 s of the replug", async () => {
    const rig = rigs[UNPLUGGED - 1] as Rig;
    const others = rigs.filter((r) => r !== rig);
    const orderRef = `L${UNPLUGGED}S2`;
    const amountFen = amountFor(UNPLUGGED, 2);
    const finished = startSale(rig, orderRef, amountFen);
    const waitResult = await finished;
    const due = viewBytes("cd5220", { type: "amountDue", amountFen });
    await rig.displayEnd.waitFor(due);
    const answersBefore = rig.ecr?.answers.length ?? 0;

    // The real unplug: both socat processes die, their ptys and links vanish.
    await Promise.all([rig.scanEnd.close().catch(() => {}), rig.displayEnd.close().catch(() => {})]);
    await Promise.all([rig.ptys.scanner.close(), rig.ptys.display.close()]);
    await expect
      .poll(() => lastStatus.find((l) => l.laneId === rig.id), { timeout: 5000 })
      .toMatchObject({ terminal: "CONNECTED", scanner: "ABSENT", display: "ABSENT" });

    // Meanwhile every other lane sells its second sale, undisturbed.
    const statuses = await Promise.all(others.map((r) => sell(r, 2)));
    expect(statuses).toEqual(Array(others.length).fill("PAID"));
    for (const other of others) {
      expect(lastStatus.find((l) => l.laneId === other.id)).toMatchObject({
        terminal: "CONNECTED",
        scanner: "CONNECTED",
        display: "CONNECTED",
      });
    }
    // The unplugged lane's register heard nothing: no answer to a sale still waiting for its scan.
    await new Promise((r) => setTimeout(r, 1000));
    expect(rig.ecr?.answers.slice(answersBefore)).toEqual([]);
    expect(sim.ledger.all().filter((e) => e.orderRef === orderRef)).toEqual([]);

    // The devices come back under the same paths. (socat makes the links under other names, then
    // each is renamed into place once this side has its end open: a pty end opened late would
    // flush what the daemon already painted.)
    const [scanner, display] = await Promise.all([
      createPtyPair(dir, `${rig.id}-scanner-replug`),
      createPtyPair(dir, `${rig.id}-display-replug`),
    ]);
    extraPtys.push(scanner, display);
    rig.scanEnd = await openSerialEnd(scanner.testPath);
    rig.displayEnd = await openSerialEnd(display.testPath);
    const pluggedAt = Date.now();
    renameSync(scanner.daemonPath, rig.ptys.scanner.daemonPath);
    renameSync(display.daemonPath, rig.ptys.display.daemonPath);

    const openedAfter = (device: string) =>
      daemon.lines
        .filter((l) => l.includes('"msg":"device opened"'))
        .map((l) => JSON.parse(l) as { time: number; lane?: string; device?: string })
        .find((e) => e.lane === rig.id && e.device === device && e.time >= pluggedAt);
    await expect.poll(() => openedAfter("scanner") && openedAfter("display"), { timeout: 5000 }).toBeTruthy();
    expect((openedAfter("scanner")?.time ?? Number.POSITIVE_INFINITY) - pluggedAt).toBeLessThanOrEqual(2000);
    expect((openedAfter("display")?.time ?? Number.POSITIVE_INFINITY) - pluggedAt).toBeLessThanOrEqual(2000);

    // The display was repainted with the state of now: the amount still due.
    await rig.displayEnd.waitFor(concatBytes(CD5220_INIT, due), 5000);
    await expect
      .poll(() => lastStatus.find((l) => l.laneId === rig.id), { timeout: 5000 })
      .toMatchObject({ terminal: "CONNECTED", scanner: "CONNECTED", display: "CONNECTED" });

    // And the sale that waited all along completes with the scan.
    await rig.scanEnd.write(scanBytes("serial", codeFor(UNPLUGGED, 2)));
    expect(await waitResult()).toBe("PAID");
    await rig.displayEnd.waitFor(viewBytes("cd5220", { type: "paid", amountFen }));
  });

  it("never printed a payment code, in full, anywhere", () => {
    const all = daemon.lines.join("\n");
    for (const rig of rigs) for (const sale of [1, 2]) expect(all).not.toContain(codeFor(rig.spec.n, sale));
  });

  it("check-config refuses two lanes naming one device through two spellings (exit 78, naming the field)", async () => {
    const first = rigs[0] as Rig;
    const alias = join(dir, "another-name-for-lane1-scanner");
    symlinkSync(first.ptys.scanner.daemonPath, alias);
    const configPath = join(dir, "same-device.yaml");
    writeFileSync(
      configPath,
      `store: ${STORE}
bridge: PC2
stateDir: ${dir}
mqtt: { url: "${BROKER}" }
lanes:
  - id: a
    terminal: { path: ${first.ptys.register.daemonPath} }
    scanner: { path: ${first.ptys.scanner.daemonPath} }
  - id: b
    terminal: { path: ${join(dir, "no-such-register")} }
    scanner: { path: ${alias} }
`,
    );
    const check = startDaemon(["check-config", "--config", configPath]);
    expect(await check.exit).toBe(78);
    expect(check.lines.join("\n")).toContain(
      `lanes[1].scanner.path: ${alias} is the same device as lanes[0].scanner`,
    );
  });
});
