/**
 * Gives the event loop a turn during a burst of deliveries: one event reaching thousands of
 * subscribers would otherwise write to every socket in one long task, and the process would
 * answer nothing else meanwhile. Deliveries queue their (synchronous) write here; the queue is run
 * in order on the next turn of the event loop (setImmediate), `sliceMs` at a time, the rest on the
 * turns after.
 */
export class Slicer {
  private readonly queue: Array<() => void> = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly onError: (err: unknown) => void,
    private readonly sliceMs = 8,
  ) {}

  run(fn: () => void): void {
    this.queue.push(fn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const start = performance.now();
    while (this.head < this.queue.length) {
      const fn = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
      if (performance.now() - start > this.sliceMs) break;
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
