import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { RedisKeys } from '@tm/kit/infra';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';

/**
 * Operation limits at the gateway, checked before any subgraph is called: a gateway in production
 * mode with no subgraph running (anything that passed the limits fails later with SYS-002, never
 * API-002), and access tokens from a JWKS of the test's own (ADMIN and USER).
 */
const cleanup = new Cleanup();
/** In production /metrics is served only behind a token (or on an internal port). */
const METRICS_TOKEN = randomUUID();
let gateway: ServiceProcess;
let adminToken: string;
let userToken: string;

async function issuer() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = `t-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const subjects: string[] = [];
  const sign = (roles: string[]) =>
    new SignJWT({ roles, sid: randomUUID(), tv: 0 })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setSubject(subjects[subjects.push(randomUUID()) - 1]!)
      .setIssuer('tm-users')
      .setAudience('tm-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`,
    sign,
    subjects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  const iss = await issuer();
  cleanup.add(() => iss.close());
  adminToken = await iss.sign(['ADMIN', 'USER']);
  userToken = await iss.sign(['USER']);
  const env = testEnv('ops_limits', { NODE_ENV: 'production', JWKS_URL: iss.url, METRICS_TOKEN });
  // users writes each user's token version before it hands out a token (the gateway refuses a
  // token whose version it cannot find): written here for the test's own users
  const redis = new Redis(env.REDIS_URL!, { keyPrefix: env.REDIS_PREFIX });
  await Promise.all(iss.subjects.map((id) => redis.set(RedisKeys.tokenVersion(id), '0')));
  redis.disconnect();
  gateway = await spawnService('gateway', 'gateway/dist/main.js', env);
  cleanup.add(() => gateway.stop());
}, 60_000);

afterAll(() => cleanup.run());

const BOARD = `query Board($id: ID!) {
  project(id: $id) {
    id name
    tasks(first: 100) {
      totalCount
      edges { node { id title status priority position version dueDate labels
        assignee { id name } reporter { id name }
        comments(first: 10) { totalCount edges { node { id body author { id name } } } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

const nested = (depth: number) => `{ task(id: "1") { ${'parent { '.repeat(depth)}id${' }'.repeat(depth)} } }`;

async function refused(query: string, variables: Record<string, unknown> = {}, token = userToken) {
  const res = await gql(gateway.url, query, variables, { token });
  return { code: errorCode(res), status: res.status, message: res.errors?.[0]?.message ?? '' };
}

it('lets a real board query through (it fails later only because no subgraph runs)', async () => {
  const res = await refused(BOARD, { id: 'p1' });
  expect(res.code).not.toBe('API-002');
});

it('refuses deep nesting, alias floods, too many root fields, long token streams and huge lists with API-002', async () => {
  expect(await refused(nested(20))).toMatchObject({ code: 'API-002', status: 400, message: expect.stringMatching(/depth/i) });
  expect((await refused(nested(8))).code).not.toBe('API-002');

  const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
  expect(await refused(aliases)).toMatchObject({ code: 'API-002', message: expect.stringMatching(/alias/i) });

  const roots = `{ ${Array.from({ length: 21 }, (_, i) => `r${i}: me { id }`).join(' ')} }`;
  expect(await refused(roots)).toMatchObject({ code: 'API-002', message: expect.stringMatching(/root fields/i) });

  const tokens = `{ me { ${'id '.repeat(6000)}} }`;
  expect(await refused(tokens)).toMatchObject({ code: 'API-002', message: expect.stringMatching(/tokens/i) });

  const huge =
    '{ project(id: "p") { tasks(first: 1000) { edges { node { comments(first: 100) { edges { node { id body } } } } } } } }';
  expect(await refused(huge)).toMatchObject({ code: 'API-002', message: expect.stringMatching(/expensive/i) });
  // the same through a variable
  const viaVariable =
    'query Q($n: Int) { project(id: "p") { tasks(first: $n) { edges { node { comments(first: $n) { edges { node { id } } } } } } } }';
  expect((await refused(viaVariable, { n: 500 })).code).toBe('API-002');
  expect((await refused(viaVariable, { n: 5 })).code).not.toBe('API-002');

  const metrics = await (
    await fetch(`${gateway.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  for (const limit of ['depth', 'aliases', 'root_fields', 'tokens', 'cost']) {
    expect(metrics).toMatch(new RegExp(`graphql_limit_violations_total\\{[^}]*limit="${limit}"[^}]*\\} [1-9]`));
  }
});

it('refuses a negative first with API-002 naming it, before any subgraph (it would make its subtree free)', async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['{ project(id: "p") { tasks(first: -1) { edges { node { comments(first: 100) { edges { node { id body } } } } } } } }', {}],
    [
      'query Q($n: Int) { project(id: "p") { tasks(first: $n) { edges { node { comments(first: 100) { edges { node { id } } } } } } } }',
      { n: -1 },
    ],
    ['{ task(id: "1") { comments(first: -5) { totalCount } } }', {}],
    ['{ me { assignedTasks(first: -1) { totalCount } projects(first: -1) { totalCount } } }', {}],
    ['{ projects(first: -100) { edges { node { id } } } }', {}],
  ];
  for (const [query, variables] of cases) {
    const res = await gql(gateway.url, query, variables, { token: userToken });
    expect([query, errorCode(res), res.errors?.[0]?.extensions?.field, res.status]).toEqual([query, 'API-002', 'first', 400]);
  }
  const admin = await gql(
    gateway.url,
    '{ auditLog(first: -1) { totalCount } users(first: -1) { totalCount } }',
    {},
    { token: adminToken },
  );
  expect([errorCode(admin), admin.errors?.[0]?.extensions?.field]).toEqual(['API-002', 'first']);
  // zero and positive pages pass the estimate (and fail later only because no subgraph runs)
  expect((await refused('{ task(id: "1") { comments(first: 0) { totalCount } } }')).code).not.toBe('API-002');
  expect((await refused('query Q($n: Int) { project(id: "p") { tasks(first: $n) { totalCount } } }', { n: 3 })).code).not.toBe(
    'API-002',
  );
});

it('refuses batched requests (a JSON array of operations) with API-002', async () => {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
    body: JSON.stringify(Array.from({ length: 50 }, () => ({ query: '{ me { id } }' }))),
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
  expect(body.errors[0]!.extensions.code).toBe('API-002');
});

it('in production: introspection and field suggestions only for ADMIN tokens', async () => {
  const q = '{ __schema { queryType { name } } }';
  expect((await refused(q)).code).toBe('API-002');
  expect((await refused(q, {}, '')).code).toBe('API-002');
  const admin = await gql(gateway.url, q, {}, { token: adminToken });
  expect(admin.data).toEqual({ __schema: { queryType: { name: 'Query' } } });

  const typo = '{ me { nmae } }';
  const user = await refused(typo);
  expect(user.code).toBe('API-002');
  expect(user.message).not.toMatch(/Did you mean/);
  const forAdmin = await refused(typo, {}, adminToken);
  expect(forAdmin.message).toMatch(/Did you mean "name"/);
});
