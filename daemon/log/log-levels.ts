// Log levels changed at runtime (`posbridge log-level [component] <level>`), per component. A pino
// child keeps the level it was created with, and the daemon makes its children once (per
// component, lane and device: logger.ts caches them), so changing the root is not enough: every
// child is tracked through pino's onChild and set one by one. Changes live in memory only: a
// restart starts from log.level in the config again.
import type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Components that have a logger of their own (binding `component`). */
export const COMPONENTS = ["mqtt", "rpc", "journal", "clock", "systemd", "diagnostics", "training"] as const;
/** Device kinds (binding `device`): every lane's device of that kind. */
export const DEVICE_KINDS = ["terminal", "scanner", "display"] as const;

/**
 * What a selector names: "all" (every logger, root included), a component, a device kind, or
 * "lane-<id>" (the lane and its devices; the bare lane id works too).
 */
export type Selector = string;

interface Override {
  selector: Selector;
  level: LogLevel;
}

export class LogLevels {
  private root: Logger | undefined;
  private readonly children: WeakRef<Logger>[] = [];
  private readonly overrides: Override[] = [];

  /** pino's `onChild`: every child (and grandchild) the daemon makes comes through here. */
  readonly track = (child: Logger): void => {
    this.children.push(new WeakRef(child));
    // A child made after a change gets it too (it would otherwise inherit its parent's level).
    for (const o of this.overrides) if (this.matches(child, o.selector)) child.level = o.level;
  };

  setRoot(root: Logger): void {
    this.root = root;
  }

  /** Whether a selector names anything in this daemon (lane ids are known from the config). */
  isKnown(selector: Selector, laneIds: readonly string[]): boolean {
    if (selector === "all") return true;
    if ((COMPONENTS as readonly string[]).includes(selector)) return true;
    if ((DEVICE_KINDS as readonly string[]).includes(selector)) return true;
    return laneIds.some((id) => namesLane(selector, id));
  }

  /** Sets the level of every logger the selector names; returns how many it changed. */
  set(selector: Selector, level: LogLevel): number {
    let changed = 0;
    if (selector === "all" && this.root) {
      this.root.level = level;
      changed++;
      this.overrides.length = 0;
    }
    for (const child of this.live()) {
      if (!this.matches(child, selector)) continue;
      child.level = level;
      changed++;
    }
    const i = this.overrides.findIndex((o) => o.selector === selector);
    if (i >= 0) this.overrides.splice(i, 1);
    this.overrides.push({ selector, level });
    return changed;
  }

  /** The level of each component, lane and device logger now, for `log-level` without a level. */
  levels(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.root) out.all = this.root.level;
    for (const child of this.live()) {
      const b = child.bindings() as { component?: string; lane?: string; device?: string };
      const name =
        b.component ?? (b.device ? `lane-${b.lane}/${b.device}` : b.lane ? `lane-${b.lane}` : undefined);
      if (name && !(name in out)) out[name] = child.level;
    }
    const { all, ...rest } = out;
    return {
      ...(all ? { all } : {}),
      ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  private *live(): Generator<Logger> {
    for (let i = this.children.length - 1; i >= 0; i--) {
      const child = this.children[i]?.deref();
      if (child) yield child;
      else this.children.splice(i, 1);
    }
  }

  private matches(child: Logger, selector: Selector): boolean {
    if (selector === "all") return true;
    const b = child.bindings() as { component?: string; lane?: string; device?: string };
    if (b.component !== undefined && b.component === selector) return true;
    if (b.device !== undefined && b.device === selector) return true;
    return b.lane !== undefined && namesLane(selector, b.lane);
  }
}

/** "lane-l1" or "l1" names lane l1; "lane-1" names a lane whose id is "lane-1" or "1". */
function namesLane(selector: string, laneId: string): boolean {
  return selector === laneId || selector === `lane-${laneId}`;
}
