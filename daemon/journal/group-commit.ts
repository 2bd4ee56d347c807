// Group commit: the journal's appends from every lane batched into one write and one fsync
// (docs/journal.md, "Group commit"). A caller's commit() joins the queue; while one flush runs,
// new commits wait, and when it ends the next flush takes all of them at once (natural batching:
// the slower the disk, the bigger the batch). An idle group starts its flush once the code that
// committed has run to its end (process.nextTick: the commits it made together join, a lone
// lane's commit does not wait a turn of the event loop, and the fsync starts before the socket
// writes that code queued the same way, e.g. mqtt.js's PUBACK of the result being journaled;
// docs/performance.md, "Where the single-lane latency goes"). After a flush, the next one starts
// at the next turn, so the steps the flush just let go, and whatever the loop read meanwhile,
// join it. A flush succeeds or fails whole: every commit of the batch is resolved,
// or rejected with the same error. At most one flush runs at a time, so the file sees one append
// at a time, in the order the commits were made. No I/O here: the flush is the journal's.

/** Writes the items of a batch in order, durably; resolves once all of them are, or rejects. */
export type Flush<T> = (items: T[]) => Promise<void>;

interface Waiter<T> {
  items: T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitStats {
  /** Flushes run (each one write and one fsync when it reached the file). */
  flushes: number;
  /** Commits those flushes carried. */
  commits: number;
  /** The most commits one flush carried. */
  largestBatch: number;
}

export class GroupCommit<T> {
  private queue: Waiter<T>[] = [];
  private running = false;
  private scheduled = false;
  private readonly counts: GroupCommitStats = { flushes: 0, commits: 0, largestBatch: 0 };

  constructor(
    private readonly flush: Flush<T>,
    /** When the flush after a flush starts: the next turn of the event loop, so what it let go joins. */
    private readonly defer: (fn: () => void) => void = setImmediate,
    /** When an idle group's flush starts: once the committing code has run (process.nextTick). */
    private readonly start: (fn: () => void) => void = process.nextTick,
  ) {}

  /**
   * Queues `items` (kept together and in order) for the next flush; resolves once they are
   * durable, rejects with the flush's error when their batch fails.
   */
  commit(items: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.kick(this.start);
    });
  }

  /** A flush is running. */
  get busy(): boolean {
    return this.running;
  }

  /** Commits waiting for the next flush. */
  get waiting(): number {
    return this.queue.length;
  }

  stats(): GroupCommitStats {
    return { ...this.counts };
  }

  private kick(when: (fn: () => void) => void): void {
    if (this.running || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    when(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.running = true;
    this.counts.flushes++;
    this.counts.commits += batch.length;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, batch.length);
    let done: Promise<void>;
    try {
      done = this.flush(batch.flatMap((w) => w.items));
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(
      () => this.settle(batch, (w) => w.resolve()),
      (err: unknown) => this.settle(batch, (w) => w.reject(err)),
    );
  }

  private settle(batch: Waiter<T>[], how: (w: Waiter<T>) => void): void {
    this.running = false;
    for (const w of batch) how(w);
    // The commits just answered run their continuations first (a lane's next step may commit at
    // once): the next flush starts at the next turn and takes them too.
    this.kick(this.defer);
  }
}
