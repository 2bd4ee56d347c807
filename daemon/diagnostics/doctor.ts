// `posbridge doctor`: everything on this PC that stops the bridge taking payments, one finding
// per line with its fix. The checks are in checks/ (one per file, run in the order below); this
// file builds what they share (DoctorContext), runs them, and turns the findings into a report,
// its text and its exit code. It runs with or without the daemon: with it, the daemon's own view
// (link state, device states, journal fault, event loop) comes in as DaemonFacts; without it the
// doctor checks what it can itself (it connects to the broker once, reads the journal).
//
// Exit code (DOCTOR_EXIT): 0 nothing wrong, 1 warnings only, 2 at least one error, 3 the doctor
// itself failed (cli/doctor.ts). `--json` prints one DoctorReport (stable; docs/diagnostics.md):
// {
//   "version": 1,
//   "at": 1773450000000,                      wall ms when it ran
//   "config": "/etc/posbridge/posbridge.yaml",
//   "daemon": { "running": true } | { "running": false, "reason": "…" },
//   "user": "posbridge",                      whose access was judged
//   "findings": [ { "id": "device-access", "level": "ok"|"warn"|"error", "subject": "lane-1 scanner",
//                   "code": "PB_PORT_OPEN", "title": "…", "detail": "…", "fix": "…" } ],
//                                             code only when there is one; in check order
//   "summary": { "ok": 9, "warn": 1, "error": 2 },
//   "exitCode": 2
// }
import { execFile } from "node:child_process";
import { statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock } from "../clock.js";
import type { Config } from "../config/config-types.js";
import { type ConfigProblem, loadConfig } from "../config/load-config.js";
import type { NativeImporter } from "../devices/native-modules.js";
import { isBridgeError } from "../errors.js";
import { JOURNAL_FILE, readJournal } from "../journal/journal.js";
import { currentUser, DEFAULT_SERVICE_USER, readAccounts, serviceUser } from "./accounts.js";
import { type BrokerProbe, type ProbeOptions, probeBroker } from "./broker-probe.js";
import { brlttyCheck } from "./checks/brltty.js";
import { brokerCheck } from "./checks/broker.js";
import type {
  Check,
  CommandResult,
  DoctorContext,
  Finding,
  JournalRead,
  JournalUnreadable,
  LaneDeviceFacts,
} from "./checks/check.js";
import { clockSkewCheck } from "./checks/clock-skew.js";
import { clockSaneCheck } from "./checks/clock-sane.js";
import { clockSyncCheck } from "./checks/clock-sync.js";
import { configCheck } from "./checks/config.js";
import { daemonRunningCheck } from "./checks/daemon-running.js";
import { deviceAccessCheck } from "./checks/device-access.js";
import { deviceHoldersCheck } from "./checks/device-holders.js";
import { devicePresentCheck } from "./checks/device-present.js";
import { deviceStateCheck } from "./checks/device-state.js";
import { displayTapCheck } from "./checks/display-tap.js";
import { eventLoopCheck } from "./checks/event-loop.js";
import { journalCheck } from "./checks/journal.js";
import { modemManagerCheck } from "./checks/modem-manager.js";
import { nativeModulesCheck } from "./checks/native-modules.js";
import { serviceUserCheck } from "./checks/service-user.js";
import { stateDirCheck } from "./checks/state-dir.js";
import { voiceCheck } from "./checks/voice.js";
import { type DaemonView, daemonDevice } from "./daemon-facts.js";
import { scanDeviceNodes } from "./device-nodes.js";
import { laneDevices, matchLaneDevice } from "./lane-devices.js";
import { holdersOf, listProcesses, looksLikeBridge } from "./processes.js";
import { type SystemRoots, systemRoots } from "./system-roots.js";

export type { Check, DoctorContext, Finding } from "./checks/check.js";

/** Every check, in the order its findings are printed. */
export const DOCTOR_CHECKS: readonly Check[] = [
  daemonRunningCheck,
  configCheck,
  serviceUserCheck,
  nativeModulesCheck,
  devicePresentCheck,
  deviceAccessCheck,
  deviceHoldersCheck,
  modemManagerCheck,
  brlttyCheck,
  deviceStateCheck,
  voiceCheck,
  displayTapCheck,
  brokerCheck,
  clockSyncCheck,
  clockSaneCheck,
  clockSkewCheck,
  stateDirCheck,
  journalCheck,
  eventLoopCheck,
];

export const DOCTOR_EXIT = { ok: 0, warnings: 1, errors: 2, failed: 3 } as const;

/** The doctor's own broker connection waits at most this long (or mqtt.connectTimeoutMs if shorter). */
export const BROKER_PROBE_MS = 5_000;

export interface DoctorInput {
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** The config, when the caller has it (the daemon itself): not loaded again. */
  config?: Config;
  clock: Clock;
  daemon: DaemonView;
  roots?: Partial<SystemRoots>;
  /** The user the unit runs as; default posbridge. */
  serviceUser?: string;
  brokerTimeoutMs?: number;
  /** Tests: replace what reaches outside the roots. */
  importer?: NativeImporter;
  runCommand?: (file: string, args: string[], timeoutMs: number) => Promise<CommandResult>;
  statfs?: (path: string) => { bsize: number; blocks: number; bavail: number };
  probeBroker?: (o: ProbeOptions) => Promise<BrokerProbe>;
  programTimeMs?: number;
  /** Tests: run these checks instead of DOCTOR_CHECKS. */
  checks?: readonly Check[];
}

