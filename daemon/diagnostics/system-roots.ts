// Where the diagnostics read the system: sysfs, /dev, /proc, /run (udev's database) and /etc
// (accounts, the installed unit). Real paths in production; tests point each at a fake tree, so
// every check of `devices` and `doctor` runs against a machine they describe.

export interface SystemRoots {
  /** sysfs: /sys/class/{tty,hidraw,input}, USB ids, drivers. */
  sys: string;
  /** Device nodes and their links (/dev/serial/by-id …). */
  dev: string;
  /** Processes: who holds a node, which services run, locks. */
  proc: string;
  /** udev's database (/run/udev/data) and systemd-timesyncd's flag file. */
  run: string;
  /** passwd, group, the installed unit. */
  etc: string;
}

export const SYSTEM_ROOTS: Readonly<SystemRoots> = Object.freeze({
  sys: "/sys",
  dev: "/dev",
  proc: "/proc",
  run: "/run",
  etc: "/etc",
});

export function systemRoots(overrides: Partial<SystemRoots> = {}): SystemRoots {
  return { ...SYSTEM_ROOTS, ...overrides };
}
