import client from 'prom-client';
import { BatchHistogram } from '../src/realtime/live-metrics';

/** The live latency histogram: many equal observations at once, exposed as prom-client exposes a histogram. */
describe('BatchHistogram', () => {
  const buckets = [0.01, 0.1, 1];

  it('counts observations given at once as that many, in the same text as a prom-client histogram', async () => {
    const ours = new client.Registry();
    const theirs = new client.Registry();
    const batch = new BatchHistogram(ours, 'x_seconds', 'help', 'subscription', buckets);
    const reference = new client.Histogram({
      name: 'x_seconds',
      help: 'help',
      labelNames: ['subscription'],
      buckets,
      registers: [theirs],
    });
    const observations: Array<[string, number, number]> = [
      ['taskChanged', 0.05, 3],
      ['taskChanged', 0.005, 1],
      ['taskChanged', 2, 2],
      ['presence', 0.1, 4],
    ];
    for (const [subscription, seconds, count] of observations) {
      batch.labels({ subscription }).observe(seconds, count);
      for (let i = 0; i < count; i++) reference.labels({ subscription }).observe(seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('ignores what is not a count of finite values, and a reset zeroes the series its children count into', async () => {
    const registry = new client.Registry();
    const batch = new BatchHistogram(registry, 'y_seconds', 'help', 'subscription', buckets);
    const child = batch.labels({ subscription: 'taskChanged' });
    child.observe(Number.NaN, 2);
    child.observe(0.5, 0);
    child.observe(0.5);
    expect(await registry.metrics()).toContain('y_seconds_count{subscription="taskChanged"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('y_seconds_count{subscription="taskChanged"} 0');
    child.observe(0.02, 5);
    const text = await registry.metrics();
    expect(text).toContain('y_seconds_bucket{le="0.01",subscription="taskChanged"} 0');
    expect(text).toContain('y_seconds_bucket{le="0.1",subscription="taskChanged"} 5');
    expect(text).toContain('y_seconds_count{subscription="taskChanged"} 5');
  });
});
