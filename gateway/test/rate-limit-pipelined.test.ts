import { randomBytes } from 'node:crypto';
import { defaultOpsSettings } from '@tm/kit/contracts';
import { createLogger, createRedis, type Redis } from '@tm/kit/infra';
import { prepareRateLimitClient, RateLimits } from '../src/ops/limits/rate-limit';

/**
 * The rate limiter on an auto-pipelined connection, as the gateway runs it (REDIS_AUTO_PIPELINING=on),
 * against the real Redis. Its script is a `defineCommand`: a limiter made in a turn whose
 * auto-pipeline already exists (a new allowance set by an operator, mid-traffic) put its command on a
 * pipeline without it, and ioredis threw out of its callback, ending the gateway.
 */
const log = createLogger('test', 'silent');
let redis: Redis;
let plain: Redis;
const prefix = `t:rlpipe:${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  redis = prepareRateLimitClient(
    createRedis(process.env.REDIS_URL!, prefix, log, 'reads', { autoPipelining: true, commandTimeoutMs: 2000 }),
  );
  plain = createRedis(process.env.REDIS_URL!, prefix, log, 'plain');
  const ready = (c: Redis) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)));
  await Promise.all([ready(redis), ready(plain)]);
});

afterAll(async () => {
  const keys = await plain.keys(`${prefix}*`);
  if (keys.length) await plain.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
  await plain.quit();
});

function settings(requestsPerMinute: number, burst = 0) {
  return { ...defaultOpsSettings(), rateLimit: { requestsPerMinute, burst } };
}

it('counts exactly when a turn mixes other commands, counts of many clients and a new allowance', async () => {
  const limits = new RateLimits(redis, log);
  // one turn: plain reads around 30 consumes of 3 clients, under an allowance no limiter exists for yet
  const pending: Array<Promise<unknown>> = [redis.get('before')];
  for (let i = 0; i < 30; i++) pending.push(limits.consumeClient(`c${i % 3}`, settings(8)));
  pending.push(redis.get('after'));
  expect(redis.autoPipelineQueueSize).toBeGreaterThan(0); // queued together, not sent one by one
  const results = await Promise.all(pending);
  expect(results[0]).toBeNull();
  expect(results[results.length - 1]).toBeNull();
  const answers = results.slice(1, -1) as Array<{ retryAfterSeconds: number } | null>;
  // each client: 8 let through, 2 refused (10 requests each)
  for (let c = 0; c < 3; c++) {
    const mine = answers.filter((_, i) => i % 3 === c);
    expect(mine.filter((a) => a === null)).toHaveLength(8);
    expect(mine.filter((a) => a !== null).every((a) => a!.retryAfterSeconds >= 1)).toBe(true);
  }
  expect(await plain.get('ops:rl:client:c0')).toBe('10');

  // an operator raises the allowance mid-traffic: the counters go on, under the new limit
  const again = await Promise.all([redis.get('x'), limits.consumeClient('c0', settings(11)), redis.get('y')]);
  expect(again).toEqual([null, null, null]);
  expect(await limits.consumeClient('c0', settings(11))).not.toBeNull();
  // the burst allowance, made in a turn of its own too
  expect(await Promise.all([redis.get('z'), limits.consumeClient('c1', settings(8, 1))])).toEqual([null, null]);
  expect(await limits.consumeClient('c1', settings(8, 1))).not.toBeNull();
});
