import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cacheMemberships, invalidatePermissions, PermissionsClient, type LocalPermissions } from '@tm/kit/contracts';
import { createLogger, createRedis, RedisKeys, TrackedCache, type Redis } from '@tm/kit/infra';

/**
 * The permissions client with its local copy (TrackedCache) against the real Redis: answered in
 * the process once read, and never stale — a change drops the copy (Redis's invalidation), and a
 * drop of either connection turns the copy off until tracking is confirmed again.
 */
const log = createLogger('test', 'silent');

/** Checks until true, or fails with `what` after `timeoutMs` (the kit's tests import no tools). */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const prefix = `t:tracked:${process.pid}:${Date.now()}:`;
let redis: Redis;
let writer: Redis;
let server: http.Server;
let cache: TrackedCache<LocalPermissions>;
let client: PermissionsClient;
/** How each access was answered: local (in the process), hit (Redis), miss (source). */
let answers: string[] = [];

const MEMBER = { role: 'MEMBER', archived: false } as const;
const VIEWER = { role: 'VIEWER', archived: false } as const;

async function clientIdByName(name: string): Promise<string> {
  const list = String(await writer.client('LIST'));
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  if (!line) throw new Error(`no client named ${name}`);
  return /(?:^|\s)id=(\d+)/.exec(line)![1]!;
}

/**
 * Checks until one is answered in the process: a read that overlapped an invalidation (e.g. of the
 * write that set the value up) is, by design, not kept.
 */
async function heldLocally(userId: string, projectId: string): Promise<unknown> {
  let value: unknown;
  await waitFor(
    async () => {
      answers = [];
      value = await client.access(userId, projectId);
      return answers[0] === 'local';
    },
    `${userId}/${projectId} answered in the process`,
    5000,
  );
  return value;
}

beforeAll(async () => {
  redis = createRedis(process.env.REDIS_URL!, prefix, log, 'reads', { autoPipelining: true });
  writer = createRedis(process.env.REDIS_URL!, prefix, log, 'writer');
  server = http.createServer((_req, res) => res.end(JSON.stringify({ memberships: {} })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cache = new TrackedCache<LocalPermissions>(redis, process.env.REDIS_URL!, prefix, RedisKeys.permissions(''), log);
  const count = (labels: { result: string }) => void answers.push(labels.result);
  const metrics = { cacheRequests: { inc: count, labels: (labels: { result: string }) => ({ inc: () => count(labels) }) } };
  client = new PermissionsClient(
    redis,
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    's3cret',
    log,
    metrics as never,
    cache,
  );
  await waitFor(() => cache.active, 'tracking on', 10_000);
});

afterAll(async () => {
  await cache.close();
  await Promise.all([redis, writer].map((r) => r.quit().catch(() => r.disconnect())));
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  answers = [];
});

it('answers a check again from the process, and sees a change as soon as Redis says it', async () => {
  await cacheMemberships(writer, 'u1', { p1: MEMBER }, '0');
  expect(await client.access('u1', 'p1')).toEqual(MEMBER);
  expect(answers).toEqual(['hit']);
  expect(await heldLocally('u1', 'p1')).toEqual(MEMBER);
  expect(await heldLocally('u1', 'p2')).toBeNull();
  // removed from the project: the copy is dropped, the next check reads the new state
  await invalidatePermissions(writer, ['u1']);
  await cacheMemberships(writer, 'u1', {}, (await writer.get('permissions-version:u1')) ?? '0');
  await waitFor(async () => (await client.access('u1', 'p1')) === null, 'the removal seen', 5000);
  expect(await heldLocally('u1', 'p1')).toBeNull();
  // at once from the process while held (null: held as not a member); undefined once a change dropped it
  expect(client.held('u1', 'p1')).toBeNull();
  await cacheMemberships(writer, 'u1', { p1: VIEWER }, (await writer.get('permissions-version:u1')) ?? '0');
  await waitFor(() => client.held('u1', 'p1') === undefined, 'the held copy dropped by the change', 5000);
  expect(await heldLocally('u1', 'p1')).toEqual(VIEWER);
  expect(client.held('u1', 'p1')).toEqual(VIEWER);
  // a whole-set read is kept too
  await cacheMemberships(writer, 'u2', { p1: VIEWER }, '0');
  await waitFor(async () => {
    answers = [];
    await client.memberships('u2');
    await client.memberships('u2');
    return answers[1] === 'local';
  }, 'the whole set held');
  expect(await client.memberships('u2')).toEqual({ p1: VIEWER });
  expect(await heldLocally('u2', 'p1')).toEqual(VIEWER);
});

it('turns the copy off when its invalidation connection drops (no change is missed), and on again', async () => {
  await cacheMemberships(writer, 'u3', { p1: MEMBER }, '0');
  expect(await heldLocally('u3', 'p1')).toEqual(MEMBER);
  await writer.client('KILL', 'ID', await clientIdByName(`tracked:${prefix}permissions:`));
  await waitFor(() => !cache.active, 'tracking off', 5000);
  // changed while no invalidation can reach the process: read from Redis, never the old copy
  await writer.hset(RedisKeys.permissions('u3'), 'p1', JSON.stringify(VIEWER));
  expect(await client.access('u3', 'p1')).toEqual(VIEWER);
  await waitFor(() => cache.active, 'tracking on again', 10_000);
  expect(await heldLocally('u3', 'p1')).toEqual(VIEWER);
  // and invalidations arrive on the new connection
  await writer.hset(RedisKeys.permissions('u3'), 'p1', JSON.stringify(MEMBER));
  await waitFor(async () => (await client.access('u3', 'p1'))?.role === 'MEMBER', 'the change seen', 5000);
});

it('turns the copy off when the reading connection drops (its tracking goes with it), and on again', async () => {
  await cacheMemberships(writer, 'u4', { p1: MEMBER }, '0');
  expect(await heldLocally('u4', 'p1')).toEqual(MEMBER);
  await writer.client('KILL', 'ID', String(await redis.client('ID')));
  await waitFor(() => !cache.active, 'tracking off', 5000);
  await waitFor(() => cache.active, 'tracking on again', 10_000);
  // the reconnected connection tracks again: a change is seen
  expect(await heldLocally('u4', 'p1')).toEqual(MEMBER);
  await writer.hset(RedisKeys.permissions('u4'), 'p1', JSON.stringify(VIEWER));
  await waitFor(async () => (await client.access('u4', 'p1'))?.role === 'VIEWER', 'the change seen', 5000);
});
