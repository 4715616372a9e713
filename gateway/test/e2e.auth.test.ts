import { Cleanup, type ServiceProcess } from '@tm/tools/testing/processes';
import { allSubgraphs, startStack } from '@tm/tools/testing/stack';
import { errorCode, gql } from '@tm/tools/testing/graphql';

/**
 * The foundation end to end: users subgraph + gateway as real processes, a real HTTP client,
 * real Redis and the MongoDB-compatible store.
 */
const cleanup = new Cleanup();
let users: ServiceProcess;
let gateway: ServiceProcess;

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresAt user { id email name roles status } }
}`;
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`;
const LOGOUT = `mutation Logout($t: String!) { logout(refreshToken: $t) }`;
const ME = `{ me { id email name roles status mfaEnabled online createdAt } }`;

beforeAll(async () => {
  // the whole supergraph, so the gateway's health sees every subgraph up
  const stack = await startStack('e2e_auth', allSubgraphs(), { LOG_LEVEL: 'debug', REFRESH_REUSE_GRACE_SECONDS: '0' }); // strict rotation
  cleanup.add(() => stack.stop());
  users = stack.services.users!;
  gateway = stack.gateway;
}, 180_000);

afterAll(() => cleanup.run());

describe('sign-up and sign-in through the gateway', () => {
  const email = `ann.${Date.now()}@example.com`;
  const password = 'correct-horse-42';
  let access = '';
  let refresh = '';
  let userId = '';

  it('registers, and the new user reads themself with me', async () => {
    const reg = await gql<{
      register: { accessToken: string; refreshToken: string; expiresAt: string; user: { id: string; email: string } };
    }>(gateway.url, REGISTER, { input: { email, name: 'Ann', password } });
    expect(reg.errors).toBeUndefined();
    expect(reg.data!.register.user.email).toBe(email);
    expect(new Date(reg.data!.register.expiresAt).getTime()).toBeGreaterThan(Date.now());
    userId = reg.data!.register.user.id;

    const me = await gql<{ me: { id: string; email: string; roles: string[]; status: string; online: boolean } }>(
      gateway.url,
      ME,
      {},
      {
        token: reg.data!.register.accessToken,
      },
    );
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ id: userId, email, roles: ['USER'], status: 'ACTIVE', online: false });
  });

  it('logs in; a wrong password is AUTH-001 and says nothing about which part was wrong', async () => {
    const wrong = await gql(gateway.url, LOGIN, { input: { email, password: 'wrong-password-1' } });
    const unknown = await gql(gateway.url, LOGIN, { input: { email: `nobody.${Date.now()}@example.com`, password } });
    expect(errorCode(wrong)).toBe('AUTH-001');
    expect(errorCode(unknown)).toBe('AUTH-001');
    expect(wrong.errors![0]!.message).toBe(unknown.errors![0]!.message);

    const ok = await gql<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(gateway.url, LOGIN, {
      input: { email: email.toUpperCase(), password },
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.login.user.id).toBe(userId);
    access = ok.data!.login.accessToken;
    refresh = ok.data!.login.refreshToken;
  });

  it('rotates the refresh token; replaying the old one ends the session', async () => {
    const first = await gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(gateway.url, REFRESH, {
      t: refresh,
    });
    expect(first.errors).toBeUndefined();
    const next = first.data!.refreshToken;
    expect(next.refreshToken).not.toBe(refresh);
    expect((await gql(gateway.url, ME, {}, { token: next.accessToken })).data).toMatchObject({ me: { id: userId } });

    const replay = await gql(gateway.url, REFRESH, { t: refresh });
    expect(errorCode(replay)).toBe('AUTH-002');
    // the whole family is gone: the successor no longer works either, nor the session's access tokens
    expect(errorCode(await gql(gateway.url, REFRESH, { t: next.refreshToken }))).toBe('AUTH-002');
    const me = await gql(gateway.url, ME, {}, { token: next.accessToken });
    expect(me.status).toBe(401);
    expect(errorCode(me)).toBe('AUTH-002');
  });

  it('logs out: the refresh token and the session access token stop working', async () => {
    const other = await gql<{ login: { accessToken: string } }>(gateway.url, LOGIN, { input: { email, password } });
    const login = await gql<{ login: { accessToken: string; refreshToken: string } }>(gateway.url, LOGIN, {
      input: { email, password },
    });
    const { accessToken, refreshToken } = login.data!.login;
    expect((await gql(gateway.url, ME, {}, { token: accessToken })).data).toMatchObject({ me: { id: userId } });
    const out = await gql<{ logout: boolean }>(gateway.url, LOGOUT, { t: refreshToken }, { token: accessToken });
    expect(out.data).toEqual({ logout: true });
    expect(errorCode(await gql(gateway.url, REFRESH, { t: refreshToken }))).toBe('AUTH-002');
    expect(errorCode(await gql(gateway.url, ME, {}, { token: accessToken }))).toBe('AUTH-002');
    // another session of the same user is unaffected
    expect((await gql(gateway.url, ME, {}, { token: other.data!.login.accessToken })).data).toMatchObject({ me: { id: userId } });
    // and so is nothing of the session ended by the replay above
    expect(errorCode(await gql(gateway.url, ME, {}, { token: access }))).toBe('AUTH-002');
  });

  it('refuses a duplicate email and invalid input with API-002 naming the field, writing nothing', async () => {
    const dup = await gql(gateway.url, REGISTER, { input: { email, name: 'Other', password } });
    expect(errorCode(dup)).toBe('API-002');
    expect(dup.errors![0]!.extensions!.field).toBe('email');

    const bad = await gql(gateway.url, REGISTER, { input: { email: 'not-an-email', name: 'x'.repeat(101), password: 'zzqq' } });
    expect(errorCode(bad)).toBe('API-002');
    expect(bad.errors![0]!.extensions!.fields).toEqual(['email', 'name', 'password']);
    expect(JSON.stringify(bad)).not.toContain('zzqq'); // the password is never echoed

    const weak = await gql(gateway.url, REGISTER, {
      input: { email: `w.${Date.now()}@example.com`, name: 'W', password: 'onlyletterslong' },
    });
    expect(errorCode(weak)).toBe('API-002');
    expect(weak.errors![0]!.extensions!.field).toBe('password');
    const login = await gql(gateway.url, LOGIN, { input: { email: 'not-an-email', password: 'zzqq' } });
    expect(errorCode(login)).toBe('AUTH-001');
  });
});

