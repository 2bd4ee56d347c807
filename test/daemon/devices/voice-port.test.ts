// The voice port on real child processes: a fake player (a shell script that records its argv and
// behaves as files next to it say: hang, fail, complain, be slow) stands in for espeak-ng and
// aplay. What is said for a sale, the newest prompt winning, a hung player killed, a missing or
// failing player reported FAULT without a throw and found again, and never a payment code. Also
// espeak-ng itself once, when it is installed.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { DisplayView } from "../../../protocols/display/display-view.js";
import { VOICE_CLIPS } from "../../../protocols/voice/prompts.js";
import { systemClock } from "../../../daemon/clock.js";
import type { VoiceConfig } from "../../../daemon/config/config-types.js";
import { VOICE_PROMPT_TYPES } from "../../../daemon/config/voice-schema.js";
import { VoicePort } from "../../../daemon/devices/voice-port.js";

const silent = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const FAKE_PLAYER = `#!/bin/sh
# A fake voice player: one line per run, the arguments separated by tabs; then what the files say.
d="\${0%/*}"
for a in "$@"; do printf '%s\\t' "$a"; done >> "$d/argv.log"
echo >> "$d/argv.log"
# "hang" hangs one run only: the prompt queued behind it must not see the flag (it starts as soon
# as the hung run is killed, which may be before the test removes the flag).
[ -e "$d/hang" ] && { /bin/rm -f "$d/hang"; /bin/sleep 30; }
[ -e "$d/fail" ] && { echo "aplay: main:831: audio open error: No such file or directory" >&2; exit 1; }
[ -e "$d/complain" ] && { echo "error: No such file or directory" >&2; exit 0; }
[ -e "$d/slow" ] && /bin/sleep 0.3
exit 0
`;

