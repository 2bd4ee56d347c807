// What a support engineer asks first: which posbridge, which Node, which native modules (and do
// they load on this PC), which libraries.
import { createRequire } from "node:module";
import { arch, platform, release } from "node:os";
import { nativeModuleReport } from "../devices/native-modules.js";
import { version } from "../version.js";

const PACKAGES = [
  "mqtt",
  "pino",
  "protobufjs",
  "ajv",
  "yaml",
  "@serialport/bindings-cpp",
  "@serialport/stream",
  "node-hid",
  "usb",
] as const;

export interface Versions {
  posbridge: string;
  node: string;
  /** Node's ABI version: a native module built for another one does not load. */
  nodeModules: string;
  os: string;
  packages: Record<string, string>;
  native: { module: string; ok: boolean; reason: string }[];
}

export async function versions(): Promise<Versions> {
  const require = createRequire(import.meta.url);
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      packages[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      packages[name] = "not installed";
    }
  }
  const serial = await import("@serialport/bindings-cpp").then(
    () => ({ module: "@serialport/bindings-cpp", ok: true, reason: "" }),
    (err: Error) => ({ module: "@serialport/bindings-cpp", ok: false, reason: err.message }),
  );
  return {
    posbridge: version(),
    node: process.version,
    nodeModules: process.versions.modules,
    os: `${platform()} ${release()} ${arch()}`,
    packages,
    native: [serial, ...(await nativeModuleReport())],
  };
}
