import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/**
 * Issue 15, items 1, 12 and 16, through the real gateway (users + projects + tasks + gateway as
 * child processes, real stores): negative page sizes, comment pages that read only the page,
 * task deletes that keep their comments' unsent events, and cursors that are checked before they
 * reach a filter (tasks, comments, projects, users, the audit log).
 */
const ADMIN_EMAIL = 'hardening.admin@example.com';
const ADMIN_PASSWORD = 'hardening-admin-password-1';
let stack: Stack;
let url: string;
let owner: TestUser, member: TestUser;
let adminToken: string;
let projectId: string;
let redis: Redis;
let db: mongoose.Connection;

const as = (u: TestUser | string, query: string, variables: Record<string, unknown> = {}) =>
  gql(url, query, variables, { token: typeof u === 'string' ? u : u.token });
function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}
/** The code and the named argument of the first error. */
const refusal = (r: GqlResponse) => ({ code: errorCode(r), field: r.errors?.[0]?.extensions?.field });
/** Polls `check` until it holds (generous bound: the machine may be busy); no fixed sleeps. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const cursor = (values: unknown) => Buffer.from(JSON.stringify(values)).toString('base64url');

async function newTask(title: string): Promise<string> {
  return data<{ createTask: { id: string } }>(
    await as(member, 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }', { i: { projectId, title } }),
  ).createTask.id;
}
async function comment(taskId: string, body: string): Promise<string> {
  return data<{ addComment: { id: string } }>(
    await as(member, 'mutation($t: ID!, $b: String!) { addComment(taskId: $t, body: $b) { id } }', { t: taskId, b: body }),
  ).addComment.id;
}
/** Events of the tasks stream, oldest first. */
async function streamEvents(): Promise<Array<{ id: string; type: string; payload: Record<string, unknown> }>> {
  const entries = await redis.xrange('events:tasks', '-', '+');
  return entries.map(([, f]) => JSON.parse(f[3]!) as { id: string; type: string; payload: Record<string, unknown> });
}
/** The tasks service's count of one store command on one collection (its /metrics: the duration histogram's count). */
async function commands(command: string, collection: string): Promise<number> {
  const text = await (await fetch(`${stack.services.tasks!.base}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^mongodb_command_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    if (m[1]!.includes(`command="${command}"`) && m[1]!.includes(`collection="${collection}"`)) n += Number(m[2]);
  }
  return n;
}
/** A comment written straight into the store, as a crashed process would leave it: its CommentAdded not sent. */
function unsentComment(taskId: string, eventJson?: string) {
  const commentId = randomUUID();
  const eventId = randomUUID();
  const event = {
    id: eventId,
    type: 'CommentAdded',
    at: new Date().toISOString(),
    actorId: member.id,
    correlationId: null,
    payload: { commentId, taskId, projectId },
  };
  return {
    commentId,
    eventId,
    event,
    doc: {
      _id: commentId,
      taskId,
      projectId,
      authorId: member.id,
      body: 'written, event not sent yet',
      createdAt: new Date(),
      deletedAt: null,
      hasPending: true,
      pendingEvents: [{ id: eventId, type: 'CommentAdded', event: eventJson ?? JSON.stringify(event) }],
    },
  };
}

beforeAll(async () => {
  stack = await startStack('tasks_hardening', ['users', 'projects', 'tasks'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    // the relay sweeps often only while something is left unsent; otherwise changes flush at once
    OUTBOX_SWEEP_MS: '300',
    OUTBOX_IDLE_SWEEP_MS: '600000',
  });
  url = stack.gateway.url;
  [owner, member] = await Promise.all(['Hanna', 'Milo'].map((n) => registerUser(url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Hardening" }) { id } }'),
  ).createProject.id;
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
      p: projectId,
      u: member.id,
    }),
  );
  adminToken = await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD);
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  db = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_tasks` }).asPromise();
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await db?.close();
  await stack?.stop();
});

