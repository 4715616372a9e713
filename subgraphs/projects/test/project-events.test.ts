import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { startRedis } from '@tm/tools/devstack';
import { freePort } from '@tm/tools/net';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { ProjectEvents } from '../src/project/project.events';

/**
 * Project and membership events go out through the documents' outbox: once each and in order,
 * never lost when Redis or the stream fails after a write, and sent by the sweep after a crash.
 * This file runs its own Redis so it can stop it; the projects subgraph is called directly.
 */
const cleanup = new Cleanup();
const dataDir = mkdtempSync(path.join(tmpdir(), 'tm-project-events-'));
let redisPort: number;
let stopRedis: () => Promise<void>;
let projects: ServiceProcess;
let users: ServiceProcess;
let projectsPort: number;
let env: NodeJS.ProcessEnv;
let redis: Redis;
let live: Redis;
let db: mongoose.Connection;
const heard: Array<Record<string, unknown>> = [];

const owner = randomUUID();
const admin = { userId: randomUUID(), roles: ['ADMIN'] };

type Event = { id: string; type: string; actorId: string; payload: Record<string, unknown> };

function as(userId: string, query: string, variables: Record<string, unknown> = {}, roles = ['USER']): Promise<GqlResponse> {
  const user = { userId, roles, sessionId: null, correlationId: randomUUID() };
  return gql(projects.url, query, variables, { sign: { service: 'projects', secret: env.INTERNAL_SECRET!, user } });
}
function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if ((v !== undefined && ok(v)) || Date.now() > deadline) return v as T;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An account in the users subgraph's store (only its existence matters here), by id. */
async function account(): Promise<string> {
  const _id = randomUUID();
  await db
    .useDb(`${env.MONGO_DB}_users`)
    .collection<{ _id: string; email: string; name: string }>('users')
    .insertOne({ _id, email: `${_id}@example.test`, name: 'Member' });
  return _id;
}

/** The project's events on the projects stream, oldest first. */
async function streamOf(projectId: string): Promise<Event[]> {
  const entries = await redis.xrange('events:projects', '-', '+');
  return entries.map(([, f]) => JSON.parse(f[3]!) as Event).filter((e) => e.payload.projectId === projectId);
}
const typesOf = async (projectId: string) => (await streamOf(projectId)).map((e) => e.type);
const pendingIn = (collection: string) => db.collection(collection).countDocuments({ hasPending: true });
/**
 * Waits until no document holds an unsent event: a relay pulls events only after sending them and
 * a sweep reads only documents with pending events, so nothing can be sent after this (instead of
 * waiting a fixed time for sweeps that should send nothing).
 */
const allSent = () =>
  eventually(
    async () => (await pendingIn('projects')) + (await pendingIn('projectMembers')),
    (n) => n === 0,
  );

const CREATE = 'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }';
const ADD = 'mutation($p: ID!, $u: ID!, $r: ProjectRole!) { addProjectMember(projectId: $p, userId: $u, role: $r) { id } }';
const ROLE =
  'mutation($p: ID!, $u: ID!, $r: ProjectRole!) { changeProjectMemberRole(projectId: $p, userId: $u, role: $r) { id } }';
const REMOVE = 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }';
const MEMBERS = 'query($id: ID!) { project(id: $id) { name members { role user { id } } } }';

