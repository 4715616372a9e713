import { spawn } from 'node:child_process';
import path from 'node:path';
import { authenticator } from 'otplib';
import { decodeJwt } from 'jose';
import { Redis, SecretBox } from '@tm/kit/infra';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { waitForFirstAdmin } from '@tm/tools/testing/stack';

/**
 * Hardened authentication and user administration end to end: users + gateway as real
 * processes (LOG_LEVEL=debug, output scanned at the end), a real HTTP client, real stores.
 */
const cleanup = new Cleanup();
let users: ServiceProcess;
let gateway: ServiceProcess;
let env: NodeJS.ProcessEnv;
let redis: Redis;
let box: SecretBox;

const ADMIN_EMAIL = 'root.admin@example.com';
const ADMIN_PASSWORD = 'Adm1n-very-secret-pw';
const PASSWORD = 'e2e-security-pass-1';
/** Everything secret the services saw; none of it may appear in their logs. */
const secrets: string[] = [ADMIN_PASSWORD, PASSWORD];

const LOGIN = `mutation Login($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id roles } } }`;
const REGISTER = `mutation Reg($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { roles } } }`;
const ME = `{ me { id roles status mfaEnabled } }`;

interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; roles?: string[] };
}

const q = gql;
async function login(email: string, password = PASSWORD, mfaCode?: string): Promise<GqlResponse<{ login: Session }>> {
  return q<{ login: Session }>(gateway.url, LOGIN, { i: { email, password, ...(mfaCode ? { mfaCode } : {}) } });
}
async function signIn(email: string, password = PASSWORD, mfaCode?: string): Promise<Session> {
  const res = await login(email, password, mfaCode);
  expect(res.errors).toBeUndefined();
  secrets.push(res.data!.login.accessToken, res.data!.login.refreshToken);
  return res.data!.login;
}
async function registered(email: string): Promise<Session> {
  const res = await q<{ register: Session }>(gateway.url, REGISTER, {
    i: { email, name: email.split('@')[0], password: PASSWORD },
  });
  expect(res.errors).toBeUndefined();
  secrets.push(res.data!.register.accessToken, res.data!.register.refreshToken);
  return res.data!.register;
}
const me = (token: string) => q<{ me: { id: string; roles: string[]; mfaEnabled: boolean } }>(gateway.url, ME, {}, { token });
/** A TOTP code `steps` 30-second steps from now (within the ±1 window when |steps| ≤ 1). */
const totpAt = (secret: string, steps = 0) => authenticator.clone({ epoch: Date.now() + steps * 30_000 }).generate(secret);
const unique = (name: string) => `${name}.${Date.now().toString(36)}@example.com`;

async function enroll(token: string | null, mfaToken?: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const vars = mfaToken ? { m: mfaToken } : {};
  const start = await q<{ startMfaEnrollment: { secret: string; otpauthUrl: string; recoveryCodes: string[] } }>(
    gateway.url,
    `mutation S${mfaToken ? '($m: String)' : ''} { startMfaEnrollment${mfaToken ? '(mfaToken: $m)' : ''} { secret otpauthUrl recoveryCodes } }`,
    vars,
    token ? { token } : {},
  );
  expect(start.errors).toBeUndefined();
  const { secret, recoveryCodes } = start.data!.startMfaEnrollment;
  secrets.push(secret, start.data!.startMfaEnrollment.otpauthUrl, ...recoveryCodes);
  const confirm = await q<{ confirmMfaEnrollment: { mfaEnabled: boolean } }>(
    gateway.url,
    `mutation C($c: String!${mfaToken ? ', $m: String' : ''}) { confirmMfaEnrollment(code: $c${mfaToken ? ', mfaToken: $m' : ''}) { mfaEnabled } }`,
    { c: totpAt(secret, -1), ...vars },
    token ? { token } : {},
  );
  expect(confirm.data).toEqual({ confirmMfaEnrollment: { mfaEnabled: true } });
  return { secret, recoveryCodes };
}

