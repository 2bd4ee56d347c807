// A lane's voice (语音播报, docs/hardware.md "Voice prompts"): the display's views spoken through
// the configured player (voice-player.ts) as child processes. A second rendering of the DisplayView
// the sale machine already emits (protocols/voice/prompts.ts#voiceForView), so it says only what
// the display shows — a total, a result — and never a payment code: nothing it is given carries one.
//
// It never holds up the sale: `show` and `say` return at once and the player runs on its own.
//   - At most one utterance plays; at most one waits. A newer prompt replaces the waiting one
//     (counted `superseded`): after a fast sale the customer hears the result, not a backlog.
//   - The same view shown again (a repaint) is not said again.
//   - A run still going after `timeoutMs` (monotonic clock) is killed: SIGTERM, SIGKILL 1 s later.
//     The voice is FAULT "did not finish" until a run ends well.
//   - A player that cannot run at all (its command not in PATH, clips missing) is FAULT with a
//     PB_VOICE_* code and looked for again every `recheckMs` (5 s), so installing espeak-ng
//     is picked up without a restart; prompts meanwhile are dropped (counted `dropped`).
//   - A run that fails (exit status, or espeak-ng's "error: …" on a 0 exit) is FAULT with the
//     player's own last line; the next prompt tries again, and one that plays clears it.
// Each change of state is reported once (onState) and logged once; repeated failures are one
// line per window (RepeatLimiter).
import { type ChildProcess, spawn } from "node:child_process";
import type { DeviceState } from "../../protocols/cloud/cloud-messages.js";
import type { DisplayView } from "../../protocols/display/display-view.js";
import type { Scheme } from "../../protocols/payment/scheme.js";
import {
  composeVoice,
  type Utterance,
  type VoicePrompt,
  voiceForView,
} from "../../protocols/voice/prompts.js";
import type { Clock, TimerHandle } from "../clock.js";
import type { VoiceConfig } from "../config/config-types.js";
import type { Logger } from "../log/logger.js";
import { RepeatLimiter } from "../log/repeat-limiter.js";
import {
  checkVoicePlayer,
  describePlayer,
  findCommand,
  type PlayerRun,
  playerCommand,
  playerRuns,
  reportedError,
  type VoiceErrorCode,
} from "./voice-player.js";

/** How often a missing player or missing clips are looked for again. */
export const VOICE_RECHECK_MS = 5_000;
/** After SIGTERM, a player that is still there gets SIGKILL this much later. */
export const VOICE_KILL_GRACE_MS = 1_000;
/** Bytes of a player's stderr kept (its last lines say why it failed). */
const STDERR_KEEP = 4_096;

export interface VoiceCounters {
  /** Utterances played to the end. */
  spoken: number;
  /** Waiting utterances replaced by a newer one. */
  superseded: number;
  /** Prompts dropped while the player could not run at all. */
  dropped: number;
  /** Runs that failed (exit status, error reported, could not start). */
  failed: number;
  /** Runs killed after timeoutMs. */
  killed: number;
}

export interface VoiceStatus {
  state: DeviceState;
  /** Why not CONNECTED ("" when it is). */
  error: string;
  code: VoiceErrorCode | undefined;
  player: VoiceConfig["player"];
  /** "espeak-ng (voice cmn)", "aplay -q, clips in …". */
  describe: string;
  playing: boolean;
  counters: VoiceCounters;
}

export interface VoicePortDeps {
  clock: Clock;
  log: Logger;
  /** PATH the player is looked up in and runs with; default process.env. */
  env?: NodeJS.ProcessEnv;
  recheckMs?: number;
  killGraceMs?: number;
  repeatWindowMs?: number;
}

interface Playing {
  child: ChildProcess;
  timer: TimerHandle;
  killTimer: TimerHandle | undefined;
  timedOut: boolean;
}

