// Voice prompts on real parts: the built daemon with a lane whose voice player is a fake espeak-ng
// (a shell script recording its argv), sales over ptys through Mosquitto to the simulated cloud.
// The player is run with 请扫码 and the total, then 支付成功 with the scheme and the amount; the
// payment code is never in its argv nor in the daemon's output; `posbridge status --json` shows
// the voice; a player that disappears is a voice FAULT while the next sale is paid as usual; a
// training sale says 培训模式 and never 支付成功.
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudSim, startCloudSim } from "../../daemon/cloud-sim/cloud-sim.js";
import type { BridgeSnapshot } from "../../daemon/diagnostics/snapshot.js";
import { type BridgeRig, startBridgeRig, TEST_BROKER } from "../support/bridge-rig.js";
import { startDaemon } from "../support/daemon-process.js";

const FAKE_PLAYER = `#!/bin/sh
for a in "$@"; do printf '%s\\t' "$a"; done >> "\${0%/*}/argv.log"
echo >> "\${0%/*}/argv.log"
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("voice prompts in the running daemon", () => {
  let rig: BridgeRig;
  let sim: CloudSim;
  let bin: string;
  const codes: string[] = [];
  const said = (): string[] => {
    const log = join(bin, "argv.log");
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t").at(-2) ?? "");
  };
  const waitSaid = async (text: string) => {
    const deadline = Date.now() + 10_000;
    while (!said().includes(text)) {
      if (Date.now() > deadline)
        throw new Error(`the player was not run with ${text}; it said ${said().join(" | ")}`);
      await sleep(20);
    }
  };
  const status = async (): Promise<BridgeSnapshot> => {
    const r = await rig.cli(["status", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as BridgeSnapshot;
  };

  beforeAll(async () => {
    // The player is there before the daemon starts: it is found at once.
    bin = mkdtempSync(join(tmpdir(), "posbridge-voice-bin-"));
    writeFileSync(join(bin, "espeak-ng"), FAKE_PLAYER);
    chmodSync(join(bin, "espeak-ng"), 0o755);
    rig = await startBridgeRig({
      name: "voice",
      display: true,
      lane1Yaml: `voice: { player: espeak, espeak: { command: ${bin}/espeak-ng, rate: 180 } }`,
    });
    sim = await startCloudSim({ brokerUrl: TEST_BROKER, topicPrefix: rig.prefix });
  });
  afterAll(async () => {
    await rig?.stop();
    await sim?.stop();
  });

  it("a paid sale: the player says 请扫码 and the total, then 支付成功 with the scheme and amount; never the code", async () => {
    const code = rig.nextCode();
    codes.push(code);
    expect(await rig.sell("VOX-1", 1250, code)).toMatchObject({ status: "PAID", scheme: "WECHAT" });
    await waitSaid("支付成功，微信收款十二点五元");
    expect(said()).toEqual(["请扫码，十二点五元", "支付成功，微信收款十二点五元"]);
    const argv = readFileSync(join(bin, "argv.log"), "utf8");
    expect(argv.split("\n")[0]).toBe("-v\tcmn\t-s\t180\t-a\t100\t请扫码，十二点五元\t");
    for (const c of codes) {
      expect(argv).not.toContain(c);
      expect(argv).not.toContain(c.slice(-8));
      expect(rig.daemon.lines.join("\n")).not.toContain(c);
    }
    const lane = (await status()).lanes[0];
    expect(lane?.voice).toMatchObject({
      player: "espeak",
      state: "CONNECTED",
      error: "",
      code: null,
      counters: { spoken: 2, dropped: 0, failed: 0, killed: 0 },
    });
  });

  it("a player that disappears: the voice is FAULT PB_VOICE_PLAYER and the next sale is paid as usual", async () => {
    renameSync(join(bin, "espeak-ng"), join(bin, "espeak-ng.gone"));
    const code = rig.nextCode();
    codes.push(code);
    expect(await rig.sell("VOX-2", 300, code)).toMatchObject({ status: "PAID" });
    const lane = (await status()).lanes[0];
    expect(lane?.voice).toMatchObject({ state: "FAULT", code: "PB_VOICE_PLAYER" });
    expect(lane?.voice?.error).toBe(`voice player ${bin}/espeak-ng does not exist or is not executable`);
    expect(lane?.voice?.counters.dropped).toBeGreaterThanOrEqual(1);
    await rig.daemon.waitForLog(
      (e) =>
        e.msg === "voice unavailable; sales go on without it, retrying in the background" &&
        e.errCode === "PB_VOICE_PLAYER",
    );
    expect(said()).toEqual(["请扫码，十二点五元", "支付成功，微信收款十二点五元"]);
    // Back: found again by the background check, and the next sale is heard.
    renameSync(join(bin, "espeak-ng.gone"), join(bin, "espeak-ng"));
    await rig.daemon.waitForLog((e) => e.msg === "voice player found", 10_000);
    const again = rig.nextCode();
    codes.push(again);
    expect(await rig.sell("VOX-3", 100_000, again)).toMatchObject({ status: "PAID" });
    await waitSaid("支付成功，微信收款一千元");
    for (const c of codes) expect(rig.daemon.lines.join("\n")).not.toContain(c);
  });

  it("a training sale (posbridge test sale) says 培训模式 and never 支付成功", async () => {
    const before = said().length;
    const sale = startDaemon(["test", "sale", "lane1", "250", "--json", "-c", rig.configPath]);
    try {
      await sale.waitForLog((e) => e.type === "started");
      await waitSaid("培训模式，请扫码，二点五元");
      const code = rig.nextCode();
      codes.push(code);
      await rig.scanner.write(`${code}\r`);
      expect(await sale.waitForLog((e) => e.type === "result")).toMatchObject({ status: "PAID" });
      await waitSaid("培训模式，未实际扣款，二点五元");
    } finally {
      await sale.stop();
    }
    expect(said().slice(before)).toEqual(["培训模式，请扫码，二点五元", "培训模式，未实际扣款，二点五元"]);
    expect(said().filter((t) => t.startsWith("支付成功")).length).toBe(2); // the two real sales only
  });
});
