// `posbridge <command>`: argv → one entry of the command table (daemon/cli/commands.ts), its
// options parsed strictly, its help printed from the table. Config errors exit 78 (EX_CONFIG,
// what systemd's RestartPreventExitStatus and store IT expect), naming the field.
import { parseArgs } from "node:util";
import {
  type Command,
  DEFAULT_CONFIG_PATH,
  type Io,
  type ParseArgsOptionsConfig,
  processIo,
} from "./cli/command.js";
import { loadCommand, loadCommands } from "./cli/commands.js";
import { systemClock } from "./clock.js";
import { exitCodeFor } from "./config/load-config.js";
import { isBridgeError } from "./errors.js";
import { version } from "./version.js";

export { DEFAULT_CONFIG_PATH };

/** `posbridge --help`: the command list comes from the table. */
export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const list = commands.map((c) => `  ${c.name.padEnd(width)}${wrap(c.summary, width + 2)}`).join("\n");
  return `posbridge ${version()} — bridges a cash register, barcode scanners and a customer display to a payment cloud over MQTT

Usage: posbridge [command] [options]      posbridge <command> --help for its options

Commands:
${list}
  ${"help".padEnd(width)}[command]: this text, or a command's

Every command that reads the config takes -c, --config PATH (default ${DEFAULT_CONFIG_PATH},
or $POSBRIDGE_CONFIG). Without a command, posbridge runs the daemon ('run').
  -h, --help          show this text
  -v, --version       print the version

Environment: POSBRIDGE_<FIELD>[__<FIELD>…] overrides one config value, e.g.
  POSBRIDGE_MQTT__URL=mqtts://broker:8883  POSBRIDGE_LANES__0__TERMINAL__PATH=/dev/ttyUSB1

Exit codes: 0 ok (run: stopped by SIGTERM/SIGINT), 1 internal error or a fault that stops the
daemon (logged with its PB_ code), 64 bad usage, 78 configuration error. "run" never exits by
itself: with the broker unreachable or no device present it keeps retrying.
Docs: README.md; docs/diagnostics.md (technicians); docs/ (register link, cloud contract, errors,
design); schema/ (config).`;
}

/** `posbridge <command> --help`. */
export function commandHelp(command: Command): string {
  return `Usage: ${command.usage}`;
}

export async function main(argv: string[], io: Io = processIo(systemClock)): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "-v" || first === "--version") {
    io.out(version());
    return 0;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic === undefined) {
      io.out(globalHelp(await loadCommands()));
      return 0;
    }
    const command = await loadCommand(topic);
    if (!command) return unknownCommand(io, topic);
    io.out(commandHelp(command));
    return 0;
  }
  // No command, or options only: the daemon (`posbridge --config x` is `posbridge run --config x`).
  const named = first !== undefined && !first.startsWith("-");
  const name = named ? first : "run";
  const command = await loadCommand(name);
  if (!command) return unknownCommand(io, name);
  const args = named ? rest : argv;
  if (command.ownArgs) return command.run({ values: {}, positionals: args }, io);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...command.options, help: { type: "boolean", short: "h" } } as ParseArgsOptionsConfig,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`posbridge ${command.name}: ${(err as Error).message}\nTry 'posbridge ${command.name} --help'.`);
    return 64;
  }
  if (parsed.values.help === true) {
    io.out(commandHelp(command));
    return 0;
  }
  const { help: _help, ...values } = parsed.values as Record<string, string | boolean | undefined>;
  try {
    return await command.run({ values, positionals: parsed.positionals }, io);
  } catch (err) {
    if (!isBridgeError(err)) throw err;
    io.err(`posbridge ${command.name}: ${err.message}`);
    return exitCodeFor(err);
  }
}

function unknownCommand(io: Io, name: string): number {
  io.err(`posbridge: unknown command '${name}'\nTry 'posbridge --help'.`);
  return 64;
}

/** Continuation lines of a summary start under its first word. */
function wrap(text: string, indent: number, width = 100): string {
  const words = text.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && indent + line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}
