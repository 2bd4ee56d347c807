// Where `posbridge install` puts things on a store PC, and the files it renders: the unit (from
// systemd/posbridge.service, with the Node.js found and the prefix), the `posbridge` command on
// PATH, the starter environment file. One place, so install, uninstall, the docs and the tests
// agree. docs/deployment.md describes the result.
import { BridgeError } from "../errors.js";

/** The service's user and group. The udev rules give device nodes to this group. */
export const SERVICE_USER = "posbridge";
export const SERVICE_GROUP = "posbridge";
/** Serial devices without a posbridge rule (/dev/ttyS*, /dev/ttyUSB*) belong to dialout on Debian. */
export const SERIAL_GROUP = "dialout";

export const DEFAULT_PREFIX = "/opt/posbridge";
export const ETC_DIR = "/etc/posbridge";
export const CONFIG_PATH = `${ETC_DIR}/posbridge.yaml`;
export const ENV_PATH = `${ETC_DIR}/posbridge.env`;
export const UNIT_PATH = "/etc/systemd/system/posbridge.service";
export const RULES_PATH = "/etc/udev/rules.d/99-posbridge.rules";
export const COMMAND_PATH = "/usr/local/bin/posbridge";
export const MODULES_PATH = "/etc/modules-load.d/posbridge.conf";
/** systemd's StateDirectory=posbridge and RuntimeDirectory=posbridge. */
export const STATE_DIR = "/var/lib/posbridge";
export const RUNTIME_DIR = "/run/posbridge";
/** In the prefix: what install wrote, for uninstall and the next install. */
export const MANIFEST_FILE = "install-manifest.json";
/** An edited file is kept; the version install would have written goes next to it. */
export const NEW_SUFFIX = ".posbridge-new";

export const MIN_NODE_MAJOR = 20;

/** How to get a Node.js the service can run (also in bin/posbridge.js and docs/deployment.md). */
export const NODE_HINT =
  "Debian 12 ships Node.js 18: install Node.js 20 or later system-wide, from NodeSource's apt " +
  "repository (package nodejs, /usr/bin/node) or the official linux build unpacked into /usr/local " +
  "(/usr/local/bin/node), then run the install with that node, or name it with --node PATH " +
  "(docs/deployment.md, 'Node.js')";

/**
 * Directories the service cannot see (ProtectHome=yes, PrivateTmp=yes): a Node.js there (nvm,
 * a download in /tmp) would start for the admin and fail under systemd.
 */
const HIDDEN_FROM_SERVICE = ["/home/", "/root/", "/run/user/", "/tmp/", "/var/tmp/", "/dev/shm/"];

export function nodeLocationProblem(nodePath: string): string | undefined {
  if (!nodePath.startsWith("/")) return `${nodePath} is not an absolute path`;
  const hidden = HIDDEN_FROM_SERVICE.find((dir) => nodePath.startsWith(dir));
  if (hidden) {
    return `${nodePath} is under ${hidden}, which the service cannot see (ProtectHome=yes, PrivateTmp=yes; nvm installs there)`;
  }
  return undefined;
}

/** "20.11.1" → true when at least MIN_NODE_MAJOR. */
export function nodeVersionOk(version: string): boolean {
  const major = Number(version.replace(/^v/, "").split(".")[0]);
  return Number.isInteger(major) && major >= MIN_NODE_MAJOR;
}

export interface UnitParams {
  node: string;
  prefix: string;
}

/** systemd quoting for one ExecStart= word: only paths of safe characters are accepted. */
function unitPath(path: string, what: string): string {
  if (!/^\/[A-Za-z0-9._+\-/]*$/.test(path)) {
    throw new BridgeError(
      "PB_INSTALL_FAILED",
      `${what} ${JSON.stringify(path)} has characters the unit file cannot carry unquoted; use a path of letters, digits and ._+-/`,
    );
  }
  return path;
}

/**
 * The shipped unit with ExecStart= and Documentation= pointing at this node and prefix. Every
 * other line is kept, so the shipped file is what systemd-analyze scores.
 */
export function renderUnit(template: string, p: UnitParams): string {
  const node = unitPath(p.node, "the Node.js path");
  const prefix = unitPath(p.prefix, "the prefix");
  const replace = (text: string, key: string, value: string) => {
    const re = new RegExp(`^${key}=.*$`, "gm");
    const found = text.match(re)?.length ?? 0;
    if (found !== 1) {
      throw new BridgeError(
        "PB_INSTALL_FAILED",
        `systemd/posbridge.service: expected one ${key}= line, found ${found}`,
      );
    }
    return text.replace(re, `${key}=${value}`);
  };
  let unit = replace(template, "ExecStart", `${node} ${prefix}/bin/posbridge.js run --config ${CONFIG_PATH}`);
  unit = replace(unit, "Documentation", `file://${prefix}/docs/deployment.md`);
  return unit;
}

/**
 * The Environment= assignments of a unit file (systemd/posbridge.service): a NODE_OPTIONS= line
 * is one assignment, its value all that follows the '='; any other line is one or more VAR=value
 * words. The build makes V8's code cache under the unit's NODE_OPTIONS (scripts/bundle.mjs), and
 * the bench and the tests run the daemon as the unit does.
 */
export function unitEnvironment(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, line = ""] of unit.matchAll(/^Environment=(.*)$/gm)) {
    const words = line.startsWith("NODE_OPTIONS=") ? [line] : line.split(" ");
    for (const w of words) {
      const eq = w.indexOf("=");
      if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1).trim();
    }
  }
  return env;
}

/** `posbridge` on PATH: runs the installed tree with the Node.js the unit uses. */
export function renderCommand(p: UnitParams): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh
# The posbridge command, written by \`posbridge install\` (removed by \`posbridge uninstall\`).
exec ${q(p.node)} ${q(`${p.prefix}/bin/posbridge.js`)} "$@"
`;
}

export const ENV_STARTER = `# Environment of posbridge.service (EnvironmentFile=-${ENV_PATH}), 0640 root:${SERVICE_GROUP}.
# One VAR=value per line. Each POSBRIDGE_<FIELD>[__<FIELD>…] overrides one field of
# ${CONFIG_PATH} (README, "Configuration"). Keep secrets here, not in the YAML:
#POSBRIDGE_MQTT__PASSWORD=
`;

/**
 * The unit's DeviceAllow=char-ttyUSB / char-ttyACM are resolved from /proc/devices when the unit
 * starts; a class whose driver is not loaded yet (no adapter plugged in at boot) is silently left
 * out, and an adapter plugged in later cannot be opened until a restart. Loading the drivers at
 * boot (systemd-modules-load, before multi-user.target) closes that gap.
 */
export const SERIAL_MODULES = ["usbserial", "cdc_acm"];
export const MODULES_CONF = `# Written by posbridge install: serial drivers loaded at boot, so the unit's DeviceAllow=
# char-ttyUSB / char-ttyACM resolve even when no adapter is plugged in when it starts.
${SERIAL_MODULES.join("\n")}
`;

/** Every GROUP="…" the udev rules assign; install checks they all name SERVICE_GROUP. */
export function rulesGroups(rules: string): string[] {
  const groups = new Set<string>();
  for (const line of rules.split("\n")) {
    if (line.trimStart().startsWith("#")) continue;
    for (const m of line.matchAll(/\bGROUP:?="([^"]*)"/g)) groups.add(m[1] as string);
  }
  return [...groups];
}
