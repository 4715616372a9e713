import client from 'prom-client';

/** What the live endpoint's gauges read when scraped. */
export interface LiveGaugeSources {
  connections: () => number;
  subscriptions: () => number;
  channels: () => number;
  waitingStarts: () => number;
}

/** The live endpoint's metrics (gauges read their sources at scrape time). */
export function createLiveMetrics(registry: client.Registry, sources: LiveGaugeSources) {
  const gauge = (name: string, help: string, get: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(get());
      },
    });
  gauge('live_connections', 'Open graphql-ws connections', sources.connections);
  gauge('live_subscriptions', 'Active live subscriptions', sources.subscriptions);
  gauge('live_redis_channels', 'Redis channels this process listens to', sources.channels);
  gauge('live_subscription_starts_waiting', 'Subscription starts waiting for a turn', sources.waitingStarts);
  return {
    delivered: new client.Counter({
      name: 'live_events_delivered_total',
      help: 'Live events delivered',
      labelNames: ['subscription'],
      registers: [registry],
    }),
    shaped: new client.Counter({
      name: 'live_payloads_shaped_total',
      help: 'Live payloads shaped for subscribers (identical subscriptions of one permission set share one)',
      labelNames: ['subscription'],
      registers: [registry],
    }),
    latency: new BatchHistogram(
      registry,
      'live_delivery_latency_seconds',
      'From the change to the send',
      'subscription',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    started: new client.Counter({
      name: 'live_subscriptions_started_total',
      help: 'Subscriptions that went live (their Redis channel confirmed)',
      registers: [registry],
    }),
    dropped: new client.Counter({
      name: 'live_subscription_starts_dropped_total',
      help: 'Subscription starts not run: the client completed them while they waited (gone), too many were waiting (full), or the connection sent operations faster than its budget (rate)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
export type LiveMetrics = ReturnType<typeof createLiveMetrics>;

/** One label value's series of a BatchHistogram. */
interface HistogramSeries {
  /** Cumulative counts by bucket (the last one is +Inf). */
  counts: number[];
  sum: number;
}

/**
 * A Prometheus histogram with one label that takes many equal observations at once
 * (`labels(…).observe(seconds, count)`), for the deliveries of one live event written in one burst.
 * prom-client's Histogram takes one observation per call and hashes its labels on each: at tens of
 * thousands of deliveries a second that was a visible part of the gateway's time. Registered in
 * prom-client's registry and exposed in the same format (`_bucket{le}`, `_sum`, `_count`).
 */
export class BatchHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    registry: client.Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly buckets: readonly number[],
  ) {
    registry.registerMetric(this as unknown as client.Metric);
  }

  labels(labels: Record<string, string>): { observe(seconds: number, count?: number): void } {
    const value = labels[this.labelName] ?? '';
    let s = this.series.get(value);
    if (!s) this.series.set(value, (s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0 }));
    const series = s;
    return {
      observe: (seconds: number, count = 1) => {
        if (!Number.isFinite(seconds) || count <= 0) return;
        series.sum += seconds * count;
        // cumulative buckets: every bound at or above the value, and +Inf
        for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) series.counts[i]! += count;
        series.counts[this.buckets.length]! += count;
      },
    };
  }

  get(): Omit<client.MetricObjectWithValues<client.MetricValueWithName<string>>, 'collect'> {
    const values: Array<client.MetricValueWithName<string>> = [];
    for (const [value, s] of this.series) {
      this.buckets.forEach((le, i) =>
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.labelName]: value }, value: s.counts[i]! }),
      );
      const count = s.counts[this.buckets.length]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: value }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: value }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: value }, value: count });
    }
    return { name: this.name, help: this.help, type: 'histogram' as unknown as client.MetricType, values, aggregator: 'sum' };
  }

  /** Zeroes every series in place (children handed out keep counting into theirs). */
  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
    }
  }
}