describe('negative page sizes (issue 15.1)', () => {
  it('refuses first: -1 on every paged field with API-002 naming `first`, at the gateway', async () => {
    const taskId = await newTask('Paged');
    for (let i = 0; i < 3; i++) await comment(taskId, `c${i}`);
    const queries: Array<[string, Record<string, unknown>]> = [
      ['query($id: ID!) { task(id: $id) { comments(first: -1) { edges { node { id } } } } }', { id: taskId }],
      ['query($id: ID!, $n: Int) { task(id: $id) { comments(first: $n) { edges { node { id } } } } }', { id: taskId, n: -1 }],
      ['query($id: ID!) { task(id: $id) { comments(first: -1) { totalCount } } }', { id: taskId }],
      ['query($p: ID!) { project(id: $p) { tasks(first: -1) { edges { node { id } } } } }', { p: projectId }],
      ['{ me { assignedTasks(first: -2) { totalCount } } }', {}],
      ['{ projects(first: -1) { edges { node { id } } } }', {}],
      ['{ me { projects(first: -1) { totalCount } } }', {}],
    ];
    for (const [q, v] of queries) expect([q, refusal(await as(member, q, v))]).toEqual([q, { code: 'API-002', field: 'first' }]);
    for (const q of ['{ users(first: -1) { totalCount } }', '{ auditLog(first: -1) { totalCount } }']) {
      expect([q, refusal(await as(adminToken, q))]).toEqual([q, { code: 'API-002', field: 'first' }]);
    }
    // zero is a page of nothing, which still says whether there is more
    const zero = data<{ task: { comments: { edges: unknown[]; pageInfo: { hasNextPage: boolean }; totalCount: number } } }>(
      await as(
        member,
        'query($id: ID!) { task(id: $id) { comments(first: 0) { totalCount edges { node { id } } pageInfo { hasNextPage } } } }',
        { id: taskId },
      ),
    );
    expect(zero.task.comments).toEqual({ totalCount: 3, edges: [], pageInfo: { hasNextPage: true } });
  });

  it('refuses it in each subgraph too (a call that did not pass the gateway estimate)', async () => {
    const taskId = await newTask('Direct');
    for (let i = 0; i < 3; i++) await comment(taskId, `d${i}`);
    const user = { userId: member.id, roles: ['USER'] };
    const cases: Array<[string, string, Record<string, unknown>, { userId: string; roles: string[] }]> = [
      ['tasks', 'query($id: ID!) { task(id: $id) { comments(first: -1) { edges { node { id } } } } }', { id: taskId }, user],
      ['tasks', 'query($id: ID!) { task(id: $id) { comments(first: -1) { totalCount } } }', { id: taskId }, user],
      [
        'tasks',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Task { comments(first: -1) { edges { node { id } } } } } }',
        { r: [{ __typename: 'Task', id: taskId }] },
        user,
      ],
      [
        'tasks',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Project { tasks(first: -1) { totalCount } } } }',
        { r: [{ __typename: 'Project', id: projectId }] },
        user,
      ],
      [
        'tasks',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { assignedTasks(first: -1) { totalCount } } } }',
        { r: [{ __typename: 'User', id: member.id }] },
        user,
      ],
      ['projects', '{ projects(first: -1) { totalCount } }', {}, user],
      ['users', '{ users(first: -1) { totalCount } }', {}, { userId: randomUUID(), roles: ['ADMIN'] }],
    ];
    for (const [service, q, v, u] of cases) {
      expect([service, q, refusal(await stack.direct(service, q, v, u))]).toEqual([
        service,
        q,
        { code: 'API-002', field: 'first' },
      ]);
    }
  });

  it('reads only the page asked for: first: 1 of a task with 300 comments is one bounded read', async () => {
    const taskId = await newTask('Crowded');
    const base = Date.now() - 3_600_000;
    await db.collection('comments').insertMany(
      Array.from({ length: 300 }, (_, i) => ({
        _id: randomUUID() as never,
        taskId,
        projectId,
        authorId: member.id,
        body: `bulk ${i}`,
        createdAt: new Date(base + i * 1000),
        deletedAt: null,
        hasPending: false,
        pendingEvents: [],
      })),
    );
    const Q = 'query($id: ID!) { task(id: $id) { comments(first: 1) { edges { node { body } } pageInfo { hasNextPage } } } }';
    await as(member, Q, { id: taskId }); // warm the permission cache
    const before = { find: await commands('find', 'comments'), getMore: await commands('getMore', 'comments') };
    const page = data<{ task: { comments: { edges: Array<{ node: { body: string } }>; pageInfo: { hasNextPage: boolean } } } }>(
      await as(member, Q, { id: taskId }),
    );
    expect(page.task.comments).toEqual({ edges: [{ node: { body: 'bulk 0' } }], pageInfo: { hasNextPage: true } });
    const after = { find: await commands('find', 'comments'), getMore: await commands('getMore', 'comments') };
    // one find; on mongod all 300 would not fit its first batch (101) and reading them all would take a getMore
    // (mongo-java-server answers any find in one batch, so there only the page's content shows the bound)
    expect({ find: after.find - before.find, getMore: after.getMore - before.getMore }).toEqual({ find: 1, getMore: 0 });
  });

  it('answers pages of different sizes of the same comments in one request', async () => {
    const taskId = await newTask('Two pages');
    for (let i = 0; i < 4; i++) await comment(taskId, `p${i}`);
    const Q =
      'query($id: ID!) { task(id: $id) { a: comments(first: 1) { edges { node { body } } pageInfo { hasNextPage } } b: comments(first: 4) { edges { node { body } } pageInfo { hasNextPage } } } }';
    type P = { edges: Array<{ node: { body: string } }>; pageInfo: { hasNextPage: boolean } };
    const r = data<{ task: { a: P; b: P } }>(await as(member, Q, { id: taskId }));
    expect(r.task.a).toEqual({ edges: [{ node: { body: 'p0' } }], pageInfo: { hasNextPage: true } });
    expect(r.task.b).toEqual({
      edges: ['p0', 'p1', 'p2', 'p3'].map((body) => ({ node: { body } })),
      pageInfo: { hasNextPage: false },
    });
  });
});

