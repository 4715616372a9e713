import {
  addGaugeSource,
  connectMongo,
  createLogger,
  createMetrics,
  createRedis,
  pingMongo,
  pingRedis,
  standardRoutes,
} from '@tm/kit/infra';

/**
 * Gauges read at scrape time: several sources under one name, and the readiness checks as
 * `dependency_up` (what the Redis/MongoDB-down alerts read), against the real stores and a dead one.
 */

/** The value of one sample of a registry's exposition, or undefined. */
async function sample(metrics: ReturnType<typeof createMetrics>, line: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('addGaugeSource', () => {
  it('reports every source under one name, drops a failing one, and forgets a removed one', async () => {
    const metrics = createMetrics('test');
    const spec = { name: 'things', help: 'things', labelNames: ['kind'] };
    addGaugeSource(metrics.registry, spec, async () => [{ labels: { kind: 'a' }, value: 1 }]);
    const removeB = addGaugeSource(metrics.registry, spec, async () => [{ labels: { kind: 'b' }, value: 2 }]);
    addGaugeSource(metrics.registry, spec, async () => Promise.reject(new Error('store down')));
    expect(await sample(metrics, 'things{kind="a",service="test"}')).toBe(1);
    expect(await sample(metrics, 'things{kind="b",service="test"}')).toBe(2);
    removeB();
    expect(await sample(metrics, 'things{kind="b",service="test"}')).toBeUndefined();
    expect(await sample(metrics, 'things{kind="a",service="test"}')).toBe(1);
  });
});

describe('dependency_up', () => {
  const log = createLogger('test', 'silent');

  it('is 1 for stores that answer and 0 for one that does not (within the scrape cap)', async () => {
    const redis = createRedis(process.env.REDIS_URL!, `t:scrape:${Date.now()}:`, log);
    const mongo = connectMongo({ url: process.env.MONGO_URL!, dbName: `t_scrape_${Date.now()}`, log });
    // nothing listens on port 1: this Redis never becomes ready
    const dead = createRedis('redis://127.0.0.1:1', 't:', log);
    try {
      for (const deadline = Date.now() + 20_000; !(mongo.isUp() && (await pingRedis(redis)));) {
        if (Date.now() > deadline) throw new Error('stores not ready');
        await new Promise((r) => setTimeout(r, 50));
      }
      const metrics = createMetrics('test');
      standardRoutes(
        'test',
        { redis: () => pingRedis(redis), mongo: () => pingMongo(mongo.connection), cache: () => pingRedis(dead) },
        metrics,
      );
      expect(await sample(metrics, 'dependency_up{dependency="redis",service="test"}')).toBe(1);
      expect(await sample(metrics, 'dependency_up{dependency="mongo",service="test"}')).toBe(1);
      expect(await sample(metrics, 'dependency_up{dependency="cache",service="test"}')).toBe(0);
      const rtt = await sample(metrics, 'dependency_check_duration_seconds{dependency="redis",service="test"}');
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(2.5);
    } finally {
      dead.disconnect();
      await redis.quit();
      await mongo.close();
    }
  }, 30_000);
});
