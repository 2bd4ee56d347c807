// The demo's scripted sales, one per path of the sale engine. Outcomes follow the simulated
// cloud's documented rules (daemon/cloud-sim/sim-rules.ts): amounts ending 77 make the customer
// confirm on the phone, 98 give UNKNOWN (the bridge queries, then reverses), 99 lose the answer
// (the bridge's query finds the payment); codes ending 0000 are expired.

export type DemoStep =
  | { type: "sale"; orderRef: string; amount: string; name?: string }
  | { type: "query"; orderRef: string; name?: string }
  | { type: "cancel"; orderRef: string; name?: string }
  | { type: "refund"; orderRef: string; refundRef: string; amount: number; name?: string }
  | { type: "scan"; code: string }
  | { type: "expect"; of: string; status: string; timeoutMs?: number }
  | { type: "waitStage"; stage: string }
  | { type: "wait"; ms: number };

export interface DemoSale {
  title: string;
  steps: readonly DemoStep[];
}

export const DEMO_SCRIPT: readonly DemoSale[] = [
  {
    title: "Paid at once (WeChat code)",
    steps: [
      { type: "sale", orderRef: "ORD-1001", amount: "1234" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "134567890123456789" },
      { type: "expect", of: "sale", status: "PAID" },
    ],
  },
  {
    title: "Customer must confirm on the phone (WAITING_CUSTOMER, then PAID)",
    steps: [
      { type: "sale", orderRef: "ORD-1002", amount: "8877" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "287654321098765432" },
      { type: "expect", of: "sale", status: "PAID" },
    ],
  },
  {
    title: "Expired code, rescan with a fresh one (new attempt)",
    steps: [
      { type: "sale", orderRef: "ORD-1003", amount: "5600" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "134567890123450000" },
      { type: "waitStage", stage: "RETRY_SCAN" },
      { type: "scan", code: "134567890123451111" },
      { type: "expect", of: "sale", status: "PAID" },
    ],
  },
  {
    title: "Product barcode and a URL are refused, the sale keeps waiting (UnionPay code then pays)",
    steps: [
      { type: "sale", orderRef: "ORD-1004", amount: "990" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "5901234123457" },
      { type: "wait", ms: 200 },
      { type: "scan", code: "https://example.com/pay?x=1" },
      { type: "wait", ms: 200 },
      { type: "scan", code: "6212345678901234567" },
      { type: "expect", of: "sale", status: "PAID" },
    ],
  },
  {
    title: "Cashier cancels while waiting for the scan (two RS: for SA and for CA)",
    steps: [
      { type: "sale", orderRef: "ORD-1005", amount: "2000" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "cancel", orderRef: "ORD-1005" },
      { type: "expect", of: "sale", status: "CANCELLED" },
      { type: "expect", of: "cancel", status: "CANCELLED" },
    ],
  },
  {
    title: "Second SA while the lane is busy is REJECTED; the first sale goes on",
    steps: [
      { type: "sale", orderRef: "ORD-1006", amount: "1500", name: "first" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "sale", orderRef: "ORD-1007", amount: "300", name: "second" },
      { type: "expect", of: "second", status: "REJECTED" },
      { type: "scan", code: "251234567890123456" },
      { type: "expect", of: "first", status: "PAID" },
    ],
  },
  {
    title: "Bad amounts are refused with a reason (12.34 and 0100)",
    steps: [
      { type: "sale", orderRef: "ORD-1008", amount: "12.34", name: "decimal" },
      { type: "expect", of: "decimal", status: "REJECTED" },
      { type: "sale", orderRef: "ORD-1008", amount: "0100", name: "zero" },
      { type: "expect", of: "zero", status: "REJECTED" },
    ],
  },
  {
    title:
      "The cloud cannot tell (SYSTEMERROR): the bridge queries, then reverses at the deadline (demo 5 s) — CANCELLED, no money moved",
    steps: [
      { type: "sale", orderRef: "ORD-1009", amount: "4598" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "0123456789012345678" },
      { type: "waitStage", stage: "QUERYING" },
      { type: "expect", of: "sale", status: "CANCELLED", timeoutMs: 12000 },
      { type: "query", orderRef: "ORD-1009" },
      { type: "expect", of: "query", status: "CANCELLED" },
    ],
  },
  {
    title: "The answer is lost (the cloud charged, the bridge never heard): the bridge's query finds it PAID",
    steps: [
      { type: "sale", orderRef: "ORD-1011", amount: "1299" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "134567890123452222" },
      { type: "waitStage", stage: "QUERYING" },
      { type: "expect", of: "sale", status: "PAID", timeoutMs: 9000 },
    ],
  },
  {
    title: "Cashier cancels while the customer confirms on the phone: the attempt is reversed",
    steps: [
      { type: "sale", orderRef: "ORD-1012", amount: "3077" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "scan", code: "134567890123453333" },
      { type: "waitStage", stage: "WAIT_CUSTOMER" },
      { type: "cancel", orderRef: "ORD-1012" },
      { type: "expect", of: "sale", status: "CANCELLED" },
      { type: "expect", of: "cancel", status: "CANCELLED" },
    ],
  },
  {
    title:
      "Refunds of a paid sale: part, a retry of the same refund (never twice), more than is left (refused)",
    steps: [
      { type: "refund", orderRef: "ORD-1001", refundRef: "RF-1", amount: 1000, name: "first" },
      { type: "expect", of: "first", status: "REFUNDED" },
      { type: "refund", orderRef: "ORD-1001", refundRef: "RF-1", amount: 1000, name: "again" },
      { type: "expect", of: "again", status: "REFUNDED" },
      { type: "refund", orderRef: "ORD-1001", refundRef: "RF-2", amount: 300, name: "tooMuch" },
      { type: "expect", of: "tooMuch", status: "REJECTED" },
    ],
  },
  {
    title: "Nobody scans: the sale times out as CANCELLED (demo timeout 5 s)",
    steps: [
      { type: "sale", orderRef: "ORD-1010", amount: "700" },
      { type: "waitStage", stage: "WAIT_SCAN" },
      { type: "expect", of: "sale", status: "CANCELLED", timeoutMs: 9000 },
    ],
  },
];
