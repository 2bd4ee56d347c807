// The conformance run's options, with their defaults and their checks (a TypeError names the bad one).
import { utf8 } from "../core/bytes.js";
import { DEFAULT_MAX_DATA_LENGTH } from "../ecr/constants.js";
import type { TextEncode } from "../ecr/messages.js";
import type { ConformanceProfile, ConformanceScriptName } from "./conformance-types.js";

export interface ConformanceOptions {
  profile?: ConformanceProfile;
  script?: ConformanceScriptName;
  /** Only these steps (steps.ts ids), in script order. */
  steps?: readonly string[];
  /** The ACK timeout the register is held to, and the terminal's own; 100..10000, default 1000. */
  ackTimeoutMs?: number;
  /** How long the operator has for each action on the register; ≥ 1000, default 120000. */
  operatorTimeoutMs?: number;
  /** Largest amount accepted, fen; default the bridge's default (10 000 000). */
  maxAmountFen?: number;
  /** Largest DATA accepted, bytes; default 1024 as the bridge. */
  maxDataLength?: number;
  /** Text fields of the answers to bytes: UTF-8 by default, GB18030 as the runner provides. */
  encodeText?: TextEncode;
}

export function resolveOptions(opts: ConformanceOptions): Required<Omit<ConformanceOptions, "steps">> {
  const {
    profile = "ecr",
    script = "quick",
    ackTimeoutMs = 1000,
    operatorTimeoutMs = 120_000,
    maxAmountFen = 10_000_000,
    maxDataLength = DEFAULT_MAX_DATA_LENGTH,
    encodeText = utf8,
  } = opts;
  if (profile !== "ecr" && profile !== "line")
    throw new TypeError(`profile must be ecr or line, got ${profile}`);
  if (script !== "quick" && script !== "full")
    throw new TypeError(`script must be quick or full, got ${script}`);
  if (!Number.isInteger(ackTimeoutMs) || ackTimeoutMs < 100 || ackTimeoutMs > 10_000)
    throw new TypeError(`ackTimeoutMs must be an integer 100..10000, got ${ackTimeoutMs}`);
  if (!Number.isInteger(operatorTimeoutMs) || operatorTimeoutMs < 1000)
    throw new TypeError(`operatorTimeoutMs must be an integer of at least 1000, got ${operatorTimeoutMs}`);
  if (!Number.isSafeInteger(maxAmountFen) || maxAmountFen < 1)
    throw new TypeError(`maxAmountFen must be a positive safe integer, got ${maxAmountFen}`);
  return { profile, script, ackTimeoutMs, operatorTimeoutMs, maxAmountFen, maxDataLength, encodeText };
}