beforeAll(async () => {
  redisPort = await freePort();
  stopRedis = (await startRedis(dataDir, redisPort)).stop;
  // sweeps every 300 ms while behind (a send failed), and not at all otherwise within this file's time
  env = testEnv('project_events', {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    OUTBOX_SWEEP_MS: '300',
    OUTBOX_IDLE_SWEEP_MS: '600000',
  });
  // members must be accounts: projects asks the users subgraph before adding anyone
  users = await spawnService('users', 'subgraphs/users/dist/main.js', { ...env, MONGO_DB: `${env.MONGO_DB}_users` });
  projects = await spawnService('projects', 'subgraphs/projects/dist/main.js', { ...env, USERS_URL: users.url });
  projectsPort = projects.port;
  redis = new Redis(env.REDIS_URL!, { keyPrefix: env.REDIS_PREFIX, maxRetriesPerRequest: 1 });
  live = new Redis(env.REDIS_URL!);
  for (const c of [redis, live]) c.on('error', () => undefined); // Redis is stopped on purpose below
  await live.psubscribe(`${env.REDIS_PREFIX}live:projectChanged:*`);
  live.on('pmessage', (_p, _c, m) => heard.push(JSON.parse(m) as Record<string, unknown>));
  db = await mongoose.createConnection(env.MONGO_URL!, { dbName: env.MONGO_DB }).asPromise();
  cleanup.add(() => rmSync(dataDir, { recursive: true, force: true }));
  cleanup.add(() => stopRedis());
  cleanup.add(() => projects.stop());
  cleanup.add(() => users.stop());
  cleanup.add(() => redis.disconnect());
  cleanup.add(() => live.disconnect());
  cleanup.add(async () => {
    await db.dropDatabase();
    await db.useDb(`${env.MONGO_DB}_users`).dropDatabase();
    await db.close();
  });
}, 60_000);

afterAll(() => cleanup.run());

it('sends every project and membership change once, in order, to the stream and live', async () => {
  const [b, c] = [await account(), await account()];
  const p = data<{ createProject: { id: string } }>(await as(owner, CREATE, { i: { name: 'Normal' } })).createProject.id;
  data(await as(owner, 'mutation($id: ID!) { updateProject(id: $id, input: { name: "Renamed" }) { id } }', { id: p }));
  data(await as(owner, ADD, { p, u: b, r: 'MEMBER' }));
  data(await as(owner, ROLE, { p, u: b, r: 'MANAGER' }));
  data(
    await as(
      admin.userId,
      'mutation($p: ID!, $u: ID!) { grantProjectAccess(projectId: $p, userId: $u, role: VIEWER) { id } }',
      { p, u: c },
      admin.roles,
    ),
  );
  data(await as(owner, REMOVE, { p, u: b }));
  data(await as(owner, ADD, { p, u: b, r: 'VIEWER' })); // back in, after the removal
  data(await as(owner, 'mutation($id: ID!) { archiveProject(id: $id) { id } }', { id: p }));

  const mine = () => heard.filter((m) => m.projectId === p);
  await eventually(
    async () => mine(),
    (m) => m.length >= 8,
  );
  await allSent(); // nothing is left to send again
  const events = await streamOf(p);
  expect(events.map((e) => [e.type, e.payload])).toEqual([
    ['ProjectCreated', { projectId: p }],
    ['ProjectUpdated', { projectId: p, fields: ['name', 'nameKey'] }],
    ['ProjectMemberAdded', { projectId: p, userId: b, role: 'MEMBER' }],
    ['ProjectMemberRoleChanged', { projectId: p, userId: b, role: 'MANAGER', previousRole: 'MEMBER' }],
    ['ProjectAccessGranted', { projectId: p, userId: c, role: 'VIEWER' }],
    ['ProjectMemberRemoved', { projectId: p, userId: b }],
    ['ProjectMemberAdded', { projectId: p, userId: b, role: 'VIEWER' }],
    ['ProjectArchived', { projectId: p }],
  ]);
  expect(events.map((e) => e.actorId)).toEqual([owner, owner, owner, owner, admin.userId, owner, owner, owner]);
  expect(mine().map((m) => [m.kind, m.userId])).toEqual([
    ['CREATED', null],
    ['UPDATED', null],
    ['MEMBER_ADDED', b],
    ['MEMBER_ROLE_CHANGED', b],
    ['MEMBER_ADDED', c],
    ['MEMBER_REMOVED', b],
    ['MEMBER_ADDED', b],
    ['ARCHIVED', null],
  ]);
  expect(mine()[0]).toEqual({
    kind: 'CREATED',
    projectId: p,
    actorId: owner,
    userId: null,
    at: expect.any(String),
    eventId: events[0]!.id,
  });
  expect(await pendingIn('projects')).toBe(0);
  expect(await pendingIn('projectMembers')).toBe(0);
  expect(await db.collection('projectMembers').countDocuments({ projectId: p, deletedAt: { $ne: null } })).toBe(0);
}, 30_000);