export class VoicePort {
  private started = false;
  private lastViewKey: string | undefined;
  private waiting: Utterance | undefined;
  private current: Playing | undefined;
  /** The player cannot run at all (from checkVoicePlayer, or a spawn that found nothing). */
  private missing: { code: VoiceErrorCode; error: string } | undefined;
  /** The last run failed or hung; cleared by one that ends well. */
  private runFault: string | undefined;
  private recheckTimer: TimerHandle | undefined;
  private reported: { state: DeviceState; error: string } = { state: "CONNECTED", error: "" };
  private readonly repeats: RepeatLimiter;
  private readonly env: NodeJS.ProcessEnv;
  readonly counters: VoiceCounters = { spoken: 0, superseded: 0, dropped: 0, failed: 0, killed: 0 };

  constructor(
    readonly config: VoiceConfig,
    private readonly deps: VoicePortDeps,
    private readonly handlers: { onState?(state: DeviceState, error: string): void } = {},
  ) {
    this.env = deps.env ?? process.env;
    this.repeats = new RepeatLimiter(deps.log, deps.clock, deps.repeatWindowMs);
  }

  get status(): VoiceStatus {
    const now = this.effective();
    return {
      ...now,
      code: this.missing?.code ?? (this.runFault !== undefined ? "PB_VOICE_PLAYER" : undefined),
      player: this.config.player,
      describe: describePlayer(this.config),
      playing: this.current !== undefined,
      counters: { ...this.counters },
    };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.recheck();
  }

  /** Stops a run in progress (SIGKILL) and forgets what waits. */
  async stop(): Promise<void> {
    this.started = false;
    this.waiting = undefined;
    this.recheckTimer?.cancel();
    this.recheckTimer = undefined;
    const cur = this.current;
    if (cur) {
      const exited = new Promise<void>((resolve) => cur.child.once("close", () => resolve()));
      killGroup(cur.child, "SIGKILL");
      await exited;
    }
    this.repeats.clearAll();
  }

  /** A view the display shows; said (if it is one of the enabled prompts) unless it is the one said last. */
  show(view: DisplayView, scheme: Scheme | null): void {
    const key = JSON.stringify(view);
    if (key === this.lastViewKey) return; // a repaint, not news
    this.lastViewKey = key;
    const prompt = voiceForView(view, scheme);
    if (prompt) this.say(prompt);
  }

  /** One prompt, if enabled in voice.prompts. Returns at once; the player runs in the background. */
  say(prompt: VoicePrompt): void {
    if (!this.started || !this.config.prompts[prompt.type]) return;
    let utterance: Utterance;
    try {
      utterance = composeVoice(prompt);
    } catch (err) {
      this.repeats.warn(
        "compose",
        { prompt: prompt.type, err: (err as Error).message },
        "voice prompt not said",
      );
      return;
    }
    if (this.missing) {
      this.recheck(); // installed meanwhile?
      if (this.missing) {
        this.counters.dropped++;
        return;
      }
    }
    if (this.current) {
      if (this.waiting) this.counters.superseded++;
      this.waiting = utterance;
      return;
    }
    this.play(utterance);
  }

  private play(utterance: Utterance): void {
    const file = findCommand(playerCommand(this.config), this.env.PATH);
    if (file === undefined) {
      this.recheck();
      this.counters.dropped++;
      return;
    }
    this.deps.log.debug({ clips: utterance.clips.length }, "voice prompt");
    this.runAll(playerRuns(this.config, utterance, file), 0);
  }

  /** Runs `runs[i]`, then the next when it ends well; the utterance ends at the first failure. */
  private runAll(runs: PlayerRun[], i: number): void {
    const run = runs[i];
    if (!run || !this.started) {
      this.ended(run === undefined);
      return;
    }
    this.runOne(run, (ok) => (ok ? this.runAll(runs, i + 1) : this.ended(false)));
  }

  private ended(spoken: boolean): void {
    this.current = undefined;
    if (spoken) this.counters.spoken++;
    const next = this.waiting;
    this.waiting = undefined;
    if (next && this.started) this.play(next);
  }

