// `posbridge <command>`: argv → command. The daemon itself is `run`; config errors exit 78
// (EX_CONFIG, what systemd's RestartPreventExitStatus and store IT expect), naming the field.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createApp } from "./app.js";
import { DEFAULT_CONFIG_PATH } from "./cli/config-path.js";
import { systemClock } from "./clock.js";
import { checkConfigFiles } from "./config/check-files.js";
import { exitCodeFor, loadConfig } from "./config/load-config.js";
import { describeLocation } from "./devices/device-identity.js";
import { BridgeError, isBridgeError } from "./errors.js";
import { createNotifier } from "./health/sd-notify.js";
import { SystemdSupervisor } from "./health/systemd-supervisor.js";
import { installTestStall } from "./health/test-stall.js";
import { createLogger } from "./log/logger.js";
import { version } from "./version.js";

export { DEFAULT_CONFIG_PATH };

export const HELP = `posbridge ${"<version>"} — bridges a cash register, barcode scanners and a customer display to a payment cloud over MQTT

Usage: posbridge [command] [options]

Commands:
  run                 run the bridge daemon (default)
  check-config        validate the config file and print a summary; exit 78 when it is invalid
  demo                run a whole store in one process: embedded broker, simulated cloud, virtual
                      register, scanner and display; plays every sale path and prints a trace
  cloud-sim           run the simulated payment cloud against a broker (--broker URL)
  report day          print the end-of-day report from the sale journal in stateDir: sales by
                      scheme and status, refunds, net, and UNKNOWN sales to check (--date, --json)
  devices             every serial, hidraw and input node (by-id link, USB ids, serial number,
                      driver) and which configured lane device each is, or why one is missing (--json)
  doctor              check this PC for what stops the bridge: devices (missing, permissions, held by
                      another program, ModemManager, brltty), native modules, config, broker (network,
                      DNS, TLS, credentials, ACL), clock, stateDir, journal; one line per finding with
                      its fix (--json); exit 0 all fine, 1 warnings, 2 errors
  install             as root, from a built checkout: install the production tree in --prefix, the
                      service user and groups, /etc/posbridge (starter config and env file), the
                      systemd unit, the udev rules and the posbridge command (docs/deployment.md)
  uninstall           as root: stop and remove the service, the unit, the rules and the program;
                      --purge also removes /etc/posbridge, the sale journal and the user
  help                show this text

Options:
  -c, --config PATH   config file (default ${DEFAULT_CONFIG_PATH}, or $POSBRIDGE_CONFIG)
      --broker URL    cloud-sim: broker to connect to (default mqtt://127.0.0.1:1883)
      --prefix TOPIC  cloud-sim: topic prefix (default posbridge/v1)
      --protocol 5|4  cloud-sim: MQTT protocol version (default 5; 4 = MQTT 3.1.1)
      --date DATE     report: the local calendar day, YYYY-MM-DD (default today; time zone: TZ)
      --json          report, devices, doctor: print one JSON object (report: amounts in integer fen)
      --prefix DIR    install/uninstall: where the program goes (default /opt/posbridge)
      --root DIR      install/uninstall: work in a scratch tree under DIR; run no command
      --dry-run       install/uninstall: print what would be done, change nothing
      --node PATH     install: the Node.js (>= 20) the service runs (default: this one)
      --purge         uninstall: also configuration, state (the sale journal), user and group
      --force         uninstall --purge: even with unsettled payments in the journal
      --user NAME     doctor: the user the service runs as, whose access is judged (default posbridge)
  -h, --help          show this text
  -v, --version       print the version

Environment: POSBRIDGE_<FIELD>[__<FIELD>…] overrides one config value, e.g.
  POSBRIDGE_MQTT__URL=mqtts://broker:8883  POSBRIDGE_LANES__0__TERMINAL__PATH=/dev/ttyUSB1

Exit codes: 0 ok (run: stopped by SIGTERM/SIGINT), 1 internal error or a fault that stops the
daemon (logged with its PB_ code), 64 bad usage, 78 configuration error. "run" never exits by
itself: with the broker unreachable or no device present it keeps retrying.
Docs: README.md; docs/ (register link, cloud contract, errors, design); schema/ (config).`;

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`posbridge: ${(err as Error).message}\nTry 'posbridge --help'.\n`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = positionals[0] ?? "run";
  if (values.help || command === "help") {
    process.stdout.write(`${HELP.replace("<version>", version())}\n`);
    return 0;
  }
  const configPath = values.config ?? process.env.POSBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH;
  switch (command) {
    case "run":
      return runDaemon(configPath);
    case "check-config":
      return checkConfig(configPath);
    case "demo":
      return runDemoCommand();
    case "install":
    case "uninstall":
      return runInstallCommand(command, positionals.slice(1), values);
    case "cloud-sim":
      return runCloudSim(
        values.broker ?? "mqtt://127.0.0.1:1883",
        values.prefix ?? "posbridge/v1",
        values.protocol ?? "5",
      );
    case "report":
      return runReport(configPath, positionals.slice(1), values.date, values.json ?? false);
    case "devices":
    case "doctor": {
      // Until the command table (h-diag) takes them over: each command parses nothing itself here.
      const { devicesCommand } = await import("./cli/devices.js");
      const { doctorCommand } = await import("./cli/doctor.js");
      const cmd = command === "devices" ? devicesCommand : doctorCommand;
      return cmd.run({ values, positionals: positionals.slice(1) }, processIo());
    }
    default:
      process.stderr.write(`posbridge: unknown command '${command}'\nTry 'posbridge --help'.\n`);
      return 64;
  }
}

