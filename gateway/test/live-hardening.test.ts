import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { startStack, type Stack } from '@tm/tools/testing/stack';

/**
 * The live endpoint (graphql-ws) through the real gateway: errors masked as over HTTP, sockets
 * dropped during their connection_init not counted against the user, the client address behind
 * a trusted proxy, and revoked tokens' idle sockets closed by the periodic token check.
 */
let stack: Stack;
let url: string;
const clients: Client[] = [];

interface Registered {
  id: string;
  token: string;
  refreshToken: string;
  email: string;
  password: string;
}

function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Registers through the gateway, from an address of its own (TRUST_PROXY is 1 here). */
async function register(name: string): Promise<Registered> {
  const email = `${name.toLowerCase()}.${randomUUID().slice(0, 8)}@example.com`;
  const password = 'live-hardening-1';
  const r = data<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    await gql(
      url,
      'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }',
      { i: { email, name, password } },
      {
        headers: { 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250) + 1}` },
      },
    ),
  );
  return { id: r.register.user.id, token: r.register.accessToken, refreshToken: r.register.refreshToken, email, password };
}

/** A graphql-ws client; `forwardedFor` is sent as X-Forwarded-For on the upgrade request (a proxy's). */
function connect(
  token: string,
  on: { closed?: (code: number, reason: string) => void; connected?: () => void } = {},
  forwardedFor?: string,
): Client {
  const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  class ProxiedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: ProxiedWebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    on: {
      closed: (e) => on.closed?.((e as { code: number }).code, (e as { reason: string }).reason),
      connected: () => on.connected?.(),
    },
    onNonLazyError: () => undefined,
  });
  clients.push(client);
  return client;
}

interface Outcome {
  results: Array<{ data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }>;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  done: boolean;
}

/** Runs one operation over the socket and collects what comes back. */
function run(client: Client, query: string, variables: Record<string, unknown> = {}): Outcome {
  const out: Outcome = { results: [], done: false };
  client.subscribe(
    { query, variables },
    {
      next: (r) => void out.results.push(r as Outcome['results'][number]),
      error: (e) => {
        out.errors = Array.isArray(e) ? (e as Outcome['errors']) : [{ message: String((e as { reason?: string }).reason ?? e) }];
        out.done = true;
      },
      complete: () => {
        out.done = true;
      },
    },
  );
  return out;
}

async function liveConnections(): Promise<number> {
  const text = await (await fetch(`${stack.gateway.base}/metrics`)).text();
  return Number(/^live_connections(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

beforeAll(async () => {
  stack = await startStack('live_hardening', ['users', 'projects', 'tasks'], {
    // one proxy in front: the client address is the X-Forwarded-For entry it added
    TRUST_PROXY: '1',
    // as in production: no introspection, no "Did you mean …" suggestions for non-admins
    GRAPHQL_INTROSPECTION: 'false',
    LIVE_AUTH_RECHECK_SECONDS: '1',
    LOGIN_MAX_FAILURES_PER_IP: '3',
  });
  url = stack.gateway.url;
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack.stop();
});

describe('errors over the socket', () => {
  it('are masked like the HTTP path: no schema suggestions, API-002', async () => {
    const user = await register('Masked');
    const client = connect(user.token);
    const typo = 'subscription { taskChangd(projectId: "00000000-0000-4000-8000-000000000000") { kind } }';
    const overSocket = run(client, typo);
    await until(() => overSocket.done);
    const overHttp = await gql(url, typo, {}, { token: user.token });
    expect(overHttp.errors?.[0]?.message).toBe('Cannot query field "taskChangd" on type "Subscription".');
    expect(overSocket.errors).toHaveLength(1);
    expect(overSocket.errors![0]!.message).toBe(overHttp.errors![0]!.message);
    expect(overSocket.errors![0]!.extensions?.code).toBe('API-002');
    // a query sent over the socket too
    const query = run(client, '{ mee { id } }');
    await until(() => query.done);
    expect(JSON.stringify(query.errors)).not.toMatch(/Did you mean/);
    expect(query.errors?.[0]).toMatchObject({
      message: 'Cannot query field "mee" on type "Query".',
      extensions: { code: 'API-002' },
    });
  });
});

describe('operations started over one socket', () => {
  it('are refused beyond the connection budget with API-001 and retryAfter, before parsing; others keep their own budget', async () => {
    const user = await register('Flooder');
    const flooder = connect(user.token);
    // deliberately invalid documents: a parsed one would be API-002, a refused one API-001
    const outcomes = Array.from({ length: 40 }, () => run(flooder, '{ not valid graphql'));
    await until(() => outcomes.every((o) => o.done));
    const codes = outcomes.map((o) => o.errors?.[0]?.extensions?.code);
    // burst 30 (default): the first 30 are parsed (a syntax error, API-002, the socket stays), the rest refused unparsed
    expect(codes.filter((c) => c === 'API-002').length).toBeGreaterThanOrEqual(30);
    expect(outcomes[0]!.errors![0]!.message).toMatch(/^Syntax Error/);
    const refused = outcomes.filter((o) => o.errors?.[0]?.extensions?.code === 'API-001');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.errors![0]!.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    // the flooding socket stays open, and serves again once its budget refills
    await until(async () => {
      const again = run(flooder, '{ me { id } }');
      await until(() => again.done);
      return !again.errors && (again.results[0]?.data as { me?: { id: string } } | undefined)?.me?.id === user.id;
    });
    // another connection of the same user is not held back
    const other = run(connect(user.token), '{ me { id } }');
    await until(() => other.done);
    expect(other.errors).toBeUndefined();
    expect(other.results[0]?.data).toEqual({ me: { id: user.id } });
    const text = await (await fetch(`${stack.gateway.base}/metrics`)).text();
    expect(text).toMatch(/live_subscription_starts_dropped_total\{[^}]*reason="rate"[^}]*\} [1-9]/);
  });
});

describe('connections dropped during connection_init', () => {
  it('do not count against the user: after 25 drops (limit 20) a connection is still accepted', async () => {
    const user = await register('Dropper');
    const drop = () =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws');
        ws.on('open', () => {
          // gone while the gateway checks the token
          ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } }), () =>
            ws.terminate(),
          );
        });
        ws.on('error', () => undefined);
        ws.on('close', () => resolve());
      });
    const before = await liveConnections();
    for (let i = 0; i < 25; i++) await drop();
    // every dropped socket is forgotten (none left counted as open)
    await until(async () => (await liveConnections()) === before);
    const closes: number[] = [];
    let connected = false;
    connect(user.token, { closed: (code) => closes.push(code), connected: () => (connected = true) });
    await until(() => connected || closes.length > 0);
    expect(closes).toEqual([]);
    expect(connected).toBe(true);
    expect(await liveConnections()).toBe(before + 1);
  }, 60_000);
});

describe('client address and revocation', () => {
  it('counts sign-in failures over the socket under the address the trusted proxy forwarded', async () => {
    const user = await register('Sprayer');
    const victim = await register('Victim');
    const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
    const client = connect(user.token, {}, '203.0.113.77');
    // LOGIN_MAX_FAILURES_PER_IP is 3: three wrong guesses (different accounts) use up the address
    for (let i = 0; i < 3; i++) {
      const r = run(client, LOGIN, {
        i: { email: `nobody${i}.${randomUUID().slice(0, 6)}@example.com`, password: 'wrong-password-1' },
      });
      await until(() => r.done);
      expect(r.results[0]?.errors?.[0]?.message).not.toMatch(/Too many/);
    }
    // the same address over HTTP is refused; another address is not
    const fromSame = await gql(
      url,
      LOGIN,
      { i: { email: victim.email, password: victim.password } },
      { headers: { 'x-forwarded-for': '203.0.113.77' } },
    );
    expect(fromSame.errors?.[0]?.message).toMatch(/Too many failed sign-in attempts/);
    const fromOther = await gql(
      url,
      LOGIN,
      { i: { email: victim.email, password: victim.password } },
      { headers: { 'x-forwarded-for': '203.0.113.78' } },
    );
    expect(fromOther.errors).toBeUndefined();
  }, 60_000);

  it('closes an idle socket within the re-check interval once its session is revoked, and its presence ends', async () => {
    const owner = await register('Owner');
    const idle = await register('Idle');
    const projectId = data<{ createProject: { id: string } }>(
      await gql(url, 'mutation { createProject(input: { name: "Idle board" }) { id } }', {}, { token: owner.token }),
    ).createProject.id;
    data(
      await gql(
        url,
        'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }',
        { p: projectId, u: idle.id },
        { token: owner.token },
      ),
    );
    const closes: Array<[number, string]> = [];
    const client = connect(idle.token, { closed: (code, reason) => closes.push([code, reason]) });
    run(client, 'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }', { p: projectId });
    const onlineUsers = async () =>
      data<{ project: { onlineUsers: Array<{ id: string; online: boolean }> } }>(
        await gql(
          url,
          'query($p: ID!) { project(id: $p) { onlineUsers { id online } } }',
          { p: projectId },
          { token: owner.token },
        ),
      ).project.onlineUsers;
    // subscribed: the gateway keeps the subscriber's presence
    await until(async () => (await onlineUsers()).some((u) => u.id === idle.id && u.online));
    data(await gql(url, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: idle.refreshToken }, { token: idle.token }));
    // no event on the project: only the periodic check (LIVE_AUTH_RECHECK_SECONDS=1) can notice
    await until(() => closes.length > 0);
    expect(closes[0]![0]).toBe(4403);
    expect(closes[0]![1]).toMatch(/^AUTH-002/);
    await until(async () => !(await onlineUsers()).some((u) => u.id === idle.id && u.online));
  }, 60_000);
});
