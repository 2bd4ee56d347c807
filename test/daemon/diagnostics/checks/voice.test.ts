// The voice findings of `doctor` and the voice lines of `devices`: a player that is there or not,
// clips complete or not, a sound card or none, and the daemon's own word on a voice it runs.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VOICE_CLIPS } from "../../../../protocols/voice/prompts.js";
import { voiceCheck } from "../../../../daemon/diagnostics/checks/voice.js";
import { formatDevices, runDevices } from "../../../../daemon/diagnostics/devices.js";
import { fakeSystem, STORE_PC_ACCOUNTS } from "../fake-system.js";
import { findingsOf, harness, lines, NOT_RUNNING, runningDaemon, testConfig } from "../doctor-harness.js";

const tools = mkdtempSync(join(tmpdir(), "pb-voice-tools-"));
const player = join(tools, "espeak-ng");
writeFileSync(player, "#!/bin/sh\nexit 0\n");
chmodSync(player, 0o755);
const clips = join(tools, "clips");
mkdirSync(clips);
for (const c of VOICE_CLIPS.slice(1)) writeFileSync(join(clips, `${c}.wav`), "");

const lane = (id: string, voice: string) =>
  `  - id: ${id}\n    terminal: { path: /dev/ttyUSB0${id} }\n    scanner: { path: /dev/ttyACM0${id} }\n    voice: ${voice}\n`;

function withCards(cards: string | undefined) {
  const sys = fakeSystem();
  if (cards !== undefined) {
    mkdirSync(join(sys.roots.proc, "asound"), { recursive: true });
    writeFileSync(join(sys.roots.proc, "asound", "cards"), cards);
  }
  return sys;
}

const CARD =
  " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 33\n";

describe("doctor: voice", () => {
  it("a player that is there, one that is not, clips missing, a voice off: one finding per voiced lane", async () => {
    const config = testConfig(
      lane("l1", `{ espeak: { command: ${player} } }`) +
        lane("l2", "{ espeak: { command: /opt/none/espeak-ng } }") +
        lane("l3", `{ player: clips, clips: { command: [${player}], dir: ${clips} } }`) +
        lane("l4", "{ enabled: false, espeak: { command: /opt/none/espeak-ng } }"),
    );
    const f = await findingsOf(voiceCheck, harness(withCards(CARD), { config }).input);
    expect(lines(f)).toEqual([
      `ok l1 voice: ${player} (voice cmn) can speak`,
      "warn l2 voice: voice player /opt/none/espeak-ng does not exist or is not executable: prompts are not heard (sales go on)",
      `warn l3 voice: 1 of ${VOICE_CLIPS.length} voice clips missing in ${clips}: ${VOICE_CLIPS[0]}.wav: prompts are not heard (sales go on)`,
    ]);
    expect(f[1]).toMatchObject({
      code: "PB_VOICE_PLAYER",
      detail: "lanes[1].voice",
      fix: "apt install espeak-ng, or set voice.espeak.command to the program's path",
    });
    expect(f[2]).toMatchObject({ code: "PB_VOICE_CLIPS", detail: "lanes[2].voice" });
  });

  it("no sound card: a warning; no voiced lane: nothing at all", async () => {
    const voiced = testConfig(lane("l1", `{ espeak: { command: ${player} } }`));
    expect(
      lines(await findingsOf(voiceCheck, harness(withCards(undefined), { config: voiced }).input)),
    ).toEqual([
      `ok l1 voice: ${player} (voice cmn) can speak`,
      "warn voice: no sound card on this PC: voice prompts cannot be heard",
    ]);
    expect(
      lines(
        await findingsOf(voiceCheck, harness(withCards("--- no soundcards ---\n"), { config: voiced }).input),
      ),
    ).toContain("warn voice: no sound card on this PC: voice prompts cannot be heard");
    const silent = testConfig(
      "  - id: l1\n    terminal: { path: /dev/ttyUSB0 }\n    scanner: { path: /dev/ttyACM0 }\n",
    );
    expect(await findingsOf(voiceCheck, harness(withCards(undefined), { config: silent }).input)).toEqual([]);
  });

  it("the daemon running: a voice it reports FAULT is shown in its words", async () => {
    const config = testConfig(lane("l1", `{ espeak: { command: ${player} } }`));
    const daemon = runningDaemon({
      lanes: [
        {
          id: "l1",
          devices: {},
          voice: {
            state: "FAULT",
            error: `voice player ${player} failed (exit 0): error: No such file or directory`,
          },
        },
      ],
    });
    expect(lines(await findingsOf(voiceCheck, harness(withCards(CARD), { config, daemon }).input))).toEqual([
      `warn l1 voice: FAULT in the daemon: voice player ${player} failed (exit 0): error: No such file or directory`,
    ]);
  });
});

