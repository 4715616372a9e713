import mongoose from 'mongoose';
import { authenticator } from 'otplib';
import { decodeProtectedHeader } from 'jose';
import { SecretBox } from '@tm/kit/infra';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { start } from '../src/main';

/**
 * Hardened sign-in and administration, in-process against the real stores, called with a
 * gateway-signed context (so the client address and roles can be chosen per call).
 */
type Running = Awaited<ReturnType<typeof start>>;
let svc: Running;
let env: NodeJS.ProcessEnv;
let box: SecretBox;

interface Caller {
  userId?: string | null;
  roles?: string[];
  sessionId?: string | null;
  clientIp?: string;
}
function call<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, who: Caller = {}) {
  const user = {
    userId: who.userId ?? null,
    roles: who.roles ?? [],
    sessionId: who.sessionId ?? null,
    correlationId: 'it-hardening',
    clientIp: who.clientIp ?? '10.0.0.1',
  };
  return gql<T>(svc.url, query, variables, { sign: { service: 'users', secret: env.INTERNAL_SECRET!, user } });
}

const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }';
const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }';
const ADMIN = { userId: 'admin-actor', roles: ['ADMIN'] };
const PASSWORD = 'hardening-pass-1';

async function register(email: string, name = 'U'): Promise<string> {
  const res = await call<{ register: { user: { id: string } } }>(REGISTER, { i: { email, name, password: PASSWORD } });
  expect(res.errors).toBeUndefined();
  return res.data!.register.user.id;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  env = testEnv('users_hardening', {
    USERS_PORT: '0',
    REGISTER_MAX_PER_IP: '1000',
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
    LOGIN_MAX_FAILURES_PER_IP: '6',
  });
  box = new SecretBox(env.ENCRYPTION_KEYS!);
  svc = await start(env);
  await svc.deps.mongo.ready;
}, 30_000);

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await svc.stop();
});

