import { PERMISSIONS_PATH } from '@tm/kit/contracts';
import { Redis, RedisKeys, signInternal } from '@tm/kit/infra';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { Cleanup } from '@tm/tools/testing/processes';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/**
 * The permissions cache refill race (issue 15, item 4): a refill of `permissions:{userId}` that
 * read the database before a membership removal (or an archive) and writes after the removal's
 * invalidation must not re-cache the old role. Refills run continuously (as several subgraphs'
 * cache misses would) while the owner removes the member through the gateway; once the last
 * refill has finished, the cache must not hold the project (else the removed member keeps access
 * for the cache's lifetime).
 */
const cleanup = new Cleanup();
let stack: Stack;
let redis: Redis;
let owner: TestUser;
let member: TestUser;
let projectId: string;

const ADD = 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }';
const REMOVE = 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }';

beforeAll(async () => {
  stack = await startStack('perm_race', ['users', 'projects']);
  cleanup.add(() => stack.stop());
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX, lazyConnect: false });
  cleanup.add(() => redis.quit());
  owner = await registerUser(stack.gateway.url, 'Owner');
  member = await registerUser(stack.gateway.url, 'Member');
  const p = await gql<{ createProject: { id: string } }>(
    stack.gateway.url,
    'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
    { i: { name: 'Race' } },
    { token: owner.token },
  );
  projectId = p.data!.createProject.id;
}, 120_000);

afterAll(() => cleanup.run());

/** One refill through projects' signed internal endpoint (what a subgraph's cache miss does). */
async function refill(): Promise<void> {
  const path = `${PERMISSIONS_PATH}?userId=${member.id}`;
  const res = await fetch(stack.services.projects!.base + path, {
    headers: { 'x-tm-internal': signInternal('projects', path, stack.env.INTERNAL_SECRET!) },
  });
  await res.arrayBuffer();
}

it('a refill that overlaps a removal never re-caches the removed role', async () => {
  const stale: number[] = [];
  for (let round = 0; round < 12; round++) {
    const added = await gql(stack.gateway.url, ADD, { p: projectId, u: member.id }, { token: owner.token });
    expect(added.errors).toBeUndefined();
    let stop = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) await refill();
    });
    // refills are running; the removal commits (and invalidates) somewhere among them
    await new Promise((r) => setTimeout(r, 100));
    const removed = await gql(stack.gateway.url, REMOVE, { p: projectId, u: member.id }, { token: owner.token });
    stop = true;
    await Promise.all(loops);
    expect(removed.errors).toBeUndefined();
    // the last write to the cache, if any, must be the state after the removal
    const cached = await redis.hget(RedisKeys.permissions(member.id), projectId);
    if (cached !== null) stale.push(round);
  }
  expect(stale).toEqual([]);
  // and through the gateway: the removed member cannot see the project
  const seen = await gql(
    stack.gateway.url,
    'query($id: ID!) { project(id: $id) { id } }',
    { id: projectId },
    { token: member.token },
  );
  expect(errorCode(seen)).toBe('PERM-002');
}, 180_000);
