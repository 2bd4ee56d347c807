// Each lane's voice prompts (docs/hardware.md, "Voice prompts"): the player's command is there
// and executable, the clips of a clips player are all there (the same test the daemon's voice
// port makes, daemon/devices/voice-player.ts), and this PC has a sound card to hear them on.
// With the daemon running, a voice it reports FAULT (a player that fails or hangs) is shown in
// its words. Voice never stops a payment, so nothing here is worse than a warning.
import { readFileSync } from "node:fs";
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