export interface DoctorReport {
  version: 1;
  at: number;
  config: string;
  daemon: { running: true } | { running: false; reason: string };
  user: string;
  findings: Finding[];
  summary: { ok: number; warn: number; error: number };
  exitCode: number;
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const ctx = doctorContext(input);
  const findings: Finding[] = [];
  for (const check of input.checks ?? DOCTOR_CHECKS) {
    try {
      findings.push(...(await check.run(ctx)));
    } catch (err) {
      // A check that breaks must not hide the others' findings; its failure is itself one.
      findings.push({
        id: check.id,
        level: "warn",
        subject: "doctor",
        title: `could not check that ${check.title}: ${(err as Error)?.message ?? String(err)}`,
        detail: "",
        fix: "report it with this line",
      });
    }
  }
  const summary = {
    ok: findings.filter((f) => f.level === "ok").length,
    warn: findings.filter((f) => f.level === "warn").length,
    error: findings.filter((f) => f.level === "error").length,
  };
  return {
    version: 1,
    at: input.clock.wallNow(),
    config: input.configPath,
    daemon: input.daemon.running ? { running: true } : { running: false, reason: input.daemon.reason },
    user: ctx.user.user.name,
    findings,
    summary,
    exitCode:
      summary.error > 0 ? DOCTOR_EXIT.errors : summary.warn > 0 ? DOCTOR_EXIT.warnings : DOCTOR_EXIT.ok,
  };
}

const LEVEL_WORDS: Record<Finding["level"], string> = { ok: "OK   ", warn: "WARN ", error: "ERROR" };

/** One line per finding: LEVEL subject: title (detail) — fix: …; then the counts. */
export function formatDoctor(r: DoctorReport): string {
  const lines = r.findings.map(
    (f) =>
      `${LEVEL_WORDS[f.level]} ${f.subject}: ${f.title}${f.code ? ` [${f.code}]` : ""}${f.detail ? ` (${f.detail})` : ""}${f.fix ? ` — fix: ${f.fix}` : ""}`,
  );
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  lines.push(
    `${plural(r.summary.error, "error")}, ${plural(r.summary.warn, "warning")}, ${r.summary.ok} ok (exit ${r.exitCode})`,
  );
  return `${lines.join("\n")}\n`;
}

function doctorContext(input: DoctorInput): DoctorContext {
  const roots = systemRoots(input.roots);
  const accounts = readAccounts(roots.etc);
  const wanted = input.serviceUser ?? DEFAULT_SERVICE_USER;
  const service = serviceUser(accounts, wanted);
  const user = { user: service ?? currentUser(accounts), found: service !== undefined, wanted };
  let config = input.config;
  let configError: DoctorContext["configError"];
  if (!config) {
    try {
      config = loadConfig({ path: input.configPath, env: input.env });
    } catch (err) {
      if (!isBridgeError(err)) throw err;
      configError = {
        code: err.code,
        message: (err.message.split("\n")[0] ?? err.message).replace(/:$/, ""),
        problems: (err.context?.problems ?? []) as ConfigProblem[],
      };
    }
  }
  const daemon = input.daemon;
  const nodes = once(() => scanDeviceNodes(roots, accounts));
  const processes = once(() => listProcesses(roots.proc));
  const exclude = new Set<number>([process.pid]);
  if (daemon.running && daemon.facts.pid !== undefined) exclude.add(daemon.facts.pid);
  const lanes = once((): LaneDeviceFacts[] =>
    (config ? laneDevices(config) : []).map((device) => {
      const match = matchLaneDevice(device, nodes(), roots);
      if (match.status !== "found") return { device, match, holders: [] };
      let stat: LaneDeviceFacts["stat"];
      try {
        const st = statSync(match.realPath);
        stat = { mode: st.mode, uid: st.uid, gid: st.gid };
      } catch {
        // vanished meanwhile
      }
      let holders = holdersOf(roots.proc, match.realPath, { exclude });
      // The daemon without a pid in its answer: a bridge holding a device the daemon says it has
      // open is the daemon itself.
      const own = daemonDevice(daemon, device.laneId, device.role);
      if (daemon.running && daemon.facts.pid === undefined && own?.state === "CONNECTED")
        holders = holders.filter((h) => !looksLikeBridge(h));
      return { device, match, holders, ...(stat ? { stat } : {}) };
    }),
  );
  const journal = once((): JournalRead | JournalUnreadable => {
    const path = join((config as Config).stateDir, JOURNAL_FILE);
    try {
      return { path, ...readJournal(path) };
    } catch (err) {
      if (!isBridgeError(err)) throw err;
      const errno = err.context?.errno;
      return {
        path,
        error: err.message.replace(/ \(PB_[A-Z_]+\)$/, ""),
        code: err.code,
        ...(typeof errno === "string" ? { errno } : {}),
      };
    }
  });
  const probe = once(() =>
    (input.probeBroker ?? probeBroker)({
      config: config as Config,
      timeoutMs: Math.min(input.brokerTimeoutMs ?? BROKER_PROBE_MS, (config as Config).mqtt.connectTimeoutMs),
      nowMs: input.clock.wallNow(),
    }),
  );
  return {
    configPath: input.configPath,
    config,
    configError,
    roots,
    clock: input.clock,
    daemon,
    accounts,
    user,
    nodes,
    laneDevices: lanes,
    processes,
    probeBroker: probe,
    journal,
    importer: input.importer,
    runCommand: input.runCommand ?? runCommand,
    statfs: input.statfs ?? ((path) => statfsSync(path)),
    programTimeMs: input.programTimeMs ?? programTime(),
  };
}

function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = fn();
      done = true;
    }
    return value;
  };
}

function runCommand(file: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout) =>
      resolve({ ok: !err, stdout: stdout ?? "" }),
    );
  });
}

/** When this file was written: the build, or the install that copied it. */
function programTime(): number {
  try {
    return statSync(fileURLToPath(import.meta.url)).mtimeMs;
  } catch {
    return 0;
  }
}
