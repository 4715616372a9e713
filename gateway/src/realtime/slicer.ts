/**
 * Gives the event loop a turn during a burst of deliveries: one event reaching thousands of
 * subscribers would otherwise run as one long task (every subscriber's continuation runs in the
 * same microtask checkpoint), and the process would answer nothing else meanwhile. Each delivery
 * takes a turn; once the current slice has run `sliceMs`, the rest wait for the next turn of the
 * event loop (setImmediate), in order.
 */
export class Slicer {
  private sliceStart = performance.now();
  private pause: Promise<void> | null = null;

  constructor(private readonly sliceMs = 8) {}

  async take(): Promise<void> {
    for (;;) {
      if (this.pause) {
        await this.pause;
        continue;
      }
      if (performance.now() - this.sliceStart <= this.sliceMs) return;
      this.pause = new Promise((resolve) =>
        setImmediate(() => {
          this.pause = null;
          this.sliceStart = performance.now();
          resolve();
        }),
      );
    }
  }
}