beforeAll(async () => {
  // every registration here comes from one address: the per-address registration limit (e2e.auth-limits) is raised
  env = testEnv('e2e_security', { LOG_LEVEL: 'debug', ADMIN_EMAIL, ADMIN_PASSWORD, REGISTER_MAX_PER_IP: '1000' });
  box = new SecretBox(env.ENCRYPTION_KEYS!);
  users = await spawnService('users', 'subgraphs/users/dist/main.js', env);
  cleanup.add(() => users.stop());
  gateway = await spawnService('gateway', 'gateway/dist/main.js', {
    ...env,
    USERS_URL: users.url,
    JWKS_URL: `${users.base}/.well-known/jwks.json`,
  });
  cleanup.add(() => gateway.stop());
  redis = new Redis(env.REDIS_URL!, { keyPrefix: env.REDIS_PREFIX, lazyConnect: false });
  cleanup.add(() => redis.quit());
}, 60_000);

afterAll(() => cleanup.run());

let admin: Session;

describe('the first administrator', () => {
  it('is created from ADMIN_EMAIL / ADMIN_PASSWORD at start and can sign in as ADMIN', async () => {
    await waitForFirstAdmin(users.url, env.INTERNAL_SECRET!, ADMIN_EMAIL); // a start task once the store is connected
    const res = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(res.errors).toBeUndefined();
    admin = res.data!.login;
    secrets.push(admin.accessToken, admin.refreshToken);
    expect(admin.user.roles).toContain('ADMIN');
  });
});

describe('MFA through the gateway', () => {
  const email = unique('mfa');
  let secret = '';
  let recoveryCodes: string[] = [];

  it('enrolls with a generated code; sign-in then needs a code (AUTH-003), refuses a wrong one (AUTH-001)', async () => {
    const s = await registered(email);
    ({ secret, recoveryCodes } = await enroll(s.accessToken));
    expect((await me(s.accessToken)).data!.me.mfaEnabled).toBe(true);
    const noCode = await login(email);
    expect(errorCode(noCode)).toBe('AUTH-003');
    expect(noCode.errors![0]!.extensions!.mfaToken).toBeUndefined();
    const wrongPassword = await login(email, 'wrong-password-1');
    expect(errorCode(wrongPassword)).toBe('AUTH-001'); // the password is checked before MFA
    const wrongCode = await login(email, PASSWORD, totpAt(secret) === '000000' ? '111111' : '000000');
    expect(errorCode(wrongCode)).toBe('AUTH-001');
  });

  it('accepts a code once: the same code (or an older step) is refused within its window', async () => {
    const code = totpAt(secret, 0);
    await signIn(email, PASSWORD, code);
    expect(errorCode(await login(email, PASSWORD, code))).toBe('AUTH-001');
    expect(errorCode(await login(email, PASSWORD, totpAt(secret, -1)))).toBe('AUTH-001');
    await signIn(email, PASSWORD, totpAt(secret, 1)); // the next step is still in the window
  });

  it('accepts each recovery code once', async () => {
    await signIn(email, PASSWORD, recoveryCodes[3]);
    expect(errorCode(await login(email, PASSWORD, recoveryCodes[3]))).toBe('AUTH-001');
  });
});

describe('brute force through the gateway', () => {
  it('locks an account after 5 failures (even for the right password), with retryAfter, like an unknown one', async () => {
    const email = unique('brute');
    await registered(email);
    const ghost = unique('ghost');
    for (let i = 0; i < 5; i++) {
      expect(errorCode(await login(email, `wrong-password-${i}`))).toBe('AUTH-001');
      expect(errorCode(await login(ghost, `wrong-password-${i}`))).toBe('AUTH-001');
    }
    const real = await login(email);
    const fake = await login(ghost);
    for (const r of [real, fake]) {
      expect(errorCode(r)).toBe('AUTH-001');
      expect(r.errors![0]!.extensions!.retryAfter).toBeGreaterThan(800);
    }
    expect(real.errors![0]!.message.replace(/\d+/g, 'N')).toBe(fake.errors![0]!.message.replace(/\d+/g, 'N')); // the seconds may tick between the two
    // the gateway forwarded the client's address: failures were counted for it too
    expect(await redis.get('auth:login-fail:ip:127.0.0.1')).not.toBeNull();
  });
});