function processIo() {
  return {
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
    env: process.env,
    clock: systemClock,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      broker: { type: "string" },
      prefix: { type: "string" },
      protocol: { type: "string" },
      date: { type: "string" },
      json: { type: "boolean" },
      root: { type: "string" },
      "dry-run": { type: "boolean" },
      node: { type: "string" },
      purge: { type: "boolean" },
      force: { type: "boolean" },
      user: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

function loadOrReport(configPath: string) {
  try {
    const config = loadConfig({ path: configPath, env: process.env });
    const { warnings } = checkConfigFiles(config, configPath);
    return { config, warnings };
  } catch (err) {
    if (isBridgeError(err)) {
      process.stderr.write(`posbridge: ${err.message}\n`);
      return { exit: exitCodeFor(err) };
    }
    throw err;
  }
}

function checkConfig(configPath: string): number {
  const loaded = loadOrReport(configPath);
  if (!loaded.config) return loaded.exit ?? 78;
  const c = loaded.config;
  for (const w of loaded.warnings) process.stderr.write(`posbridge: warning: ${w.path}: ${w.message}\n`);
  process.stdout.write(
    `${configPath}: valid\nstore ${c.store}, bridge ${c.bridge}, broker ${c.mqtt.url} (MQTT ${c.mqtt.protocolVersion === 5 ? "5" : "3.1.1"})\n` +
      c.lanes
        .map(
          (l) =>
            `lane ${l.id}: register ${describeLocation(l.terminal)} (${l.terminal.profile}), scanner ${describeLocation(l.scanner)} (${l.scanner.type})${l.display ? `, display ${describeLocation(l.display)} (${l.display.type})` : ""}`,
        )
        .join("\n") +
      "\n",
  );
  return 0;
}

/**
 * The daemon. It ends only on SIGTERM/SIGINT (exit 0), a configuration error (78) or a fatal
 * fault (non-zero, logged as JSON with its PB_ code): never by itself, however long the broker
 * and the devices stay away (docs/errors.md, "Exit codes").
 */
async function runDaemon(configPath: string): Promise<number> {
  const loaded = loadOrReport(configPath);
  if (!loaded.config) return loaded.exit ?? 78;
  const config = loaded.config;
  const log = createLogger({ level: config.log.level, format: config.log.format });
  for (const w of loaded.warnings) log.warn({ field: w.path }, `${w.path}: ${w.message}`);
  const systemdLog = log.child({ component: "systemd" });
  const supervisor = new SystemdSupervisor({
    notifier: createNotifier({ env: process.env, log: systemdLog, clock: systemClock }),
    env: process.env,
    clock: systemClock,
    log: systemdLog,
  });
  installTestStall(process.env, log);
  // Every component's timer is unref'd (daemon/clock.ts), and a bridge with no device present and
  // the broker unreachable holds no other handle: without this one Node would find nothing left
  // to do and exit 0, which systemd's Restart=on-failure does not restart. Held until a signal.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  process.on("unhandledRejection", (reason) =>
    log.error(
      { errCode: "PB_INTERNAL", err: reason instanceof Error ? reason : String(reason) },
      "unhandled promise rejection",
    ),
  );
  process.on("uncaughtException", (err) => {
    // A bug: the state may be inconsistent, so stop at once; the journal is durable and the
    // broker's Last Will says offline. systemd restarts the service (exit 1).
    log.fatal({ errCode: "PB_INTERNAL", err }, `internal error, exiting: ${err.message} (PB_INTERNAL)`);
    process.exit(1);
  });
  let app: ReturnType<typeof createApp>;
  try {
    app = createApp({ config, log, version: version() });
    await app.start();
  } catch (err) {
    clearInterval(keepAlive);
    const code = isBridgeError(err) ? err.code : "PB_INTERNAL";
    const message = isBridgeError(err) ? err.message : `cannot start: ${String(err)} (PB_INTERNAL)`;
    log.fatal({ errCode: code, err }, message);
    await supervisor.failed(message);
    return exitCodeFor(err);
  }
  // The journal is open and every lane's devices are supervised: ready, broker or not.
  void supervisor.ready(app);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping");
      const done = (code: number) => {
        clearInterval(keepAlive);
        // A handle a component failed to close must not keep a stopped daemon around.
        setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
        resolve(code);
      };
      // STOPPING=1 first: systemd must not take the shutdown for a hang (no more pings).
      supervisor
        .stopping()
        .then(() => app.stop())
        .then(
          () => done(0),
          (err: Error) => {
            log.error({ errCode: "PB_INTERNAL", err: err.message }, "stop failed");
            done(1);
          },
        );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

/** Packages only a source checkout has (devDependencies): a production install leaves them out. */
const DEMO_PACKAGES = ["aedes", "@serialport/binding-mock", "pino-pretty"];

async function runDemoCommand(): Promise<number> {
  let demo: typeof import("./demo/demo.js");
  try {
    demo = await import("./demo/demo.js");
  } catch (err) {
    const missing = DEMO_PACKAGES.find((p) => (err as Error).message?.includes(`'${p}'`));
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND" || !missing) throw err;
    const e = new BridgeError(
      "PB_DEMO_UNAVAILABLE",
      `the demo is not part of a production install (${missing} is a development package): run it from a source checkout with npm ci && npm run demo`,
    );
    process.stderr.write(`posbridge: ${e.message}\n`);
    return 1;
  }
  return demo.runDemo({ out: (line) => process.stdout.write(`${line}\n`) });
}

async function runInstallCommand(
  command: "install" | "uninstall",
  extra: string[],
  values: ReturnType<typeof parse>["values"],
): Promise<number> {
  if (extra.length > 0) {
    process.stderr.write(`posbridge: ${command} takes no argument '${extra[0]}'\nTry 'posbridge --help'.\n`);
    return 64;
  }
  const { runInstall, runUninstall } = await import("./cli/install.js");
  const options = {
    ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
    ...(values.root !== undefined ? { root: values.root } : {}),
    ...(values.node !== undefined ? { node: values.node } : {}),
    dryRun: values["dry-run"] ?? false,
    purge: values.purge ?? false,
    force: values.force ?? false,
  };
  const io = { out: (line: string) => process.stdout.write(`${line}\n`) };
  try {
    return command === "install" ? runInstall(options, io) : runUninstall(options, io);
  } catch (err) {
    if (!isBridgeError(err)) throw err;
    process.stderr.write(`posbridge ${command}: ${err.message}\n`);
    return exitCodeFor(err);
  }
}

/** After a stop, how long the process may take to let go of its last handles. */
const STOP_GRACE_MS = 3_000;

async function runCloudSim(broker: string, prefix: string, protocol: string): Promise<number> {
  if (protocol !== "5" && protocol !== "4") {
    process.stderr.write("posbridge: --protocol must be 5 or 4\n");
    return 64;
  }
  const { startCloudSim } = await import("./cloud-sim/cloud-sim.js");
  const sim = await startCloudSim({
    brokerUrl: broker,
    topicPrefix: prefix,
    protocolVersion: protocol === "5" ? 5 : 4,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`cloud-sim: answering ${prefix}/+/+/req on ${broker}; Ctrl-C to stop\n`);
  return new Promise<number>((resolve) => {
    const stop = () => void sim.stop().then(() => resolve(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

/** `posbridge report day [--date YYYY-MM-DD] [--json]`: read-only, from <stateDir>/journal.log. */
async function runReport(
  configPath: string,
  args: string[],
  date: string | undefined,
  json: boolean,
): Promise<number> {
  const usage = "usage: posbridge report day [--date YYYY-MM-DD] [--json] [-c config]";
  if (args[0] !== "day" || args.length > 1) {
    const what = args[0] === undefined ? "report: which report?" : `unknown report '${args.join(" ")}'`;
    process.stderr.write(`posbridge: ${what}; ${usage}\n`);
    return 64;
  }
  const { dayReport, formatDayReport, localDate, localDayBounds } = await import("./report/day-report.js");
  const day = date ?? localDate(Date.now());
  if (!localDayBounds(day)) {
    process.stderr.write(
      `posbridge: --date must be a calendar date YYYY-MM-DD (e.g. 2026-03-14), got '${day.slice(0, 20)}'\n`,
    );
    return 64;
  }
  const loaded = loadOrReport(configPath);
  if (!loaded.config) return loaded.exit ?? 78;
  const { JOURNAL_FILE, readJournal } = await import("./journal/journal.js");
  const path = join(loaded.config.stateDir, JOURNAL_FILE);
  let read: ReturnType<typeof readJournal>;
  try {
    read = readJournal(path);
  } catch (err) {
    if (isBridgeError(err)) {
      process.stderr.write(`posbridge: ${err.message}\n`);
      return exitCodeFor(err);
    }
    throw err;
  }
  const report = dayReport(read.records, day, { path, report: read.report });
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatDayReport(report));
  return 0;
}