it('keeps a project created while Redis is down and sends its event when Redis is back; other changes wait with DB-001', async () => {
  const p = data<{ createProject: { id: string } }>(await as(owner, CREATE, { i: { name: 'Before' } })).createProject.id;
  const id = randomUUID();
  await stopRedis();
  try {
    expect(errorCode(await as(owner, CREATE, { i: { id, name: 'During' } }))).toBe('DB-001');
    // the write is kept, with its event in the document
    const stored = await db.collection('projects').findOne({ _id: id as never });
    expect(stored).toMatchObject({ name: 'During', hasPending: true });
    expect((stored!.pendingEvents as Array<{ type: string }>).map((e) => e.type)).toEqual(['ProjectCreated']);
    // a membership change drops cached permissions first: refused before it writes anything
    expect(errorCode(await as(owner, ADD, { p, u: await account(), r: 'MEMBER' }))).toBe('DB-001');
    expect(await db.collection('projectMembers').countDocuments({ projectId: p })).toBe(1);
    // a project change needs no Redis: kept and answered, its event waits in the document
    data(await as(owner, 'mutation($id: ID!) { updateProject(id: $id, input: { description: "Kept" }) { id } }', { id: p }));
  } finally {
    stopRedis = (await startRedis(dataDir, redisPort)).stop;
  }
  expect(
    await eventually(
      () => typesOf(id),
      (t) => t.length > 0,
    ),
  ).toEqual(['ProjectCreated']);
  // a retry with the same id answers the project and sends nothing twice
  expect(data<{ createProject: { id: string } }>(await as(owner, CREATE, { i: { id, name: 'During' } })).createProject.id).toBe(
    id,
  );
  const during = data<{ project: { name: string; members: Array<{ role: string; user: { id: string } }> } }>(
    await as(owner, MEMBERS, { id }),
  ).project;
  expect(during.members).toEqual([{ role: 'OWNER', user: { id: owner } }]);
  const before = data<{ project: { name: string; members: unknown[] } }>(await as(owner, MEMBERS, { id: p })).project;
  expect(before).toEqual({ name: 'Before', members: [{ role: 'OWNER', user: { id: owner } }] });
  expect(
    await eventually(
      () => typesOf(p),
      (t) => t.length >= 2,
    ),
  ).toEqual(['ProjectCreated', 'ProjectUpdated']);
  await allSent();
  expect(await typesOf(id)).toEqual(['ProjectCreated']);
  expect(await typesOf(p)).toEqual(['ProjectCreated', 'ProjectUpdated']);
}, 60_000);

