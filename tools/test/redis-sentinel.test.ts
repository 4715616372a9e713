import { Redis } from 'ioredis';
import {
  baseConfigSchema,
  connectRedis,
  createLogger,
  createRedis,
  EventPublisher,
  eventStream,
  liveChannel,
  LivePublisher,
  loadConfig,
  redisReady,
  redisSettings,
  type Redis as KitRedis,
} from '@tm/kit/infra';
import { startRedisSentinel, type RedisSentinel } from '../src/testing/redis-cluster';
import { waitFor } from '../src/testing/wait';

/**
 * The kit on a Redis master found through a Sentinel (Debian's `redis-server --sentinel`), from
 * REDIS_SENTINELS + REDIS_SENTINEL_NAME alone: keys under the prefix, a Lua script, a stream entry
 * and a live update all reach the master the sentinel names.
 */
let sentinel: RedisSentinel;
let redis: KitRedis;
let sub: KitRedis;
let master: Redis;
const prefix = `t:sentinel_${process.pid}:`;
const log = createLogger('sentinel-test', 'silent');

beforeAll(async () => {
  sentinel = await startRedisSentinel('tm-test');
  const config = loadConfig(baseConfigSchema, {
    MONGO_URL: 'mongodb://127.0.0.1:1/unused',
    INTERNAL_SECRET: 'x'.repeat(32),
    REDIS_SENTINELS: sentinel.sentinels,
    REDIS_SENTINEL_NAME: sentinel.name,
    REDIS_PREFIX: prefix,
  });
  redis = createRedis(redisSettings(config), prefix, log, 'test');
  sub = connectRedis(redisSettings(config));
  expect(await redisReady(redis, 10_000)).toBe(true);
  master = new Redis(sentinel.masterPort, '127.0.0.1', { keyPrefix: prefix });
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  sub?.disconnect();
  master?.disconnect();
  await sentinel?.stop();
});

it('finds the master through the sentinel and works on it', async () => {
  await redis.set('k', 'v');
  expect(await master.get('k')).toBe('v');
  expect(await redis.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, 'n', '5')).toBe(5);
  await new EventPublisher('tasks', redis, log).publish('TaskCreated', { taskId: 't1' });
  expect(await master.xlen(eventStream('tasks'))).toBe(1);
});

it('carries live updates (pub/sub) through the sentinel-found master', async () => {
  const channel = liveChannel(prefix, 'taskChanged', 'p1');
  const got: string[] = [];
  sub.on('message', (_ch: string, m: string) => got.push(m));
  await sub.subscribe(channel);
  await new LivePublisher(redis, prefix, log).publish('taskChanged', 'p1', { kind: 'CREATED' });
  await waitFor(() => got.length > 0, 'the live update', 10_000);
  expect(JSON.parse(got[0]!)).toMatchObject({ kind: 'CREATED' });
});