  private runOne(run: PlayerRun, done: (ok: boolean) => void): void {
    let stderr = "";
    let finished = false;
    // Its own process group (detached): a timeout or stop kills whatever the player started too,
    // which would otherwise keep the stderr pipe open. systemd's cgroup still holds it.
    let child: ChildProcess;
    try {
      child = spawn(run.file, run.args, {
        stdio: ["ignore", "ignore", "pipe"],
        env: this.env,
        detached: true,
      });
    } catch (err) {
      // Arguments the OS cannot take (a NUL in a configured path): never a throw into the sale.
      this.counters.failed++;
      this.failedRun(`voice player ${run.file} could not start: ${(err as Error).message}`);
      done(false);
      return;
    }
    const timer = this.deps.clock.setTimeout(() => this.timedOut(playing), this.config.timeoutMs);
    const playing: Playing = { child, timer, killTimer: undefined, timedOut: false };
    this.current = playing;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    const finish = (ok: boolean) => {
      if (finished) return;
      finished = true;
      timer.cancel();
      playing.killTimer?.cancel();
      done(ok);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      // Could not start (ENOENT, EACCES): the player is gone; look for it again.
      this.counters.failed++;
      if (err.code === "ENOENT" || err.code === "EACCES") {
        this.recheck();
      } else {
        this.failedRun(`voice player ${run.file} could not start: ${err.message}`);
      }
      finish(false);
    });
    child.on("close", (code, signal) => {
      if (finished) return;
      if (!this.started) return finish(false); // killed by stop()
      if (playing.timedOut) {
        this.counters.killed++;
        this.failedRun(
          `voice player ${run.file} did not finish within ${this.config.timeoutMs} ms and was killed (${signal ?? code})`,
        );
        return finish(false);
      }
      const complaint = reportedError(stderr);
      if (code !== 0 || complaint !== undefined) {
        this.counters.failed++;
        const last = complaint ?? stderr.trim().split("\n").at(-1)?.slice(0, 200) ?? "";
        this.failedRun(
          `voice player ${run.file} failed (${code === null ? `signal ${signal}` : `exit ${code}`})${last ? `: ${last}` : ""}`,
        );
        return finish(false);
      }
      if (this.runFault !== undefined) {
        this.runFault = undefined;
        this.repeats.clear("runFailed");
        this.deps.log.info("voice player works again");
        this.report();
      }
      finish(true);
    });
  }

  private timedOut(playing: Playing): void {
    playing.timedOut = true;
    killGroup(playing.child, "SIGTERM");
    playing.killTimer = this.deps.clock.setTimeout(
      () => killGroup(playing.child, "SIGKILL"),
      this.deps.killGraceMs ?? VOICE_KILL_GRACE_MS,
    );
  }

  private failedRun(error: string): void {
    this.runFault = error;
    this.repeats.warn(
      "runFailed",
      { errCode: "PB_VOICE_PLAYER", error },
      "voice prompt not heard; sales go on",
    );
    this.report();
  }

  /** Looks for the player (and clips) now; while missing, again every recheckMs. */
  private recheck(): void {
    this.recheckTimer?.cancel();
    this.recheckTimer = undefined;
    if (!this.started) return;
    const problem = checkVoicePlayer(this.config, this.env.PATH);
    const was = this.missing;
    this.missing = problem ? { code: problem.code, error: problem.error } : undefined;
    if (problem) {
      if (was?.error !== problem.error)
        this.deps.log.warn(
          { errCode: problem.code, error: problem.error, fix: problem.fix },
          "voice unavailable; sales go on without it, retrying in the background",
        );
      this.recheckTimer = this.deps.clock.setTimeout(
        () => this.recheck(),
        this.deps.recheckMs ?? VOICE_RECHECK_MS,
      );
    } else if (was) {
      this.deps.log.info({ player: describePlayer(this.config) }, "voice player found");
    }
    this.report();
  }

  private effective(): { state: DeviceState; error: string } {
    if (this.missing) return { state: "FAULT", error: this.missing.error };
    if (this.runFault !== undefined) return { state: "FAULT", error: this.runFault };
    return { state: "CONNECTED", error: "" };
  }

  private report(): void {
    const now = this.effective();
    if (now.state === this.reported.state && now.error === this.reported.error) return;
    this.reported = now;
    this.handlers.onState?.(now.state, now.error);
  }
}

/** Signals the player's process group (it leads one: spawned detached); the player alone if that fails. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
