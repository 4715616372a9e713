import type { ExecutionResult } from 'graphql';

/**
 * A push-fed async iterator with a bounded queue. `return()` runs the cleanup at once (it does
 * not wait behind a pending `next()`), so Redis subscriptions never leak when clients leave.
 */
export class LiveIterator implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: ExecutionResult[] = [];
  private waiting: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
  private done = false;

  /**
   * A message written to the socket directly now would overtake what is queued here, or follow
   * the end: ended, ending, or results still waiting.
   */
  get mustQueue(): boolean {
    return this.done || this.endAfterQueue || this.queue.length > 0;
  }

  constructor(
    private readonly maxQueue: number,
    private readonly onEnd: () => Promise<void> | void,
    private readonly onOverflow: () => void,
  ) {}

  push(result: ExecutionResult): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: result, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.onOverflow(); // a slow consumer is dropped, not buffered without bound
      void this.return();
      return;
    }
    this.queue.push(result);
  }

  /** Sends a last result, then ends. */
  finish(last?: ExecutionResult): void {
    if (last) this.push(last);
    this.endAfterQueue = true;
    if (this.queue.length === 0) void this.return();
  }

  private endAfterQueue = false;

  next(): Promise<IteratorResult<ExecutionResult>> {
    const value = this.queue.shift();
    if (value) {
      if (this.endAfterQueue && this.queue.length === 0) queueMicrotask(() => void this.return());
      return Promise.resolve({ value, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.done) {
      this.done = true;
      this.queue.length = 0;
      const w = this.waiting;
      this.waiting = null;
      w?.({ value: undefined, done: true });
      await this.onEnd();
    }
    return { value: undefined, done: true };
  }

  async throw(err?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
