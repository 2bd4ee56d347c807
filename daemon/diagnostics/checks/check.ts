// The contract of a doctor check (one per file in this directory) and what each one reads: a
// DoctorContext with the config, the system (roots), the clock, the daemon's view and the facts
// several checks share, each computed once on first use (the device scan, the processes, the
// broker probe, the journal). A check returns findings; it never prints, exits or throws for
// what it finds (a check that throws is itself reported, doctor.ts).
import type { Clock } from "../../clock.js";
import type { Config } from "../../config/config-types.js";
import type { ConfigProblem } from "../../config/load-config.js";
import type { NativeImporter } from "../../devices/native-modules.js";
import type { BridgeErrorCode } from "../../errors.js";
import type { JournalLoadReport } from "../../journal/journal.js";
import type { JournalRecord } from "../../../protocols/sale/records.js";
import type { Accounts, ServiceUser } from "../accounts.js";
import type { BrokerProbe } from "../broker-probe.js";
import type { DaemonView } from "../daemon-facts.js";
import type { DeviceNode } from "../device-nodes.js";
import type { LaneDevice, LaneMatch } from "../lane-devices.js";
import type { Holder, ProcessInfo } from "../processes.js";
import type { SystemRoots } from "../system-roots.js";

export type FindingLevel = "ok" | "warn" | "error";

export interface Finding {
  /** The check that found it (its file name): "device-access", "broker" … */
  id: string;
  level: FindingLevel;
  /** What it is about: "lane-1 scanner", "broker", "stateDir", "clock", "config" … */
  subject: string;
  /** The error code a technician looks up in docs/errors.md, when there is one. */
  code?: BridgeErrorCode;
  /** What is wrong (or right), specific: names the node, the process, the group. */
  title: string;
  /** Supporting facts ("" when the title says it all). */
  detail: string;
  /** What to do; "" for an ok finding. */
  fix: string;
}

/** A lane device with everything the device checks look at, found once. */
export interface LaneDeviceFacts {
  device: LaneDevice;
  match: LaneMatch;
  /** The node's owner and mode, when present. */
  stat?: { mode: number; uid: number; gid: number };
  /** Processes other than the daemon holding the node open. */
  holders: Holder[];
}

export interface JournalRead {
  path: string;
  records: JournalRecord[];
  report: JournalLoadReport;
}

export interface JournalUnreadable {
  path: string;
  /** The reader's message, without its code suffix. */
  error: string;
  code: BridgeErrorCode;
  /** The system's errno when the file could not be read (EACCES, EIO …). */
  errno?: string;
}

export interface CommandResult {
  ok: boolean;
  stdout: string;
}

export interface DoctorContext {
  configPath: string;
  /** undefined when the config does not load (the config check says why). */
  config: Config | undefined;
  /** Why the config did not load: the error's code, message and the listed problems. */
  configError: { code: BridgeErrorCode; message: string; problems: ConfigProblem[] } | undefined;
  roots: SystemRoots;
  clock: Clock;
  daemon: DaemonView;
  accounts: Accounts;
  /** Whose access the device and stateDir checks judge, and whether that user exists. */
  user: { user: ServiceUser; found: boolean; wanted: string };
  nodes(): DeviceNode[];
  laneDevices(): LaneDeviceFacts[];
  processes(): ProcessInfo[];
  /** The doctor's own connection to the broker (never made while the daemon runs). */
  probeBroker(): Promise<BrokerProbe>;
  /** The journal read-only, or why it cannot be read. */
  journal(): JournalRead | JournalUnreadable;
  importer: NativeImporter | undefined;
  runCommand(file: string, args: string[], timeoutMs: number): Promise<CommandResult>;
  statfs(path: string): { bsize: number; blocks: number; bavail: number };
  /** When this program was built or installed (wall ms): a clock earlier than that is wrong. */
  programTimeMs: number;
}

export interface Check {
  id: string;
  title: string;
  run(ctx: DoctorContext): Finding[] | Promise<Finding[]>;
}

/** A finding of check `id`; ok findings carry no fix. */
export function finding(
  id: string,
  level: FindingLevel,
  subject: string,
  title: string,
  rest: { detail?: string; fix?: string; code?: BridgeErrorCode } = {},
): Finding {
  return {
    id,
    level,
    subject,
    ...(rest.code ? { code: rest.code } : {}),
    title,
    detail: rest.detail ?? "",
    fix: rest.fix ?? "",
  };
}
