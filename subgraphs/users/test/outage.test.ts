import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMongo, startRedis } from '@tm/tools/devstack';
import { freePort } from '@tm/tools/net';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';

/**
 * Stores and subgraphs going away: clear errors at once (never a hang), then recovery by
 * itself when they are back. This file runs its own Redis and store so it can stop them.
 */
const cleanup = new Cleanup();
const dataDir = mkdtempSync(path.join(tmpdir(), 'tm-outage-'));
let mongoPort: number;
let redisPort: number;
let stopMongo: () => Promise<void>;
let stopRedis: () => Promise<void>;
let users: ServiceProcess;
let gateway: ServiceProcess;
let env: NodeJS.ProcessEnv;
let userId: string;
let token: string;

const ME = '{ me { id name } }';

async function asUser(query: string): Promise<GqlResponse> {
  const user = { userId, roles: ['USER'], sessionId: 's1', correlationId: 'outage' };
  return gql(users.url, query, {}, { sign: { service: 'users', secret: env.INTERNAL_SECRET!, user } });
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  mongoPort = await freePort();
  redisPort = await freePort();
  stopMongo = (await startMongo(dataDir, mongoPort)).stop;
  stopRedis = (await startRedis(dataDir, redisPort)).stop;
  env = testEnv('outage', { MONGO_URL: `mongodb://127.0.0.1:${mongoPort}`, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
  users = await spawnService('users', 'subgraphs/users/dist/main.js', env);
  gateway = await spawnService('gateway', 'gateway/dist/main.js', {
    ...env,
    USERS_URL: users.url,
    JWKS_URL: `${users.base}/.well-known/jwks.json`,
  });
  cleanup.add(() => rmSync(dataDir, { recursive: true, force: true }));
  cleanup.add(() => stopMongo());
  cleanup.add(() => stopRedis());
  cleanup.add(() => users.stop());
  cleanup.add(() => gateway.stop());
  const reg = await gql<{ register: { accessToken: string; user: { id: string } } }>(
    gateway.url,
    'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }',
    { i: { email: `outage.${Date.now()}@example.com`, name: 'Olga', password: 'outage-pass-1' } },
  );
  userId = reg.data!.register.user.id;
  token = reg.data!.register.accessToken;
}, 90_000);

afterAll(() => cleanup.run());

/**
 * A request while a store is down must fail rather than wait for it: Mongo's server selection gives
 * up after 2 s and Redis commands fail at once. The bound leaves room for a loaded machine (the
 * suite runs files in parallel); a hang would run into the test's 60 s timeout.
 */
const NO_HANG_MS = 10_000;

it('answers DB-001 quickly while the store is down, and recovers when it is back', async () => {
  expect((await asUser(ME)).data).toEqual({ me: { id: userId, name: 'Olga' } });
  await stopMongo();

  const started = Date.now();
  const down = await asUser(ME);
  expect(Date.now() - started).toBeLessThan(NO_HANG_MS); // bounded by server selection, never a hang
  expect(errorCode(down)).toBe('DB-001');
  expect(down.errors![0]!.message).not.toMatch(/mongo|127\.0\.0\.1|ECONNREFUSED/i);
  const ready = await fetch(`${users.base}/ready`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { dependencies: Record<string, string> }).dependencies.mongo).toBe('down');
  expect((await fetch(`${users.base}/health`)).status).toBe(200);

  stopMongo = (await startMongo(dataDir, mongoPort)).stop;
  const back = await eventually(
    () => asUser(ME),
    (r) => r.data?.me != null,
  );
  expect(back.data).toEqual({ me: { id: userId, name: 'Olga' } }); // nothing accepted was lost
}, 60_000);

it('answers DB-001 while Redis is down, and recovers when it is back', async () => {
  await stopRedis();
  const started = Date.now();
  const down = await asUser('{ me { id online } }');
  expect(Date.now() - started).toBeLessThan(NO_HANG_MS); // no offline queue: fails at once, never a hang
  expect(errorCode(down)).toBe('DB-001');
  // the gateway cannot check revocation without Redis: signed-in requests fail closed
  const viaGateway = await gql(gateway.url, '{ me { id } }', {}, { token });
  expect(errorCode(viaGateway)).toBe('DB-001');
  expect(viaGateway.data ?? null).toBeNull();

  stopRedis = (await startRedis(dataDir, redisPort)).stop;
  const back = await eventually(
    () => asUser('{ me { id online } }'),
    (r) => r.data?.me != null,
  );
  expect(back.data).toEqual({ me: { id: userId, online: false } });
  const gw = await eventually(
    () => gql(gateway.url, '{ me { id } }', {}, { token }),
    (r) => r.data?.me != null,
  );
  expect(gw.data).toEqual({ me: { id: userId } });
}, 60_000);

it('gives SYS-002 through the gateway while a subgraph is down, and recovers', async () => {
  const port = users.port;
  expect(await users.stop()).toBe(0); // graceful shutdown exits 0
  const down = await gql(gateway.url, ME);
  expect(errorCode(down)).toBe('SYS-002');
  expect(down.errors![0]!.message).toMatch(/unavailable/i);
  expect(JSON.stringify(down.errors)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
  const health = (await (await fetch(`${gateway.base}/health`)).json()) as {
    status: string;
    subgraphs: Array<{ name: string; status: string }>;
  };
  expect(health.status).toBe('degraded');
  expect(health.subgraphs.find((s) => s.name === 'users')?.status).toBe('down');

  users = await spawnService('users', 'subgraphs/users/dist/main.js', env, port);
  const back = await eventually(
    () => gql(gateway.url, ME),
    (r) => r.errors === undefined,
  );
  expect(back.data).toEqual({ me: null });
}, 60_000);
