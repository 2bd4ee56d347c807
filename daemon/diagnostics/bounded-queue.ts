// A push source turned into an AsyncIterable with a bound: what a streaming diagnostics method
// (monitor, test sale) returns. The producer pushes synchronously and never waits; the control
// server pulls as fast as its client reads. When the client is slower than the bridge, the oldest
// events are dropped and the next one pulled is a `missed` marker saying how many, so a slow
// client costs the bridge a bounded amount of memory and never slows a sale.

export class BoundedQueue<T, M> implements AsyncIterable<T | M> {
  private readonly items: T[] = [];
  private dropped = 0;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly capacity: number,
    private readonly missed: (count: number) => M,
  ) {}

  push(item: T): void {
    if (this.closed) return;
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(item);
    this.wake?.();
  }

  /** No more items: the iteration ends once what is queued has been pulled. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  get length(): number {
    return this.items.length;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T | M> {
    for (;;) {
      if (this.dropped > 0) {
        const count = this.dropped;
        this.dropped = 0;
        yield this.missed(count);
        continue;
      }
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
