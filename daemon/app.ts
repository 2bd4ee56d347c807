// The composition root (style-examples.md §2 item 7): builds the MQTT link, the RPC layer and
// the lanes from one frozen config, starts them in order and stops them in reverse.
import { join } from "node:path";
import type { BridgeStatusView } from "../protocols/cloud/cloud-messages.js";
import { hexCode } from "../protocols/cloud/connack.js";
import { bridgeTopics } from "../protocols/cloud/topics.js";
import type { SaleSettings } from "../protocols/sale/sale-types.js";
import { auditEntriesOf } from "./audit/audit-derive.js";
import { type AuditEntry, describeEntry } from "./audit/audit-entry.js";
import { AUDIT_DIR } from "./audit/audit-file.js";
import { AuditTrail } from "./audit/audit-trail.js";
import { configHash } from "./audit/config-hash.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { encodeEvent, encodeStatus } from "./cloud/proto-codec.js";
import { MqttLink } from "./cloud/mqtt-link.js";
import { CloudRpc } from "./cloud/rpc.js";
import type { Config } from "./config/config-types.js";
import { nativeSerialOpener, type SerialOpener } from "./devices/serial-binding.js";
import { ClockWatch, describeStep } from "./health/clock-watch.js";
import { ulid } from "./ids.js";
import { Journal, type JournalHealth } from "./journal/journal.js";
import { type CrashPoint, crashPointsFromEnv } from "./lanes/crash-points.js";
import { Lane, type LaneDeps } from "./lanes/lane.js";
import { loadedFrom } from "./load-info.js";
import { TrainingCloud } from "./lanes/training-cloud.js";
import { stateChannel } from "./diagnostics/channels.js";
import { laneLogger, type Logger } from "./log/logger.js";

export const COUNTERS_INTERVAL_MS = 60_000;
/** The same broker refusal is sent as an alarm event at most this often. */
export const ALARM_REPEAT_MS = 60_000;

export interface AppDeps {
  config: Config;
  log: Logger;
  version: string;
  clock?: Clock;
  opener?: SerialOpener;
  random?: () => number;
  /** Test-only crash points; default from PB_TEST_CRASH_AT (daemon/lanes/crash-points.ts). */
  crashPoint?: CrashPoint;
}

export interface App {
  /** Who and what this bridge is, for diagnostics. `startedAt`: wall ms createApp ran. */
  readonly info: { version: string; store: string; bridge: string; startedAt: number };
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): BridgeStatusView;
  lanes: readonly Lane[];
  link: MqttLink;
  rpc: CloudRpc;
  journal: Journal;
  audit: AuditTrail;
  /** The simulated cloud of training sales (posbridge test sale). */
  trainingCloud: TrainingCloud;
}

const DAY_MS = 86_400_000;
/** How often the journal is checked for compaction and purge. */
export const COMPACT_CHECK_MS = 3_600_000;

/** P/event kinds that are also audit entries (every alarm, its clearing, clock jumps). */
const AUDITED_EVENTS: Readonly<Record<string, (laneId: string, detail: string) => AuditEntry>> = {
  alarm: (laneId, detail) => ({ type: "alarm", laneId, detail }),
  alarm_cleared: (laneId, detail) => ({ type: "alarmCleared", laneId, detail }),
  clock_jump: (_laneId, detail) => ({ type: "clockJump", detail }),
};