describe('tokens: versions, sessions, types', () => {
  it('invalidateUserTokens ends every access and refresh token of the user at once', async () => {
    const email = unique('inval');
    const s = await registered(email);
    const other = await signIn(email);
    const res = await q(
      gateway.url,
      'mutation($u: ID!) { invalidateUserTokens(userId: $u) }',
      { u: s.user.id },
      { token: admin.accessToken },
    );
    expect(res.data).toEqual({ invalidateUserTokens: true });
    const after = await me(s.accessToken);
    expect(after.status).toBe(401);
    expect(errorCode(after)).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: s.refreshToken }))).toBe('AUTH-002');
    expect(errorCode(await me(other.accessToken))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: other.refreshToken }))).toBe('AUTH-002');
    await signIn(email); // a new sign-in works
  });

  it('MFA-step, reset and refresh tokens are refused as access tokens (AUTH-002)', async () => {
    const email = unique('types');
    await registered(email);
    expect(
      (
        await q(
          gateway.url,
          'mutation($r: [Role!]!) { enforceMfaForRoles(roles: $r) }',
          { r: ['USER'] },
          { token: admin.accessToken },
        )
      ).errors,
    ).toBeUndefined();
    const owed = await login(email);
    await q(gateway.url, 'mutation { enforceMfaForRoles(roles: []) }', {}, { token: admin.accessToken });
    const mfaToken = owed.errors![0]!.extensions!.mfaToken as string;
    const resetToken = await resetTokenFor(email);
    const { refreshToken } = await signIn(email);
    secrets.push(mfaToken, resetToken);
    for (const token of [mfaToken, resetToken, refreshToken]) {
      const res = await me(token);
      expect({ status: res.status, code: errorCode(res) }).toEqual({ status: 401, code: 'AUTH-002' });
    }
  });
});

/** Asks for a reset and reads the token from the event the notification path gets (sealed). */
async function resetTokenFor(email: string): Promise<string> {
  const before = (await redis.xrevrange('events:users', '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const res = await q(gateway.url, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { e: email });
  expect(res.data).toEqual({ requestPasswordReset: true });
  for (let i = 0; i < 100; i++) {
    const entries = await redis.xrange('events:users', `(${before}`, '+');
    for (const [, fields] of entries) {
      const event = JSON.parse(fields[3]!) as { type: string; payload: { resetTokenEncrypted: string; emailEncrypted: string } };
      if (event.type === 'PasswordResetRequested' && box.decrypt(event.payload.emailEncrypted) === email) {
        return box.decrypt(event.payload.resetTokenEncrypted);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no PasswordResetRequested event');
}

describe('passwords', () => {
  const RESET = 'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';
  const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }';

  it('resetPassword sets the password once and ends every session', async () => {
    const email = unique('reset');
    const s = await registered(email);
    const token = await resetTokenFor(email);
    secrets.push(token);
    expect((await q(gateway.url, RESET, { t: token, p: 'fresh-password-22' })).data).toEqual({ resetPassword: true });
    expect(errorCode(await me(s.accessToken))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: s.refreshToken }))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, RESET, { t: token, p: 'again-password-33' }))).toBe('AUTH-002');
    expect(errorCode(await login(email))).toBe('AUTH-001');
    await signIn(email, 'fresh-password-22');
    expect((await q(gateway.url, 'mutation { requestPasswordReset(email: "nobody.at.all@example.com") }')).data).toEqual({
      requestPasswordReset: true,
    });
  });

  it('changePassword ends every other session at once and keeps the caller signed in', async () => {
    const email = unique('change');
    const mine = await registered(email);
    const other = await signIn(email);
    expect(
      errorCode(await q(gateway.url, CHANGE, { c: 'not-the-password-1', n: 'changed-password-44' }, { token: mine.accessToken })),
    ).toBe('AUTH-001');
    const ok = await q(gateway.url, CHANGE, { c: PASSWORD, n: 'changed-password-44' }, { token: mine.accessToken });
    expect(ok.data).toEqual({ changePassword: true });
    expect(errorCode(await me(other.accessToken))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: other.refreshToken }))).toBe('AUTH-002');
    expect((await me(mine.accessToken)).data!.me.id).toBe(mine.user.id);
    expect((await q(gateway.url, REFRESH, { t: mine.refreshToken })).errors).toBeUndefined();
    expect(errorCode(await login(email))).toBe('AUTH-001');
    await signIn(email, 'changed-password-44');
    expect(errorCode(await q(gateway.url, CHANGE, { c: 'changed-password-44', n: 'another-password-66' }))).toBe('AUTH-001'); // anonymous
    expect(
      errorCode(await q(gateway.url, CHANGE, { c: 'changed-password-44', n: 'lettersonly' }, { token: mine.accessToken })),
    ).toBe('API-002');
  });
});