describe('brute-force protection', () => {
  it('refuses an account after its failures, the same way whether it exists or not, with retryAfter', async () => {
    const email = 'bf.known@example.com';
    await register(email);
    const attempt = (e: string, password: string) => call(LOGIN, { i: { email: e, password } }, { clientIp: '10.1.1.1' });
    for (const e of [email, 'bf.unknown@example.com']) {
      for (let i = 0; i < 3; i++) expect(errorCode(await attempt(e, 'wrong-password-9'))).toBe('AUTH-001');
    }
    const known = await attempt(email, PASSWORD); // even the right password, now
    const unknown = await attempt('bf.unknown@example.com', PASSWORD);
    for (const r of [known, unknown]) {
      expect(errorCode(r)).toBe('AUTH-001');
      expect(r.errors![0]!.extensions!.retryAfter).toEqual(expect.any(Number));
      expect(r.errors![0]!.extensions!.retryAfter as number).toBeGreaterThan(0);
    }
    // the same answer (the seconds left may differ by one: each count's window began at its first attempt)
    expect(known.errors![0]!.message.replace(/\d+/g, 'N')).toBe(unknown.errors![0]!.message.replace(/\d+/g, 'N'));
    // the counters live in Redis under the service's key prefix, keyed by a hash (no email in a key)
    const keys = await svc.deps.redis.keys(`${env.REDIS_PREFIX}auth:login-fail:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.join(' ')).not.toContain('example.com');
  });

  it('counts failures per client address across accounts', async () => {
    const ip = '10.2.2.2';
    for (let i = 0; i < 6; i++) {
      const r = await call(LOGIN, { i: { email: `spray${i}@example.com`, password: 'wrong-password-9' } }, { clientIp: ip });
      expect(r.errors![0]!.extensions!.retryAfter).toBeUndefined();
    }
    await register('ip.victim@example.com');
    const blocked = await call(LOGIN, { i: { email: 'ip.victim@example.com', password: PASSWORD } }, { clientIp: ip });
    expect(errorCode(blocked)).toBe('AUTH-001');
    expect(blocked.errors![0]!.extensions!.retryAfter).toEqual(expect.any(Number));
    // another address is not affected
    expect(
      (await call(LOGIN, { i: { email: 'ip.victim@example.com', password: PASSWORD } }, { clientIp: '10.3.3.3' })).errors,
    ).toBeUndefined();
  });
});

describe('MFA', () => {
  const email = 'mfa.it@example.com';
  let userId = '';
  let secret = '';
  let recovery: string[] = [];

  it('stores the TOTP secret sealed and recovery codes hashed', async () => {
    userId = await register(email);
    const started = await call<{ startMfaEnrollment: { secret: string; otpauthUrl: string; recoveryCodes: string[] } }>(
      'mutation { startMfaEnrollment { secret otpauthUrl recoveryCodes } }',
      {},
      { userId },
    );
    expect(started.errors).toBeUndefined();
    ({ secret, recoveryCodes: recovery } = started.data!.startMfaEnrollment);
    expect(started.data!.startMfaEnrollment.otpauthUrl).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    const confirmed = await call(
      'mutation($c: String!) { confirmMfaEnrollment(code: $c) { id mfaEnabled } }',
      { c: authenticator.generate(secret) },
      { userId },
    );
    expect(confirmed.data).toEqual({ confirmMfaEnrollment: { id: userId, mfaEnabled: true } });

    const doc = await mongoose.connection.db!.collection('users').findOne({ _id: userId as never });
    const text = JSON.stringify(doc);
    expect(text).not.toContain(secret);
    for (const c of recovery) expect(text).not.toContain(c);
    expect(SecretBox.keyIdOf(doc!.mfaSecret as string)).toBe('t1');
    expect(box.decrypt(doc!.mfaSecret as string, `users.mfaSecret:${userId}`)).toBe(secret);
    expect(doc!.mfaRecoveryHashes).toHaveLength(10);
  });

  it('accepts a recovery code once, in place of a TOTP code', async () => {
    const login = (mfaCode: string) => call(LOGIN, { i: { email, password: PASSWORD, mfaCode } }, { clientIp: '10.4.4.4' });
    expect((await login(recovery[0]!.toUpperCase())).errors).toBeUndefined();
    expect(errorCode(await login(recovery[0]!))).toBe('AUTH-001');
    const doc = await mongoose.connection.db!.collection('users').findOne({ _id: userId as never });
    expect(doc!.mfaRecoveryHashes).toHaveLength(9);
  });

  it('lets only one of several concurrent sign-ins with the same recovery code through', async () => {
    const login = () => call(LOGIN, { i: { email, password: PASSWORD, mfaCode: recovery[5] } }, { clientIp: '10.4.4.5' });
    const results = await Promise.all([login(), login(), login()]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
  });

  it('refuses a second enrollment while MFA is on', async () => {
    expect(errorCode(await call('mutation { startMfaEnrollment { secret } }', {}, { userId }))).toBe('API-002');
  });
});

describe('password reset', () => {
  it('answers true for any email, publishes a sealed token only for real accounts, and the token works once', async () => {
    const email = 'reset.it@example.com';
    const userId = await register(email);
    const REQ = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
    expect((await call(REQ, { e: 'nobody.here@example.com' })).data).toEqual({ requestPasswordReset: true });
    expect((await call(REQ, { e: email })).data).toEqual({ requestPasswordReset: true });
    const entries = await eventually(
      () => svc.deps.redis.xrange('events:users', '-', '+'),
      (e) => e.length > 0,
    );
    expect(entries).toHaveLength(1); // none for the unknown address
    const raw = JSON.stringify(entries);
    expect(raw).not.toContain(email);
    const event = JSON.parse(entries[0]![1][3]!) as {
      type: string;
      payload: { userId: string; resetTokenEncrypted: string; emailEncrypted: string };
    };
    expect(event.type).toBe('PasswordResetRequested');
    expect(event.payload.userId).toBe(userId);
    expect(box.decrypt(event.payload.emailEncrypted)).toBe(email);
    const token = box.decrypt(event.payload.resetTokenEncrypted);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', typ: 'reset+jwt' });
    expect(raw).not.toContain(token);
    // stored only as a hash
    const stored = await mongoose.connection.db!.collection('passwordResets').findOne({ userId });
    expect(JSON.stringify(stored)).not.toContain(token.split('.')[1]!);

    const RESET = 'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';
    expect(errorCode(await call(RESET, { t: token, p: 'short' }))).toBe('API-002'); // strength rules first, token kept
    // single use, even when presented twice at the same moment
    const both = await Promise.all([
      call(RESET, { t: token, p: 'brand-new-pass-2' }),
      call(RESET, { t: token, p: 'brand-new-pass-2' }),
    ]);
    expect(both.map((r) => (r.errors ? errorCode(r) : r.data)).sort()).toEqual(['AUTH-002', { resetPassword: true }].sort());
    expect(errorCode(await call(RESET, { t: token, p: 'another-pass-3' }))).toBe('AUTH-002');
    expect((await call(LOGIN, { i: { email, password: 'brand-new-pass-2' } })).errors).toBeUndefined();
  });
});

describe('administration', () => {
  it('pages users in createdAt order, searches name or email prefixes, caps the page size', async () => {
    for (const n of ['Zed Alpha', 'Zelda Beta', 'zeno gamma'])
      await register(`${n.split(' ')[1]!.toLowerCase()}.page@example.com`, n);
    const Q =
      'query($s: String, $f: Int, $a: String) { users(search: $s, first: $f, after: $a) { totalCount edges { cursor node { name email } } pageInfo { hasNextPage hasPreviousPage endCursor } } }';
    type Page = {
      users: {
        totalCount: number;
        edges: Array<{ node: { name: string; email: string } }>;
        pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string };
      };
    };
    const first = await call<Page>(Q, { s: 'ze', f: 2 }, ADMIN);
    expect(first.errors).toBeUndefined();
    expect(first.data!.users.totalCount).toBe(3);
    expect(first.data!.users.edges.map((e) => e.node.name)).toEqual(['Zed Alpha', 'Zelda Beta']);
    expect(first.data!.users.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await call<Page>(Q, { s: 'ze', f: 2, a: first.data!.users.pageInfo.endCursor }, ADMIN);
    expect(second.data!.users.edges.map((e) => e.node.name)).toEqual(['zeno gamma']);
    expect(second.data!.users.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect((await call<Page>(Q, { s: 'BETA.P' }, ADMIN)).data!.users.edges.map((e) => e.node.email)).toEqual([
      'beta.page@example.com',
    ]);
    expect((await call<Page>(Q, { s: '.*' }, ADMIN)).data!.users.totalCount).toBe(0); // regex input is escaped
    expect((await call<Page>(Q, { f: 1000 }, ADMIN)).data!.users.edges.length).toBeLessThanOrEqual(100);
    expect(errorCode(await call(Q, { a: 'not-a-cursor' }, ADMIN))).toBe('API-002');
  });

  it('reports encryption keys in use and passes the self-test', async () => {
    const res = await call<{
      encryptionStatus: {
        activeKeyId: string;
        keyIds: string[];
        recordsByKey: Array<{ keyId: string; count: number }>;
        selfTestPassed: boolean;
      };
    }>('{ encryptionStatus { activeKeyId keyIds recordsByKey { keyId count } selfTestPassed } }', {}, ADMIN);
    expect(res.data!.encryptionStatus).toMatchObject({ activeKeyId: 't1', keyIds: ['t1'], selfTestPassed: true });
    // one MFA secret + the signing key
    expect(res.data!.encryptionStatus.recordsByKey).toEqual([{ keyId: 't1', count: 2 }]);
    const key = await mongoose.connection.db!.collection('signingKeys').findOne({});
    expect(key!.privateJwk).toMatch(/^v1:t1:/);
    expect(key!.privateJwk).not.toContain('"d"');
  });

  it('keeps the last active ADMIN and writes an audit record for every admin call', async () => {
    const adminId = await register('only.admin@example.com');
    const SET = 'mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { roles } }';
    // promoted the way every change of roles goes: counted among the active admins
    expect((await call(SET, { u: adminId, r: ['ADMIN', 'USER'] }, ADMIN)).errors).toBeUndefined();
    const refused = await call(SET, { u: adminId, r: ['USER'] }, { userId: adminId, roles: ['ADMIN'] });
    expect(errorCode(refused)).toBe('API-002');
    expect(errorCode(await call('mutation($u: [ID!]!) { lockUsers(userIds: $u) { id } }', { u: [adminId] }, ADMIN))).toBe(
      'API-002',
    );
    const other = await register('second.admin@example.com');
    expect((await call(SET, { u: other, r: ['ADMIN', 'USER'] }, { userId: adminId, roles: ['ADMIN'] })).data).toEqual({
      setUserRoles: { roles: ['ADMIN', 'USER'] },
    });
    expect((await call(SET, { u: adminId, r: ['USER'] }, { userId: other, roles: ['ADMIN'] })).errors).toBeUndefined();
    const audit = await mongoose.connection
      .db!.collection('auditRecords')
      .find({ service: 'users', action: 'setUserRoles' })
      .toArray();
    expect(audit.map((a) => a.result).sort()).toEqual(['error', 'ok', 'ok', 'ok']);
    expect(audit.find((a) => a.result === 'error')).toMatchObject({
      errorCode: 'API-002',
      actorId: adminId,
      correlationId: 'it-hardening',
    });
    expect(await mongoose.connection.db!.collection('auditRecords').countDocuments({ action: 'users' })).toBeGreaterThan(0);
  });
});
