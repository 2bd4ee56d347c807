// JSON Schema of a lane's optional `voice` section (语音播报, docs/hardware.md "Voice prompts"):
// which player speaks the lane's prompts, and which prompts it speaks. Kept apart from schema.ts,
// which places it under `lanes[].voice`; config-types.ts#VoiceConfig is its TypeScript shape.
import type { VoiceConfig, VoicePromptSwitches } from "./config-types.js";

/** The prompts a lane can speak (protocols/voice/prompts.ts, VoicePrompt["type"]), each on by default. */
export const VOICE_PROMPT_TYPES = [
  "scanPlease",
  "paid",
  "confirmOnPhone",
  "failed",
  "unreadableCode",
  "unknown",
  "cancelled",
  "waitForCashier",
  "totalChanged",
] as const;

const PROMPT_WORDS: Record<(typeof VOICE_PROMPT_TYPES)[number], string> = {
  scanPlease: "请扫码 and the amount, when a total is due",
  paid: "支付成功, the scheme and the amount, for a final payment only",
  confirmOnPhone: "请顾客在手机上确认, while the customer must confirm on the phone",
  failed: "支付失败，请重新扫码, after a decline, an expired code or too low a balance",
  unreadableCode: "付款码无法识别，请重新扫码, for a code that is unreadable or not a payment code",
  unknown: "支付结果未知，请勿重复收款, when the result is unknown",
  cancelled: "交易已取消, when the sale is cancelled",
  waitForCashier: "请等待收银员, for a scan with no sale open",
  totalChanged: "金额已变更，请重新扫码 (no-integration mode), when the total changed after the scan",
};

const promptsSchema = {
  type: "object",
  description: "Which prompts the lane speaks; each is on unless set to false.",
  additionalProperties: false,
  default: {},
  properties: Object.fromEntries(
    VOICE_PROMPT_TYPES.map((t) => [
      t,
      { type: "boolean", default: true, description: `${PROMPT_WORDS[t]}.` },
    ]),
  ) as Record<(typeof VOICE_PROMPT_TYPES)[number], { type: "boolean"; default: true; description: string }>,
} as const;

const espeakSchema = {
  type: "object",
  description: "player 'espeak': the text is spoken by espeak-ng (Debian package espeak-ng).",
  additionalProperties: false,
  default: {},
  properties: {
    command: {
      type: "string",
      minLength: 1,
      default: "espeak-ng",
      description: "The espeak-ng program: a name looked up in PATH, or an absolute path.",
    },
    voice: {
      type: "string",
      pattern: "^[A-Za-z0-9_+-]{1,32}$",
      default: "cmn",
      description:
        "espeak-ng voice (-v): 'cmn' (Mandarin; espeak-ng also calls it zh-cmn) or 'zh' (the older voice).",
    },
    rate: {
      type: "integer",
      minimum: 80,
      maximum: 450,
      default: 160,
      description: "Speaking rate (-s) in words per minute.",
    },
  },
} as const;

const clipsSchema = {
  type: "object",
  description:
    "player 'clips': the prompt is played as a sequence of recorded clips, one run of `command` per clip, e.g. 支付成功.wav then 微信.wav, 收款.wav, 十.wav, 二.wav, 点.wav, 五.wav, 元.wav. `npm run voice-clips` renders the set with espeak-ng.",
  additionalProperties: false,
  default: {},
  properties: {
    command: {
      type: "array",
      minItems: 1,
      maxItems: 16,
      items: { type: "string", minLength: 1 },
      default: ["aplay", "-q"],
      description:
        "The audio command and its options, run once per clip with the clip's file appended, without a shell: [aplay, -q] (ALSA), [paplay] (PulseAudio, PipeWire), [paplay, --volume=32768] (half volume). The first word is a name looked up in PATH, or an absolute path.",
    },
    dir: {
      type: "string",
      minLength: 1,
      description:
        "Directory of the clips, one file per phrase named after it (支付成功.wav, 十.wav …); default the voice/ directory of the installed program (/opt/posbridge/voice).",
    },
    extension: {
      type: "string",
      pattern: "^[a-z0-9]{1,5}$",
      default: "wav",
      description: "File extension of the clips, without the dot.",
    },
  },
} as const;

export const voiceSchema = {
  type: "object",
  description:
    "Optional voice prompts (语音播报): the lane speaks what its display shows — 请扫码 and the total, 支付成功 with the scheme and amount, a failure, an unknown result — through espeak-ng or recorded clips. Never blocks a sale, never speaks a payment code (docs/hardware.md).",
  additionalProperties: false,
  properties: {
    enabled: {
      type: "boolean",
      default: true,
      description: "false keeps the section but speaks nothing.",
    },
    player: {
      type: "string",
      enum: ["espeak", "clips"],
      default: "espeak",
      description:
        "'espeak': text to speech with espeak-ng; 'clips': recorded clips played by an audio command.",
    },
    espeak: espeakSchema,
    clips: clipsSchema,
    volume: {
      type: "integer",
      minimum: 0,
      maximum: 200,
      default: 100,
      description:
        "player 'espeak': espeak-ng's amplitude (-a), 100 its normal loudness. For clips, set the volume in the command (paplay --volume=…) or the mixer (amixer).",
    },
    timeoutMs: {
      type: "integer",
      minimum: 1000,
      maximum: 60000,
      default: 10000,
      description:
        "A player run that has not ended after this long is killed (a hung sound device), in ms; the next prompt plays as usual.",
    },
    prompts: promptsSchema,
  },
} as const;

// Compile-time drift check against config-types.ts (as in schema.ts).
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : false;
type Props<S> = S extends { properties: infer P } ? P : never;
type Assert<T extends true> = T;
export type VoiceSchemaMatchesTypes = [
  Assert<SameKeys<Props<typeof voiceSchema>, VoiceConfig>>,
  Assert<SameKeys<Props<typeof espeakSchema>, VoiceConfig["espeak"]>>,
  Assert<SameKeys<Props<typeof clipsSchema>, VoiceConfig["clips"]>>,
  Assert<SameKeys<Props<typeof promptsSchema>, VoicePromptSwitches>>,
];
