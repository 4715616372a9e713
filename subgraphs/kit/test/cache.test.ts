import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger, reviveDates, VersionedCache } from '@tm/kit';

/** The versioned read cache against a real Redis: hits, exact invalidation, no stale refill. */
const prefix = `t:cache:${randomUUID().slice(0, 8)}:`;
const log = createLogger('test', 'silent');
let redis: Redis;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!, { keyPrefix: prefix });
});

afterAll(() => redis.disconnect());

/** A stand-in database: a value per scope and a count of reads. */
function source(initial: Record<string, number>) {
  const db = { ...initial };
  let reads = 0;
  return {
    db,
    reads: () => reads,
    load: (scope: string) => async () => {
      reads++;
      return { n: db[scope]!, at: new Date('2026-01-01T00:00:00.000Z') };
    },
  };
}

const revive = (json: unknown) => reviveDates(json as { n: number; at: Date }, ['at']);

it('answers from Redis until the scope changes, then from the source, per variant', async () => {
  const cache = new VersionedCache<{ n: number; at: Date }>(redis, 'one', { ttlMs: 10_000, revive }, log);
  const src = source({ a: 1, b: 2 });
  expect(await cache.read('a', src.load('a'), { page: 1 })).toEqual({ n: 1, at: new Date('2026-01-01T00:00:00.000Z') });
  await new Promise((r) => setTimeout(r, 20)); // the write-back is not awaited by the reader
  const hit = await cache.read('a', src.load('a'), { page: 1 });
  expect(hit.at).toBeInstanceOf(Date);
  expect(src.reads()).toBe(1);
  await cache.read('a', src.load('a'), { page: 2 }); // another variant is another value
  expect(src.reads()).toBe(2);
  src.db.a = 10;
  await cache.changed('a');
  expect((await cache.read('a', src.load('a'), { page: 1 })).n).toBe(10);
  expect((await cache.read('b', src.load('b'), { page: 1 })).n).toBe(2);
});

it('never keeps a value read before a write for reads after it (no stale refill)', async () => {
  const cache = new VersionedCache<{ n: number; at: Date }>(redis, 'race', { ttlMs: 10_000, revive }, log);
  const src = source({ a: 1 });
  let release!: () => void;
  const slow = cache.read('a', async () => {
    const value = await src.load('a')(); // reads the old value…
    await new Promise<void>((r) => (release = r)); // …and is slow to store it
    return value;
  });
  await new Promise((r) => setTimeout(r, 20));
  src.db.a = 2; // a write, and its invalidation, while the slow read is in flight
  await cache.changed('a');
  release();
  expect((await slow).n).toBe(1);
  await new Promise((r) => setTimeout(r, 20));
  expect((await cache.read('a', src.load('a'))).n).toBe(2);
});

it('does not bring old values back when the version key is lost', async () => {
  const cache = new VersionedCache<{ n: number; at: Date }>(redis, 'lost', { ttlMs: 10_000, revive }, log);
  const src = source({ a: 1 });
  await cache.read('a', src.load('a'));
  await new Promise((r) => setTimeout(r, 20));
  src.db.a = 2;
  await redis.del('cache:lost:a:version'); // evicted, say, instead of changed
  expect((await cache.read('a', src.load('a'))).n).toBe(2);
});

it('reads many scopes in one go, loading only the missing, and shares concurrent reads', async () => {
  const cache = new VersionedCache<string>(redis, 'many', { ttlMs: 10_000 }, log);
  const asked: string[][] = [];
  const load = async (missing: string[]) => {
    asked.push(missing);
    return new Map(missing.filter((s) => s !== 'ghost').map((s) => [s, `name of ${s}`]));
  };
  expect([...(await cache.readMany(['u1', 'u2', 'u1', 'ghost'], load))]).toEqual([
    ['u1', 'name of u1'],
    ['u2', 'name of u2'],
  ]);
  expect([...(await cache.readMany(['u2', 'u3', 'ghost'], load)).keys()].sort()).toEqual(['u2', 'u3']);
  expect(asked).toEqual([
    ['u1', 'u2', 'ghost'],
    ['u3', 'ghost'],
  ]); // unknown ids are not cached
  await cache.changed('u1');
  await cache.readMany(['u1', 'u2'], load);
  expect(asked.at(-1)).toEqual(['u1']);

  let reads = 0;
  const one = new VersionedCache<number>(redis, 'shared', { ttlMs: 10_000 }, log);
  const values = await Promise.all(
    Array.from({ length: 5 }, () => one.read('x', async () => (await new Promise((r) => setTimeout(r, 30)), ++reads))),
  );
  expect(values).toEqual([1, 1, 1, 1, 1]);
});

it('refreshes a value read near its end in the background, in one process of several, so no reader waits for the load', async () => {
  const options = { ttlMs: 4000, refreshAheadMs: 2500, revive };
  const [one, two] = [0, 1].map(() => new VersionedCache<{ n: number; at: Date }>(redis, 'ahead', options, log));
  const src = source({ a: 1 });
  expect((await one!.read('a', src.load('a'))).n).toBe(1);
  await new Promise((r) => setTimeout(r, 50));
  src.db.a = 2; // changed at the source without `changed` (e.g. a lost invalidation): what the TTL bounds
  expect((await one!.read('a', src.load('a'))).n).toBe(1); // ~3.9 s left: a plain hit
  expect(src.reads()).toBe(1);
  await new Promise((r) => setTimeout(r, 1600)); // under 2.5 s left (and ~2.3 s before it expires)
  // a load held until released: the readers are answered while it has not finished
  const held: Array<() => void> = [];
  const heldLoad = () => async () => {
    await new Promise<void>((r) => held.push(r));
    return src.load('a')();
  };
  const [a, b] = await Promise.all([one!.read('a', heldLoad()), two!.read('a', heldLoad())]);
  expect([a.n, b.n]).toEqual([1, 1]);
  while (!held.length) await new Promise((r) => setTimeout(r, 10)); // the refresh started in the background
  await new Promise((r) => setTimeout(r, 100));
  expect(held.length).toBe(1); // one refresh for both "processes"
  held.forEach((r) => r());
  await new Promise((r) => setTimeout(r, 100));
  expect(src.reads()).toBe(2);
  const ttl = await redis.pttl(
    (await redis.keys(`${prefix}cache:ahead:a:*`))
      .map((k) => k.slice(prefix.length))
      .find((k) => !k.endsWith(':version') && !k.endsWith(':refreshing'))!,
  );
  expect(ttl).toBeGreaterThan(2500); // stored again with a full life
  expect((await two!.read('a', src.load('a'))).n).toBe(2);
  // after a write, readers wait for the new value as before
  src.db.a = 3;
  await one!.changed('a');
  expect((await two!.read('a', src.load('a'))).n).toBe(3);
});

it('reads straight from the source when Redis is unavailable', async () => {
  const down = new Redis('redis://127.0.0.1:1', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  const cache = new VersionedCache<number>(down, 'down', { ttlMs: 10_000 }, log);
  expect(await cache.read('x', async () => 7)).toBe(7);
  expect([...(await cache.readMany(['a'], async () => new Map([['a', 1]])))]).toEqual([['a', 1]]);
  await expect(cache.changed('x')).rejects.toThrow();
  down.disconnect();
});