describe("deleteTask keeps its comments' events (issue 15.12)", () => {
  it("sends a comment's unsent CommentAdded, then its CommentDeleted, before the comment goes", async () => {
    const taskId = await newTask('Doomed');
    const sent = await comment(taskId, 'sent already');
    const unsent = unsentComment(taskId);
    await db.collection('comments').insertOne(unsent.doc as never);
    expect(data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: taskId }))).toEqual({ deleteTask: true });
    await waitFor(
      async () => (await db.collection('comments').countDocuments({ taskId })) === 0,
      'the comments to be removed once their events are out',
    );
    const events = (await streamEvents()).filter((e) => e.payload.taskId === taskId && String(e.type).startsWith('Comment'));
    const of = (commentId: string) => events.filter((e) => e.payload.commentId === commentId).map((e) => e.type);
    expect(of(sent)).toEqual(['CommentAdded', 'CommentDeleted']);
    expect(of(unsent.commentId)).toEqual(['CommentAdded', 'CommentDeleted']);
    expect(events.find((e) => e.payload.commentId === unsent.commentId)?.id).toBe(unsent.eventId); // the very event that waited
  });

  it('keeps a deleted comment whose event cannot be sent yet until the relay has sent it', async () => {
    const taskId = await newTask('Stuck');
    // an event the relay cannot send (yet): every attempt fails and leaves it in place
    const stuck = unsentComment(taskId, '{not json yet');
    await db.collection('comments').insertOne(stuck.doc as never);
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: taskId }));
    const kept = await db.collection('comments').findOne({ _id: stuck.commentId as never });
    expect(kept?.deletedAt).toBeInstanceOf(Date);
    expect((kept?.pendingEvents as Array<{ type: string }>).map((p) => p.type)).toEqual(['CommentAdded', 'CommentDeleted']);
    // not visible meanwhile: the task and its comments are gone for readers
    expect(errorCode(await as(member, 'query($id: ID!) { task(id: $id) { comments { totalCount } } }', { id: taskId }))).toBe(
      'PERM-002',
    );
    // the event becomes sendable (Redis back, say): the relay's sweep sends both, then removes the comment
    await db
      .collection('comments')
      .updateOne({ _id: stuck.commentId as never }, { $set: { 'pendingEvents.0.event': JSON.stringify(stuck.event) } });
    await waitFor(
      async () => (await db.collection('comments').countDocuments({ _id: stuck.commentId as never })) === 0,
      'the relay to send and remove the comment',
    );
    const types = (await streamEvents()).filter((e) => e.payload.commentId === stuck.commentId).map((e) => e.type);
    expect(types).toEqual(['CommentAdded', 'CommentDeleted']);
  }, 60_000);
});

