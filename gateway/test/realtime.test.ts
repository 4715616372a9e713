import { Redis } from 'ioredis';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import type { ServiceProcess } from '@tm/tools/testing/processes';
import { requestDisconnect } from '../src/realtime/disconnect';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/** Live boards through the real gateway with the real graphql-ws client, real Redis and store. */
let stack: Stack;
let url: string;
let gateway2: ServiceProcess;
let owner: TestUser, member: TestUser, viewer: TestUser;
let projectId: string;
let redis: Redis;
const clients: Client[] = [];

const as = (u: TestUser, query: string, variables: Record<string, unknown> = {}) =>
  gql(url, query, variables, { token: u.token });
function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}

function connect(
  gatewayUrl: string,
  connectionParams: Record<string, unknown> | undefined,
  onClose?: (code: number, reason: string) => void,
): Client {
  const client = createClient({
    url: gatewayUrl.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (e) => onClose?.((e as { code: number }).code, (e as { reason: string }).reason) },
    onNonLazyError: () => undefined,
  });
  clients.push(client);
  gatewayOf.set(client, gatewayUrl.replace(/\/graphql$/, ''));
  return client;
}

/** The gateway (base URL) each test client is connected to. */
const gatewayOf = new WeakMap<Client, string>();
/** Per gateway, subscribes run one at a time so each sees its own start in the counter. */
const starting = new Map<string, Promise<unknown>>();

