// Which config file a command reads: --config, else $POSBRIDGE_CONFIG, else the installed one.
// Every command finds the daemon through the same file as `run`.

export const DEFAULT_CONFIG_PATH = "/etc/posbridge/posbridge.yaml";

export function configPathOf(values: { config?: unknown }, env: NodeJS.ProcessEnv): string {
  return typeof values.config === "string" ? values.config : (env.POSBRIDGE_CONFIG ?? DEFAULT_CONFIG_PATH);
}
