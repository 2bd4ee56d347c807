// A real Journal as a lane sees it (LaneJournal), with its writes watched and, on demand, failed:
// each durable record goes into `log` as `durable:<kind>:<status or phase>`, and a record that
// `failOn` picks throws the error a full disk gives (PB_JOURNAL_WRITE, ENOSPC) without being written.
import { BridgeError } from "../../daemon/errors.js";
import type { Journal } from "../../daemon/journal/journal.js";
import type { LaneJournal } from "../../daemon/lanes/lane-journal.js";
import type { JournalRecord } from "../../protocols/sale/records.js";

export function watchedJournal(
  real: Journal,
  opts: { log: string[]; failOn?: (record: JournalRecord) => boolean },
): LaneJournal {
  return {
    write(record) {
      if (opts.failOn?.(record))
        throw new BridgeError("PB_JOURNAL_WRITE", "disk full (test)", { context: { errno: "ENOSPC" } });
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
