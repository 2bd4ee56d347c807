// A lane's `voice` section (daemon/config/voice-schema.ts): its defaults, and errors that name the
// field and end the daemon with exit 78 (EX_CONFIG).
import { describe, expect, it } from "vitest";
import { type ConfigProblem, exitCodeFor, loadConfig } from "../../../daemon/config/load-config.js";
import { VOICE_PROMPT_TYPES } from "../../../daemon/config/voice-schema.js";
import { type BridgeError, isBridgeError } from "../../../daemon/errors.js";

const withVoice = (voice: string) => `
store: store-1
bridge: bridge-1
mqtt: { url: "mqtt://localhost:1883" }
lanes:
  - id: lane-1
    terminal: { path: /dev/ttyUSB0 }
    scanner: { path: /dev/ttyUSB1 }
${voice.replace(/^/gm, "    ")}
`;

const load = (yaml: string) =>
  loadConfig({ path: "/etc/posbridge/posbridge.yaml", env: {}, readFile: () => yaml });

function problemsOf(yaml: string): { problems: ConfigProblem[]; exit: number } {
  try {
    load(yaml);
  } catch (err) {
    expect(isBridgeError(err, "PB_CONFIG_INVALID"), String(err)).toBe(true);
    return { problems: (err as BridgeError).context?.problems as ConfigProblem[], exit: exitCodeFor(err) };
  }
  throw new Error("the config loaded");
}

describe("voice config", () => {
  it("no section: the lane is silent", () => {
    expect(load(withVoice("")).lanes[0]?.voice).toBeUndefined();
  });

  it("an empty section: espeak-ng, voice cmn, every prompt on", () => {
    const voice = load(withVoice("voice: {}")).lanes[0]?.voice;
    expect(voice).toEqual({
      enabled: true,
      player: "espeak",
      espeak: { command: "espeak-ng", voice: "cmn", rate: 160 },
      clips: { command: ["aplay", "-q"], extension: "wav" },
      volume: 100,
      timeoutMs: 10000,
      prompts: Object.fromEntries(VOICE_PROMPT_TYPES.map((t) => [t, true])),
    });
  });

  it("clips with paplay from a directory, some prompts off", () => {
    const voice = load(
      withVoice(`voice:
  player: clips
  clips: { command: [paplay, "--volume=32768"], dir: /srv/voice }
  prompts: { scanPlease: false, confirmOnPhone: false }`),
    ).lanes[0]?.voice;
    expect(voice?.clips).toEqual({
      command: ["paplay", "--volume=32768"],
      dir: "/srv/voice",
      extension: "wav",
    });
    expect(voice?.prompts).toMatchObject({
      scanPlease: false,
      confirmOnPhone: false,
      paid: true,
      unknown: true,
    });
  });

  it("every wrong field is named, in one pass; exit 78", () => {
    const { problems, exit } = problemsOf(
      withVoice(`voice:
  player: tts
  espeak: { rate: 20, voice: "cmn; rm -rf /" }
  clips: { command: [] }
  volume: 300
  timeoutMs: 100
  prompts: { paid: yes please, sucess: true }`),
    );
    expect(exit).toBe(78);
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        "lanes[0].voice.player",
        "lanes[0].voice.espeak.rate",
        "lanes[0].voice.espeak.voice",
        "lanes[0].voice.clips.command",
        "lanes[0].voice.volume",
        "lanes[0].voice.timeoutMs",
        "lanes[0].voice.prompts.paid",
        "lanes[0].voice.prompts.sucess",
      ].sort(),
    );
    expect(problems.find((p) => p.path === "lanes[0].voice.player")?.message).toContain("espeak");
    expect(problems.find((p) => p.path === "lanes[0].voice.prompts.sucess")?.message).toContain(
      "known: scanPlease, paid,",
    );
  });
});
