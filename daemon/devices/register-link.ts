// How a lane hears its register: the register link (an ECR or line terminal: the register asks
// for sales) or the register's customer-display line (no-integration mode: the lane reads the
// amount off the display, daemon/devices/display-tap-port.ts). The lane holds a RegisterLink and
// never asks which one it has, except to route a display tap's amounts (createRegisterLink).
//   terminal   → EcrTerminal (profile ecr) or LineTerminal (profile line): docs/terminal-protocol.md
//                (their shared part: terminal-port.ts)
//   displayTap → DisplayTap (mode listen, passThrough or bridgeOwned; docs/hardware.md)
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import type { LinkCounters } from "../../protocols/ecr/link-machine.js";
import type { LaneConfig, TerminalConfig } from "../config/config-types.js";
import { describeLocation } from "./device-identity.js";
import { DisplayTap, type DisplayTapDeps, type DisplayTapHandlers } from "./display-tap-port.js";
import type { SupervisorStatus } from "./port-supervisor.js";
import { EcrTerminal } from "./ecr-terminal.js";
import { LineTerminal } from "./line-terminal.js";
import type { ProbeResult, TerminalHandlers, TerminalPort, TerminalPortDeps } from "./terminal-port.js";

export interface RegisterLinkStatus extends SupervisorStatus {
  /** The link's counters (a display tap fills the ones that apply: frames in, discarded bytes). */
  counters: LinkCounters;
}

export interface RegisterLink {
  /** "ecr" | "line" (a terminal's profile) or "displayTap". */
  readonly kind: "ecr" | "line" | "displayTap";
  start(): void;
  stop(): Promise<void>;
  /** An answer to the register; a display tap has no register to answer and drops it. */
  send(answer: PosAnswer): void;
  readonly status: RegisterLinkStatus;
  /** ms since the register last sent something well formed; undefined when it never did. */
  readonly lastGoodAgoMs: number | undefined;
  /** `posbridge test register`; a display tap answers `down` (nothing to probe: it only listens). */
  probe(answer: PosAnswer): Promise<ProbeResult>;
  /** Where the link is and what it is, for `posbridge devices` and check-config. */
  describe(): { type: string; location: string };
}

export type RegisterLinkDeps = TerminalPortDeps & DisplayTapDeps;
export type RegisterLinkHandlers = TerminalHandlers & Partial<Pick<DisplayTapHandlers, "onAmount">>;

/** The lane's register link: its terminal, or its display tap (load-config allows exactly one). */
export function createRegisterLink(
  lane: Pick<LaneConfig, "terminal" | "displayTap">,
  deps: RegisterLinkDeps,
  handlers: RegisterLinkHandlers,
): RegisterLink {
  if (lane.displayTap) {
    return new DisplayTap(lane.displayTap, deps, {
      onAmount: handlers.onAmount ?? (() => {}),
      ...(handlers.onState ? { onState: handlers.onState } : {}),
    });
  }
  if (!lane.terminal) throw new TypeError("a lane needs terminal or displayTap");
  return createTerminal(lane.terminal, deps, handlers);
}

/** The register link of a terminal config: one class per wire profile. */
export function createTerminal(
  config: TerminalConfig,
  deps: TerminalPortDeps,
  handlers: TerminalHandlers,
): TerminalPort {
  return config.profile === "line"
    ? new LineTerminal(config, deps, handlers)
    : new EcrTerminal(config, deps, handlers);
}

/** Where a lane's register link is, as config names it (for logs and check-config). */
export function registerLinkLocation(lane: Pick<LaneConfig, "terminal" | "displayTap">): string {
  const where = lane.displayTap ?? lane.terminal;
  return where ? describeLocation(where) : "";
}
