// scripts/make-voice-clips.mjs, run as `npm run voice-clips` runs it: every clip of VOICE_CLIPS
// rendered by the real espeak-ng (when installed) into WAV files named after the phrase, which a
// clips player then finds complete; a missing espeak-ng and bad usage said clearly.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VOICE_CLIPS } from "../../protocols/voice/prompts.js";
import { checkVoicePlayer } from "../../daemon/devices/voice-player.js";
import { assertBuilt } from "../support/daemon-process.js";

const SCRIPT = new URL("../../scripts/make-voice-clips.mjs", import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8" });
const espeak = spawnSync("sh", ["-c", "command -v espeak-ng"], { encoding: "utf8" }).stdout.trim();
const dir = mkdtempSync(join(tmpdir(), "posbridge-clips-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run voice-clips", () => {
  assertBuilt();

  it.skipIf(espeak === "")("renders every clip with espeak-ng as a WAV named after its phrase", () => {
    const out = join(dir, "voice");
    const r = run("--out", out, "--voice", "cmn", "--rate", "150");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `make-voice-clips: ${VOICE_CLIPS.length} clips in ${out} (espeak-ng voice cmn, rate 150)\n`,
    );
    for (const clip of VOICE_CLIPS) {
      const wav = readFileSync(join(out, `${clip}.wav`));
      expect(wav.subarray(0, 4).toString("latin1"), clip).toBe("RIFF");
      expect(wav.subarray(8, 12).toString("latin1"), clip).toBe("WAVE");
      expect(wav.length, clip).toBeGreaterThan(1000); // sound, not just a header
    }
    // A clips player on this directory finds every clip it needs.
    expect(
      checkVoicePlayer(
        {
          enabled: true,
          player: "clips",
          espeak: { command: "espeak-ng", voice: "cmn", rate: 160 },
          clips: { command: ["/bin/true"], dir: out, extension: "wav" },
          volume: 100,
          timeoutMs: 10_000,
          prompts: {} as never,
        },
        "",
      ),
    ).toBeUndefined();
  });
  if (espeak === "")
    it.skip("espeak-ng is not installed (apt install espeak-ng): no clips rendered for real", () => {});

  it("without espeak-ng: exit 1 saying what to install", () => {
    const r = run("--out", join(dir, "none"), "--espeak", join(dir, "no-such-espeak"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `make-voice-clips: ${join(dir, "no-such-espeak")} not found: apt install espeak-ng (or name it with --espeak PATH) (PB_VOICE_PLAYER)\n`,
    );
  });

  it("bad usage: exit 64 with the usage line", () => {
    for (const args of [["--rate", "fast"], ["--voice", "cmn;id"], ["--loud"]]) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(64);
      expect(r.stderr).toContain("usage: node scripts/make-voice-clips.mjs");
    }
  });
});
