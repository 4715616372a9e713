/** Queued work: `fn` on each of `items` in order, from `next` on. */
interface Work<T = unknown> {
  items: readonly T[];
  fn: (item: T) => void;
  next: number;
}

/**
 * Gives the event loop a turn during a burst of deliveries: one event reaching thousands of
 * subscribers would otherwise write to every socket in one long task, and the process would
 * answer nothing else meanwhile. Deliveries queue their (synchronous) writes here; the queue is run
 * in order on the next turn of the event loop (setImmediate), `sliceMs` at a time, the rest on the
 * turns after. A list queued with `runEach` may be cut between any two of its items.
 */
export class Slicer {
  private readonly queue: Array<Work | undefined> = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly onError: (err: unknown) => void,
    private readonly sliceMs = 8,
  ) {}

  run(fn: () => void): void {
    this.runEach([undefined], fn);
  }

  /** `fn(item)` for every item, in order, after everything queued before. */
  runEach<T>(items: readonly T[], fn: (item: T) => void): void {
    if (!items.length) return;
    this.queue.push({ items, fn, next: 0 } as Work);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const start = performance.now();
    let sliceOver = false;
    while (this.head < this.queue.length && !sliceOver) {
      const work = this.queue[this.head]!;
      while (work.next < work.items.length) {
        try {
          work.fn(work.items[work.next++]);
        } catch (err) {
          this.onError(err);
        }
        if (performance.now() - start > this.sliceMs) {
          sliceOver = true;
          break;
        }
      }
      if (work.next >= work.items.length) this.queue[this.head++] = undefined;
    }
    if (this.head < this.queue.length) {
      // under a steady stream the queue may never empty: drop the part already run now and then
      if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      setImmediate(() => this.drain());
      return;
    }
    this.queue.length = 0;
    this.head = 0;
    this.scheduled = false;
  }
}