async function startedOn(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^live_subscriptions_started_total(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

interface Received {
  results: Array<{
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  done: boolean;
  error?: unknown;
  stop: () => void;
}

/** Subscribes and resolves once the gateway confirmed the subscription (Redis SUBSCRIBE done). */
async function subscribe(client: Client, query: string, variables: Record<string, unknown>): Promise<Received> {
  const base = gatewayOf.get(client)!;
  const turn = (starting.get(base) ?? Promise.resolve()).then(() => subscribeOnce(client, base, query, variables));
  starting.set(
    base,
    turn.catch(() => undefined),
  );
  return turn;
}

async function subscribeOnce(client: Client, base: string, query: string, variables: Record<string, unknown>): Promise<Received> {
  const before = await startedOn(base);
  const received: Received = { results: [], done: false, stop: () => undefined };
  received.stop = client.subscribe(
    { query, variables },
    {
      next: (r) => void received.results.push(r as Received['results'][number]),
      error: (e) => {
        received.error = e;
        received.done = true;
      },
      complete: () => {
        received.done = true;
      },
    },
  );
  // live once the gateway counts it (after Redis confirmed the channel), or refused/ended
  await until(async () => received.done || (await startedOn(base)) > before, 30_000);
  return received;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A taskChanged counter of the first gateway's metrics. */
async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${stack.gateway.base}/metrics`)).text();
  return Number(new RegExp(`${name}\\{[^}]*subscription="taskChanged"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

async function numsub(): Promise<number> {
  const pattern = `${stack.env.REDIS_PREFIX}live:*`;
  const channels = (await redis.pubsub('CHANNELS', pattern)) as string[];
  if (channels.length === 0) return 0;
  const counts = (await redis.pubsub('NUMSUB', ...channels)) as Array<string | number>;
  return counts.filter((_, i) => i % 2 === 1).reduce<number>((a, b) => a + Number(b), 0);
}

beforeAll(async () => {
  stack = await startStack('realtime', ['users', 'projects', 'tasks'], {
    PRESENCE_TTL_SECONDS: '3',
    LIVE_HEARTBEAT_SECONDS: '1',
  });
  url = stack.gateway.url;
  gateway2 = await stack.addGateway();
  [owner, member, viewer] = await Promise.all(['Olive', 'Mark', 'Val'].map((n) => registerUser(url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Live" }) { id } }'),
  ).createProject.id;
  const add = 'mutation($p: ID!, $u: ID!, $r: ProjectRole!) { addProjectMember(projectId: $p, userId: $u, role: $r) { id } }';
  data(await as(owner, add, { p: projectId, u: member.id, r: 'MEMBER' }));
  data(await as(owner, add, { p: projectId, u: viewer.id, r: 'VIEWER' }));
  redis = new Redis(stack.env.REDIS_URL!);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  redis.disconnect();
  await stack.stop();
});

describe('connection auth', () => {
  it('closes with 4401 without a token and 4403 with a bad one', async () => {
    const closes: Array<[number, string]> = [];
    const none = connect(url, undefined, (c, r) => closes.push([c, r]));
    const bad = connect(url, { authorization: 'Bearer a.b.c' }, (c, r) => closes.push([c, r]));
    none.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    bad.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await until(() => closes.length === 2);
    expect(closes.map(([c]) => c).sort()).toEqual([4401, 4403]);
    expect(closes.find(([c]) => c === 4403)![1]).toMatch(/^AUTH-002/);
    expect(closes.find(([c]) => c === 4401)![1]).toMatch(/^AUTH-001/);
  });
});

describe('federated live payloads', () => {
  const BOARD = `subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId at
    task { title status assignee { name } project { name members { role user { name } } } }
    who: actor { name } } }`;

  it('delivers the whole selection, with fields from three subgraphs, resolved as the subscriber', async () => {
    const sub = await subscribe(connect(url, { authorization: `Bearer ${viewer.token}` }), BOARD, { p: projectId });
    const created = data<{ createTask: { id: string } }>(
      await as(
        member,
        'mutation($p: ID!, $a: ID) { createTask(input: { projectId: $p, title: "Live card", assigneeId: $a }) { id } }',
        { p: projectId, a: owner.id },
      ),
    ).createTask.id;
    await until(() => sub.results.length >= 1);
    const ev = sub.results[0]!.data!.taskChanged as Record<string, unknown>;
    expect(sub.results[0]!.errors).toBeUndefined();
    expect(ev).toMatchObject({
      kind: 'CREATED',
      taskId: created,
      task: { title: 'Live card', status: 'TODO', assignee: { name: 'Olive' }, project: { name: 'Live' } },
      who: { name: 'Mark' },
    });
    expect(
      (ev.task as { project: { members: Array<{ user: { name: string } }> } }).project.members.map((m) => m.user.name).sort(),
    ).toEqual(['Mark', 'Olive', 'Val']);
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: created }));
    await until(() => sub.results.length >= 2);
    expect(sub.results[1]!.data!.taskChanged).toMatchObject({ kind: 'DELETED', taskId: created, task: null });
    sub.stop();
  });

  it('shapes one payload per event for identical subscriptions of one permission set, and one per distinct selection', async () => {
    const client = connect(url, { authorization: `Bearer ${viewer.token}` });
    const same = await Promise.all([0, 1, 2].map(() => subscribe(client, BOARD, { p: projectId })));
    const other = await subscribe(client, BOARD.replace('who: actor', 'by: actor'), { p: projectId });
    const [shaped0, delivered0] = [await counter('live_payloads_shaped_total'), await counter('live_events_delivered_total')];
    const created = data<{ createTask: { id: string } }>(
      await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "Shared card" }) { id } }', {
        p: projectId,
      }),
    ).createTask.id;
    await until(() => [...same, other].every((s) => s.results.length >= 1));
    for (const s of same) expect(s.results[0]).toEqual(same[0]!.results[0]);
    expect(same[0]!.results[0]!.data!.taskChanged).toMatchObject({
      taskId: created,
      task: { title: 'Shared card' },
      who: { name: 'Mark' },
    });
    expect(other.results[0]!.data!.taskChanged).toMatchObject({ taskId: created, by: { name: 'Mark' } });
    expect((await counter('live_events_delivered_total')) - delivered0).toBe(4);
    expect((await counter('live_payloads_shaped_total')) - shaped0).toBe(2);
    for (const s of [...same, other]) s.stop();
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: created }));
  });

  it('resolves an event once for members of every project role (reads do not depend on the role)', async () => {
    // the owner, a MEMBER and a VIEWER, each on their own connection, with the same selection
    const subs = await Promise.all(
      [owner, member, viewer].map((u) =>
        subscribe(connect(url, { authorization: `Bearer ${u.token}` }), BOARD, { p: projectId }),
      ),
    );
    const [shaped0, delivered0] = [await counter('live_payloads_shaped_total'), await counter('live_events_delivered_total')];
    const created = data<{ createTask: { id: string } }>(
      await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "Every role" }) { id } }', {
        p: projectId,
      }),
    ).createTask.id;
    await until(() => subs.every((s) => s.results.length >= 1));
    for (const s of subs) expect(s.results[0]).toEqual(subs[0]!.results[0]);
    expect(subs[0]!.results[0]!.data!.taskChanged).toMatchObject({ taskId: created, task: { title: 'Every role' } });
    expect((await counter('live_events_delivered_total')) - delivered0).toBe(3);
    // one resolution, one payload: not one per role
    expect((await counter('live_payloads_shaped_total')) - shaped0).toBe(1);
    for (const s of subs) s.stop();
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: created }));
  });

  it('serves queries and mutations over the same socket', async () => {
    const client = connect(url, { authorization: `Bearer ${owner.token}` });
    const result = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.subscribe(
        { query: '{ me { name } }' },
        { next: (r) => resolve(r as Record<string, unknown>), error: reject, complete: () => undefined },
      ),
    );
    expect(result).toEqual({ data: { me: { name: 'Olive' } } });
  });

  it('delivers projectChanged for project and membership changes (sent through the projects outbox)', async () => {
    const p = data<{ createProject: { id: string } }>(
      await as(owner, 'mutation { createProject(input: { name: "Roster" }) { id } }'),
    ).createProject.id;
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
        p,
        u: member.id,
      }),
    );
    const sub = await subscribe(
      connect(url, { authorization: `Bearer ${member.token}` }),
      'subscription($p: ID!) { projectChanged(projectId: $p) { kind userId at project { name members { role user { name } } } actor { name } } }',
      { p },
    );
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { changeProjectMemberRole(projectId: $p, userId: $u, role: MANAGER) { id } }', {
        p,
        u: member.id,
      }),
    );
    data(await as(owner, 'mutation($p: ID!) { updateProject(id: $p, input: { name: "Roster 2" }) { id } }', { p }));
    await until(() => sub.results.length === 2);
    expect(sub.results.map((r) => r.data?.projectChanged)).toEqual([
      {
        kind: 'MEMBER_ROLE_CHANGED',
        userId: member.id,
        at: expect.any(String),
        // resolved when delivered: the rename may already be in
        project: {
          name: expect.stringMatching(/^Roster/),
          members: [
            { role: 'OWNER', user: { name: 'Olive' } },
            { role: 'MANAGER', user: { name: 'Mark' } },
          ],
        },
        actor: { name: 'Olive' },
      },
      expect.objectContaining({ kind: 'UPDATED', userId: null, project: expect.objectContaining({ name: 'Roster 2' }) }),
    ]);
  });

  it('stops delivering to a subscriber who lost access, telling them once with PROJ-002', async () => {
    const outsider = await registerUser(url, 'Leaver');
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }', {
        p: projectId,
        u: outsider.id,
      }),
    );
    const sub = await subscribe(
      connect(url, { authorization: `Bearer ${outsider.token}` }),
      'subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId } }',
      { p: projectId },
    );
    data(await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "seen" }) { id } }', { p: projectId }));
    await until(() => sub.results.length === 1);
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }', {
        p: projectId,
        u: outsider.id,
      }),
    );
    data(
      await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "unseen" }) { id } }', { p: projectId }),
    );
    await until(() => sub.done);
    expect(sub.results).toHaveLength(2);
    expect(sub.results[1]!.errors?.[0]?.extensions?.code).toBe('PROJ-002');
    expect(sub.results[1]!.data ?? null).toBeNull();
  });

  it('refuses to start a subscription on a project the caller cannot see', async () => {
    const stranger = await registerUser(url, 'Stranger');
    const sub = await subscribe(
      connect(url, { authorization: `Bearer ${stranger.token}` }),
      'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }',
      { p: projectId },
    );
    await until(() => sub.done);
    const errors = (sub.error as Array<{ extensions?: { code?: string } }>) ?? sub.results[0]?.errors;
    expect(JSON.stringify(errors)).toContain('PROJ-002');
  });
});