it('keeps membership changes whose events the stream refused, and sends them in order once it takes them', async () => {
  const [b, c] = [await account(), await account()];
  const p = data<{ createProject: { id: string } }>(await as(owner, CREATE, { i: { name: 'Refused' } })).createProject.id;
  data(await as(owner, ADD, { p, u: c, r: 'MEMBER' }));
  await eventually(
    () => typesOf(p),
    (t) => t.length === 2,
  );
  // the stream takes nothing (a key of the wrong type): every write succeeds, its event waits
  await redis.rename('events:projects', 'events:projects:kept');
  await redis.set('events:projects', 'not a stream');
  try {
    data(await as(owner, ADD, { p, u: b, r: 'MEMBER' }));
    data(await as(owner, ROLE, { p, u: b, r: 'MANAGER' }));
    data(await as(owner, REMOVE, { p, u: c }));
    // the removal is in force at once, though its event has not gone out
    const roster = data<{ project: { members: Array<{ role: string; user: { id: string } }> } }>(
      await as(owner, MEMBERS, { id: p }),
    ).project.members;
    expect(roster).toEqual([
      { role: 'OWNER', user: { id: owner } },
      { role: 'MANAGER', user: { id: b } },
    ]);
    expect(errorCode(await as(c, MEMBERS, { id: p }))).toBe('PERM-002');
    data(await as(owner, ADD, { p, u: c, r: 'VIEWER' })); // back in while the removal still waits
    expect(await pendingIn('projectMembers')).toBe(2);
  } finally {
    await redis.rename('events:projects:kept', 'events:projects');
  }
  const types = await eventually(
    () => typesOf(p),
    (t) => t.length >= 6,
  );
  expect(types.slice(0, 2)).toEqual(['ProjectCreated', 'ProjectMemberAdded']);
  // in order per membership; memberships' events may interleave after an outage
  const ofUser = async (u: string) => (await streamOf(p)).filter((e) => e.payload.userId === u).map((e) => e.type);
  expect(await ofUser(b)).toEqual(['ProjectMemberAdded', 'ProjectMemberRoleChanged']);
  expect(await ofUser(c)).toEqual(['ProjectMemberAdded', 'ProjectMemberRemoved', 'ProjectMemberAdded']);
  await allSent();
  expect(await typesOf(p)).toHaveLength(6);
  expect(await pendingIn('projectMembers')).toBe(0);
  expect(data<{ project: { members: unknown[] } }>(await as(c, MEMBERS, { id: p })).project.members).toHaveLength(3);
}, 30_000);

it('sends what a crash between a write and its flush left in the documents (the sweep after a restart)', async () => {
  const p = randomUUID();
  const gone = randomUUID();
  const events = new ProjectEvents(env.REDIS_PREFIX!);
  const actor = { userId: owner, correlationId: 'crash' };
  const now = new Date();
  const member = (userId: string, role: string) => ({
    _id: `${p}:${userId}`,
    projectId: p,
    userId,
    role,
    addedAt: now,
    deletedAt: null,
    pendingEvents: [],
    hasPending: false,
  });
  // as the services write them, and then the process died: nothing was sent
  await db.collection('projects').insertOne({
    _id: p as never,
    name: 'Crashed',
    nameKey: 'crashed',
    ownerId: owner,
    ownerCount: 1,
    archived: false,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    pendingEvents: [
      events.of('ProjectCreated', { projectId: p }, actor),
      events.of('ProjectUpdated', { projectId: p, fields: ['description'] }, actor),
    ],
    hasPending: true,
  });
  await db.collection('projectMembers').insertMany([
    member(owner, 'OWNER') as never,
    {
      ...member(gone, 'MEMBER'),
      deletedAt: now,
      pendingEvents: [events.of('ProjectMemberRemoved', { projectId: p, userId: gone }, actor)],
      hasPending: true,
    } as never,
  ]);

  // the process that wrote them is gone; its successor sweeps at once
  expect(await projects.stop()).toBe(0);
  projects = await spawnService('projects', 'subgraphs/projects/dist/main.js', { ...env, USERS_URL: users.url }, projectsPort);

  const types = await eventually(
    () => typesOf(p),
    (t) => t.length >= 3,
  );
  expect(types.filter((t) => t !== 'ProjectMemberRemoved')).toEqual(['ProjectCreated', 'ProjectUpdated']);
  expect(types).toContain('ProjectMemberRemoved');
  expect(
    await eventually(
      () => db.collection('projectMembers').countDocuments({ _id: `${p}:${gone}` as never }),
      (n) => n === 0,
    ),
  ).toBe(0);
  const project = await eventually(
    () => db.collection('projects').findOne({ _id: p as never }),
    (d) => d?.hasPending === false,
  );
  expect(project).toMatchObject({ pendingEvents: [], hasPending: false });
  await allSent();
  expect(await typesOf(p)).toHaveLength(3);
  expect(data<{ project: { members: unknown[] } }>(await as(owner, MEMBERS, { id: p })).project.members).toEqual([
    { role: 'OWNER', user: { id: owner } },
  ]);
}, 30_000);

it('stops gracefully: the sweeps end before the stores close', async () => {
  expect(await projects.stop()).toBe(0);
});