describe('the gateway boundary', () => {
  it('answers me as null for anonymous callers', async () => {
    const res = await gql(gateway.url, ME);
    expect(res.data).toEqual({ me: null });
  });

  it('refuses a bad or forged token with AUTH-002 and 401', async () => {
    for (const token of ['garbage', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln']) {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: ME }),
      });
      const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(res.status).toBe(401);
      expect(body.errors[0]!.extensions.code).toBe('AUTH-002');
    }
  });

  it('gives API-002 for a malformed or invalid operation', async () => {
    const parse = await gql(gateway.url, '{ me { id ');
    expect(parse.status).toBe(400);
    expect(errorCode(parse)).toBe('API-002');
    const invalid = await gql(gateway.url, '{ me { password } }');
    expect(errorCode(invalid)).toBe('API-002');
  });

  it('echoes the correlation id in the header and in error extensions, or makes one', async () => {
    const res = await gql(gateway.url, '{ nope }', {}, { headers: { 'x-correlation-id': 'cid-12345' } });
    expect(res.headers.get('x-correlation-id')).toBe('cid-12345');
    expect(res.errors![0]!.extensions!.correlationId).toBe('cid-12345');
    const made = await gql(gateway.url, ME);
    expect(made.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await gql(gateway.url, ME, {}, { headers: { 'x-correlation-id': 'bad id with spaces' } });
    expect(bad.headers.get('x-correlation-id')).not.toBe('bad id with spaces');
  });

  it('ignores identity headers sent by clients', async () => {
    const forged = `v1.${Buffer.from(JSON.stringify({ userId: 'x', roles: ['ADMIN'], sessionId: 's', correlationId: 'c', ts: Date.now() })).toString('base64url')}.AAAA`;
    const res = await gql(gateway.url, ME, {}, { headers: { 'x-tm-context': forged, 'x-user-id': 'x' } });
    expect(res.data).toEqual({ me: null });
  });

  it('a subgraph refuses a request without a valid gateway signature', async () => {
    const direct = await gql(users.url, ME);
    expect(direct.status).toBe(401);
    expect(errorCode(direct)).toBe('AUTH-002');
    const forged = `v1.${Buffer.from(JSON.stringify({ userId: 'x', roles: ['ADMIN'], sessionId: 's', correlationId: 'c', ts: Date.now() })).toString('base64url')}.AAAA`;
    const withForged = await gql(users.url, ME, {}, { headers: { 'x-tm-context': forged } });
    expect(withForged.status).toBe(401);
  });

  it('blocks CSRF-able requests and allows Apollo Studio by CORS', async () => {
    const simple = await fetch(`${gateway.url}?query=${encodeURIComponent('{ me { id } }')}`);
    expect(simple.status).toBe(400); // GET without a preflight-forcing header
    const preflight = await fetch(gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://studio.apollographql.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    const other = await fetch(gateway.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lists every subgraph in /health and serves /ready and /metrics', async () => {
    const health = (await (await fetch(`${gateway.base}/health`)).json()) as {
      status: string;
      subgraphs: Array<{ name: string; status: string }>;
    };
    expect(health.status).toBe('ok');
    expect(health.subgraphs.map((s) => [s.name, s.status]).sort()).toEqual(
      allSubgraphs()
        .sort()
        .map((name) => [name, 'up']),
    );
    expect((await fetch(`${gateway.base}/ready`)).status).toBe(200);
    const usersReady = (await (await fetch(`${users.base}/ready`)).json()) as { dependencies: Record<string, string> };
    expect(usersReady.dependencies).toEqual({ mongo: 'up', redis: 'up' });
    const metrics = await (await fetch(`${gateway.base}/metrics`)).text();
    expect(metrics).toContain('http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/http_requests_total\{[^}]*status="200"/);
  });

  it('never logs passwords, tokens or email addresses', () => {
    const logs = users.output() + gateway.output();
    expect(logs).not.toContain('correct-horse-42');
    expect(logs).not.toMatch(/eyJ[\w-]{10,}\./);
    expect(logs).not.toMatch(/@example\.com/);
  });
});