describe('revocation', () => {
  it('ends the connection when its session is revoked (logout) mid-subscription', async () => {
    const reg = data<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
      await gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }', {
        i: { email: `revoked.${Date.now()}@example.com`, name: 'Rev', password: 'revoked-pass-1' },
      }),
    ).register;
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }', {
        p: projectId,
        u: reg.user.id,
      }),
    );
    const closes: Array<[number, string]> = [];
    const client = connect(url, { authorization: `Bearer ${reg.accessToken}` }, (c, r) => closes.push([c, r]));
    const sub = await subscribe(client, 'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }', { p: projectId });
    data(
      await gql(url, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: reg.refreshToken }, { token: reg.accessToken }),
    );
    await new Promise((r) => setTimeout(r, 2100)); // the socket re-checks its token at most every 2 s
    data(
      await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "after logout" }) { id } }', {
        p: projectId,
      }),
    );
    await until(() => closes.length > 0);
    expect(closes[0]![0]).toBe(4403);
    expect(closes[0]![1]).toMatch(/^AUTH-002/);
    expect(sub.results.filter((r) => r.data)).toHaveLength(0);
  });
});

describe('several gateways', () => {
  it('keeps a channel’s events in publication order while their resolutions overlap', async () => {
    const task = data<{ createTask: { id: string } }>(
      await as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "order" }) { id } }', { p: projectId }),
    ).createTask.id;
    const sub = await subscribe(
      connect(url, { authorization: `Bearer ${owner.token}` }),
      'subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId at task { title } } }',
      { p: projectId },
    );
    // a burst straight onto the channel: every event's resolution (a supergraph query) starts at once
    const base = Date.parse('2030-01-01T00:00:00.000Z');
    const sent: string[] = [];
    const pipeline = redis.pipeline();
    for (let i = 0; i < 30; i++) {
      const at = new Date(base + i).toISOString();
      sent.push(at);
      pipeline.publish(
        `${stack.env.REDIS_PREFIX}live:taskChanged:${projectId}`,
        JSON.stringify({ kind: 'UPDATED', taskId: task, actorId: member.id, projectId, at }),
      );
    }
    await pipeline.exec();
    await until(
      () => sub.results.filter((r) => (r.data?.taskChanged as { at?: string } | undefined)?.at?.startsWith('2030')).length >= 30,
    );
    const got = sub.results
      .map((r) => r.data?.taskChanged as { at: string; task: { title: string } | null })
      .filter((e) => e.at.startsWith('2030'));
    expect(got.map((e) => e.at)).toEqual(sent);
    expect(got.every((e) => e.task?.title === 'order')).toBe(true);
    sub.stop();
  });

  it('delivers every event exactly once per subscription, whichever gateway the change went through', async () => {
    const Q = 'subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId } }';
    const a = await subscribe(connect(url, { authorization: `Bearer ${owner.token}` }), Q, { p: projectId });
    const b = await subscribe(connect(gateway2.url, { authorization: `Bearer ${member.token}` }), Q, { p: projectId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const via = i % 2 ? gateway2.url : url;
      ids.push(
        data<{ createTask: { id: string } }>(
          await gql(
            via,
            'mutation($p: ID!) { createTask(input: { projectId: $p, title: "x" }) { id } }',
            { p: projectId },
            { token: member.token },
          ),
        ).createTask.id,
      );
    }
    await until(() => a.results.length >= 3 && b.results.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    for (const s of [a, b]) expect(s.results.map((r) => (r.data!.taskChanged as { taskId: string }).taskId)).toEqual(ids);
    a.stop();
    b.stop();
  });
});