describe('cursors are checked before they reach a filter (issue 15.16)', () => {
  const bad = [
    cursor([{ $ne: null }, { $gt: '' }]),
    cursor([{ $gt: '' }, 'x']),
    cursor(['2020-01-01T00:00:00.000Z', { $gt: '' }]),
    cursor([1, { $ne: null }]),
    cursor([[5], 'x']),
    cursor([null, 'x']),
    cursor({ 0: 1, 1: 'x', length: 2 }),
    cursor(['x'.repeat(2000), 'y']),
    'not base64 json',
  ];

  it('refuses malformed task and comment cursors with API-002 naming `after`', async () => {
    const t1 = await newTask('Cursor A');
    await newTask('Cursor B');
    await comment(t1, 'one');
    await comment(t1, 'two');
    const lists: Array<[string, Record<string, unknown>]> = [
      [
        'query($p: ID!, $a: String) { project(id: $p) { tasks(first: 5, after: $a) { edges { node { id } } } } }',
        { p: projectId },
      ],
      [
        'query($p: ID!, $a: String) { project(id: $p) { tasks(first: 5, after: $a, orderBy: { field: PRIORITY, direction: DESC }) { edges { node { id } } } } }',
        { p: projectId },
      ],
      [
        'query($p: ID!, $a: String) { project(id: $p) { tasks(first: 5, after: $a, orderBy: { field: CREATED_AT, direction: ASC }) { edges { node { id } } } } }',
        { p: projectId },
      ],
      ['query($a: String) { me { assignedTasks(first: 5, after: $a) { edges { node { id } } } } }', {}],
      ['query($t: ID!, $a: String) { task(id: $t) { comments(first: 5, after: $a) { edges { node { id } } } } }', { t: t1 }],
      ['query($t: ID!, $a: String) { task(id: $t) { comments(first: 5, after: $a) { totalCount } } }', { t: t1 }],
    ];
    for (const [q, v] of lists) {
      for (const a of bad)
        expect([q, a, refusal(await as(member, q, { ...v, a }))]).toEqual([q, a, { code: 'API-002', field: 'after' }]);
    }
  });

  it('refuses them on the projects, users and audit-log lists as well', async () => {
    const lists: Array<[string, string]> = [
      ['{ projects(first: 5, after: $a) { edges { node { id } } } }', owner.token],
      ['{ me { projects(first: 5, after: $a) { edges { node { id } } } } }', owner.token],
      ['{ users(first: 5, after: $a) { edges { node { id } } } }', adminToken],
      ['{ auditLog(first: 5, after: $a) { edges { node { id } } } }', adminToken],
    ];
    for (const [body, token] of lists) {
      const q = `query($a: String) ${body}`;
      for (const a of bad)
        expect([q, a, refusal(await as(token, q, { a }))]).toEqual([q, a, { code: 'API-002', field: 'after' }]);
    }
  });

  it('still pages with the cursors it hands out', async () => {
    const Q =
      'query($p: ID!, $a: String) { project(id: $p) { tasks(first: 2, after: $a, orderBy: { field: PRIORITY, direction: DESC }) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }';
    type Page = {
      project: { tasks: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    };
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const page: Page = data<Page>(await as(member, Q, { p: projectId, a: after }));
      ids.push(...page.project.tasks.edges.map((e) => e.node.id));
      after = page.project.tasks.pageInfo.hasNextPage ? page.project.tasks.pageInfo.endCursor : null;
    } while (after);
    const total = data<{ project: { tasks: { totalCount: number } } }>(
      await as(member, 'query($p: ID!) { project(id: $p) { tasks { totalCount } } }', { p: projectId }),
    ).project.tasks.totalCount;
    expect(new Set(ids).size).toBe(total);
    const admin = data<{ users: { pageInfo: { endCursor: string } } }>(
      await as(adminToken, '{ users(first: 1) { pageInfo { endCursor } } }'),
    );
    expect(
      data<{ users: { edges: unknown[] } }>(
        await as(adminToken, 'query($a: String) { users(first: 5, after: $a) { edges { node { id } } } }', {
          a: admin.users.pageInfo.endCursor,
        }),
      ).users.edges.length,
    ).toBeGreaterThan(0);
  });
});
