import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { signInternal } from '@tm/kit/infra';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/** projects through the real gateway (users + projects + gateway as processes), real stores. */
let stack: Stack;
let url: string;
let owner: TestUser, manager: TestUser, member: TestUser, viewer: TestUser, outsider: TestUser;
let redis: Redis;

const CREATE = `mutation($i: CreateProjectInput!) { createProject(input: $i) { id name description archived myRole owner { id name } members { role user { id name } } } }`;
const PROJECT = `query($id: ID!) { project(id: $id) { id name myRole members { role user { id } } } }`;
const ADD = `mutation($p: ID!, $u: ID!, $r: ProjectRole!) { addProjectMember(projectId: $p, userId: $u, role: $r) { id members { role user { id } } } }`;
const REMOVE = `mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }`;
const ROLE = `mutation($p: ID!, $u: ID!, $r: ProjectRole!) { changeProjectMemberRole(projectId: $p, userId: $u, role: $r) { id members { role user { id } } } }`;

/** A platform admin, as the gateway would sign it (straight to the projects subgraph). */
const admin = { userId: '11111111-1111-4111-8111-111111111111', roles: ['ADMIN'] };
const grantAsAdmin = (p: string, u: string) =>
  stack.direct(
    'projects',
    'mutation($p: ID!, $u: ID!) { grantProjectAccess(projectId: $p, userId: $u, role: MEMBER) { id } }',
    { p, u },
    admin,
  );

/** A well-formed id no account has. */
const GHOST = '22222222-2222-4222-8222-222222222222';

const as = (u: TestUser, query: string, variables: Record<string, unknown> = {}) =>
  gql(url, query, variables, { token: u.token });
const data = <T>(r: GqlResponse): T => {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
};
async function newProject(u: TestUser, name: string): Promise<string> {
  return data<{ createProject: { id: string } }>(await as(u, CREATE, { i: { name } })).createProject.id;
}

beforeAll(async () => {
  stack = await startStack('projects_e2e', ['users', 'projects']);
  url = stack.gateway.url;
  [owner, manager, member, viewer, outsider] = await Promise.all(
    ['Olivia', 'Manny', 'Mia', 'Vic', 'Otto'].map((n) => registerUser(url, n)),
  );
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
}, 90_000);

afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

describe('creating projects', () => {
  it('makes the creator OWNER, with owner and members resolved from the users subgraph', async () => {
    const res = data<{ createProject: Record<string, unknown> }>(
      await as(owner, CREATE, { i: { name: 'Apollo', description: 'Moon' } }),
    );
    expect(res.createProject).toMatchObject({
      name: 'Apollo',
      description: 'Moon',
      archived: false,
      myRole: 'OWNER',
      owner: { id: owner.id, name: 'Olivia' },
      members: [{ role: 'OWNER', user: { id: owner.id, name: 'Olivia' } }],
    });
  });

  it('refuses a name the owner already uses (any case) with PROJ-001, but not for another owner', async () => {
    await newProject(owner, 'Gemini');
    const dup = await as(owner, CREATE, { i: { name: 'gEMINI' } });
    expect(errorCode(dup)).toBe('PROJ-001');
    expect(dup.errors![0]!.extensions!.field).toBe('name');
    expect((await as(manager, CREATE, { i: { name: 'Gemini' } })).errors).toBeUndefined();
  });

  it('validates with PROJ-001 naming the field, and writes nothing', async () => {
    for (const [input, field] of [
      [{ name: '   ' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 'ok', description: 'd'.repeat(5001) }, 'description'],
      [{ name: 'ok', id: 'not-a-uuid' }, 'id'],
    ] as const) {
      const res = await as(outsider, CREATE, { i: input });
      expect(errorCode(res)).toBe('PROJ-001');
      expect(res.errors![0]!.extensions!.field).toBe(field);
    }
    expect(
      data<{ projects: { totalCount: number } }>(await as(outsider, '{ projects { totalCount } }')).projects.totalCount,
    ).toBe(0);
  });

  it('is idempotent for a client-generated id', async () => {
    const id = '3f6c2a8e-4b1d-4c7a-9e2f-1a2b3c4d5e6f';
    const first = data<{ createProject: { id: string } }>(await as(viewer, CREATE, { i: { id, name: 'Retry' } }));
    const again = data<{ createProject: { id: string } }>(await as(viewer, CREATE, { i: { id, name: 'Retry' } }));
    expect(first.createProject.id).toBe(id);
    expect(again.createProject.id).toBe(id);
    expect(
      data<{ projects: { totalCount: number } }>(await as(viewer, '{ projects(search: "retry") { totalCount } }')).projects
        .totalCount,
    ).toBe(1);
    // somebody else cannot take the id
    expect(errorCode(await as(outsider, CREATE, { i: { id, name: 'Steal' } }))).toBe('PROJ-001');
  });
});

