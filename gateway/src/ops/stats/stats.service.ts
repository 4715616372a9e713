/** Durations of one operation name: the last `size` samples (a ring), plus the total count. */
class Reservoir {
  private readonly samples: number[] = [];
  private next = 0;
  count = 0;
  lastAt = 0;
  constructor(private readonly size: number) {}
  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.count++;
    this.lastAt = Date.now();
  }
  quantiles(): { p50: number; p95: number; max: number } {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
    return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
  }
}

export interface OperationStat {
  operationName: string;
  count: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/**
 * The gateway's own measurements of operation durations, by operation name, in memory (per
 * process; bounded: the last 512 samples per name, at most 500 names, the least recently seen
 * name dropped first).
 */
export class OperationStats {
  private readonly byName = new Map<string, Reservoir>();
  constructor(
    private readonly maxNames = 500,
    private readonly samplesPerName = 512,
  ) {}

  record(operationName: string, ms: number): void {
    const name = operationName.slice(0, 100);
    let r = this.byName.get(name);
    if (!r) {
      if (this.byName.size >= this.maxNames) {
        let oldest: string | undefined;
        let oldestAt = Infinity;
        for (const [n, v] of this.byName) if (v.lastAt < oldestAt) [oldest, oldestAt] = [n, v.lastAt];
        if (oldest !== undefined) this.byName.delete(oldest);
      }
      r = new Reservoir(this.samplesPerName);
      this.byName.set(name, r);
    }
    r.add(ms);
  }

  /** The slowest operations by p95, slowest first. */
  slowest(limit: number): OperationStat[] {
    return [...this.byName.entries()]
      .map(([operationName, r]) => {
        const q = r.quantiles();
        return { operationName, count: r.count, p50Ms: q.p50, p95Ms: q.p95, maxMs: q.max };
      })
      .sort((a, b) => b.p95Ms - a.p95Ms || b.count - a.count)
      .slice(0, limit);
  }
}
