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
    latency: new client.Histogram({
      name: 'live_delivery_latency_seconds',
      help: 'From the change to the send',
      labelNames: ['subscription'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
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
