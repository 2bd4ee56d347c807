// The diagnostics methods: one table, served on the control socket (control-server.ts) and, for
// the methods marked `remote`, over MQTT (remote.ts). z2m's bridge.ts requestLookup, typed: a
// name, whether the support team may call it from afar (read-only methods only), whether it
// changes anything, and what it does. A method returns a result, or an AsyncIterable of events
// for the streaming ones (monitor, test sale), ended when the caller goes away (`signal`).
import type { Clock } from "../clock.js";
import type { Config } from "../config/config-types.js";
import type { Lane } from "../lanes/lane.js";
import type { LogLevels } from "../log/log-levels.js";
import type { Logger } from "../log/logger.js";
import type { LogTail } from "../log/log-tail.js";
import { bundleMethod } from "./methods/bundle.js";
import { devicesMethod, doctorMethod } from "./methods/devices-doctor.js";
import { logLevelMethod } from "./methods/log-level.js";
import { monitorMethod } from "./methods/monitor.js";
import { statusMethod } from "./methods/status.js";
import { testDisplayMethod, testRegisterMethod, testSaleMethod, testScanMethod } from "./methods/test.js";
import type { BridgeSnapshot } from "./snapshot.js";

export interface DiagMethod {
  name: string;
  /** Callable over MQTT by the support team: only methods that neither change anything nor move money. */
  remote: boolean;
  /** Changes something (a display, a log level, a training sale): local only, never remote. */
  mutates: boolean;
  run(ctx: DiagContext, params: unknown, signal: AbortSignal): Promise<unknown> | AsyncIterable<unknown>;
}

/** What a lane lends to test actions (daemon/lanes/lane.ts): never its sale machine or its codes. */
export type LaneDiagnostics = Pick<
  Lane,
  | "id"
  | "config"
  | "busyReason"
  | "testDisplay"
  | "tapNextScan"
  | "judgeScan"
  | "probeRegister"
  | "terminalStatus"
  | "startTraining"
>;

/**
 * A read-only view of the running bridge for the methods: its snapshot, its config, its log, and
 * what each lane lends to test actions. Never the RPC layer or the app itself.
 */
export interface DiagContext {
  readonly config: Config;
  readonly configPath: string;
  readonly version: string;
  readonly clock: Clock;
  readonly log: Logger;
  snapshot(): BridgeSnapshot;
  readonly logLevels: LogLevels;
  /** The daemon's last log lines (masked as logged), for the support bundle. */
  readonly logTail: LogTail;
  readonly lanes: readonly LaneDiagnostics[];
  /** The table itself: bundle asks status, devices and doctor through it. */
  readonly methods: readonly DiagMethod[];
  /** Lanes lent to a test action right now (one at a time per lane). */
  readonly testsRunning: Set<string>;
}

export const DIAG_METHODS: DiagMethod[] = [
  statusMethod,
  bundleMethod,
  monitorMethod,
  logLevelMethod,
  testDisplayMethod,
  testScanMethod,
  testRegisterMethod,
  testSaleMethod,
  devicesMethod,
  doctorMethod,
];

export function findMethod(methods: readonly DiagMethod[], name: string): DiagMethod | undefined {
  return methods.find((m) => m.name === name);
}
