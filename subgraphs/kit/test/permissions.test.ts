import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cacheMemberships, PermissionsClient, type Memberships } from '@tm/kit/contracts';
import { createLogger, createRedis, RedisKeys, type Redis } from '@tm/kit/infra';

/**
 * The permissions client against the real Redis, with a real HTTP server standing in for projects'
 * internal endpoint (the source on a cache miss), counting what it is asked.
 */
describe('PermissionsClient.access', () => {
  const log = createLogger('test', 'silent');
  const prefix = `t:perm:${process.pid}:${Date.now()}:`;
  let redis: Redis;
  let server: http.Server;
  let asked: string[] = [];
  /** What the stand-in endpoint answers, by user id. */
  const source: Record<string, Memberships> = {};
  let client: PermissionsClient;

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL!, prefix, log, 'test');
    if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
    server = http.createServer((req, res) => {
      const userId = new URL(req.url!, 'http://x').searchParams.get('userId')!;
      asked.push(userId);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ memberships: source[userId] ?? {} }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    client = new PermissionsClient(redis, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 's3cret', log);
  });
  afterAll(async () => {
    await redis.quit().catch(() => redis.disconnect());
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    asked = [];
  });

  it('answers from the cached hash: the role, or null for a project not in it, without asking the source', async () => {
    const memberships: Memberships = { p1: { role: 'MEMBER', archived: false }, p2: { role: 'OWNER', archived: true } };
    expect(await cacheMemberships(redis, 'u1', memberships, '0')).toBe(true);
    expect(await client.access('u1', 'p1')).toEqual({ role: 'MEMBER', archived: false });
    expect(await client.access('u1', 'p2')).toEqual({ role: 'OWNER', archived: true });
    expect(await client.access('u1', 'p3')).toBeNull();
    expect(await client.access(null, 'p1')).toBeNull();
    expect(asked).toEqual([]);
  });

  it('asks the source when nothing (complete) is cached, or a cached value cannot be read', async () => {
    source.u2 = { p1: { role: 'VIEWER', archived: false } };
    expect(await client.access('u2', 'p1')).toEqual({ role: 'VIEWER', archived: false });
    expect(await client.access('u2', 'p9')).toBeNull();
    expect(asked).toEqual(['u2', 'u2']);
    // a hash without the completeness mark is not a complete answer
    await redis.hset(RedisKeys.permissions('u3'), 'p1', JSON.stringify({ role: 'OWNER', archived: false }));
    source.u3 = {};
    expect(await client.access('u3', 'p1')).toBeNull();
    // a damaged value: the source decides
    await redis.hset(RedisKeys.permissions('u4'), '__loaded', '1', 'p1', '{not json');
    source.u4 = { p1: { role: 'MANAGER', archived: false } };
    expect(await client.access('u4', 'p1')).toEqual({ role: 'MANAGER', archived: false });
    expect(asked).toEqual(['u2', 'u2', 'u3', 'u4']);
  });
});