describe('presence', () => {
  it('shows a subscriber online while subscribed and offline within seconds of closing the socket', async () => {
    const P = 'subscription($p: ID!) { presenceChanged(projectId: $p) { online user { name } } }';
    const watch = await subscribe(connect(url, { authorization: `Bearer ${owner.token}` }), P, { p: projectId });
    const memberClient = connect(gateway2.url, { authorization: `Bearer ${member.token}` });
    await subscribe(memberClient, 'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }', { p: projectId });
    const onlineUsers = async () =>
      data<{ project: { onlineUsers: Array<{ name: string; online: boolean }> } }>(
        await as(owner, 'query($p: ID!) { project(id: $p) { onlineUsers { name online } } }', { p: projectId }),
      ).project.onlineUsers;
    // (no "online" event when Mark's subscription of an earlier test ended within the presence grace:
    // he never went offline for the others)
    await until(async () => (await onlineUsers()).some((u) => u.name === 'Mark' && u.online));
    await memberClient.dispose();
    await until(() =>
      watch.results.some((r) => JSON.stringify(r.data).includes('"online":false') && JSON.stringify(r.data).includes('Mark')),
    );
    const seen = data<{ user: { lastSeenAt: string | null; online: boolean } }>(
      await as(owner, 'query($id: ID!) { user(id: $id) { lastSeenAt online } }', { id: member.id }),
    );
    expect(seen.user.lastSeenAt).not.toBeNull();
    watch.stop();
  });

  it('expires presence without heartbeats', async () => {
    const P = 'subscription($p: ID!) { presenceChanged(projectId: $p) { online user { name } } }';
    const watch = await subscribe(connect(url, { authorization: `Bearer ${owner.token}` }), P, { p: projectId });
    data(await as(viewer, 'mutation($p: ID!) { heartbeat(projectId: $p) }', { p: projectId }));
    await until(() =>
      watch.results.some((r) => JSON.stringify(r.data).includes('"online":true') && JSON.stringify(r.data).includes('Val')),
    );
    // PRESENCE_TTL_SECONDS is 3 here: without another heartbeat, Val goes offline by expiry
    await until(
      () =>
        watch.results.some((r) => JSON.stringify(r.data).includes('"online":false') && JSON.stringify(r.data).includes('Val')),
      12_000,
    );
    expect(errorCode(await as(owner, 'mutation { heartbeat(projectId: "00000000-0000-4000-8000-000000000000") }'))).toBe(
      'PERM-002',
    );
    watch.stop();
  });

  it('keeps a user online while another gateway still holds their subscription', async () => {
    const P = 'subscription($p: ID!) { presenceChanged(projectId: $p) { online user { name } } }';
    const T = 'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }';
    const watch = await subscribe(connect(url, { authorization: `Bearer ${owner.token}` }), P, { p: projectId });
    const onGateway1 = connect(url, { authorization: `Bearer ${member.token}` });
    const onGateway2 = connect(gateway2.url, { authorization: `Bearer ${member.token}` });
    await subscribe(onGateway1, T, { p: projectId });
    await subscribe(onGateway2, T, { p: projectId });
    // each gateway process is one holder of Mark's presence in the project
    const holders = `${stack.env.REDIS_PREFIX}presence:holders:${projectId}:${member.id}`;
    await until(async () => (await redis.zcard(holders)) === 2);
    const markOffline = () =>
      watch.results.filter((r) => JSON.stringify(r.data).includes('"online":false') && JSON.stringify(r.data).includes('Mark'));
    const offlineBefore = markOffline().length;
    await onGateway2.dispose();
    // gateway 2 sent its offline (after its grace): its holder is gone, gateway 1's keeps Mark online
    await until(async () => (await redis.zcard(holders)) === 1, 15_000);
    expect(markOffline()).toHaveLength(offlineBefore);
    const online = data<{ project: { onlineUsers: Array<{ name: string }> } }>(
      await as(owner, 'query($p: ID!) { project(id: $p) { onlineUsers { name } } }', { p: projectId }),
    ).project.onlineUsers;
    expect(online.map((u) => u.name)).toContain('Mark');
    // the last holder leaving takes him offline, once
    await onGateway1.dispose();
    await until(() => markOffline().length === offlineBefore + 1, 15_000);
    expect(await redis.zcard(holders)).toBe(0);
    watch.stop();
  });

  it('takes a clientId: offline for one client only while another still heartbeats', async () => {
    const beat = (online: boolean, clientId: string) =>
      as(viewer, 'mutation($p: ID!, $o: Boolean, $c: String) { heartbeat(projectId: $p, online: $o, clientId: $c) }', {
        p: projectId,
        o: online,
        c: clientId,
      });
    const holders = `${stack.env.REDIS_PREFIX}presence:holders:${projectId}:${viewer.id}`;
    const present = `${stack.env.REDIS_PREFIX}presence:project:${projectId}`;
    data(await beat(true, 'tab-a'));
    data(await beat(true, 'tab-b'));
    expect((await redis.zrange(holders, 0, -1)).sort()).toEqual(['tab-a', 'tab-b']);
    data(await beat(true, 'tab-b')); // fresh: PRESENCE_TTL_SECONDS is 3 here
    data(await beat(false, 'tab-a'));
    expect(await redis.zrange(holders, 0, -1)).toEqual(['tab-b']);
    // tab-a leaving did not take Val offline: tab-b still holds her in the project
    expect(Number(await redis.zscore(present, viewer.id))).toBeGreaterThan(Date.now());
    data(await beat(false, 'tab-b'));
    expect(await redis.zcard(holders)).toBe(0);
    expect(await redis.zscore(present, viewer.id)).toBeNull();
    expect(errorCode(await beat(true, 'not a valid id!'))).toBe('API-002');
  });
});

