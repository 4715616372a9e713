import { randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { decodeJwt } from 'jose';
import { Redis } from '@tm/kit/infra';
import { Cleanup } from '@tm/tools/testing/processes';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { signInFirstAdmin, startStack, type Stack } from '@tm/tools/testing/stack';

/**
 * Abuse paths of sign-in, sign-up and user fields (issue 15, items 3, 5, 7, 8) end to end:
 * users + projects + gateway as real processes, a real HTTP client, real stores. The gateway
 * trusts one proxy hop, so each test picks its client address with X-Forwarded-For.
 */
const cleanup = new Cleanup();
let stack: Stack;
let url = '';
let redis: Redis;
let adminToken = '';

const ADMIN_EMAIL = 'limits.admin@example.com';
const ADMIN_PASSWORD = 'Adm1n-limits-secret-pw';
const PASSWORD = 'limits-pass-1';

const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }';
const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }';
const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';

interface Signed {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

let ipSeq = 0;
/** A client address of its own (the gateway trusts one proxy hop). */
const newIp = () => `10.77.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;
const from = (ip: string, token?: string) => ({ headers: { 'x-forwarded-for': ip }, ...(token ? { token } : {}) });
const unique = (name: string) => `${name}.${randomUUID().slice(0, 8)}@example.com`;

function register(email: string, ip = newIp()) {
  return gql<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    url,
    REGISTER,
    { i: { email, name: email.split('.')[0], password: PASSWORD } },
    from(ip),
  );
}
async function registered(name: string): Promise<Signed> {
  const email = unique(name);
  const res = await register(email);
  expect(res.errors).toBeUndefined();
  return { id: res.data!.register.user.id, email, ...res.data!.register };
}
function login(email: string, password: string, ip: string, mfaCode?: string) {
  return gql<{ login: { accessToken: string; refreshToken: string } }>(
    url,
    LOGIN,
    { i: { email, password, ...(mfaCode ? { mfaCode } : {}) } },
    from(ip),
  );
}
const me = (token: string) => gql<{ me: { id: string } }>(url, '{ me { id } }', {}, { token });
const refresh = (t: string) => gql<{ refreshToken: { accessToken: string } }>(url, REFRESH, { t });
const retryAfter = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.retryAfter;

/** The users process's counter value for `name{outcome="…"}` (0 when not there yet). */
async function counter(name: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${stack.services.users!.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  stack = await startStack('e2e_auth_limits', ['users', 'projects'], {
    TRUST_PROXY: '1',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REGISTER_MAX_PER_IP: '10', // the default (the test harness lifts it for everyone else)
  });
  cleanup.add(() => stack.stop());
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX, lazyConnect: false });
  cleanup.add(() => redis.quit());
  adminToken = await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD);
}, 120_000);

afterAll(() => cleanup.run());

describe('brute force: the attempt is taken before the check', () => {
  it('lets at most 5 of 30 concurrent wrong passwords for one account reach the password check', async () => {
    const victim = await registered('bf');
    const ip = newIp();
    const answers = await Promise.all(Array.from({ length: 30 }, () => login(victim.email, 'wrong-password-9', ip)));
    for (const a of answers) expect(errorCode(a)).toBe('AUTH-001');
    // checked (and wrong): no retryAfter; refused by the limit before any check: retryAfter
    const checked = answers.filter((a) => retryAfter(a) === undefined);
    expect(checked).toHaveLength(5);
    expect(answers.filter((a) => typeof retryAfter(a) === 'number')).toHaveLength(25);
    // now even the right password is refused
    const right = await login(victim.email, PASSWORD, newIp());
    expect(errorCode(right)).toBe('AUTH-001');
    expect(retryAfter(right)).toEqual(expect.any(Number));
    expect(await counter('auth_login_attempts_total', 'limited')).toBeGreaterThanOrEqual(26);
  }, 60_000);

  it('lets at most 5 of 30 concurrent wrong MFA codes (right password) reach the code check', async () => {
    const u = await registered('mfabf');
    const start = await gql<{ startMfaEnrollment: { secret: string } }>(
      url,
      'mutation { startMfaEnrollment { secret } }',
      {},
      { token: u.accessToken },
    );
    expect(start.errors).toBeUndefined();
    const secret = start.data!.startMfaEnrollment.secret;
    const confirm = await gql(
      url,
      'mutation($c: String!) { confirmMfaEnrollment(code: $c) { mfaEnabled } }',
      { c: authenticator.generate(secret) },
      { token: u.accessToken },
    );
    expect(confirm.data).toEqual({ confirmMfaEnrollment: { mfaEnabled: true } });
    // a six-digit code valid in none of the steps around now
    const valid = new Set([-1, 0, 1].map((s) => authenticator.clone({ epoch: Date.now() + s * 30_000 }).generate(secret)));
    let wrong = 123456;
    while (valid.has(String(wrong).padStart(6, '0'))) wrong++;
    const ip = newIp();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => login(u.email, PASSWORD, ip, String(wrong).padStart(6, '0'))),
    );
    for (const a of answers) expect(errorCode(a)).toBe('AUTH-001');
    expect(answers.filter((a) => retryAfter(a) === undefined)).toHaveLength(5);
  }, 60_000);
});

describe('token versions never go back', () => {
  const INVALIDATE = 'mutation($u: ID!) { invalidateUserTokens(userId: $u) }';

  it('a sign-in racing invalidateUserTokens cannot bring the old version back (access or refresh)', async () => {
    const u = await registered('race');
    const ip = newIp();
    for (let round = 0; round < 6; round++) {
      const before = await login(u.email, PASSWORD, ip);
      expect(before.errors).toBeUndefined();
      const version = decodeJwt(before.data!.login.accessToken).tv as number;
      // sign-ins in flight (user read, password being checked) while the revocation lands
      const logins = Array.from({ length: 4 }, () => login(u.email, PASSWORD, ip));
      await new Promise((r) => setTimeout(r, 20 * round));
      const invalidated = await gql(url, INVALIDATE, { u: u.id }, { token: adminToken });
      expect(invalidated.data).toEqual({ invalidateUserTokens: true });
      const results = await Promise.all(logins);
      expect(errorCode(await me(before.data!.login.accessToken))).toBe('AUTH-002');
      for (const r of results) {
        expect(r.errors).toBeUndefined();
        const { accessToken, refreshToken } = r.data!.login;
        if ((decodeJwt(accessToken).tv as number) > version) continue; // signed in after the revocation: fine
        // issued from the user as read before the revocation: neither the access token nor the session may live on
        expect(errorCode(await me(accessToken))).toBe('AUTH-002');
        expect(errorCode(await refresh(refreshToken))).toBe('AUTH-002');
      }
    }
  }, 120_000);

  it('a token version missing from Redis is looked up in the store (and written back), so a revoked token stays revoked', async () => {
    const u = await registered('lost');
    expect((await me(u.accessToken)).data).toEqual({ me: { id: u.id } });
    await redis.del(`auth:tokenver:${u.id}`);
    // nothing revoked: the look-up answers the same version, the token works and Redis has it again
    expect((await me(u.accessToken)).data).toEqual({ me: { id: u.id } });
    expect(await redis.get(`auth:tokenver:${u.id}`)).toBe('0');
    // revoked, then Redis loses everything it knew of it (the version and the ended session): the store still says revoked
    const inv = await gql(url, 'mutation($u: ID!) { invalidateUserTokens(userId: $u) }', { u: u.id }, { token: adminToken });
    expect(inv.errors).toBeUndefined();
    await redis.del(`auth:tokenver:${u.id}`, `auth:revoked-session:${decodeJwt(u.accessToken).sid as string}`);
    expect(errorCode(await me(u.accessToken))).toBe('AUTH-002');
    expect(await redis.get(`auth:tokenver:${u.id}`)).toBe('1');
  }, 60_000);

  it('setUserRoles ends the sessions: the old refresh token is refused, a new sign-in has the new roles', async () => {
    const u = await registered('roles');
    const set = await gql(
      url,
      'mutation($u: ID!) { setUserRoles(userId: $u, roles: [USER, ADMIN]) { id } }',
      { u: u.id },
      { token: adminToken },
    );
    expect(set.errors).toBeUndefined();
    expect(errorCode(await me(u.accessToken))).toBe('AUTH-002');
    expect(errorCode(await refresh(u.refreshToken))).toBe('AUTH-002');
    const again = await login(u.email, PASSWORD, newIp());
    expect(again.errors).toBeUndefined();
    expect(decodeJwt(again.data!.login.accessToken).roles).toEqual(expect.arrayContaining(['ADMIN', 'USER']));
  }, 60_000);
});

describe('registration limits', () => {
  it('refuses registrations beyond 10 per client address and 3 per email (API-001 + retryAfter), and counts them', async () => {
    const taken = await registered('taken'); // 1st attempt for this email
    const ip = newIp();
    const answers: Array<GqlResponse<unknown>> = [];
    // 10 from one address: 2 for the taken email (2nd, 3rd for it), 8 new
    for (let i = 0; i < 10; i++) answers.push(await register(i < 2 ? taken.email : unique(`spree${i}`), ip));
    expect(answers.slice(0, 2).map(errorCode)).toEqual(['API-002', 'API-002']);
    expect(answers[0]!.errors![0]!.message).toMatch(/already registered/);
    for (const a of answers.slice(2)) expect(a.errors).toBeUndefined();
    const over = await register(unique('spree-over'), ip);
    expect(errorCode(over)).toBe('API-001');
    expect(retryAfter(over)).toEqual(expect.any(Number));
    // the taken email has had its 3 attempts: refused from any address, before anything is looked up
    const fourth = await register(taken.email, newIp());
    expect(errorCode(fourth)).toBe('API-001');
    expect(fourth.errors![0]!.message).not.toMatch(/already registered/);
    // another address is not affected
    expect((await register(unique('elsewhere'), newIp())).errors).toBeUndefined();
    expect(await counter('auth_registrations_total', 'duplicate')).toBe(2);
    expect(await counter('auth_registrations_total', 'limited')).toBe(2);
    expect(await counter('auth_registrations_total', 'created')).toBeGreaterThanOrEqual(10);
  }, 60_000);
});

describe('who sees private user fields', () => {
  let alice: Signed;
  let bob: Signed;
  let carol: Signed;

  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => registered(n)));
    const project = await gql<{ createProject: { id: string } }>(
      url,
      'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
      { i: { name: `Shared ${randomUUID().slice(0, 6)}` } },
      { token: alice.accessToken },
    );
    expect(project.errors).toBeUndefined();
    const projectId = project.data!.createProject.id;
    const added = await gql(
      url,
      'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }',
      { p: projectId, u: bob.id },
      { token: alice.accessToken },
    );
    expect(added.errors).toBeUndefined();
    const beat = await gql(url, 'mutation($p: ID!) { heartbeat(projectId: $p) }', { p: projectId }, { token: alice.accessToken });
    expect(beat.data).toEqual({ heartbeat: true });
  }, 60_000);

  const read = (token: string, field: string) =>
    gql<{ user: Record<string, unknown> | null }>(
      url,
      `query($id: ID!) { user(id: $id) { id ${field} } }`,
      { id: alice.id },
      { token },
    );

  it('roles, status, mfaEnabled: the user and admins only; anyone else PERM-001', async () => {
    for (const field of ['roles', 'status', 'mfaEnabled']) {
      for (const token of [alice.accessToken, adminToken]) {
        const r = await read(token, field);
        expect(r.errors).toBeUndefined();
        expect(r.data!.user![field]).toBeDefined();
      }
      for (const token of [bob.accessToken, carol.accessToken]) {
        const r = await read(token, field);
        expect(errorCode(r)).toBe('PERM-001');
        expect(JSON.stringify(r.data ?? null)).not.toMatch(/USER|ACTIVE/);
      }
    }
  }, 60_000);

  it('lastSeenAt and online: also members of a shared project; others get null and PERM-001', async () => {
    for (const token of [alice.accessToken, adminToken, bob.accessToken]) {
      const r = await read(token, 'lastSeenAt online');
      expect(r.errors).toBeUndefined();
      expect(r.data!.user).toEqual({ id: alice.id, lastSeenAt: expect.any(String), online: true });
    }
    const seen = await read(carol.accessToken, 'lastSeenAt');
    expect(seen.errors).toBeUndefined();
    expect(seen.data!.user).toEqual({ id: alice.id, lastSeenAt: null });
    expect(errorCode(await read(carol.accessToken, 'online'))).toBe('PERM-001');
    // public fields stay public
    const pub = await read(carol.accessToken, 'name');
    expect(pub.data!.user).toEqual({ id: alice.id, name: 'alice' });
  }, 60_000);
});