export function createApp(deps: AppDeps): App {
  const { config, log, version } = deps;
  const clock = deps.clock ?? systemClock;
  const opener = deps.opener ?? nativeSerialOpener();
  const sinceMs = clock.wallNow();
  const topics = bridgeTopics(config.mqtt.topicPrefix, config.store, config.bridge);
  const sale = config.sale;
  const settings: SaleSettings = {
    scanTimeoutMs: sale.scanTimeoutMs,
    codeLifetimeMs: sale.codeLifetimeMs,
    maxAmountFen: sale.maxAmountFen,
    schemes: sale.schemes,
    resultDisplayMs: 8_000,
    answerAfterRestart: sale.answerAfterRestart,
    attempt: {
      firstQueryMs: sale.firstQueryMs,
      queryIntervalMs: sale.queryIntervalMs,
      reverseAfterMs: sale.reverseAfterMs,
      reverseRetryMs: sale.reverseRetryMs,
      maxReversals: sale.maxReversals,
      reconcileIntervalMs: sale.reconcileIntervalMs,
      sendWindowMs: sale.sendWindowMs,
    },
    refund: {
      retryMs: sale.refundRetryMs,
      answerWithinMs: sale.refundAnswerWithinMs,
      reconcileIntervalMs: sale.reconcileIntervalMs,
      maxRefundsPerSale: sale.maxRefundsPerSale,
    },
  };
  // The journal's health reaches every lane (and the fleet) from here; lanes exist only later.
  let onJournalHealth: (health: JournalHealth | null) => void = () => {};
  // Opened before anything else: a bridge that cannot keep a journal must not take payments.
  const journal = Journal.open({
    dir: config.stateDir,
    retentionMs: config.journal.retentionDays * DAY_MS,
    checkIntervalMs: config.journal.checkIntervalMs,
    clock,
    log: log.child({ component: "journal" }),
    onHealth: (health) => onJournalHealth(health),
  });
  log.info({ journal: journal.loadReport, ...journal.stats() }, "journal opened");
  const crashPoint = deps.crashPoint ?? crashPointsFromEnv(process.env);
  // The audit trail, apart from the journal (never compacted with it); its faults reach the fleet
  // from here once the link exists. An audit fault is not itself audited (it could not be).
  let onAuditFault: (detail: string | null) => void = () => {};
  const audit = AuditTrail.open({
    dir: join(config.stateDir, AUDIT_DIR),
    retentionMs: config.audit.retentionDays * DAY_MS,
    maxFileBytes: config.audit.maxFileBytes,
    clock,
    log: log.child({ component: "audit" }),
    onFault: (error) => onAuditFault(error ? `audit trail cannot be written: ${error.message}` : null),
  });
  // The trail outlives a lost journal file: earlier starts in it mean this is no first start.
  if (journal.loadReport.missing && audit.hadEntries)
    log.error(
      { stateDir: config.stateDir, errCode: "PB_JOURNAL_GONE" },
      "no journal was found, but the audit trail holds earlier starts: the journal was lost, and sales made before now are unknown to this bridge (the cloud refuses to charge their orderRefs again: docs/guarantees.md)",
    );
  else if (journal.loadReport.missing)
    log.warn(
      { stateDir: config.stateDir },
      "no journal was found: a new one was started. Normal on the first start; otherwise the state directory was lost, and sales made before now are unknown to this bridge (the cloud refuses to charge their orderRefs again: docs/guarantees.md)",
    );

  const lanes: Lane[] = [];
  const status = (online: boolean, reason: string): BridgeStatusView => ({
    online,
    version,
    sinceMs,
    lanes: lanes.map((l) => l.status()),
    reason,
  });
  const link = new MqttLink({
    config: config.mqtt,
    clientId: config.mqtt.clientId ?? `posbridge-${config.store}-${config.bridge}`,
    topics,
    clock,
    log: log.child({ component: "mqtt" }),
    ...(deps.random ? { random: deps.random } : {}),
    statusPayload: (online, reason) => encodeStatus(status(online, reason)),
  });
  const rpc = new CloudRpc({
    link,
    clock,
    log: log.child({ component: "rpc" }),
    newId: () => ulid(clock.wallNow()),
    // A result whose request id is unknown still reaches the lane of an attempt the journal knows.
    laneOfAttempt: (attemptId) => {
      const laneId = journal.attempt(attemptId)?.laneId;
      return lanes.some((l) => l.id === laneId) ? laneId : undefined;
    },
  });

  // Training sales' cloud: in-process, no network client, no configuration (lanes/training-cloud.ts).
  const trainingCloud = new TrainingCloud({
    clock,
    log: log.child({ component: "training" }),
    newId: () => ulid(clock.wallNow()),
  });

  const sendEvent = (laneId: string, kind: string, detail: string) =>
    link.publishEvent(encodeEvent({ atMs: clock.wallNow(), laneId, kind, detail }));
  /** An event for the fleet; alarms and clock jumps go to the audit trail first. */
  const publishEvent = (laneId: string, kind: string, detail: string) => {
    const entry = AUDITED_EVENTS[kind];
    if (entry) audit.append(entry(laneId, detail));
    sendEvent(laneId, kind, detail);
  };
  onAuditFault = (detail) =>
    detail ? sendEvent("", "alarm", detail) : sendEvent("", "alarm_cleared", "audit trail written again");
  /** A lane step's durable records, as audit entries; refunds also go to the fleet (kind "refund"). */
  const auditStep =
    (laneId: string): LaneDeps["onJournaled"] =>
    (cause, writes) => {
      for (const entry of auditEntriesOf(laneId, cause, writes)) {
        audit.append(entry);
        if (entry.type === "refundRequested" || entry.type === "refundEnded")
          sendEvent(laneId, "refund", describeEntry(entry));
      }
    };

  for (const laneConfig of config.lanes) {
    lanes.push(
      new Lane(laneConfig, {
        settings,
        opener,
        clock,
        log: laneLogger(log, laneConfig.id),
        rpc,
        trainingCloud,
        journal,
        crashPoint,
        newId: () => ulid(clock.wallNow()),
        cloudOnline: () => link.isOnline,
        onStatusChange: () => link.publishStatus(),
        onEvent: (kind, detail) => publishEvent(laneConfig.id, kind, detail),
        onJournaled: auditStep(laneConfig.id),
        repeatWindowMs: config.log.repeatWindowMs,
      }),
    );
  }
  // One fault of the shared journal stops every lane: a bridge-wide alarm, the lanes refuse new
  // sales with the storage error, the status shows it; once restored, the lanes resume.
  onJournalHealth = (health) => {
    if (stateChannel.hasSubscribers)
      stateChannel.publish({
        type: "state",
        at: clock.wallNow(),
        lane: "",
        subject: "journal",
        to: health ? health.fault : "ok",
        detail: health ? health.error.message : "restored",
      });
    if (health) {
      const detail = `journal ${health.fault}: ${health.error.message}`;
      publishEvent("", "alarm", detail);
      for (const lane of lanes) lane.setJournalHealth(health.fault, detail);
    } else {
      publishEvent("", "alarm_cleared", "journal restored from memory; sales resume");
      for (const lane of lanes) lane.setJournalHealth(null, "journal restored");
    }
    link.publishStatus();
  };
  const byId = new Map(lanes.map((l) => [l.id, l]));
  rpc.onResult((laneId, response, answers) => byId.get(laneId)?.onCloudResponse(response, answers));
  trainingCloud.onResult((laneId, response, answers) => byId.get(laneId)?.onCloudResponse(response, answers));
  // Lanes follow the link; a refusal gives the register its reason code instead of "offline",
  // and goes to the fleet as an alarm (identical ones at most once a minute).
  const alarms = new Map<string, number>();
  let stopping = false;
  link.onStatusChange((s) => {
    // A lane that is stopping (or stopped) must not be stepped again: it would arm timers that
    // outlive the journal.
    if (stopping) return;
    if (stateChannel.hasSubscribers)
      stateChannel.publish({
        type: "state",
        at: clock.wallNow(),
        lane: "",
        subject: "link",
        to: s.state,
        detail: s.code ? `${s.reason} (${s.code})` : s.reason,
      });
    const refusal =
      s.state === "refused" ? (s.reasonCode !== undefined ? hexCode(s.reasonCode) : (s.code ?? "")) : "";
    for (const lane of lanes) lane.setCloudOnline(s.state === "online", refusal);
    if (s.state !== "refused") return;
    const detail = `${s.reason} (${s.code})`;
    const last = alarms.get(detail);
    if (last !== undefined && clock.monoNow() - last < ALARM_REPEAT_MS) return;
    alarms.set(detail, clock.monoNow());
    publishEvent("", "alarm", detail);
  });

  // A wall clock that jumps is logged and told to the fleet (bridge-wide event: no lane).
  const clockWatch = new ClockWatch({
    clock,
    log: log.child({ component: "clock" }),
    onJump: (jump) =>
      publishEvent(
        "",
        "clock_jump",
        `wall clock stepped ${describeStep(jump.stepMs)} to ${new Date(jump.toWall).toISOString()}`,
      ),
  });

  // Counters go out on P/event once a minute, for the fleet's dashboards.
  let countersTimer: TimerHandle | undefined;
  const publishCounters = () => {
    for (const lane of lanes) publishEvent(lane.id, "counters", lane.countersText());
    countersTimer = clock.setTimeout(publishCounters, COUNTERS_INTERVAL_MS);
  };
  // A stats line for technicians and soak tests: memory, what mqtt.js holds, the journal.
  let statsTimer: TimerHandle | undefined;
  const logStats = () => {
    const mem = process.memoryUsage();
    const j = journal.stats();
    log.info(
      {
        stats: {
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
          mqttQueue: link.queueDepth(),
          online: link.isOnline,
          // CONNACK'd but not yet online: mqtt.js holds the SUBSCRIBE for responses.
          mqttConnected: link.isConnected,
          rpcPending: rpc.pendingCount,
          journalBytes: j.fileBytes,
          journalRecords: j.liveRecords,
          journalFault: journal.health()?.fault ?? null,
          pendingAttempts: lanes.reduce((n, l) => n + l.pending().attempts.length, 0),
          pendingRefunds: lanes.reduce((n, l) => n + l.pending().refunds.length, 0),
        },
      },
      "stats",
    );
    statsTimer = clock.setTimeout(logStats, config.log.statsIntervalMs);
  };
  // The journal's file is checked (removed? replaced?) and, in a fault, restored on this beat.
  let journalCheckTimer: TimerHandle | undefined;
  const checkJournal = () => {
    try {
      journal.check();
      journal.maintain(); // compaction once the file outgrew its live records; snapshots (docs/journal.md)
    } catch (err) {
      log.error({ err: (err as Error).message }, "journal check failed");
    }
    journalCheckTimer = clock.setTimeout(checkJournal, config.journal.checkIntervalMs);
  };
  let compactTimer: TimerHandle | undefined;
  const compact = () => {
    try {
      if (journal.maybeCompact()) log.info(journal.stats(), "journal compacted");
    } catch (err) {
      log.error({ err: (err as Error).message }, "journal compaction failed");
    }
    compactTimer = clock.setTimeout(compact, COMPACT_CHECK_MS);
  };

  return {
    info: { version, store: config.store, bridge: config.bridge, startedAt: sinceMs },
    lanes,
    link,
    rpc,
    journal,
    audit,
    trainingCloud,
    status: () => status(link.isOnline, link.status.reason),
    async start() {
      // What runs, with which settings: first in the trail, before any sale.
      audit.append({
        type: "start",
        version,
        configHash: configHash(config),
        store: config.store,
        bridge: config.bridge,
        lanes: config.lanes.length,
        journalMissing: journal.loadReport.missing && audit.hadEntries,
        journalDiscardedLines: journal.loadReport.discardedLines,
      });
      // Devices first: the register must get answers (cloud offline) even when the broker is down.
      for (const lane of lanes) lane.start();
      // What the journal holds unsettled resumes now; requests wait for the link to come up.
      for (const lane of lanes) lane.recover();
      link.start();
      clockWatch.start();
      countersTimer = clock.setTimeout(publishCounters, COUNTERS_INTERVAL_MS);
      compactTimer = clock.setTimeout(compact, COMPACT_CHECK_MS);
      journalCheckTimer = clock.setTimeout(checkJournal, config.journal.checkIntervalMs);
      if (config.log.statsIntervalMs > 0) statsTimer = clock.setTimeout(logStats, config.log.statsIntervalMs);
      log.info(
        { lanes: lanes.length, store: config.store, bridge: config.bridge, version, loaded: loadedFrom() },
        "posbridge started",
      );
    },
    async stop() {
      stopping = true;
      clockWatch.stop();
      countersTimer?.cancel();
      statsTimer?.cancel();
      compactTimer?.cancel();
      journalCheckTimer?.cancel();
      trainingCloud.stop();
      const failures: unknown[] = [];
      for (const lane of [...lanes].reverse()) {
        try {
          await lane.stop();
        } catch (err) {
          failures.push(err);
        }
      }
      try {
        await link.stop();
      } catch (err) {
        failures.push(err);
      }
      audit.append({ type: "stop", failures: failures.length });
      journal.close();
      log.info({ failures: failures.length }, "posbridge stopped");
    },
  };
}