describe('operator disconnects', () => {
  it('closes the matching sockets on every gateway process and counts them', async () => {
    const closes: Array<[string, number]> = [];
    const victim = await registerUser(url, 'Victim');
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }', {
        p: projectId,
        u: victim.id,
      }),
    );
    const Q = 'subscription($p: ID!) { taskChanged(projectId: $p) { kind } }';
    await subscribe(
      connect(url, { authorization: `Bearer ${victim.token}` }, (c) => closes.push(['v1', c])),
      Q,
      { p: projectId },
    );
    await subscribe(
      connect(gateway2.url, { authorization: `Bearer ${victim.token}` }, (c) => closes.push(['v2', c])),
      Q,
      { p: projectId },
    );
    await subscribe(
      connect(url, { authorization: `Bearer ${owner.token}` }, (c) => closes.push(['other', c])),
      Q,
      { p: projectId },
    );
    const prefixed = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
    try {
      expect(await requestDisconnect(prefixed, stack.env.REDIS_PREFIX!, victim.id, 'incident 42')).toBe(2);
    } finally {
      prefixed.disconnect();
    }
    await until(() => closes.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(closes.sort()).toEqual([
      ['v1', 4000],
      ['v2', 4000],
    ]);
  });
});

describe('subscribe/unsubscribe churn', () => {
  it('keeps delivering to stable subscribers while other subscriptions start and stop around them', async () => {
    const BOARD = 'subscription($p: ID!) { taskChanged(projectId: $p) { kind task { title assignee { name } } actor { name } } }';
    const taskId = data<{ createTask: { id: string } }>(
      await as(owner, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "Churn" }) { id } }', { p: projectId }),
    ).createTask.id;
    const users = [owner, member, viewer];
    // a gateway whose every start is a supergraph query as the subscriber (no permissions cache):
    // the expensive starts the start gate bounds (with the cache, a member's start runs no query)
    const churnGateway = await stack.addGateway({ LIVE_SHARED_RESOLUTION: 'off', LIVE_MAX_CONCURRENT_STARTS: '4' });
    const url = churnGateway.url;
    const stable = await Promise.all(
      users.map((u) => subscribe(connect(url, { authorization: `Bearer ${u.token}` }), BOARD, { p: projectId })),
    );
    const metrics = () => fetch(`${churnGateway.base}/metrics`).then((r) => r.text());
    const liveSubscriptions = async () => Number(/live_subscriptions\{[^}]*\} (\d+)/.exec(await metrics())?.[1]);
    const before = await liveSubscriptions(); // the stable three, plus earlier tests' still open
    // 15 connections subscribing and unsubscribing as fast as they can: far more starts (each a
    // supergraph query) than this machine answers, most completed by the client before they ran
    const churners = users.flatMap((u) => [0, 1, 2, 3, 4].map(() => connect(url, { authorization: `Bearer ${u.token}` })));
    let running = true;
    let cycles = 0;
    const loops = churners.map(async (c) => {
      while (running) {
        const stop = c.subscribe(
          { query: BOARD, variables: { p: projectId } },
          { next: () => undefined, error: () => undefined, complete: () => undefined },
        );
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 30));
        stop();
        cycles++;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    try {
      await new Promise((r) => setTimeout(r, 4000)); // without a bound, abandoned starts pile up by now
      for (const title of ['during churn 1', 'during churn 2', 'during churn 3']) {
        data(
          await as(owner, 'mutation($id: ID!, $t: String!) { updateTask(id: $id, input: { title: $t }) { id } }', {
            id: taskId,
            t: title,
          }),
        );
        const has = (s: Received) =>
          s.results.some((r) => (r.data?.taskChanged as { task?: { title?: string } } | undefined)?.task?.title === title);
        // bounded: without the start gate, abandoned starts pile up and events wait behind them for minutes
        await until(() => stable.every(has), 30_000).catch(async () => {
          const m = (await metrics())
            .split('\n')
            .filter((l) => /^(live_|graphql_operations_total|http_requests_total)/.test(l))
            .join('\n');
          const why = churnGateway
            .output()
            .split('\n')
            .filter((l) => /not resolved|failed/.test(l))
            .slice(-5)
            .join('\n');
          throw new Error(
            m +
              '\n' +
              why +
              '\n' +
              `"${title}" reached ${stable.filter(has).length} of 3 stable subscribers within 30 s of the change (${cycles} churn cycles; they got ${JSON.stringify(stable.map((s) => s.results.slice(-1)))})`,
          );
        });
      }
    } catch (err) {
      // a failure here must not leave this test's sockets to the next one's resource checks
      running = false;
      await Promise.all(loops);
      for (const s of stable) s.stop();
      for (const c of churners) await c.dispose();
      await churnGateway.stop();
      throw err;
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(cycles).toBeGreaterThan(100);
    // most starts were abandoned by their clients while waiting, and never ran
    expect(await metrics()).toMatch(/live_subscription_starts_dropped_total\{[^}]*reason="gone"[^}]*\} [1-9]/);
    const failed = stable.flatMap((s) => s.results.filter((r) => r.errors));
    if (failed.length) {
      const why = churnGateway
        .output()
        .split('\n')
        .filter((l) => /not resolved|failed/.test(l))
        .slice(-5)
        .join('\n');
      throw new Error(`stable subscribers got errors: ${JSON.stringify(failed.slice(0, 3))}\n${why}`);
    }
    for (const s of stable) {
      expect(s.done).toBe(false);
      s.stop();
    }
    for (const c of churners) await c.dispose();
    // nothing left behind by the churn (starts still running when their clients left finish first:
    // on this gateway each is a supergraph query, seconds apart when the machine is busy)
    await until(async () => (await liveSubscriptions()) === before - 3, 30_000);
    await churnGateway.stop();
  }, 180_000);
});

describe('resources', () => {
  it('leaves no Redis subscriptions behind once clients are gone', async () => {
    for (const c of clients.splice(0)) await c.dispose();
    await until(async () => (await numsub()) === 0, 30_000);
    expect(await numsub()).toBe(0);
    const metrics = () => fetch(`${stack.gateway.base}/metrics`).then((r) => r.text());
    expect(await metrics()).toMatch(/live_events_delivered_total\{[^}]*subscription="taskChanged"[^}]*\} [1-9]/);
    await until(async () => /live_connections\{[^}]*\} 0\n/.test(await metrics()), 30_000);
    expect(await metrics()).toMatch(/live_subscriptions\{[^}]*\} 0\n/);
  }, 90_000);
});
