// Cloud commands for tests: one sample of each, patched per test.
import type { PayCommand } from "../../protocols/cloud/cloud-messages.js";

export const NOW = 1_764_000_000_000;

/** A WeChat pay request scanned at NOW, with the contract's 60 s deadline. */
export function payCommand(patch: Partial<PayCommand> = {}): PayCommand {
  return {
    type: "pay",
    attemptId: "ATTEMPT_1",
    orderRef: "ORD1",
    amountFen: 1234,
    authCode: "134567890123456789",
    scheme: "WECHAT",
    scannedAtMs: NOW,
    deadlineMs: NOW + 60_000,
    ...patch,
  };
}
