// The composition root (style-examples.md §2 item 7): builds the MQTT link, the RPC layer and
// the lanes from one frozen config, starts them in order and stops them in reverse.
import type { BridgeStatusView } from "../protocols/cloud/cloud-messages.js";
import { bridgeTopics } from "../protocols/cloud/topics.js";
import type { SaleSettings } from "../protocols/sale/sale-types.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { encodeEvent, encodeStatus } from "./cloud/proto-codec.js";
import { MqttLink } from "./cloud/mqtt-link.js";
import { CloudRpc } from "./cloud/rpc.js";
import type { Config } from "./config/config-types.js";
import { nativeSerialOpener, type SerialOpener } from "./devices/serial-binding.js";
import { ulid } from "./ids.js";
import { Lane } from "./lanes/lane.js";
import { laneLogger, type Logger } from "./log/logger.js";

export const COUNTERS_INTERVAL_MS = 60_000;

export interface AppDeps {
  config: Config;
  log: Logger;
  version: string;
  clock?: Clock;
  opener?: SerialOpener;
  random?: () => number;
}

export interface App {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): BridgeStatusView;
  lanes: readonly Lane[];
  link: MqttLink;
  rpc: CloudRpc;
}

export function createApp(deps: AppDeps): App {
  const { config, log, version } = deps;
  const clock = deps.clock ?? systemClock;
  const opener = deps.opener ?? nativeSerialOpener();
  const sinceMs = clock.now();
  const topics = bridgeTopics(config.mqtt.topicPrefix, config.store, config.bridge);
  const settings: SaleSettings = {
    scanTimeoutMs: config.sale.scanTimeoutMs,
    resultTimeoutMs: config.sale.resultTimeoutMs,
    codeLifetimeMs: config.sale.codeLifetimeMs,
    maxAmountFen: config.sale.maxAmountFen,
    schemes: config.sale.schemes,
    resultDisplayMs: 8_000,
    recentLimit: 200,
  };

  const lanes: Lane[] = [];
  const status = (online: boolean): BridgeStatusView => ({
    online,
    version,
    sinceMs,
    lanes: lanes.map((l) => l.status()),
  });
  const link = new MqttLink({
    config: config.mqtt,
    clientId: config.mqtt.clientId ?? `posbridge-${config.store}-${config.bridge}`,
    topics,
    clock,
    log: log.child({ component: "mqtt" }),
    ...(deps.random ? { random: deps.random } : {}),
    statusPayload: (online) => encodeStatus(status(online)),
  });
  const rpc = new CloudRpc({
    link,
    clock,
    log: log.child({ component: "rpc" }),
    newId: () => ulid(clock.now()),
  });

  const publishEvent = (laneId: string, kind: string, detail: string) =>
    link.publishEvent(encodeEvent({ atMs: clock.now(), laneId, kind, detail }));

  for (const laneConfig of config.lanes) {
    lanes.push(
      new Lane(laneConfig, {
        settings,
        opener,
        clock,
        log: laneLogger(log, laneConfig.id),
        rpc,
        newId: () => ulid(clock.now()),
        cloudOnline: () => link.isOnline,
        onStatusChange: () => link.publishStatus(),
        onEvent: (kind, detail) => publishEvent(laneConfig.id, kind, detail),
      }),
    );
  }
  const byId = new Map(lanes.map((l) => [l.id, l]));
  rpc.onResult((laneId, response, answers) => byId.get(laneId)?.onCloudResponse(response, answers));
  link.onOnlineChange((online) => {
    for (const lane of lanes) lane.setCloudOnline(online);
  });

  // Counters go out on P/event once a minute, for the fleet's dashboards.
  let countersTimer: TimerHandle | undefined;
  const publishCounters = () => {
    for (const lane of lanes) publishEvent(lane.id, "counters", lane.countersText());
    countersTimer = clock.setTimeout(publishCounters, COUNTERS_INTERVAL_MS);
  };

  return {
    lanes,
    link,
    rpc,
    status: () => status(link.isOnline),
    async start() {
      // Devices first: the register must get answers (cloud offline) even when the broker is down.
      for (const lane of lanes) lane.start();
      link.start();
      countersTimer = clock.setTimeout(publishCounters, COUNTERS_INTERVAL_MS);
      log.info(
        { lanes: lanes.length, store: config.store, bridge: config.bridge, version },
        "posbridge started",
      );
    },
    async stop() {
      countersTimer?.cancel();
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
      log.info({ failures: failures.length }, "posbridge stopped");
    },
  };
}
