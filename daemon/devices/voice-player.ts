// What a lane's voice player is on this PC (docs/hardware.md, "Voice prompts"): the command that
// speaks, whether it can be run, whether the clips are there, and the child-process runs that say
// one Utterance. Shared by the voice port (daemon/devices/voice-port.ts), `posbridge devices` and
// the doctor's voice check, so the three never disagree about a player.
//
//   espeak:  espeak-ng -v cmn -s 160 -a 100 <text>          one run; the text is Chinese phrases only
//   clips:   aplay -q <dir>/支付成功.wav, aplay -q <dir>/微信.wav …   one run per clip, in order
//
// No shell is involved: the argv is passed as is, so nothing in a phrase or a path is interpreted.
import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { VOICE_CLIPS, type Utterance } from "../../protocols/voice/prompts.js";
import type { VoiceConfig } from "../config/config-types.js";
import type { BridgeErrorCode } from "../errors.js";
import { packageRoot } from "../version.js";

export type VoiceErrorCode = Extract<BridgeErrorCode, "PB_VOICE_PLAYER" | "PB_VOICE_CLIPS">;

/** Why a player cannot speak at all on this PC, and what to do. */
export interface VoiceProblem {
  code: VoiceErrorCode;
  error: string;
  fix: string;
}

/** One child process: the program (resolved) and its arguments. */
export interface PlayerRun {
  file: string;
  args: string[];
}

/** The PATH systemd gives a service (the unit sets none): where the daemon finds the player. */
export const SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where the default clips live: the voice/ directory of the program (/opt/posbridge/voice when installed). */
export function defaultClipsDir(): string {
  return join(packageRoot(), "voice");
}

export function clipsDir(config: Pick<VoiceConfig, "clips">): string {
  return config.clips.dir ?? defaultClipsDir();
}

/** The program the player runs, as configured ("espeak-ng", "aplay", "/usr/bin/paplay"). */
export function playerCommand(config: Pick<VoiceConfig, "player" | "espeak" | "clips">): string {
  return config.player === "espeak" ? config.espeak.command : (config.clips.command[0] ?? "");
}

/** A short description for status lines: "espeak-ng (voice cmn)", "aplay -q, clips in /opt/posbridge/voice". */
export function describePlayer(config: VoiceConfig): string {
  return config.player === "espeak"
    ? `${config.espeak.command} (voice ${config.espeak.voice})`
    : `${config.clips.command.join(" ")}, clips in ${clipsDir(config)}`;
}

/** `command` as the kernel would run it: an absolute path that is executable, or the first match in PATH. */
export function findCommand(command: string, pathEnv: string | undefined): string | undefined {
  if (command.includes("/")) return isAbsolute(command) && executable(command) ? command : undefined;
  for (const dir of (pathEnv ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const INSTALL_HINT: Record<string, string> = {
  "espeak-ng": "apt install espeak-ng",
  aplay: "apt install alsa-utils",
  paplay: "apt install pulseaudio-utils",
};

/** The file of one clip: <dir>/<phrase>.<extension>. */
export function clipFile(config: Pick<VoiceConfig, "clips">, clip: string): string {
  return join(clipsDir(config), `${clip}.${config.clips.extension}`);
}

/** The clips of VOICE_CLIPS that are not in the clips directory (an empty list when all are). */
export function missingClips(config: Pick<VoiceConfig, "clips">): string[] | { dirMissing: string } {
  const dir = clipsDir(config);
  let names: Set<string>;
  try {
    names = new Set(readdirSync(dir));
  } catch (err) {
    return { dirMissing: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  return VOICE_CLIPS.filter((c) => !names.has(`${c}.${config.clips.extension}`));
}

/**
 * Why this player cannot speak on this PC (its command missing or not executable, clips missing),
 * or undefined when it can. Cheap: a few stat calls and one directory read.
 */
export function checkVoicePlayer(config: VoiceConfig, pathEnv: string | undefined): VoiceProblem | undefined {
  const command = playerCommand(config);
  if (findCommand(command, pathEnv) === undefined) {
    const where = command.includes("/")
      ? `${command} does not exist or is not executable`
      : `${command} is not in PATH (${pathEnv ?? ""})`;
    const hint = INSTALL_HINT[command.split("/").at(-1) ?? ""];
    return {
      code: "PB_VOICE_PLAYER",
      error: `voice player ${where}`,
      fix: `${hint ? `${hint}, or ` : "install it, or "}set ${config.player === "espeak" ? "voice.espeak.command" : "voice.clips.command"} to the program's path`,
    };
  }
  if (config.player === "clips") {
    const dir = clipsDir(config);
    const missing = missingClips(config);
    if (!Array.isArray(missing))
      return {
        code: "PB_VOICE_CLIPS",
        error: `voice clips directory ${dir} cannot be read (${missing.dirMissing})`,
        fix: "render the clips with `npm run voice-clips` (scripts/make-voice-clips.mjs) or set voice.clips.dir",
      };
    if (missing.length > 0)
      return {
        code: "PB_VOICE_CLIPS",
        error: `${missing.length} of ${VOICE_CLIPS.length} voice clips missing in ${dir}: ${missing
          .slice(0, 4)
          .map((c) => `${c}.${config.clips.extension}`)
          .join(", ")}${missing.length > 4 ? " …" : ""}`,
        fix: "render the clips with `npm run voice-clips` (scripts/make-voice-clips.mjs), or record the missing ones",
      };
  }
  return undefined;
}

/** The runs that say `utterance`, with the program as found in PATH (`file`). */
export function playerRuns(config: VoiceConfig, utterance: Utterance, file: string): PlayerRun[] {
  if (config.player === "espeak") {
    const { voice, rate } = config.espeak;
    return [{ file, args: ["-v", voice, "-s", String(rate), "-a", String(config.volume), utterance.text] }];
  }
  const options = config.clips.command.slice(1);
  return utterance.clips.map((clip) => ({ file, args: [...options, clipFile(config, clip)] }));
}

/**
 * The player's own complaint in its stderr, if any: espeak-ng exits 0 when it cannot open the
 * sound device but prints "error: …". The last such line, at most 200 characters.
 */
export function reportedError(stderr: string): string | undefined {
  const lines = stderr.split("\n").filter((l) => /^\s*error\b/i.test(l) || /audio open error/i.test(l));
  const last = lines.at(-1)?.trim();
  return last === undefined ? undefined : last.slice(0, 200);
}