const dirs: string[] = [];
const ports: VoicePort[] = [];
afterEach(async () => {
  for (const p of ports.splice(0)) await p.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function allPrompts(): VoiceConfig["prompts"] {
  return Object.fromEntries(VOICE_PROMPT_TYPES.map((t) => [t, true])) as unknown as VoiceConfig["prompts"];
}

function voiceConfig(over: Partial<VoiceConfig> = {}): VoiceConfig {
  return {
    enabled: true,
    player: "espeak",
    espeak: { command: "espeak-ng", voice: "cmn", rate: 160 },
    clips: { command: ["aplay", "-q"], extension: "wav" },
    volume: 100,
    timeoutMs: 10_000,
    prompts: allPrompts(),
    ...over,
  };
}

/** A directory with the fake player installed as `name` (default espeak-ng); PATH is that directory alone. */
function rig(options: { name?: string; install?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "posbridge-voice-"));
  dirs.push(dir);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const name = options.name ?? "espeak-ng";
  const install = () => {
    writeFileSync(join(bin, name), FAKE_PLAYER);
    chmodSync(join(bin, name), 0o755);
  };
  if (options.install !== false) install();
  const flag = (f: "hang" | "fail" | "complain" | "slow", on = true) =>
    on ? writeFileSync(join(bin, f), "") : rmSync(join(bin, f), { force: true });
  /** Each run's arguments. */
  const runs = (): string[][] => {
    const log = join(bin, "argv.log");
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t").slice(0, -1));
  };
  const states: string[] = [];
  const start = (config: VoiceConfig, deps: { recheckMs?: number; killGraceMs?: number } = {}) => {
    const port = new VoicePort(
      config,
      { clock: systemClock, log: silent, env: { PATH: bin }, ...deps },
      { onState: (s, e) => states.push(`${s}${e ? `: ${e}` : ""}`) },
    );
    ports.push(port);
    port.start();
    return port;
  };
  return { dir, bin, install, flag, runs, states, start };
}

const idle = async (port: VoicePort) => waitUntil(() => !port.status.playing, "the player to end");

describe("what a lane says for a sale (espeak-ng)", () => {
  it("a total due, then paid: 请扫码 and the amount, then 支付成功 with the scheme and the amount read the Chinese way", async () => {
    const r = rig();
    const port = r.start(voiceConfig());
    port.show({ type: "idle" }, null);
    port.show({ type: "amountDue", amountFen: 1250 }, null);
    port.show({ type: "processing", amountFen: 1250 }, null);
    port.show({ type: "paid", amountFen: 1250 }, "WECHAT");
    await waitUntil(() => r.runs().length === 2, "two utterances");
    await idle(port);
    const [due, paid] = r.runs();
    expect(due).toEqual(["-v", "cmn", "-s", "160", "-a", "100", "请扫码，十二点五元"]);
    expect(paid).toEqual(["-v", "cmn", "-s", "160", "-a", "100", "支付成功，微信收款十二点五元"]);
    expect(port.status).toMatchObject({ state: "CONNECTED", error: "", code: undefined });
    expect(port.status.counters).toMatchObject({ spoken: 2, superseded: 0, failed: 0, killed: 0 });
  });

  it("speaks each state's phrase; a repainted view is not said again; a training sale never says 支付成功", async () => {
    const r = rig();
    const port = r.start(
      voiceConfig({ espeak: { command: "espeak-ng", voice: "zh", rate: 200 }, volume: 60 }),
    );
    const views: [DisplayView, string][] = [
      [{ type: "confirmOnPhone", amountFen: 500 }, "请顾客在手机上确认"],
      [{ type: "rescan", amountFen: 500, reason: "declined" }, "支付失败，请重新扫码"],
      [{ type: "rescan", amountFen: 500, reason: "notPayment" }, "付款码无法识别，请重新扫码"],
      [{ type: "unknown", amountFen: 500 }, "支付结果未知，请勿重复收款"],
      [{ type: "cancelled", amountFen: 500 }, "交易已取消"],
      [{ type: "waitForCashier" }, "请等待收银员"],
      [{ type: "paid", amountFen: 10_100, training: true }, "培训模式，未实际扣款，一百零一元"],
    ];
    for (const [view, said] of views) {
      port.show(view, "ALIPAY");
      port.show(view, "ALIPAY"); // a repaint
      await waitUntil(() => r.runs().at(-1)?.at(-1) === said, said);
      await idle(port);
    }
    expect(r.runs().map((a) => a.at(-1))).toEqual(views.map(([, said]) => said));
    expect(r.runs()[0]?.slice(0, 6)).toEqual(["-v", "zh", "-s", "200", "-a", "60"]);
  });

  it("says only the prompts voice.prompts leaves on", async () => {
    const r = rig();
    const port = r.start(voiceConfig({ prompts: { ...allPrompts(), scanPlease: false } }));
    port.show({ type: "amountDue", amountFen: 100 }, null);
    port.show({ type: "paid", amountFen: 100 }, null);
    await waitUntil(() => r.runs().length === 1, "one utterance");
    await idle(port);
    expect(r.runs().map((a) => a.at(-1))).toEqual(["支付成功，收款一元"]);
  });
});

describe("clips", () => {
  function clipsDir(root: string, skip: string[] = []): string {
    const dir = join(root, "clips");
    mkdirSync(dir);
    for (const c of VOICE_CLIPS) if (!skip.includes(c)) writeFileSync(join(dir, `${c}.wav`), "");
    return dir;
  }

  it("plays a prompt as one run of the audio command per clip, in order", async () => {
    const r = rig({ name: "aplay" });
    const dir = clipsDir(r.dir);
    const port = r.start(
      voiceConfig({ player: "clips", clips: { command: ["aplay", "-q"], dir, extension: "wav" } }),
    );
    expect(port.status.state).toBe("CONNECTED");
    port.show({ type: "paid", amountFen: 1250 }, "ALIPAY");
    await waitUntil(() => port.status.counters.spoken === 1, "the utterance");
    expect(r.runs()).toEqual(
      ["支付成功", "支付宝", "收款", "十", "二", "点", "五", "元"].map((c) => ["-q", join(dir, `${c}.wav`)]),
    );
  });

  it("missing clips: FAULT PB_VOICE_CLIPS naming them; found again once they are there", async () => {
    const r = rig({ name: "aplay" });
    const dir = clipsDir(r.dir, ["支付成功", "元"]);
    const port = r.start(
      voiceConfig({ player: "clips", clips: { command: ["aplay"], dir, extension: "wav" } }),
      { recheckMs: 30 },
    );
    expect(port.status).toMatchObject({ state: "FAULT", code: "PB_VOICE_CLIPS" });
    expect(port.status.error).toContain(
      `2 of ${VOICE_CLIPS.length} voice clips missing in ${dir}: 支付成功.wav, 元.wav`,
    );
    port.show({ type: "paid", amountFen: 100 }, null);
    expect(port.status.counters.dropped).toBe(1);
    writeFileSync(join(dir, "支付成功.wav"), "");
    writeFileSync(join(dir, "元.wav"), "");
    await waitUntil(() => port.status.state === "CONNECTED", "the clips found");
    expect(r.runs()).toEqual([]);
  });

  it("a clips directory that does not exist is PB_VOICE_CLIPS", () => {
    const r = rig({ name: "aplay" });
    const dir = join(r.dir, "nowhere");
    const port = r.start(
      voiceConfig({ player: "clips", clips: { command: ["aplay"], dir, extension: "wav" } }),
    );
    expect(port.status).toMatchObject({ state: "FAULT", code: "PB_VOICE_CLIPS" });
    expect(port.status.error).toBe(`voice clips directory ${dir} cannot be read (ENOENT)`);
  });
});

describe("never holding up the sale", () => {
  it("a newer prompt replaces the one waiting; the one playing ends; at most one plays", async () => {
    const r = rig();
    r.flag("slow");
    const port = r.start(voiceConfig());
    port.show({ type: "amountDue", amountFen: 100 }, null);
    port.show({ type: "confirmOnPhone", amountFen: 100 }, null);
    port.show({ type: "rescan", amountFen: 100, reason: "expired" }, null);
    port.show({ type: "unknown", amountFen: 100 }, null);
    expect(port.status.playing).toBe(true);
    await waitUntil(() => port.status.counters.spoken === 2, "two utterances");
    await idle(port);
    expect(r.runs().map((a) => a.at(-1))).toEqual(["请扫码，一元", "支付结果未知，请勿重复收款"]);
    expect(port.status.counters.superseded).toBe(2);
  });

  it("a player that hangs is killed after timeoutMs: FAULT, and the next prompt plays as usual", async () => {
    const r = rig();
    r.flag("hang");
    // 1 s: the run after the hung one must not be killed for a slow start on a loaded machine.
    const port = r.start(voiceConfig({ timeoutMs: 1_000 }), { killGraceMs: 100 });
    port.show({ type: "paid", amountFen: 100 }, null);
    port.show({ type: "idle" }, null);
    port.show({ type: "amountDue", amountFen: 200 }, null); // waits behind the hung one
    await waitUntil(() => port.status.counters.killed === 1, "the hung player killed");
    expect(r.states[0]).toMatch(
      /^FAULT: voice player .*espeak-ng did not finish within 1000 ms and was killed/,
    );
    r.flag("hang", false);
    await waitUntil(() => port.status.state === "CONNECTED", "the next prompt played");
    expect(r.runs().map((a) => a.at(-1))).toEqual(["支付成功，收款一元", "请扫码，二元"]);
    expect(port.status.counters).toMatchObject({ killed: 1, spoken: 1 });
    expect(r.states.at(-1)).toBe("CONNECTED");
  });

  it("a player that is not installed: FAULT PB_VOICE_PLAYER, no throw, found again once installed", async () => {
    const r = rig({ install: false });
    const port = r.start(voiceConfig(), { recheckMs: 30 });
    expect(port.status).toMatchObject({ state: "FAULT", code: "PB_VOICE_PLAYER" });
    expect(port.status.error).toBe(`voice player espeak-ng is not in PATH (${r.bin})`);
    expect(() => port.show({ type: "paid", amountFen: 100 }, "WECHAT")).not.toThrow();
    expect(port.status.counters.dropped).toBe(1);
    r.install();
    await waitUntil(() => port.status.state === "CONNECTED", "the player found");
    port.show({ type: "amountDue", amountFen: 300 }, null);
    await waitUntil(() => port.status.counters.spoken === 1, "the prompt");
    expect(r.runs().map((a) => a.at(-1))).toEqual(["请扫码，三元"]);
    expect(r.states).toEqual([`FAULT: ${`voice player espeak-ng is not in PATH (${r.bin})`}`, "CONNECTED"]);
  });

  it("a player that fails (exit 1), or says error on exit 0 as espeak-ng does without a sound card: FAULT with its words; cleared by one that plays", async () => {
    const r = rig();
    r.flag("fail");
    const port = r.start(voiceConfig());
    port.show({ type: "paid", amountFen: 100 }, null);
    await waitUntil(() => port.status.state === "FAULT", "the failure");
    expect(port.status.code).toBe("PB_VOICE_PLAYER");
    expect(port.status.error).toMatch(
      /espeak-ng failed \(exit 1\): aplay: main:831: audio open error: No such file or directory$/,
    );
    r.flag("fail", false);
    r.flag("complain");
    port.show({ type: "amountDue", amountFen: 100 }, null);
    await waitUntil(() => port.status.counters.failed === 2, "the second failure");
    expect(port.status.error).toMatch(/espeak-ng failed \(exit 0\): error: No such file or directory$/);
    r.flag("complain", false);
    port.show({ type: "cancelled", amountFen: 100 }, null);
    await waitUntil(() => port.status.state === "CONNECTED", "a prompt that plays");
    expect(port.status.counters).toMatchObject({ failed: 2, spoken: 1 });
  });

  it("stop() kills a player in the middle of a prompt", async () => {
    const r = rig();
    r.flag("hang");
    const port = r.start(voiceConfig());
    port.show({ type: "paid", amountFen: 100 }, null);
    await waitUntil(() => r.runs().length === 1, "the player started");
    await port.stop();
    expect(port.status.playing).toBe(false);
    expect(r.states).toEqual([]);
  });
});

describe("a payment code is never spoken", () => {
  it("no run of the player, whatever the views, has a digit in what is said (canary)", async () => {
    const r = rig();
    const port = r.start(voiceConfig());
    const amounts = [1, 99, 1250, 100_000_00, 134_567_890];
    for (const amountFen of amounts) {
      for (const view of [
        { type: "amountDue", amountFen },
        { type: "paid", amountFen },
        { type: "unknown", amountFen },
      ] as DisplayView[]) {
        port.show(view, "UNIONPAY");
        await waitUntil(() => !port.status.playing, "the player");
      }
    }
    const said = r.runs().map((a) => a.at(-1) ?? "");
    expect(said.length).toBe(amounts.length * 3);
    for (const s of said) expect(s).not.toMatch(/[0-9]/);
    expect(said).toContain("请扫码，一百三十四万五千六百七十八点九元");
  });
});

const espeak = spawnSync("sh", ["-c", "command -v espeak-ng"], { encoding: "utf8" }).stdout.trim();

describe("espeak-ng itself", () => {
  it.skipIf(espeak === "")(
    "speaks a paid prompt (espeak-ng installed; without a sound card it is FAULT with espeak-ng's own words, never a throw)",
    async () => {
      const port = new VoicePort(voiceConfig(), { clock: systemClock, log: silent });
      ports.push(port);
      port.start();
      expect(port.status.state).toBe("CONNECTED");
      port.show({ type: "paid", amountFen: 1250 }, "WECHAT");
      expect(port.status.playing).toBe(true);
      await waitUntil(() => !port.status.playing, "espeak-ng to end", 10_000);
      const s = port.status;
      if (s.state === "CONNECTED") expect(s.counters.spoken).toBe(1);
      else {
        expect(s.code).toBe("PB_VOICE_PLAYER");
        expect(s.error).toMatch(/espeak-ng failed \(exit \d+\)/);
      }
    },
  );
  if (espeak === "")
    it.skip("espeak-ng is not installed (apt install espeak-ng): the real player is not run", () => {});
});
