import mongoose from 'mongoose';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { RedisKeys } from '@tm/kit/infra';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { start } from '../src/main';

/** The users subgraph in-process against the real stores, called with a gateway-signed context. */
type Running = Awaited<ReturnType<typeof start>>;
let svc: Running;
let env: NodeJS.ProcessEnv;

function call(
  query: string,
  variables: Record<string, unknown> = {},
  user: { userId: string | null; roles?: string[] } = { userId: null },
) {
  const signAs = { userId: user.userId, roles: user.roles ?? [], sessionId: null, correlationId: 'it' };
  return gql(svc.url, query, variables, { sign: { service: 'users', secret: env.INTERNAL_SECRET!, user: signAs } });
}

const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken expiresAt user { id email } } }';
type Reg = { register: { accessToken: string; refreshToken: string; expiresAt: string; user: { id: string; email: string } } };

/** Polls until `ok` (a condition, not a fixed wait); fails after a generous bound. */
async function until(ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  env = testEnv('users_it', {
    USERS_PORT: '0',
    REGISTER_MAX_PER_IP: '1000',
    ACCESS_TOKEN_TTL_SECONDS: '600',
    REFRESH_REUSE_GRACE_SECONDS: '5',
  });
  svc = await start(env);
  await svc.deps.mongo.ready;
}, 30_000);

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await svc.stop();
});

it('issues an ES256 access token with its own typ, audience, issuer and a kid from the JWKS', async () => {
  const res = await call(REGISTER, { i: { email: 'Token.Check@Example.com', name: 'Tom', password: 'token-check-1' } });
  const reg = (res.data as Reg).register;
  expect(reg.user.email).toBe('token.check@example.com');
  const header = decodeProtectedHeader(reg.accessToken);
  const claims = decodeJwt(reg.accessToken);
  expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
  expect(claims).toMatchObject({ sub: reg.user.id, iss: 'tm-users', aud: 'tm-api', roles: ['USER'], tv: 0 });
  expect(claims.exp! - claims.iat!).toBe(600);
  expect(new Date(reg.expiresAt).getTime()).toBe(claims.exp! * 1000);
  const jwks = (await (await fetch(svc.url.replace('/graphql', '/.well-known/jwks.json'))).json()) as {
    keys: Array<Record<string, unknown>>;
  };
  expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
  expect(jwks.keys.every((k) => k.d === undefined)).toBe(true); // never the private half
  // the token version the gateway checks is published
  expect(await svc.deps.redis.get(RedisKeys.tokenVersion(reg.user.id))).toBe('0');
});

it('stores only an argon2id hash of the password and only hashes of refresh tokens', async () => {
  const res = await call(REGISTER, { i: { email: 'hash.check@example.com', name: 'Hal', password: 'hash-check-12' } });
  const reg = (res.data as Reg).register;
  const db = mongoose.connection.db!;
  const user = await db.collection('users').findOne({ _id: reg.user.id as never });
  expect(user!.passwordHash).toMatch(/^\$argon2id\$/);
  expect(JSON.stringify(user)).not.toContain('hash-check-12');
  const secret = reg.refreshToken.split('.')[1]!;
  const session = await db.collection('sessions').findOne({ userId: reg.user.id });
  expect(session).not.toBeNull();
  expect(JSON.stringify(session)).not.toContain(secret);
});

it('keeps emails unique (case-insensitively) with a unique index', async () => {
  await call(REGISTER, { i: { email: 'dup@example.com', name: 'A', password: 'dup-check-123' } });
  const again = await call(REGISTER, { i: { email: 'DUP@example.com', name: 'B', password: 'dup-check-123' } });
  expect(errorCode(again)).toBe('API-002');
  const indexes = await mongoose.connection.db!.collection('users').indexes();
  expect(indexes.find((i) => i.key.email === 1)?.unique).toBe(true);
  expect(await mongoose.connection.db!.collection('users').countDocuments({ email: 'dup@example.com' })).toBe(1);
});

