import { Redis } from 'ioredis';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { as as asOn, data, notificationsOf, waitFor } from './helpers';

/**
 * The consumer group across a crash: the notifications process is killed (SIGKILL) in the middle
 * of a stream of events and started again; events read by a consumer that died before it
 * acknowledged them are taken over. Every event is handled exactly once (one notification each).
 */
let stack: Stack;
let url: string;
let redis: Redis;
let restarted: ServiceProcess | null = null;
let owner: TestUser;
let members: TestUser[];
let projectId: string;
const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asOn(url, u, q, v);
const CREATE = 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }';

async function assignedTitles(u: TestUser): Promise<string[]> {
  return (await notificationsOf(url, u)).filter((n) => n.kind === 'TASK_ASSIGNED').map((n) => n.title);
}

beforeAll(async () => {
  stack = await startStack('notif_consumer', ['users', 'projects', 'tasks', 'notifications'], {
    NOTIFY_POLL_MS: '50',
    NOTIFY_CLAIM_IDLE_MS: '1500',
    OUTBOX_SWEEP_MS: '500',
  });
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  [owner, ...members] = await Promise.all(['Olga', 'Ann', 'Ben', 'Cid'].map((n) => registerUser(url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Crash" }) { id } }'),
  ).createProject.id;
  for (const m of members)
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
        p: projectId,
        u: m.id,
      }),
    );
  for (const m of members)
    await waitFor(async () => (await notificationsOf(url, m)).length === 1, `${m.name}'s member notification`);
}, 180_000);

afterAll(async () => {
  await restarted?.stop();
  redis?.disconnect();
  await stack?.stop();
});

it('handles every event once across a killed consumer, a restart and a dead consumer’s pending events', async () => {
  const svc = stack.services.notifications!;
  const expected = new Map(members.map((m) => [m.id, [] as string[]]));
  let n = 0;
  const assign = async () => {
    const m = members[n % members.length]!;
    const title = `Task ${++n}`;
    data(await as(owner, CREATE, { i: { projectId, title, assigneeId: m.id } }));
    expected.get(m.id)!.push(`You were assigned "${title}"`);
  };
  // a stream of events, with the consumer killed in the middle of it
  for (let i = 0; i < 12; i++) await assign();
  svc.child.kill('SIGKILL');
  await new Promise<void>((r) =>
    svc.child.exitCode !== null || svc.child.signalCode !== null ? r() : svc.child.once('exit', () => r()),
  );
  for (let i = 0; i < 12; i++) await assign();
  // another consumer of the group reads some of them and dies before acknowledging
  const stream = 'events:tasks';
  const stolen = (await redis.xreadgroup('GROUP', 'notifications', 'dead-consumer', 'COUNT', 3, 'STREAMS', stream, '>')) as Array<
    [string, unknown[]]
  > | null;
  expect(stolen?.[0]?.[1]).toHaveLength(3);
  // started again (a new process: a new consumer name), on the same port the gateway knows
  const env = {
    ...stack.env,
    MONGO_DB: `${stack.env.MONGO_DB}_notifications`,
    ...Object.fromEntries(Object.entries(stack.services).map(([name, s]) => [`${name.toUpperCase()}_URL`, s.url])),
  };
  restarted = await spawnService('notifications', 'subgraphs/notifications/dist/main.js', env, svc.port);
  for (let i = 0; i < 6; i++) await assign();
  for (const m of members) {
    await waitFor(
      async () => (await assignedTitles(m)).length >= expected.get(m.id)!.length,
      () => `${m.name}'s ${expected.get(m.id)!.length} notifications`,
      60_000,
    );
  }
  // nothing left pending in the group (the dead consumer's events were taken over), and each once
  await waitFor(async () => Number(((await redis.xpending(stream, 'notifications')) as [number])[0]) === 0, 'no pending events');
  for (const m of members) expect((await assignedTitles(m)).sort()).toEqual([...expected.get(m.id)!].sort());
}, 180_000);
