import { randomUUID } from 'node:crypto';
import client from 'prom-client';
import { Redis } from 'ioredis';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import {
  createLogger,
  createRedis,
  type DomainEvent,
  StreamConsumer,
  type StreamConsumerOptions,
  type StreamEntryOutcome,
} from '@tm/kit/infra';

/**
 * The kit's consumer-group reader against the real Redis, under a key prefix of this file's own:
 * delivery and acknowledgement, a restart resuming its own pending entries, a dead consumer's
 * entries taken over, a failing event dropped after its tries (an outage waited out instead),
 * Redis going away and back, and a stop that leaves nothing running.
 */
const prefix = `t:stream-consumer:${randomUUID().slice(0, 8)}:`;
const log = createLogger('test', 'silent');
let redis: Redis;
/** Writes entries and plays other (dead) consumers. */
let admin: Redis;
let readers: StreamConsumer[] = [];

beforeAll(async () => {
  redis = createRedis(process.env.REDIS_URL!, prefix, log, 'test');
  admin = new Redis(process.env.REDIS_URL!, { keyPrefix: prefix });
  await until(() => redis.status === 'ready', 'redis ready');
});

afterEach(async () => {
  await Promise.all(readers.map((r) => r.stop()));
  readers = [];
});

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys.map((k) => k.slice(prefix.length))); // KEYS answers full names; DEL adds the prefix
  await Promise.all([redis.quit(), admin.quit()]);
});