it('gives two uses of a refresh token at the same moment the same successor; a use after the grace window ends the session', async () => {
  const res = await call(REGISTER, { i: { email: 'race@example.com', name: 'R', password: 'race-check-12' } });
  const { refreshToken } = (res.data as Reg).register;
  const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
  type Out = { refreshToken: { refreshToken: string } };
  // two tabs refreshing at once: neither ends the session, both hold the one successor
  const results = await Promise.all([call(REFRESH, { t: refreshToken }), call(REFRESH, { t: refreshToken })]);
  expect(results.map((r) => r.errors)).toEqual([undefined, undefined]);
  const [a, b] = results.map((r) => (r.data as Out).refreshToken.refreshToken);
  expect(a).toBe(b);
  expect(a).not.toBe(refreshToken);
  // the grace record is sealed: Redis holds no usable token
  const graceKeys = await svc.deps.redis.keys(`${env.REDIS_PREFIX}auth:refresh-grace:*`);
  expect(graceKeys.length).toBeGreaterThan(0);
  for (const k of graceKeys) expect(await svc.deps.redis.get(k.slice(env.REDIS_PREFIX!.length))).not.toContain(a!.split('.')[1]!);
  // the successor rotates normally
  const next = await call(REFRESH, { t: a });
  expect(next.errors).toBeUndefined();
  const third = (next.data as Out).refreshToken.refreshToken;
  // after the window (its grace record has expired), the first token again is a replay: the whole session ends
  for (const k of graceKeys) await until(async () => (await svc.deps.redis.exists(k.slice(env.REDIS_PREFIX!.length))) === 0);
  expect(errorCode(await call(REFRESH, { t: refreshToken }))).toBe('AUTH-002');
  expect(errorCode(await call(REFRESH, { t: third }))).toBe('AUTH-002');
});

it('rotates a refresh token used by many requests at once exactly once: all get the one successor', async () => {
  const res = await call(REGISTER, { i: { email: 'crowd.refresh@example.com', name: 'C', password: 'crowd-check-12' } });
  const { refreshToken, user } = (res.data as Reg).register;
  const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
  const results = await Promise.all(Array.from({ length: 12 }, () => call(REFRESH, { t: refreshToken })));
  expect(results.map((r) => errorCode(r) ?? 'ok')).toEqual(results.map(() => 'ok'));
  const successors = new Set(
    results.map((r) => (r.data as { refreshToken: { refreshToken: string } }).refreshToken.refreshToken),
  );
  expect(successors.size).toBe(1);
  const session = await mongoose.connection.db!.collection('sessions').findOne({ userId: user.id });
  expect(session!.previousHashes).toHaveLength(1);
  expect(session!.revokedAt ?? null).toBeNull();
});

it('shows a full email only to its owner and admins', async () => {
  const res = await call(REGISTER, { i: { email: 'private.person@example.com', name: 'P', password: 'private-pass-1' } });
  const id = (res.data as Reg).register.user.id;
  const Q = 'query($id: ID!) { user(id: $id) { email } }';
  expect((await call(Q, { id }, { userId: 'someone-else' })).data).toEqual({ user: { email: 'p***@example.com' } });
  expect((await call(Q, { id }, { userId: id })).data).toEqual({ user: { email: 'private.person@example.com' } });
  expect((await call(Q, { id }, { userId: 'admin', roles: ['ADMIN'] })).data).toEqual({
    user: { email: 'private.person@example.com' },
  });
  expect(errorCode(await call(Q, { id }))).toBe('AUTH-001'); // anonymous
});

it('resolves User references in one batched query (no N+1)', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await call(REGISTER, { i: { email: `batch${i}@example.com`, name: `B${i}`, password: 'batch-pass-12' } });
    ids.push((r.data as Reg).register.user.id);
  }
  const finds: string[] = [];
  const listener = (_coll: string, method: string) => finds.push(method);
  mongoose.set('debug', listener);
  try {
    const res = await call('query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }', {
      r: ids.map((id) => ({ __typename: 'User', id })),
    });
    expect((res.data as { _entities: Array<{ id: string }> })._entities.map((u) => u.id)).toEqual(ids);
  } finally {
    mongoose.set('debug', false);
  }
  expect(finds).toEqual(['find']);
});

it('answers name-only references from one batched query (no card cache)', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await call(REGISTER, { i: { email: `card${i}@example.com`, name: `Card ${i}`, password: 'card-pass-123' } });
    ids.push((r.data as Reg).register.user.id);
  }
  const entities = async (selection: string, of = [...ids, 'no-such-user']) => {
    const refs = { r: of.map((id) => ({ __typename: 'User', id })) };
    const finds: string[] = [];
    mongoose.set('debug', (coll: string, method: string) => finds.push(`${coll}.${method}`));
    try {
      const res = await call(`query($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${selection} } } }`, refs, {
        userId: ids[0]!,
      });
      return { entities: (res.data as { _entities: unknown[] })._entities, finds };
    } finally {
      mongoose.set('debug', false);
    }
  };
  const first = await entities('id name');
  expect(first.entities).toEqual([...ids.map((id, i) => ({ id, name: `Card ${i}` })), null]);
  expect(first.finds).toEqual(['users.find']);
  expect(await entities('name __typename', ids)).toEqual({
    entities: ids.map((_, i) => ({ name: `Card ${i}`, __typename: 'User' })),
    finds: ['users.find'],
  });
  const more = await entities('name email');
  expect(more.entities).toEqual([
    { name: 'Card 0', email: 'card0@example.com' },
    { name: 'Card 1', email: 'c***@example.com' },
    { name: 'Card 2', email: 'c***@example.com' },
    null,
  ]);
  expect(more.finds).toEqual(['users.find']);
});