describe("doctor: the installed unit and the sound card", () => {
  const UNIT = readFileSync(new URL("../../../../systemd/posbridge.service", import.meta.url), "utf8");
  function installed(dropIn?: string) {
    const sys = withCards(CARD);
    sys.accounts(STORE_PC_ACCOUNTS.passwd, [...STORE_PC_ACCOUNTS.group, "audio:x:29:cashier"]);
    const dir = join(sys.roots.etc, "systemd", "system");
    mkdirSync(join(dir, "posbridge.service.d"), { recursive: true });
    writeFileSync(join(dir, "posbridge.service"), UNIT);
    if (dropIn) writeFileSync(join(dir, "posbridge.service.d", "override.conf"), dropIn);
    return sys;
  }
  const config = testConfig(lane("l1", `{ espeak: { command: ${player} } }`));

  it("the shipped unit (DevicePolicy=closed, no group audio) keeps the service from the sound card", async () => {
    const f = await findingsOf(voiceCheck, harness(installed(), { config }).input);
    expect(lines(f)).toContain(
      "warn voice: the service cannot open the sound card: prompts will not be heard",
    );
    const w = f.find((x) => x.title.startsWith("the service cannot"));
    expect(w?.detail).toContain("DevicePolicy=closed and no DeviceAllow=char-alsa");
    expect(w?.detail).toContain("the service user is not in group audio");
    expect(w?.fix).toContain("SupplementaryGroups=audio DeviceAllow=char-alsa rw");
  });

  it("a drop-in that adds both: nothing to say", async () => {
    const sys = installed("[Service]\nSupplementaryGroups=audio\nDeviceAllow=char-alsa rw\n");
    expect(lines(await findingsOf(voiceCheck, harness(sys, { config }).input))).toEqual([
      `ok l1 voice: ${player} (voice cmn) can speak`,
    ]);
  });
});

describe("devices: voice", () => {
  it("lists each lane's voice player, what is missing, and the daemon's state", async () => {
    const sys = withCards(CARD);
    const config = testConfig(
      lane("l1", `{ espeak: { command: ${player} } }`) +
        lane("l2", "{ player: clips, clips: { dir: /nowhere } }") +
        lane("l3", "{ enabled: false }"),
    );
    const report = await runDevices({
      config,
      configPath: "test.yaml",
      configProblem: "",
      roots: sys.roots,
      daemon: runningDaemon({ lanes: [{ id: "l1", devices: {}, voice: { state: "CONNECTED", error: "" } }] }),
    });
    expect(report.voice).toEqual([
      {
        subject: "l1 voice",
        laneId: "l1",
        field: "lanes[0].voice",
        player: "espeak",
        status: "ok",
        text: `${player} (voice cmn)`,
        daemon: { state: "CONNECTED", error: "" },
      },
      expect.objectContaining({ subject: "l2 voice", status: "missing", player: "clips" }),
      {
        subject: "l3 voice",
        laneId: "l3",
        field: "lanes[2].voice",
        player: "espeak",
        status: "off",
        text: "off (voice.enabled: false)",
      },
    ]);
    // aplay is found in the service's PATH or it is not: either way the line says which.
    expect(report.voice[1]?.code).toMatch(/^PB_VOICE_(PLAYER|CLIPS)$/);
    const text = formatDevices(report);
    // Aligned with the lane devices above them ("l1 terminal").
    expect(text).toContain(`  l1 voice     ${player} (voice cmn) [daemon: CONNECTED]\n`);
    expect(text).toContain("  l3 voice     off (voice.enabled: false)\n");
    expect(
      (
        await runDevices({
          config,
          configPath: "t",
          configProblem: "",
          roots: sys.roots,
          daemon: NOT_RUNNING,
        })
      ).voice[0],
    ).not.toHaveProperty("daemon");
  });
});
