// Each lane's voice prompts (docs/hardware.md, "Voice prompts"): the player's command is there
// and executable, the clips of a clips player are all there (the same test the daemon's voice
// port makes, daemon/devices/voice-player.ts), and this PC has a sound card to hear them on.
// With the daemon running, a voice it reports FAULT (a player that fails or hangs) is shown in
// its words. And the installed unit must let the service reach the sound card: its
// DevicePolicy=closed allows only the serial, hidraw and input classes, and /dev/snd/* belongs
// to group audio, which the service user is not in. Voice never stops a payment, so nothing here
// is worse than a warning.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkVoicePlayer, describePlayer, SERVICE_PATH } from "../../devices/voice-player.js";
import { daemonVoice } from "../daemon-facts.js";
import { type Check, type Finding, finding } from "./check.js";

export const voiceCheck: Check = {
  id: "voice",
  title: "the lanes' voice players can speak",
  run(ctx) {
    if (!ctx.config) return [];
    const out: Finding[] = [];
    const voiced = ctx.config.lanes.flatMap((lane, i) =>
      lane.voice?.enabled ? [{ lane, voice: lane.voice, field: `lanes[${i}].voice` }] : [],
    );
    for (const { lane, voice, field } of voiced) {
      const subject = `${lane.id} voice`;
      const problem = checkVoicePlayer(voice, SERVICE_PATH);
      if (problem) {
        out.push(
          finding(this.id, "warn", subject, `${problem.error}: prompts are not heard (sales go on)`, {
            code: problem.code,
            detail: field,
            fix: problem.fix,
          }),
        );
        continue;
      }
      const d = daemonVoice(ctx.daemon, lane.id);
      if (d && d.state !== "CONNECTED") {
        out.push(
          finding(this.id, "warn", subject, `${d.state} in the daemon: ${d.error}`, {
            code: "PB_VOICE_PLAYER",
            fix: "see docs/errors.md, PB_VOICE_PLAYER: a sound card, group audio, or the player's own message",
          }),
        );
        continue;
      }
      out.push(finding(this.id, "ok", subject, `${describePlayer(voice)} can speak`));
    }
    if (voiced.length > 0) {
      const blocked = unitBlocksSound(ctx.roots.etc, () => {
        const audio = ctx.accounts.groupByName("audio");
        return audio !== undefined && ctx.user.found && !ctx.user.user.groups.includes(audio.gid);
      });
      if (blocked.length > 0)
        out.push(
          finding(
            this.id,
            "warn",
            "voice",
            "the service cannot open the sound card: prompts will not be heard",
            {
              detail: blocked.join("; "),
              fix: `systemctl edit posbridge, add [Service] ${SOUND_DROP_IN.join(" ")}, then systemctl restart posbridge (docs/hardware.md, "Voice prompts")`,
            },
          ),
        );
    }
    if (voiced.length > 0 && !hasSoundCard(ctx.roots.proc))
      out.push(
        finding(this.id, "warn", "voice", "no sound card on this PC: voice prompts cannot be heard", {
          detail: `${join(ctx.roots.proc, "asound", "cards")} lists none`,
          fix: "plug in the speaker (a USB sound card or speaker is a sound card too); `aplay -l` lists them",
        }),
      );
    return out;
  },
};

function hasSoundCard(proc: string): boolean {
  try {
    const cards = readFileSync(join(proc, "asound", "cards"), "utf8");
    return /^\s*\d+\s+\[/m.test(cards);
  } catch {
    return false;
  }
}

/** What a drop-in needs to let the service play sound (docs/hardware.md, "Voice prompts"). */
export const SOUND_DROP_IN = ["SupplementaryGroups=audio", "DeviceAllow=char-alsa rw"];

/**
 * Why the installed unit (with its drop-ins) keeps the service from /dev/snd; empty when it does
 * not, or when no unit is installed (a run by hand).
 */
function unitBlocksSound(etc: string, notInAudio: () => boolean): string[] {
  const unit = join(etc, "systemd", "system", "posbridge.service");
  let text: string;
  try {
    text = readFileSync(unit, "utf8");
  } catch {
    return [];
  }
  const dropIns = `${unit}.d`;
  try {
    for (const f of readdirSync(dropIns)
      .filter((n) => n.endsWith(".conf"))
      .sort())
      text += `\n${readFileSync(join(dropIns, f), "utf8")}`;
  } catch {
    // no drop-ins
  }
  const values = (key: string) =>
    [...text.matchAll(new RegExp(`^\\s*${key}=(.*)$`, "gm"))].map((m) => (m[1] ?? "").trim());
  const out: string[] = [];
  const policy = values("DevicePolicy").at(-1);
  if (
    (policy === "closed" || policy === "strict") &&
    !values("DeviceAllow").some((v) => /char-alsa|\/dev\/snd/.test(v))
  )
    out.push(`${unit}: DevicePolicy=${policy} and no DeviceAllow=char-alsa`);
  if (!values("SupplementaryGroups").some((v) => v.split(/\s+/).includes("audio")) && notInAudio())
    out.push("the service user is not in group audio (owner of /dev/snd/*)");
  return out;
}
