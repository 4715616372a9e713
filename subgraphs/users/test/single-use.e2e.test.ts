import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { SecretBox } from '@tm/kit/infra';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/**
 * Single use and "never the last active admin" through the gateway (users + gateway as processes,
 * real stores), with many requests at once: each is one atomic MongoDB update (a compare-and-set),
 * no Redis claim and no lock. On a store that loses concurrent updates these fail.
 */
let stack: Stack;
let url: string;
let redis: Redis;
let box: SecretBox;
let db: mongoose.Connection;

const ADMIN_EMAIL = 'single.use.admin@example.com';
const ADMIN_PASSWORD = 'Single-use-admin-1';
const PASSWORD = 'test-password-1';
const N = 12;

const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }';
const RESET = 'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';
const SET_ROLES = 'mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { roles } }';
const LOCK = 'mutation($u: [ID!]!) { lockUsers(userIds: $u) { id } }';
const UNLOCK = 'mutation($u: [ID!]!) { unlockUsers(userIds: $u) { id } }';

const outcomes = (rs: GqlResponse[]) => rs.map((r) => errorCode(r) ?? 'ok').sort();

async function login(email: string, password = PASSWORD): Promise<{ accessToken: string; refreshToken: string }> {
  // a sign-in right after an unlock may race the token version the gateway reads: retried on a condition, not a sleep
  for (let i = 0; ; i++) {
    const res = await gql<{ login: { accessToken: string; refreshToken: string } }>(url, LOGIN, { i: { email, password } });
    if (res.data) return res.data.login;
    if (i >= 20) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks for a reset and reads the token from the event the notification path gets (sealed). */
async function resetTokenFor(email: string): Promise<string> {
  const before = (await redis.xrevrange('events:users', '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  expect((await gql(url, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { e: email })).data).toEqual({
    requestPasswordReset: true,
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const [, fields] of await redis.xrange('events:users', `(${before}`, '+')) {
      const event = JSON.parse(fields[3]!) as { type: string; payload: { resetTokenEncrypted: string; emailEncrypted: string } };
      if (event.type === 'PasswordResetRequested' && box.decrypt(event.payload.emailEncrypted) === email) {
        return box.decrypt(event.payload.resetTokenEncrypted);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no PasswordResetRequested event');
}

/** Active admins in the database, next to the stored count of them. */
async function activeAdmins(): Promise<{ count: number; real: number }> {
  const counter = await db.collection('counters').findOne({ _id: 'activeAdmins' as never });
  const real = await db.collection('users').countDocuments({ roles: 'ADMIN', status: 'ACTIVE' });
  return { count: counter!.value as number, real };
}

beforeAll(async () => {
  // no grace window: a second use of a rotated refresh token is a replay
  stack = await startStack('single_use', ['users'], { REFRESH_REUSE_GRACE_SECONDS: '0', ADMIN_EMAIL, ADMIN_PASSWORD });
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  box = new SecretBox(stack.env.ENCRYPTION_KEYS!);
  db = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_users` }).asPromise();
}, 90_000);

afterAll(async () => {
  redis.disconnect();
  await db?.close();
  await stack.stop();
});

it(`accepts a refresh token used ${N} times at once exactly once (no grace window)`, async () => {
  const u = await registerUser(url, 'Refresher');
  const { refreshToken } = await login(u.email);
  const results = await Promise.all(Array.from({ length: N }, () => gql(url, REFRESH, { t: refreshToken })));
  const ok = results.filter((r) => !r.errors);
  expect(ok).toHaveLength(1);
  expect(outcomes(results.filter((r) => r.errors))).toEqual(Array.from({ length: N - 1 }, () => 'AUTH-002'));
  const session = await db.collection('sessions').findOne({ _id: refreshToken.split('.')[0] as never });
  expect(session!.previousHashes).toHaveLength(1); // rotated once
}, 60_000);

it(`accepts a password reset token used ${N} times at once exactly once`, async () => {
  const u = await registerUser(url, 'Resetter');
  const token = await resetTokenFor(u.email);
  const results = await Promise.all(Array.from({ length: N }, (_, i) => gql(url, RESET, { t: token, p: `new-password-${i}x` })));
  expect(outcomes(results)).toEqual([...Array.from({ length: N - 1 }, () => 'AUTH-002'), 'ok']);
  const winner = results.findIndex((r) => !r.errors);
  await login(u.email, `new-password-${winner}x`);
  expect(errorCode(await gql(url, LOGIN, { i: { email: u.email, password: PASSWORD } }))).toBe('AUTH-001');
  expect(errorCode(await gql(url, RESET, { t: token, p: 'once-more-pass-1' }))).toBe('AUTH-002');
}, 60_000);

it('never locks or demotes the last active admin when admins lock and demote each other at once', async () => {
  const root = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const team: TestUser[] = await Promise.all(['Ann', 'Bea', 'Cal'].map((n) => registerUser(url, `Admin ${n}`)));
  for (const u of team)
    expect((await gql(url, SET_ROLES, { u: u.id, r: ['ADMIN', 'USER'] }, { token: root.accessToken })).errors).toBeUndefined();
  // the first admin steps aside: three admins race
  const rootId = (await db.collection('users').findOne({ email: ADMIN_EMAIL }))!._id as unknown as string;
  expect(
    (await gql(url, SET_ROLES, { u: rootId, r: ['USER'] }, { token: (await login(team[0]!.email)).accessToken })).errors,
  ).toBeUndefined();
  expect(await activeAdmins()).toEqual({ count: 3, real: 3 });
  for (let round = 0; round < 8; round++) {
    const tokens = await Promise.all(team.map(async (u) => (await login(u.email)).accessToken));
    const [a, b, c] = team as [TestUser, TestUser, TestUser];
    const results = await Promise.all([
      gql(url, LOCK, { u: [b.id, c.id] }, { token: tokens[0] }),
      gql(url, LOCK, { u: [a.id] }, { token: tokens[1] }),
      gql(url, LOCK, { u: [c.id] }, { token: tokens[1] }),
      gql(url, SET_ROLES, { u: a.id, r: ['USER'] }, { token: tokens[2] }),
      gql(url, SET_ROLES, { u: b.id, r: ['USER'] }, { token: tokens[2] }),
      gql(url, SET_ROLES, { u: c.id, r: ['USER'] }, { token: tokens[round % 3] }),
    ]);
    // refused as the last admin (API-002), or the caller was locked or demoted first (AUTH-002 / PERM-001)
    for (const r of results) expect(['ok', 'API-002', 'AUTH-002', 'PERM-001']).toContain(errorCode(r) ?? 'ok');
    const now = await activeAdmins();
    expect(now.real).toBeGreaterThanOrEqual(1);
    expect(now.count).toBe(now.real);
    // back to three active admins, by one that is still one
    const survivor = await db
      .collection('users')
      .findOne({ _id: { $in: team.map((u) => u.id) } as never, roles: 'ADMIN', status: 'ACTIVE' });
    const boss = team.find((u) => u.id === (survivor!._id as unknown as string))!;
    const bossToken = (await login(boss.email)).accessToken;
    expect((await gql(url, UNLOCK, { u: team.map((u) => u.id) }, { token: bossToken })).errors).toBeUndefined();
    for (const u of team.filter((x) => x !== boss)) {
      expect((await gql(url, SET_ROLES, { u: u.id, r: ['ADMIN', 'USER'] }, { token: bossToken })).errors).toBeUndefined();
    }
    expect(await activeAdmins()).toEqual({ count: 3, real: 3 });
  }
}, 240_000);