/** Polls until `check` holds; no fixed sleeps. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let streamNo = 0;
const newStream = () => `events:s${++streamNo}`;

async function add(stream: string, type: string, payload: Record<string, unknown> = {}): Promise<string> {
  const event: DomainEvent = {
    id: randomUUID(),
    type,
    at: new Date().toISOString(),
    actorId: null,
    correlationId: null,
    payload,
  };
  return (await admin.xadd(stream, '*', 'type', type, 'event', JSON.stringify(event)))!;
}

const pendingCount = async (stream: string, group: string) => Number(((await admin.xpending(stream, group)) as [number])[0]);

function reader(
  opts: Partial<StreamConsumerOptions> & Pick<StreamConsumerOptions, 'streams' | 'handle'>,
  on = redis,
): StreamConsumer {
  const r = new StreamConsumer(on, log, { group: 'g', pollMs: 20, claimIdleMs: 60_000, ...opts });
  readers.push(r);
  return r;
}

it('creates the group on streams that do not exist yet, delivers each entry once in order, acknowledges it, and reports lag', async () => {
  const [s1, s2] = [newStream(), newStream()];
  const seen: string[] = [];
  const outcomes: StreamEntryOutcome[] = [];
  const registry = new client.Registry();
  const handle = async (e: DomainEvent, { stream }: { stream: string }) => {
    seen.push(`${stream}:${String(e.payload.n)}`);
  };
  // two processes of one service start at once: one makes the group, the other meets BUSYGROUP
  const a = reader({
    streams: [s1, s2],
    handle,
    consumer: 'a',
    types: new Set(['Keep']),
    onOutcome: (o) => outcomes.push(o),
    lagMetrics: { registry, prefix: 'test' },
  });
  const b = reader({ streams: [s1, s2], handle, consumer: 'b', types: new Set(['Keep']), onOutcome: (o) => outcomes.push(o) });
  for (let n = 0; n < 30; n++) await add(s1, 'Keep', { n });
  // the group starts at the streams' beginning: entries written before any reader ran are read too
  a.start();
  b.start();
  for (let n = 0; n < 10; n++) await add(s2, 'Keep', { n });
  await add(s2, 'Other', { n: 'unread' }); // a type not asked for: acknowledged, never handled
  await admin.xadd(s2, '*', 'type', 'Keep', 'event', '{not json'); // malformed: logged, acknowledged
  await until(() => a.handled + b.handled === 42, 'every entry acknowledged');
  expect(seen).toHaveLength(40);
  expect(new Set(seen).size).toBe(40);
  for (const s of [s1, s2]) {
    const mine = seen.filter((x) => x.startsWith(`${s}:`)).map((x) => Number(x.split(':').pop()));
    expect(mine.sort((x, y) => x - y)).toEqual([...Array(s === s1 ? 30 : 10).keys()]);
    expect(await pendingCount(s, 'g')).toBe(0);
  }
  expect(outcomes.filter((o) => o.outcome === 'ok')).toHaveLength(40);
  expect(outcomes.filter((o) => o.outcome === 'skipped')).toHaveLength(2);
  expect(await a.lag()).toEqual({ [s1]: { lag: 0, pending: 0 }, [s2]: { lag: 0, pending: 0 } });
  const text = await registry.metrics();
  expect(text).toContain(`test_consumer_lag{stream="${s1}"} 0`);
  expect(text).toContain(`test_consumer_pending{stream="${s2}"} 0`);
});

it('after a restart under the same name, handles its own entries read but never acknowledged, and what came meanwhile', async () => {
  const s = newStream();
  const seen: number[] = [];
  await admin.xgroup('CREATE', `${prefix}${s}`, 'g', '0', 'MKSTREAM');
  for (let n = 0; n < 5; n++) await add(s, 'E', { n });
  // the process read these and died before acknowledging them
  const taken = (await admin.xreadgroup('GROUP', 'g', 'proc-1', 'COUNT', 3, 'STREAMS', s, '>')) as Array<[string, unknown[]]>;
  expect(taken[0]![1]).toHaveLength(3);
  // restarted with the same consumer name; claiming others' entries is far off (60 s)
  const r = reader({ streams: [s], consumer: 'proc-1', handle: async (e) => void seen.push(Number(e.payload.n)) });
  r.start();
  await until(() => seen.length === 5, 'own pending and new entries');
  expect(seen).toEqual([0, 1, 2, 3, 4]);
  await until(async () => (await pendingCount(s, 'g')) === 0, 'nothing pending');
});

it("takes over a crashed consumer's pending entries once they are idle for claimIdleMs", async () => {
  const s = newStream();
  const seen: number[] = [];
  await admin.xgroup('CREATE', `${prefix}${s}`, 'g', '0', 'MKSTREAM');
  for (let n = 0; n < 4; n++) await add(s, 'E', { n });
  await admin.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 3, 'STREAMS', s, '>');
  const r = reader({
    streams: [s],
    consumer: 'live',
    claimIdleMs: 300,
    handle: async (e) => void seen.push(Number(e.payload.n)),
  });
  r.start();
  await until(() => seen.length === 4, "the dead consumer's entries and the new one");
  expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  await until(async () => (await pendingCount(s, 'g')) === 0, 'nothing pending');
  const consumers = (await admin.xinfo('CONSUMERS', `${prefix}${s}`, 'g')) as unknown[][];
  const pendingOf = (name: string) => {
    const c = consumers.find((x) => x[x.indexOf('name') + 1] === name);
    return c ? Number(c[c.indexOf('pending') + 1]) : 0;
  };
  expect(pendingOf('dead')).toBe(0);
});

it('drops an entry whose handler fails maxTries times (logged, counted) and goes on; waits out an unavailable dependency however long', async () => {
  const s = newStream();
  const calls = new Map<string, number>();
  const order: string[] = [];
  const outcomes: Array<StreamEntryOutcome['outcome']> = [];
  const r = reader({
    streams: [s],
    maxTries: 3,
    onOutcome: (o) => outcomes.push(o.outcome),
    handle: async (e) => {
      const tries = (calls.get(e.type) ?? 0) + 1;
      calls.set(e.type, tries);
      if (e.type === 'Bad') throw new Error('a bug');
      if (e.type === 'Outage' && tries <= 5) throw new AppError(ErrorCode.DatabaseUnavailable, 'store down');
      order.push(e.type);
    },
  });
  await add(s, 'Bad');
  await add(s, 'First');
  await add(s, 'Outage');
  await add(s, 'Last');
  r.start();
  await until(() => order.length === 3, 'the entries after the failing ones');
  expect(calls.get('Bad')).toBe(3);
  expect(r.dropped).toBe(1);
  expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(1);
  // the outage failed more often than maxTries and was not dropped; what follows it waited
  expect(calls.get('Outage')).toBe(6);
  expect(order).toEqual(['First', 'Outage', 'Last']);
  await until(async () => (await pendingCount(s, 'g')) === 0, 'nothing pending');
});

it('waits while Redis is away and reads what was written meanwhile once it is back', async () => {
  const s = newStream();
  const seen: number[] = [];
  const own = createRedis(process.env.REDIS_URL!, prefix, log, 'own');
  try {
    const r = reader({ streams: [s], handle: async (e) => void seen.push(Number(e.payload.n)) }, own);
    r.start();
    await add(s, 'E', { n: 0 });
    await until(() => seen.length === 1, 'the first entry');
    own.disconnect(); // the connection is gone: every round fails at once until it is back
    for (let n = 1; n <= 3; n++) await add(s, 'E', { n });
    expect(seen).toEqual([0]);
    await own.connect();
    await until(() => seen.length === 4, 'the entries written while Redis was away');
    expect(seen).toEqual([0, 1, 2, 3]);
    await r.stop();
  } finally {
    own.disconnect();
  }
});

it('stop() lets the entry in hand finish and be acknowledged, then reads nothing more; what it held is taken over', async () => {
  const s = newStream();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: number[] = [];
  const r = reader({
    streams: [s],
    consumer: 'stopping',
    handle: async (e) => {
      seen.push(Number(e.payload.n));
      await gate;
    },
  });
  for (let n = 0; n < 3; n++) await add(s, 'E', { n });
  r.start();
  await until(() => seen.length === 1, 'the first entry in hand');
  let stopped = false;
  const stopping = r.stop().then(() => (stopped = true));
  await new Promise((res) => setImmediate(res));
  expect(stopped).toBe(false); // waits for the handler
  release();
  await stopping;
  expect(seen).toEqual([0]);
  expect(r.handled).toBe(1);
  // the one handled is acknowledged; the other two were delivered with it and stay pending
  expect(await pendingCount(s, 'g')).toBe(2);
  // another process reads on: it takes over the two and gets every new entry; the stopped one reads nothing
  const other: number[] = [];
  const next = reader({
    streams: [s],
    consumer: 'next',
    claimIdleMs: 200,
    handle: async (e) => void other.push(Number(e.payload.n)),
  });
  for (let n = 3; n < 6; n++) await add(s, 'E', { n });
  next.start();
  await until(() => other.length === 5, 'the rest, read by the other consumer');
  expect([...other].sort()).toEqual([1, 2, 3, 4, 5]);
  expect(seen).toEqual([0]);
  await next.stop();
  await until(async () => (await pendingCount(s, 'g')) === 0, 'nothing pending');
});
