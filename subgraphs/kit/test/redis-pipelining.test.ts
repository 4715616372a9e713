import { createLogger, createRedis, type Redis } from '@tm/kit/infra';

/** ioredis auto-pipelining as createRedis sets it up, against the real Redis. */
describe('createRedis auto-pipelining', () => {
  const log = createLogger('test', 'silent');
  const prefix = `t:pipe:${process.pid}:${Date.now()}:`;
  const clients: Redis[] = [];
  const open = (autoPipelining: boolean) => {
    const c = createRedis(process.env.REDIS_URL!, prefix, log, 'test', { autoPipelining });
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) await c.quit().catch(() => c.disconnect());
  });

  it('sends the commands of one turn together, under the key prefix, each with its own answer', async () => {
    const piped = open(true);
    const plain = open(false);
    const ready = (c: Redis) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)));
    await Promise.all([ready(piped), ready(plain)]);
    await plain.mset(...Array.from({ length: 40 }, (_, i) => [`k${i}`, `v${i}`]).flat());
    const answers = Array.from({ length: 40 }, (_, i) => piped.get(`k${i}`));
    // queued for one write at the end of this turn, not written one by one
    expect(piped.autoPipelineQueueSize).toBe(40);
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`));
    // a script (as the rate limiter runs) and a failing command in the same batch
    const [script, failed] = await Promise.allSettled([
      piped.eval("return redis.call('GET', KEYS[1])", 1, 'k7'),
      piped.hgetall('k1'), // a string, not a hash: WRONGTYPE for this command only
    ]);
    expect(script).toEqual({ status: 'fulfilled', value: 'v7' });
    expect(failed.status).toBe('rejected');
    // the prefix applies to pipelined commands too
    await piped.set('written', 'yes');
    expect(await plain.get('written')).toBe('yes');
    expect(plain.autoPipelineQueueSize).toBe(0);
  });
});
