// Diagnostics as a technician reads them in a terminal: the status snapshot, monitor events and
// the retained status of the broker, one thing per line, the trouble first on each line.
import { tapLines } from "./devices.js";
import type { BridgeStatusView } from "../../protocols/cloud/cloud-messages.js";
import { formatYuan } from "../../protocols/payment/amount.js";
import type { MissedEvent, MonitorEvent } from "./channels.js";
import type { AttemptSnapshot, BridgeSnapshot, DeviceSnapshot, LaneSnapshot } from "./snapshot.js";

/** 3 s, 4 min 12 s, 2 h 03 min, 5 d 4 h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Local date and time, to the second. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function clock(ms: number): string {
  return localTime(ms).slice(11);
}

function yuan(fen: number | null): string {
  return fen === null ? "-" : `¥${formatYuan(fen)}`;
}

export function formatStatus(s: BridgeSnapshot): string {
  const out: string[] = [];
  out.push(
    `posbridge ${s.version} (pid ${s.pid}, Node ${s.node})  store ${s.store} bridge ${s.bridge}  up ${duration(s.uptimeMs)} (since ${localTime(s.startedAt)})`,
  );
  const l = s.link;
  const linkWhy = l.state === "online" ? "" : `: ${l.reason}${l.code ? ` (${l.code})` : ""}`;
  const up = l.connectedSinceMs === null ? "" : `, connected ${duration(l.connectedSinceMs)}`;
  out.push(`broker   ${l.state.toUpperCase()} since ${localTime(l.since)}${up}${linkWhy}`);
  out.push(
    `         ${l.url}  client ${l.clientId}  MQTT ${l.protocolVersion === 5 ? "5" : "3.1.1"}  queued ${l.queueDepth}`,
  );
  if (l.tls) {
    const cert = (label: string, at: number | null) =>
      at === null
        ? []
        : [
            `${label} ${localTime(at).slice(0, 10)} (${at > s.takenAt ? `in ${duration(at - s.takenAt)}` : "EXPIRED"})`,
          ];
    const parts = [
      ...cert("broker certificate expires", l.tls.brokerCertExpiresAt),
      ...cert("client certificate", l.tls.clientCertExpiresAt),
      ...cert("CA", l.tls.caExpiresAt),
    ];
    out.push(`         TLS: ${parts.length ? parts.join("; ") : "no certificate seen yet"}`);
  }
  const c = l.counters;
  out.push(
    `         connects ${c.connects ?? 0}, disconnects ${c.disconnects ?? 0}, requests ${c.published ?? 0} (not sent: offline ${c.refusedOffline ?? 0}, refused ${c.refusedByBroker ?? 0}), answers ${c.received ?? 0}; requests tracked ${s.rpc.pending}`,
  );
  const j = s.journal;
  const fault = j.fault
    ? `  FAULT ${j.fault.fault} since ${localTime(j.fault.since)}: ${j.fault.message}`
    : "";
  out.push(
    `journal  ${j.path}  ${bytes(j.fileBytes)}, ${j.liveRecords} records, last fsync ${j.lastFsyncAt === null ? "none yet" : `${duration(s.takenAt - j.lastFsyncAt)} ago`}${fault}`,
  );
  const p = s.process;
  out.push(
    `process  RSS ${bytes(p.rssBytes)}, heap ${bytes(p.heapUsedBytes)}, event loop delay p99 ${p.eventLoopDelayMs.p99} ms, max ${p.eventLoopDelayMs.max} ms (worst in the last minute ${p.eventLoopDelayMs.maxLastMinute} ms)`,
  );
  for (const lane of s.lanes) out.push(...formatLane(lane));
  out.push(
    `remote diagnostics ${s.diagnostics.remote ? "on" : "off"}; control socket ${s.diagnostics.socket}`,
  );
  return `${out.join("\n")}\n`;
}

function formatLane(lane: LaneSnapshot): string[] {
  const out = [
    `lane ${lane.id}  ${lane.state}${lane.journalOk ? "" : `  JOURNAL ${lane.journalFault}: no sale until it is restored`}`,
  ];
  const d = lane.devices;
  out.push(device(d.terminal.tap ? "reg-disp" : "register", d.terminal));
  if (d.terminal.tap) out.push(...tapLines(d.terminal.tap, 12));
  out.push(device("scanner", d.scanner));
  if (d.display) out.push(device("display", d.display));
  const sale = lane.sale;
  if (sale) {
    const a = sale.attempt ? `, attempt ${attempt(sale.attempt)}` : ", waiting for a scan";
    out.push(
      `  sale      order ${sale.orderRef} ${yuan(sale.amountFen)} ${sale.status}${sale.training ? " (TRAINING)" : ""} since ${clock(sale.openedAt)}${a}`,
    );
  }
  for (const a of lane.pending.attempts) out.push(`  resolving attempt ${attempt(a)} (order ${a.orderRef})`);
  for (const r of lane.pending.refunds)
    out.push(`  refund    ${r.refundId} order ${r.orderRef} ${yuan(r.amountFen)} ${r.phase}`);
  return out;
}

function attempt(a: AttemptSnapshot): string {
  return `${a.attemptId} ${yuan(a.amountFen)} ${a.maskedCode} ${a.phase}${a.reason ? ` (${a.reason})` : ""}${a.training ? " TRAINING" : ""}`;
}

function device(label: string, d: DeviceSnapshot): string {
  const where = `${d.identity.configured}${d.identity.node && d.identity.node !== d.identity.configured ? ` → ${d.identity.node}` : ""} (${d.type})`;
  const why = d.state === "CONNECTED" ? "" : `: ${d.error}${d.code ? ` (${d.code})` : ""}`;
  const c = d.counters;
  const reopens =
    d.opens === null ? "" : `, reopens ${Math.max(0, d.opens - 1)}${d.flaps ? `, flaps ${d.flaps}` : ""}`;
  const last =
    d.lastGoodAgoMs === null
      ? ""
      : `, last ${d.kind === "terminal" ? "frame" : "read"} ${duration(d.lastGoodAgoMs)} ago`;
  let counters = "";
  if (d.tap)
    counters = `display bytes in ${c.bytesIn} forwarded ${c.bytesForwarded} dropped ${c.forwardDropped}, updates ${c.updates}, totals ${c.totalsAccepted}, views ${c.viewsShown}, noise ${c.discardedBytes} B`;
  else if (d.kind === "terminal")
    counters = `frames in ${c.framesIn} out ${c.framesOut}, NAKs sent ${c.naksSent} received ${c.naksReceived}, resends ${c.retransmits}, given up ${c.faults}, noise ${c.discardedBytes} B`;
  else if (d.kind === "scanner") counters = `reads ${c.reads}, noise ${c.discardedBytes} B`;
  else counters = `writes ${c.writes}, skipped ${c.viewsSkipped}, stalls ${c.stalls}`;
  return `  ${label.padEnd(9)} ${d.state.padEnd(9)} ${where}${why}\n            ${counters}${reopens}${last}`;
}

/** One monitor event as one line. */
export function formatEvent(e: MonitorEvent | MissedEvent): string {
  if (e.type === "missed") return `… ${e.count} events dropped: this terminal read too slowly`;
  const head = `${clock(e.at)}.${String(e.at % 1000).padStart(3, "0")} ${(e.lane || "bridge").padEnd(8)}`;
  switch (e.type) {
    case "frame": {
      const arrow = e.dir === "in" ? "register →" : "register ←";
      const hex = e.hex && e.kind !== "ack" && e.kind !== "nak" && e.kind !== "enq" ? `   [${e.hex}]` : "";
      return `${head} ${arrow} ${e.meaning}${e.resend ? " (RESEND)" : ""}${hex}`;
    }
    case "scan":
      return `${head} scanner    read ${e.length} chars ${e.masked}: ${e.classification} → ${e.outcome}`;
    case "display":
      return `${head} display    ${e.lines.map((l) => `"${l}"`).join(" / ")}${e.training ? " (training)" : ""}`;
    case "cloud": {
      const who = e.training ? "sim-cloud" : "cloud    ";
      if (e.dir === "out")
        return `${head} ${who}  → ${e.kind} ${e.attemptId}${e.amountFen === null ? "" : ` ${yuan(e.amountFen)}`}${e.masked ? ` ${e.masked}` : ""}`;
      return `${head} ${who}  ← ${e.kind} ${e.attemptId} ${e.status}${e.amountFen ? ` ${yuan(e.amountFen)}` : ""}${e.reasonCode ? ` ${e.reasonCode}` : ""}`;
    }
    case "state":
      return `${head} ${e.subject.padEnd(10)} ${e.to}${e.detail ? `: ${e.detail}` : ""}`;
    case "tap": {
      const lamp = e.lamp === null ? "" : `[${e.lamp}] `;
      const amount = e.amountFen === null ? "no amount" : `${e.kind} ${yuan(e.amountFen)}`;
      const standing = e.standingTotalFen === null ? "" : `; a scan charges ${yuan(e.standingTotalFen)}`;
      return `${head} reg-display ${lamp}${e.lines.map((l) => `"${l}"`).join(" / ")} → ${amount}${e.chargeable ? " (chargeable)" : " (not chargeable)"}${standing}`;
    }
  }
}

/** The retained status on <prefix>/<store>/<bridge>/status, decoded (it is protobuf on the wire). */
export function formatRetained(s: BridgeStatusView): string {
  const out = [
    `retained status: ${s.online ? "ONLINE" : "OFFLINE"}${s.reason ? ` (${s.reason})` : ""}, posbridge ${s.version}, up since ${localTime(s.sinceMs)}`,
  ];
  for (const l of s.lanes)
    out.push(
      `  lane ${l.laneId}: register ${l.terminal}, scanner ${l.scanner}, display ${l.display}; resolving ${l.pendingAttempts} payment(s), ${l.pendingRefunds} refund(s)${l.lastError ? `; ${l.lastError}` : ""}`,
    );
  return `${out.join("\n")}\n`;
}
