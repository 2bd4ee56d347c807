// A real Journal as a lane sees it (LaneJournal), with its writes watched and, on demand, failed:
// each durable record goes into `log` as `durable:<kind>:<status or phase>`, and a record that
// `failOn` picks throws the error a full disk gives (PB_JOURNAL_WRITE, ENOSPC) without being written.
// With `groupCommit`, the lane's writes go through Journal.commit (group commit) instead: a call
// whose records `failOn` picks is rejected whole, and `durable:` entries follow its commit.
import { BridgeError } from "../../daemon/errors.js";
import type { Journal } from "../../daemon/journal/journal.js";
import type { LaneJournal } from "../../daemon/lanes/lane-journal.js";
import type { JournalRecord } from "../../protocols/sale/records.js";

export function watchedJournal(
  real: Journal,
  opts: { log: string[]; failOn?: (record: JournalRecord) => boolean; groupCommit?: boolean },
): LaneJournal {
  const full = () =>
    new BridgeError("PB_JOURNAL_WRITE", "disk full (test)", { context: { errno: "ENOSPC" } });
  const commit = async (records: readonly JournalRecord[]) => {
    if (records.some((r) => opts.failOn?.(r))) throw full();
    await real.commit(records);
    for (const record of records)
      opts.log.push(`durable:${record.kind}:${record.kind === "sale" ? record.status : record.phase}`);
  };
  return {
    ...(opts.groupCommit ? { commit } : {}),
    write(record) {
      if (opts.failOn?.(record)) throw full();
      real.write(record);
      opts.log.push(`durable:${record.kind}:${record.kind === "sale" ? record.status : record.phase}`);
    },
    sale: (l, o) => real.sale(l, o),
    attempt: (id) => real.attempt(id),
    attemptsOf: (l, o) => real.attemptsOf(l, o),
    refundsOf: (l, o) => real.refundsOf(l, o),
    unsettledSales: (l) => real.unsettledSales(l),
    openAttempts: (l) => real.openAttempts(l),
    openRefunds: (l) => real.openRefunds(l),
  };
}
