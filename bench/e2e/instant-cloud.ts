// An instant payment cloud, run as its own process by the end-to-end bench
// (`node build/bench/e2e/instant-cloud.js <brokerUrl> <topicPrefix>`): every pay or query request
// on <prefix>/+/+/req is answered PAID at once on the bridge's res topic (docs/cloud-contract.md).
// It also answers the bare baseline: each message on bench-bare/req/<n> is sent back at once on
// bench-bare/res/<n>, by the same client, so both go through the same process and broker.
// While the parent asks it to record, it reports over IPC when each request arrived and when each
// answer was handed to the socket (sharedNow: a clock both processes read).
import mqtt from "mqtt";
import { decodeRequest, encodeResponse } from "../../daemon/cloud/proto-codec.js";
import { noDelay, sharedNow } from "./parts.js";

export type CloudReport =
  | { type: "ready" }
  | { type: "req"; orderRef: string; at: number }
  | { type: "res"; orderRef: string; at: number }
  | { type: "bare"; id: string; at: number };

export type CloudOrder = { type: "record"; on: boolean } | { type: "stop" };

const [brokerUrl, prefix] = process.argv.slice(2);
if (!brokerUrl || !prefix || !process.send) {
  console.error("usage: node instant-cloud.js <brokerUrl> <topicPrefix> (as a child process with IPC)");
  process.exit(64);
}
const report = (r: CloudReport) => process.send?.(r);
let recording = false;
const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true });
noDelay(client);
client.on("message", (topic, payload) => {
  const at = sharedNow();
  if (topic.startsWith("bench-bare/req/")) {
    client.publish(`bench-bare/res/${topic.slice(15)}`, payload, { qos: 1 });
    if (recording) report({ type: "bare", id: topic.slice(15), at });
    return;
  }
  const decoded = decodeRequest(new Uint8Array(payload));
  if (!decoded.ok) return;
  const req = decoded.value;
  const cmd = req.command;
  if (cmd.type !== "pay" && cmd.type !== "query") return;
  const orderRef = cmd.type === "pay" ? cmd.orderRef : "";
  if (recording && cmd.type === "pay") report({ type: "req", orderRef, at });
  const amountFen = cmd.type === "pay" ? cmd.amountFen : 0;
  const bytes = encodeResponse({
    requestId: req.requestId,
    attemptId: cmd.attemptId,
    sentAtMs: Date.now(),
    result: {
      type: "payment",
      status: "PAID",
      amountFen,
      scheme: "WECHAT",
      channelTradeNo: `42${cmd.attemptId}`,
      reasonCode: "",
      message: "",
      rescanAllowed: false,
    },
  });
  const sentAt = sharedNow();
  client.publish(topic.replace(/\/req$/, "/res"), Buffer.from(bytes), { qos: 1 });
  if (recording && cmd.type === "pay") report({ type: "res", orderRef, at: sentAt });
});
await client.subscribeAsync([`${prefix}/+/+/req`, "bench-bare/req/+"], { qos: 1 });
process.on("message", (order: CloudOrder) => {
  if (order.type === "record") recording = order.on;
  else void client.endAsync().then(() => process.exit(0));
});
report({ type: "ready" });