describe('administration through the gateway', () => {
  it('locks: existing tokens stop at once, sign-in refused; unlock lets them back in', async () => {
    const email = unique('lock');
    const s = await registered(email);
    const LOCK = 'mutation($u: [ID!]!, $r: String) { lockUsers(userIds: $u, reason: $r) { id status } }';
    const res = await q(gateway.url, LOCK, { u: [s.user.id], r: 'suspicious activity' }, { token: admin.accessToken });
    expect(res.data).toEqual({ lockUsers: [{ id: s.user.id, status: 'LOCKED' }] });
    expect(errorCode(await me(s.accessToken))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: s.refreshToken }))).toBe('AUTH-002');
    expect(errorCode(await login(email))).toBe('AUTH-001');
    const un = await q(
      gateway.url,
      'mutation($u: [ID!]!) { unlockUsers(userIds: $u) { status } }',
      { u: [s.user.id] },
      { token: admin.accessToken },
    );
    expect(un.data).toEqual({ unlockUsers: [{ status: 'ACTIVE' }] });
    await signIn(email);
  });

  it('forcePasswordReset: signed out, sign-in refused with a message to reset, a reset lets them in', async () => {
    const email = unique('force');
    const s = await registered(email);
    const res = await q(
      gateway.url,
      'mutation($u: [ID!]!) { forcePasswordReset(userIds: $u) }',
      { u: [s.user.id, 'no-such-user'] },
      { token: admin.accessToken },
    );
    expect(res.data).toEqual({ forcePasswordReset: 1 });
    expect(errorCode(await me(s.accessToken))).toBe('AUTH-002');
    const refused = await login(email);
    expect(errorCode(refused)).toBe('AUTH-001');
    expect(refused.errors![0]!.message).toMatch(/reset/i);
    const token = await resetTokenFor(email);
    secrets.push(token);
    await q(gateway.url, 'mutation($t: String!) { resetPassword(token: $t, newPassword: "after-forced-55") }', { t: token });
    await signIn(email, 'after-forced-55');
  });

  it('setUserRoles revokes old-role tokens and ends the sessions; the next sign-in carries the new roles', async () => {
    const email = unique('roles');
    const s = await registered(email);
    const res = await q(
      gateway.url,
      'mutation($u: ID!) { setUserRoles(userId: $u, roles: [ADMIN, USER]) { roles } }',
      { u: s.user.id },
      { token: admin.accessToken },
    );
    expect(res.data).toEqual({ setUserRoles: { roles: ['ADMIN', 'USER'] } });
    expect(errorCode(await me(s.accessToken))).toBe('AUTH-002');
    expect(errorCode(await q(gateway.url, REFRESH, { t: s.refreshToken }))).toBe('AUTH-002');
    const again = await signIn(email);
    expect(again.user.roles).toEqual(['ADMIN', 'USER']);
    expect(decodeJwt(again.accessToken).roles).toEqual(['ADMIN', 'USER']);
  });

  it('enforceMfaForRoles: an affected user gets AUTH-003 with an MFA-step token, enrolls with it, then signs in with a code', async () => {
    const email = unique('policy');
    await registered(email);
    const count = await q<{ enforceMfaForRoles: number }>(
      gateway.url,
      'mutation { enforceMfaForRoles(roles: [USER]) }',
      {},
      { token: admin.accessToken },
    );
    expect(count.data!.enforceMfaForRoles).toBeGreaterThanOrEqual(1);
    try {
      const owed = await login(email);
      expect(errorCode(owed)).toBe('AUTH-003');
      expect(owed.errors![0]!.extensions!.mfaEnrollmentRequired).toBe(true);
      const mfaToken = owed.errors![0]!.extensions!.mfaToken as string;
      secrets.push(mfaToken);
      expect(decodeJwt(mfaToken).aud).not.toBe('tm-api');
      const { secret } = await enroll(null, mfaToken);
      expect(errorCode(await login(email))).toBe('AUTH-003');
      await signIn(email, PASSWORD, totpAt(secret, 0));
    } finally {
      await q(gateway.url, 'mutation { enforceMfaForRoles(roles: []) }', {}, { token: admin.accessToken });
    }
  });

  it('resetUserMfa signs the user out and requires a new enrollment; disableUserMfa turns MFA off', async () => {
    const email = unique('mfareset');
    const s = await registered(email);
    const { secret } = await enroll(s.accessToken);
    const session = await signIn(email, PASSWORD, totpAt(secret, 0));
    const reset = await q(
      gateway.url,
      'mutation($u: ID!) { resetUserMfa(userId: $u) { mfaEnabled } }',
      { u: s.user.id },
      { token: admin.accessToken },
    );
    expect(reset.data).toEqual({ resetUserMfa: { mfaEnabled: false } });
    expect(errorCode(await me(session.accessToken))).toBe('AUTH-002');
    const owed = await login(email);
    expect(errorCode(owed)).toBe('AUTH-003');
    const { secret: second } = await enroll(null, owed.errors![0]!.extensions!.mfaToken as string);
    await signIn(email, PASSWORD, totpAt(second, 0));
    const off = await q(
      gateway.url,
      'mutation($u: ID!) { disableUserMfa(userId: $u) { mfaEnabled } }',
      { u: s.user.id },
      { token: admin.accessToken },
    );
    expect(off.data).toEqual({ disableUserMfa: { mfaEnabled: false } });
    await signIn(email);
  });

  it('users and encryptionStatus answer admins', async () => {
    const list = await q<{ users: { totalCount: number; edges: Array<{ node: { email: string } }> } }>(
      gateway.url,
      '{ users(search: "root.admin", first: 5) { totalCount edges { node { email } } } }',
      {},
      { token: admin.accessToken },
    );
    expect(list.data!.users.edges.map((e) => e.node.email)).toEqual([ADMIN_EMAIL]);
    const status = await q<{
      encryptionStatus: { activeKeyId: string; selfTestPassed: boolean; recordsByKey: Array<{ keyId: string; count: number }> };
    }>(
      gateway.url,
      '{ encryptionStatus { activeKeyId selfTestPassed recordsByKey { keyId count } } }',
      {},
      { token: admin.accessToken },
    );
    expect(status.data!.encryptionStatus).toMatchObject({ activeKeyId: 't1', selfTestPassed: true });
    expect(status.data!.encryptionStatus.recordsByKey[0]!.count).toBeGreaterThanOrEqual(3);
  });

  it('refuses every admin operation to a non-admin (PERM-001) and to anonymous callers (AUTH-001)', async () => {
    const s = await registered(unique('plain'));
    const id = s.user.id;
    const ops = [
      ['lockUsers', `mutation { lockUsers(userIds: ["${id}"]) { id } }`],
      ['unlockUsers', `mutation { unlockUsers(userIds: ["${id}"]) { id } }`],
      ['forcePasswordReset', `mutation { forcePasswordReset(userIds: ["${id}"]) }`],
      ['setUserRoles', `mutation { setUserRoles(userId: "${id}", roles: [ADMIN]) { id } }`],
      ['invalidateUserTokens', `mutation { invalidateUserTokens(userId: "${id}") }`],
      ['rotateSigningKeys', 'mutation { rotateSigningKeys }'],
      ['disableUserMfa', `mutation { disableUserMfa(userId: "${id}") { id } }`],
      ['resetUserMfa', `mutation { resetUserMfa(userId: "${id}") { id } }`],
      ['enforceMfaForRoles', 'mutation { enforceMfaForRoles(roles: [USER]) }'],
      ['users', '{ users { totalCount } }'],
      ['encryptionStatus', '{ encryptionStatus { activeKeyId } }'],
    ] as const;
    for (const [name, query] of ops) {
      const asUser = await q(gateway.url, query, {}, { token: s.accessToken });
      expect({ name, code: errorCode(asUser), data: asUser.data ?? null }).toEqual({ name, code: 'PERM-001', data: null });
      expect({ name, code: errorCode(await q(gateway.url, query)) }).toEqual({ name, code: 'AUTH-001' });
    }
    // nothing happened: the user is still an active USER and signed in
    expect((await me(s.accessToken)).data!.me).toMatchObject({ roles: ['USER'], status: 'ACTIVE' });
  });
});