describe('membership rules', () => {
  let pid: string;
  beforeAll(async () => {
    pid = await newProject(owner, 'Rules');
    data(await as(owner, ADD, { p: pid, u: manager.id, r: 'MANAGER' }));
    data(await as(owner, ADD, { p: pid, u: member.id, r: 'MEMBER' }));
  });

  it('hides projects from non-members: unknown and invisible ids are the same PERM-002', async () => {
    const invisible = await as(outsider, PROJECT, { id: pid });
    const unknown = await as(outsider, PROJECT, { id: '00000000-0000-4000-8000-000000000000' });
    expect(errorCode(invisible)).toBe('PERM-002');
    expect(errorCode(unknown)).toBe('PERM-002');
    expect(invisible.errors![0]!.message).toBe(unknown.errors![0]!.message);
    expect(errorCode(await as(outsider, PROJECT, { id: 'nope' }))).toBe('API-002');
    expect(data<{ project: { myRole: string } }>(await as(member, PROJECT, { id: pid })).project.myRole).toBe('MEMBER');
  });

  it('lets a manager add only lower roles, and a member add nobody', async () => {
    expect(errorCode(await as(manager, ADD, { p: pid, u: viewer.id, r: 'MANAGER' }))).toBe('PERM-001');
    expect(errorCode(await as(member, ADD, { p: pid, u: viewer.id, r: 'VIEWER' }))).toBe('PERM-001');
    const ok = data<{ addProjectMember: { members: Array<{ role: string; user: { id: string } }> } }>(
      await as(manager, ADD, { p: pid, u: viewer.id, r: 'VIEWER' }),
    );
    expect(ok.addProjectMember.members).toContainEqual({ role: 'VIEWER', user: { id: viewer.id } });
    expect(errorCode(await as(manager, ADD, { p: pid, u: viewer.id, r: 'VIEWER' }))).toBe('API-002'); // already a member
  });

  it('adds only existing accounts: an unknown user id is PERM-002 on userId, and nothing is written', async () => {
    const members = async () => data<{ project: { members: unknown[] } }>(await as(owner, PROJECT, { id: pid })).project.members;
    const before = await members();
    const res = await as(owner, ADD, { p: pid, u: GHOST, r: 'MEMBER' });
    expect(errorCode(res)).toBe('PERM-002');
    expect(res.errors![0]!.message).toBe('User not found');
    expect(res.errors![0]!.extensions!.field).toBe('userId');
    expect(await members()).toEqual(before);
    // who may not add anyone learns nothing about which accounts exist
    expect(errorCode(await as(member, ADD, { p: pid, u: GHOST, r: 'VIEWER' }))).toBe('PERM-001');
  });

  it("asks the users subgraph's signed internal endpoint, which answers signed requests only", async () => {
    const base = stack.services.users!.base;
    const ask = async (id: string, secret = stack.env.INTERNAL_SECRET!) => {
      const path = `/internal/users?id=${id}`;
      const res = await fetch(base + path, { headers: { 'x-tm-internal': signInternal('users', path, secret) } });
      return { status: res.status, body: res.status === 200 ? await res.json() : null };
    };
    expect((await fetch(`${base}/internal/users?id=${member.id}`)).status).toBe(401);
    expect((await ask(member.id, 'wrong-secret-wrong-secret-wrong-secret')).status).toBe(401);
    expect(await ask(member.id)).toEqual({ status: 200, body: { exists: true } });
    expect(await ask(GHOST)).toEqual({ status: 200, body: { exists: false } });
    expect((await ask('not-an-id')).status).toBe(400);
  });

  it('protects owners: nobody else removes or demotes them, and the last one cannot leave', async () => {
    expect(errorCode(await as(manager, REMOVE, { p: pid, u: owner.id }))).toBe('PERM-001');
    expect(errorCode(await as(manager, ROLE, { p: pid, u: owner.id, r: 'MEMBER' }))).toBe('PERM-001');
    expect(errorCode(await as(manager, ROLE, { p: pid, u: member.id, r: 'MANAGER' }))).toBe('PERM-001');
    expect(errorCode(await as(owner, REMOVE, { p: pid, u: owner.id }))).toBe('PERM-001');
    expect(errorCode(await as(owner, ROLE, { p: pid, u: owner.id, r: 'MANAGER' }))).toBe('PERM-001');
    expect(errorCode(await as(owner, REMOVE, { p: pid, u: outsider.id }))).toBe('PROJ-002');
    expect(errorCode(await as(member, ROLE, { p: pid, u: member.id, r: 'OWNER' }))).toBe('PERM-001'); // no self-promotion

    // with a second owner, the first may step down; the second cannot be touched by the first
    data(await as(owner, ROLE, { p: pid, u: manager.id, r: 'OWNER' }));
    expect(errorCode(await as(owner, REMOVE, { p: pid, u: manager.id }))).toBe('PERM-001');
    data(await as(owner, ROLE, { p: pid, u: owner.id, r: 'MANAGER' }));
    expect(data<{ project: { myRole: string } }>(await as(owner, PROJECT, { id: pid })).project.myRole).toBe('MANAGER');
    expect(errorCode(await as(manager, REMOVE, { p: pid, u: manager.id }))).toBe('PERM-001'); // now the last owner
  });

  it('lets members leave and managers remove lower roles', async () => {
    data(await as(viewer, REMOVE, { p: pid, u: viewer.id }));
    expect(errorCode(await as(viewer, PROJECT, { id: pid }))).toBe('PERM-002');
    data(await as(owner, REMOVE, { p: pid, u: member.id })); // owner is a MANAGER now; member is lower
    expect(errorCode(await as(member, PROJECT, { id: pid }))).toBe('PERM-002');
  });

  it('keeps the last owner even under concurrent step-downs', async () => {
    const p = await newProject(member, 'Race');
    data(await as(member, ADD, { p, u: viewer.id, r: 'OWNER' }));
    const results = await Promise.all([
      as(member, ROLE, { p, u: member.id, r: 'MEMBER' }),
      as(viewer, ROLE, { p, u: viewer.id, r: 'MEMBER' }),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const members = data<{ project: { members: Array<{ role: string }> } }>(
      await as(results[0]!.errors ? member : viewer, PROJECT, { id: p }),
    ).project.members;
    expect(members.filter((m) => m.role === 'OWNER')).toHaveLength(1);
  });
});

/** The projects subgraph's own database, read directly to compare `ownerCount` with the memberships. */
async function projectsDb<T>(fn: (db: mongoose.Connection) => Promise<T>): Promise<T> {
  const conn = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_projects` }).asPromise();
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/** The stored owner count next to the OWNER memberships in force. */
const owners = (p: string) =>
  projectsDb(async (db) => {
    const project = await db.collection('projects').findOne({ _id: p as never }, { projection: { ownerCount: 1 } });
    const ids = (await db.collection('projectMembers').find({ projectId: p, role: 'OWNER', deletedAt: null }).toArray()).map(
      (m) => m.userId as string,
    );
    return { count: project!.ownerCount as number, owners: ids.sort() };
  });

describe('concurrent membership changes (no lock: atomic single-document updates)', () => {
  it('never leaves a project without an owner, and its owner count stays exact, under racing step-downs, leaves and promotions', async () => {
    const team = await Promise.all(['Ada', 'Ben', 'Cy', 'Dee'].map((n) => registerUser(url, `Race ${n}`)));
    const [a, b, c, d] = team as [TestUser, TestUser, TestUser, TestUser];
    const p = await newProject(a, 'Owner race');
    for (const u of [b, c]) data(await as(a, ADD, { p, u: u.id, r: 'OWNER' }));
    data(await as(a, ADD, { p, u: d.id, r: 'MANAGER' }));
    for (let round = 0; round < 12; round++) {
      // every owner steps down or leaves (some twice at once), while one of them promotes a manager
      const results = await Promise.all([
        as(a, ROLE, { p, u: a.id, r: 'MANAGER' }),
        as(a, ROLE, { p, u: a.id, r: round % 2 ? 'MEMBER' : 'MANAGER' }),
        as(b, REMOVE, { p, u: b.id }),
        as(b, REMOVE, { p, u: b.id }),
        as(c, ROLE, { p, u: c.id, r: 'VIEWER' }),
        round % 3 === 0 ? as(c, ROLE, { p, u: d.id, r: 'OWNER' }) : as(c, REMOVE, { p, u: c.id }),
      ]);
      for (const r of results) expect(['ok', 'PERM-001', 'PERM-002', 'PROJ-002']).toContain(errorCode(r) ?? 'ok');
      const now = await owners(p);
      expect(now.owners.length).toBeGreaterThanOrEqual(1);
      expect(now.count).toBe(now.owners.length);
      // back to three owners (a, b, c) and a manager (d), one change at a time
      const boss = team.find((u) => now.owners.includes(u.id))!;
      const roster = data<{ project: { members: Array<{ role: string; user: { id: string } }> } }>(
        await as(boss, PROJECT, { id: p }),
      ).project.members;
      for (const u of [a, b, c]) {
        const m = roster.find((x) => x.user.id === u.id);
        if (!m) data(await as(boss, ADD, { p, u: u.id, r: 'OWNER' }));
        else if (m.role !== 'OWNER') data(await as(boss, ROLE, { p, u: u.id, r: 'OWNER' }));
      }
      if (now.owners.includes(d.id)) data(await as(d, ROLE, { p, u: d.id, r: 'MANAGER' }));
      expect(await owners(p)).toEqual({ count: 3, owners: [a.id, b.id, c.id].sort() });
    }
  }, 240_000);

  it('adds many people to one project at once: every add succeeds (nobody waits for a turn) and the list is exact', async () => {
    const p = await newProject(owner, 'Crowd');
    const people = await Promise.all(Array.from({ length: 12 }, (_, i) => registerUser(url, `Crowd ${i}`)));
    const results = await Promise.all(people.map((u, i) => as(owner, ADD, { p, u: u.id, r: i % 2 ? 'MEMBER' : 'OWNER' })));
    expect(results.map((r) => errorCode(r) ?? 'ok')).toEqual(people.map(() => 'ok'));
    const members = data<{ project: { members: Array<{ role: string; user: { id: string } }> } }>(
      await as(owner, PROJECT, { id: p }),
    ).project.members;
    expect(members.map((m) => `${m.user.id}:${m.role}`).sort()).toEqual(
      [`${owner.id}:OWNER`, ...people.map((u, i) => `${u.id}:${i % 2 ? 'MEMBER' : 'OWNER'}`)].sort(),
    );
    expect(await owners(p)).toEqual({
      count: 7,
      owners: [owner.id, ...people.filter((_, i) => i % 2 === 0).map((u) => u.id)].sort(),
    });
    // the same person added at once by several requests: one membership, the others API-002
    const late = await registerUser(url, 'Late');
    const again = await Promise.all(Array.from({ length: 6 }, () => as(owner, ADD, { p, u: late.id, r: 'OWNER' })));
    expect(again.map((r) => errorCode(r) ?? 'ok').sort()).toEqual(['API-002', 'API-002', 'API-002', 'API-002', 'API-002', 'ok']);
    expect((await owners(p)).count).toBe(8);
  }, 120_000);

  it('creates one project for concurrent creates with one client id', async () => {
    const u = await registerUser(url, 'Retrier');
    const id = randomUUID();
    const results = await Promise.all(Array.from({ length: 12 }, () => as(u, CREATE, { i: { id, name: 'Once' } })));
    expect(results.map((r) => errorCode(r) ?? (r.data as { createProject: { id: string } }).createProject.id)).toEqual(
      results.map(() => id),
    );
    const stored = await projectsDb(async (db) => ({
      projects: await db.collection('projects').countDocuments({ ownerId: u.id }),
      members: await db.collection('projectMembers').countDocuments({ projectId: id }),
    }));
    expect(stored).toEqual({ projects: 1, members: 1 });
    expect(await owners(id)).toEqual({ count: 1, owners: [u.id] });
    expect(data<{ projects: { totalCount: number } }>(await as(u, '{ projects { totalCount } }')).projects.totalCount).toBe(1);
  }, 60_000);
});

describe('member lists', () => {
  it('shows every membership change to the next read, for every reader', async () => {
    const p = await newProject(owner, 'Roster');
    type M = { project: { members: Array<{ role: string; user: { id: string; name: string } }> } };
    const Q = 'query($id: ID!) { project(id: $id) { members { role user { id name } } } }';
    const roster = async (u: TestUser) =>
      data<M>(await as(u, Q, { id: p })).project.members.map((m) => `${m.user.name}:${m.role}`);
    expect(await roster(owner)).toEqual(['Olivia:OWNER']);
    data(await as(owner, ADD, { p, u: member.id, r: 'MEMBER' }));
    expect(await roster(owner)).toEqual(['Olivia:OWNER', 'Mia:MEMBER']);
    expect(await roster(member)).toEqual(['Olivia:OWNER', 'Mia:MEMBER']);
    data(await as(owner, ROLE, { p, u: member.id, r: 'MANAGER' }));
    expect(await roster(member)).toEqual(['Olivia:OWNER', 'Mia:MANAGER']);
    data(await as(member, REMOVE, { p, u: member.id }));
    expect(await roster(owner)).toEqual(['Olivia:OWNER']);
    // many readers at once while a member is added: every read after the add sees it
    const during = Promise.all(Array.from({ length: 10 }, () => roster(owner)));
    data(await as(owner, ADD, { p, u: viewer.id, r: 'VIEWER' }));
    await during;
    expect(await roster(owner)).toEqual(['Olivia:OWNER', 'Vic:VIEWER']);
  });
});

describe('archived projects', () => {
  it('are read-only for everyone', async () => {
    const pid = await newProject(owner, 'Old');
    data(await as(owner, ADD, { p: pid, u: member.id, r: 'MEMBER' }));
    expect(errorCode(await as(member, 'mutation($id: ID!) { archiveProject(id: $id) { id } }', { id: pid }))).toBe('PERM-001');
    expect(
      data<{ archiveProject: { archived: boolean } }>(
        await as(owner, 'mutation($id: ID!) { archiveProject(id: $id) { archived } }', { id: pid }),
      ).archiveProject.archived,
    ).toBe(true);
    expect(
      errorCode(await as(owner, 'mutation($id: ID!) { updateProject(id: $id, input: { name: "New" }) { id } }', { id: pid })),
    ).toBe('PERM-001');
    expect(errorCode(await as(owner, ADD, { p: pid, u: viewer.id, r: 'VIEWER' }))).toBe('PERM-001');
    expect(data<{ project: { name: string } }>(await as(member, PROJECT, { id: pid })).project.name).toBe('Old');
  });
});

describe('lists', () => {
  it('pages my projects newest first with stable cursors and a total', async () => {
    const u = await registerUser(url, 'Pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newProject(u, `P${i}`));
    const Q =
      'query($a: String) { projects(first: 2, after: $a) { totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }';
    type Page = {
      projects: {
        totalCount: number;
        edges: Array<{ node: { id: string } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Page = data<Page>(await as(u, Q, { a: after }));
      expect(page.projects.totalCount).toBe(seen.length < 2 ? 5 : 6);
      seen.push(...page.projects.edges.map((e) => e.node.id));
      if (!page.projects.pageInfo.hasNextPage) break;
      after = page.projects.pageInfo.endCursor;
      if (seen.length === 2) await newProject(u, 'Inserted meanwhile'); // inserts do not shift later pages
    }
    expect(seen).toEqual([...ids].reverse());
    expect(errorCode(await as(u, Q, { a: 'garbage' }))).toBe('API-002');
    const big = data<{ projects: { edges: unknown[] } }>(await as(u, '{ projects(first: 1000) { edges { cursor } } }'));
    expect(big.projects.edges.length).toBeLessThanOrEqual(100);
  });

  it('shows User.projects in full to the user, and only shared ones to others', async () => {
    const a = await registerUser(url, 'Ann');
    const b = await registerUser(url, 'Bob');
    const shared = await newProject(a, 'Shared');
    await newProject(a, 'Private');
    data(await as(a, ADD, { p: shared, u: b.id, r: 'VIEWER' }));
    const Q = 'query($id: ID!) { user(id: $id) { projects { totalCount edges { node { name } } } } }';
    expect(data<{ user: { projects: { totalCount: number } } }>(await as(a, Q, { id: a.id })).user.projects.totalCount).toBe(2);
    const seenByB = data<{ user: { projects: { totalCount: number; edges: Array<{ node: { name: string } }> } } }>(
      await as(b, Q, { id: a.id }),
    );
    expect(seenByB.user.projects.edges.map((e) => e.node.name)).toEqual(['Shared']);
    expect(
      data<{ me: { projects: { totalCount: number } } }>(await as(b, '{ me { projects { totalCount } } }')).me.projects
        .totalCount,
    ).toBe(1);
  });
});

describe('permissions cache and admin operations', () => {
  it('fills permissions:{userId} through the signed internal endpoint and drops it on change', async () => {
    const base = stack.services.projects!.base;
    const path = `/internal/permissions?userId=${member.id}`;
    expect((await fetch(base + path)).status).toBe(401);
    expect(
      (
        await fetch(base + path, {
          headers: { 'x-tm-internal': signInternal('projects', path, 'wrong-secret-wrong-secret-wrong-secret') },
        })
      ).status,
    ).toBe(401);
    const res = await fetch(base + path, {
      headers: { 'x-tm-internal': signInternal('projects', path, stack.env.INTERNAL_SECRET!) },
    });
    const body = (await res.json()) as { memberships: Record<string, { role: string; archived: boolean }> };
    expect(Object.values(body.memberships).length).toBeGreaterThan(0);
    expect(await redis.exists(`permissions:${member.id}`)).toBe(1);

    const pid = await newProject(owner, 'Cache');
    data(await as(owner, ADD, { p: pid, u: member.id, r: 'VIEWER' }));
    expect(await redis.exists(`permissions:${member.id}`)).toBe(0);
  });

  it('refuses admin operations to non-admins with PERM-001', async () => {
    const pid = await newProject(owner, 'AdminTarget');
    expect(
      errorCode(
        await as(owner, 'mutation($p: ID!, $u: ID!) { grantProjectAccess(projectId: $p, userId: $u, role: VIEWER) { id } }', {
          p: pid,
          u: outsider.id,
        }),
      ),
    ).toBe('PERM-001');
    expect(errorCode(await as(owner, 'mutation($u: ID!) { clearPermissionCache(userId: $u) }', { u: outsider.id }))).toBe(
      'PERM-001',
    );
    expect(errorCode(await as(owner, 'query($u: ID!) { userPermissions(userId: $u) { role } }', { u: owner.id }))).toBe(
      'PERM-001',
    );
  });

  it('lets an admin grant access, read permissions and clear the cache, each audited', async () => {
    const pid = await newProject(owner, 'Granted');
    const grant = await grantAsAdmin(pid, outsider.id);
    expect(grant.errors).toBeUndefined();
    expect(data<{ project: { myRole: string } }>(await as(outsider, PROJECT, { id: pid })).project.myRole).toBe('MEMBER');
    const perms = await stack.direct(
      'projects',
      'query($u: ID!) { userPermissions(userId: $u) { role project { id name } } }',
      { u: outsider.id },
      admin,
    );
    expect(perms.data).toEqual({ userPermissions: [{ role: 'MEMBER', project: { id: pid, name: 'Granted' } }] });
    await redis.set(`permissions:${outsider.id}`, 'x');
    expect(
      (await stack.direct('projects', 'mutation($u: ID!) { clearPermissionCache(userId: $u) }', { u: outsider.id }, admin)).data,
    ).toEqual({ clearPermissionCache: true });
    expect(await redis.exists(`permissions:${outsider.id}`)).toBe(0);

    const conn = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_projects` }).asPromise();
    try {
      const records = await conn.collection('auditRecords').find({}).sort({ at: 1 }).toArray();
      expect(records.map((r) => [r.action, r.actorId, r.result])).toEqual([
        ['grantProjectAccess', admin.userId, 'ok'],
        ['userPermissions', admin.userId, 'ok'], // reads are audited too
        ['clearPermissionCache', admin.userId, 'ok'],
      ]);
      expect(JSON.parse(records[0]!.args as string)).toEqual({ projectId: pid, userId: outsider.id, role: 'MEMBER' });
    } finally {
      await conn.close();
    }
    const stream = await redis.xrange('events:audit', '-', '+');
    expect(stream.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses to grant access to an account that does not exist (PERM-002), and audits the refusal', async () => {
    const pid = await newProject(owner, 'GhostGrant');
    const grant = await grantAsAdmin(pid, GHOST);
    expect(errorCode(grant)).toBe('PERM-002');
    const conn = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_projects` }).asPromise();
    try {
      const last = await conn.collection('auditRecords').find({ action: 'grantProjectAccess' }).sort({ at: -1 }).limit(1).next();
      expect([last?.result, last?.errorCode, JSON.parse(last?.args as string).userId]).toEqual(['error', 'PERM-002', GHOST]);
      expect(await conn.collection('projectMembers').countDocuments({ projectId: pid, userId: GHOST })).toBe(0);
    } finally {
      await conn.close();
    }
  });
});
