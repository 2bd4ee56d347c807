#!/usr/bin/env node
// Renders every voice clip (VOICE_CLIPS of protocols/voice/prompts.ts: the fixed phrases, the
// scheme names and the numerals) to a WAV file with espeak-ng, named after the phrase —
// 支付成功.wav, 微信.wav, 十.wav … — for lanes with `voice.player: clips` (docs/hardware.md,
// "Voice prompts"). Run after `npm run build`:
//
//   npm run voice-clips                        writes ./voice/, which `posbridge install` ships
//   node scripts/make-voice-clips.mjs [--out DIR] [--voice cmn] [--rate 160] [--espeak espeak-ng]
//
// Exit 0: every clip written; 1: espeak-ng missing or failing (the message says which clip and
// why); 64: bad usage. Existing files are replaced, others in DIR are left alone.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE =
  "usage: node scripts/make-voice-clips.mjs [--out DIR] [--voice cmn|zh] [--rate 80..450] [--espeak PROGRAM]";

let opts;
try {
  opts = parseArgs({
    options: {
      out: { type: "string", default: join(root, "voice") },
      voice: { type: "string", default: "cmn" },
      rate: { type: "string", default: "160" },
      espeak: { type: "string", default: "espeak-ng" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  console.error(`make-voice-clips: ${err.message}\n${USAGE}`);
  process.exit(64);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const rate = Number(opts.rate);
if (!Number.isInteger(rate) || rate < 80 || rate > 450) {
  console.error(
    `make-voice-clips: --rate must be a whole number of words per minute from 80 to 450\n${USAGE}`,
  );
  process.exit(64);
}
if (!/^[A-Za-z0-9_+-]{1,32}$/.test(opts.voice)) {
  console.error(`make-voice-clips: --voice must be an espeak-ng voice name such as cmn or zh\n${USAGE}`);
  process.exit(64);
}

const prompts = join(root, "build/protocols/voice/prompts.js");
if (!existsSync(prompts)) {
  console.error(`make-voice-clips: ${prompts} is missing: run npm run build first`);
  process.exit(1);
}
const { VOICE_CLIPS } = await import(prompts);

mkdirSync(opts.out, { recursive: true });
for (const clip of VOICE_CLIPS) {
  const file = join(opts.out, `${clip}.wav`);
  const r = spawnSync(opts.espeak, ["-v", opts.voice, "-s", String(rate), "-w", file, clip], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.error?.code === "ENOENT") {
    console.error(
      `make-voice-clips: ${opts.espeak} not found: apt install espeak-ng (or name it with --espeak PATH) (PB_VOICE_PLAYER)`,
    );
    process.exit(1);
  }
  const why = r.error?.message ?? (r.status !== 0 ? `exit ${r.status ?? r.signal}` : "");
  const written = existsSync(file) && statSync(file).size > 44; // more than a WAV header
  if (why || !written) {
    const said = (r.stderr ?? "").trim().split("\n").at(-1) ?? "";
    console.error(
      `make-voice-clips: ${opts.espeak} did not render ${clip}: ${why || "no sound written"}${said ? ` (${said})` : ""}`,
    );
    process.exit(1);
  }
}
console.log(
  `make-voice-clips: ${VOICE_CLIPS.length} clips in ${opts.out} (espeak-ng voice ${opts.voice}, rate ${rate})`,
);
