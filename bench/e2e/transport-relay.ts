// The transport floor of the 32-lane figure (docs/performance.md, "Method"), run as its own
// process by the end-to-end bench (`node build/bench/e2e/transport-relay.js <brokerUrl>
// <topicPrefix> <lanes.json>`): for each lane it opens the daemon's ends of the same socat pty
// pairs, through the same serialport stack, and answers the bench's register and scanner with the
// frames the bridge sends for a paid sale (docs/terminal-protocol.md: ACK of the SA, PR WAIT_SCAN;
// on the scan PR SUBMITTED and one pay request over MQTT, QoS 1, to the instant cloud; on its
// result RS 00), encoded by the same protocols/ecr code. No journal, no fsync, no sale machine,
// no link layer: the register's ACKs are read and dropped. What it costs is the floor of the ptys,
// the broker and the cloud under the same traffic.
//
// With a fourth argument, a directory, it is the durable floor of the 1-lane figures instead: before
// the pay request and before the `RS` it appends a record of the journal's size to a file there and
// waits for its fsync (written on the main thread, fsynced on the threadpool, as the daemon's group
// commit does: docs/journal.md). That is the least any bridge that keeps the promise "journal
// before you publish, and before you answer" must do on these ptys, this broker and this disk.
import { closeSync, fsync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { decodeResponse, encodeRequest } from "../../daemon/cloud/proto-codec.js";
import { EcrFramer } from "../../protocols/ecr/framer.js";
import { encodeEcrFrame } from "../../protocols/ecr/frame-encoder.js";
import { decodeEcrRequest, encodeEcrAnswer } from "../../protocols/ecr/messages.js";
import type { PosAnswer } from "../../protocols/pos/pos-messages.js";
import { TEXT } from "../../protocols/sale/sale-texts.js";
import { noDelay, openSerialEnd, type SerialEnd } from "./parts.js";

export interface RelayLane {
  id: string;
  /** The daemon's end of the register's pty pair. */
  registerPath: string;
  /** The daemon's end of the scanner's pty pair. */
  scannerPath: string;
}

const [brokerUrl, prefix, lanesFile, durableDir] = process.argv.slice(2);
if (!brokerUrl || !prefix || !lanesFile || !process.send) {
  console.error(
    "usage: node transport-relay.js <brokerUrl> <topicPrefix> <lanes.json> [<fsync dir>] (as a child with IPC)",
  );
  process.exit(64);
}
const lanes = JSON.parse(readFileSync(lanesFile, "utf8")) as RelayLane[];
const ACK = Uint8Array.of(0x06);
// Its own bridge id per mode, so that two relays on one broker never see each other's answers.
const relayId = durableDir ? "durable" : "relay";
const reqTopic = `${prefix}/FLOOR/${relayId}/req`;
const resTopic = `${prefix}/FLOOR/${relayId}/res`;
const journalFd = durableDir ? openSync(join(durableDir, "relay-journal.jsonl"), "a") : undefined;
process.once("exit", () => journalFd !== undefined && closeSync(journalFd));
/** A line of the size of the daemon's sale records (~200–400 B), written and fsynced, then `then`. */
function durably(what: string, then: () => void): void {
  if (journalFd === undefined) {
    then();
    return;
  }
  writeSync(journalFd, `${JSON.stringify({ what, at: Date.now(), pad: "x".repeat(240) })}\n`);
  fsync(journalFd, (err) => {
    if (err) throw err;
    then();
  });
}

interface Open {
  seq: string;
  orderRef: string;
  amountFen: number;
}
interface LaneLink {
  id: string;
  register: SerialEnd;
  open: Open | undefined;
}

const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true });
noDelay(client);
const byAttempt = new Map<string, LaneLink>();
let attemptSeq = 0;
const answer = (link: LaneLink, a: PosAnswer) => link.register.write(encodeEcrFrame(encodeEcrAnswer(a)));

client.on("message", (_topic, payload) => {
  const decoded = decodeResponse(new Uint8Array(payload));
  if (!decoded.ok || decoded.value.result.type !== "payment") return;
  const link = byAttempt.get(decoded.value.attemptId);
  const sale = link?.open;
  if (!link || !sale) return;
  byAttempt.delete(decoded.value.attemptId);
  link.open = undefined;
  const r = decoded.value.result;
  durably("result", () =>
    answer(link, {
      type: "result",
      seq: sale.seq,
      orderRef: sale.orderRef,
      status: "PAID",
      amountFen: r.amountFen,
      scheme: r.scheme,
      channelTradeNo: r.channelTradeNo,
      text: TEXT.paid,
    }),
  );
});
await client.subscribeAsync(resTopic, { qos: 1 });

async function openLane(lane: RelayLane): Promise<void> {
  const [register, scanner] = await Promise.all([
    openSerialEnd(lane.registerPath),
    openSerialEnd(lane.scannerPath),
  ]);
  const link: LaneLink = { id: lane.id, register, open: undefined };
  const framer = new EcrFramer({ maxDataLength: 1024 });
  register.onData((bytes) => {
    for (const chunk of framer.push(bytes)) {
      if (chunk.type !== "frame") continue;
      register.write(ACK);
      const req = decodeEcrRequest(chunk.data, { maxAmountFen: Number.MAX_SAFE_INTEGER });
      if (!req.ok || req.request.type !== "sale") continue;
      const { seq, orderRef, amountFen } = req.request;
      link.open = { seq, orderRef, amountFen };
      answer(link, { type: "progress", orderRef, stage: "WAIT_SCAN", text: TEXT.showCode(amountFen) });
    }
  });
  let line = "";
  scanner.onData((bytes) => {
    line += Buffer.from(bytes).toString("latin1");
    for (let cr = line.indexOf("\r"); cr >= 0; cr = line.indexOf("\r")) {
      const code = line.slice(0, cr);
      line = line.slice(cr + 1);
      const sale = link.open;
      if (!sale || code.length === 0) continue;
      answer(link, { type: "progress", orderRef: sale.orderRef, stage: "SUBMITTED", text: TEXT.submitted });
      // An id of the cloud contract's shape (6–32 of [A-Za-z0-9_], docs/cloud-contract.md).
      const attemptId = `floor_${String(++attemptSeq).padStart(20, "0")}`;
      byAttempt.set(attemptId, link);
      const bytes = encodeRequest({
        requestId: attemptId,
        sentAtMs: Date.now(),
        laneId: link.id,
        command: {
          type: "pay",
          attemptId,
          orderRef: sale.orderRef,
          amountFen: sale.amountFen,
          authCode: code,
          scheme: "WECHAT",
          scannedAtMs: Date.now(),
          deadlineMs: Date.now() + 60_000,
        },
      });
      durably("scan", () => client.publish(reqTopic, Buffer.from(bytes), { qos: 1 }));
    }
  });
}

await Promise.all(lanes.map(openLane));
process.send({ type: "ready" });