/** Runs `node tools/dist/create-admin.js` against this file's stores. */
function createAdmin(extra: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, '../../tools/dist/create-admin.js'), ...args], {
      env: {
        PATH: process.env.PATH,
        MONGO_URL: env.MONGO_URL,
        MONGO_DB: env.MONGO_DB,
        REDIS_URL: env.REDIS_URL,
        REDIS_PREFIX: env.REDIS_PREFIX,
        ...extra,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the create-admin command', () => {
  it('creates an administrator from the environment, refuses weak passwords, promotes on request', async () => {
    const email = unique('second.admin');
    const weak = await createAdmin({ ADMIN_EMAIL: email, ADMIN_PASSWORD: 'weakweakweak' });
    expect(weak.code).toBe(1);
    expect(weak.out).toContain('ADMIN_PASSWORD');
    expect(weak.out).not.toContain('weakweakweak');
    const made = await createAdmin({ ADMIN_EMAIL: email, ADMIN_PASSWORD: 'Second-admin-pw-77' });
    expect(made).toMatchObject({ code: 0, out: expect.stringMatching(/^administrator created: [\w-]+\n$/) });
    expect(made.out).not.toContain('Second-admin-pw-77');
    secrets.push('Second-admin-pw-77');
    expect((await signIn(email, 'Second-admin-pw-77')).user.roles).toEqual(['ADMIN', 'USER']);

    const plainEmail = unique('promote.me');
    const plain = await registered(plainEmail);
    expect((await createAdmin({ ADMIN_EMAIL: plainEmail, ADMIN_PASSWORD: 'Whatever-pw-88' })).code).toBe(1); // exists: not without --promote
    expect((await createAdmin({ ADMIN_EMAIL: plainEmail }, ['--promote'])).code).toBe(0);
    expect(errorCode(await me(plain.accessToken))).toBe('AUTH-002'); // old-role token revoked
    expect((await signIn(plainEmail)).user.roles).toEqual(['USER', 'ADMIN']);
  });
});

describe('secrets stay out of logs', () => {
  it('no password, token, TOTP secret, recovery code, reset token or email in any log line (LOG_LEVEL=debug)', () => {
    const logs = users.output() + gateway.output();
    expect(logs).toContain('"level":20'); // debug lines were written
    const leaked = secrets.filter((s) => s && logs.includes(s));
    expect(leaked).toEqual([]);
    expect(logs).not.toMatch(/eyJ[\w-]{10,}\./);
    expect(logs).not.toMatch(/@example\.com/);
    expect(logs).not.toMatch(/otpauth:/);
    expect(logs).not.toContain(env.ENCRYPTION_KEYS!.split(':')[1]!);
  });
});
