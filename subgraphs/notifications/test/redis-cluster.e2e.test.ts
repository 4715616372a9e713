import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Client } from 'graphql-ws';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { startRedisCluster, type RedisCluster } from '@tm/tools/testing/redis-cluster';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { as as asOn, collect, data, liveClient, TestSmtp, waitFor } from './helpers';

/**
 * The services on a real 3-master Redis Cluster (Debian's redis-server, `redis-cli --cluster
 * create`), configured by REDIS_CLUSTER_NODES alone with a hash-tag REDIS_PREFIX: users, projects,
 * tasks, notifications and the gateway start on it, and a mutation, a live subscription through the
 * gateway (graphql-ws, Redis pub/sub), the notifications stream consumer (XREADGROUP on tasks'
 * stream), its BullMQ email job and the gateway's rate limit (Lua in Redis) all work.
 */
let cluster: RedisCluster;
let stack: Stack;
let admin: Cluster;
let url: string;
let prefix: string;
const smtp = new TestSmtp();
const clients: Client[] = [];
let owner: TestUser, member: TestUser;
let projectId: string;
/** Low enough to reach in the test, high enough for everything else one user does here. */
const PER_MINUTE = 40;

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asOn(url, u, q, v);

/** Subscribers of a channel over every master (a cluster's SUBSCRIBE lives on one node). */
async function subscribers(channel: string): Promise<number> {
  let n = 0;
  for (const node of admin.nodes('master')) n += Number(((await node.pubsub('NUMSUB', channel)) as Array<string | number>)[1]);
  return n;
}

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  await smtp.up();
  prefix = `{t_cluster_${randomBytes(4).toString('hex')}}:`;
  stack = await startStack('redis_cluster', ['users', 'projects', 'tasks', 'notifications'], {
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_PREFIX: prefix,
    SMTP_URL: smtp.url,
    WEB_APP_URL: 'https://app.example.test',
    NOTIFY_POLL_MS: '100',
    OUTBOX_SWEEP_MS: '500',
    RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
    RATE_LIMIT_BURST: '0',
  });
  url = stack.gateway.url;
  admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  [owner, member] = await Promise.all(['Olga Owner', 'Max'].map((n) => registerUser(url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Cluster" }) { id } }'),
  ).createProject.id;
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
      p: projectId,
      u: member.id,
    }),
  );
}, 120_000);

afterAll(async () => {
  if (process.env.DUMP_LOGS) for (const s of Object.values(stack?.services ?? {})) console.log(s.name, s.output().slice(-4000));
  for (const c of clients) await c.dispose();
  admin?.disconnect();
  await stack?.stop();
  await smtp.down();
  await cluster?.stop();
});

it('runs on a 3-master cluster, every key of the deployment in its prefix’s slot', async () => {
  const info = (await admin.cluster('INFO')) as string;
  expect(info).toContain('cluster_state:ok');
  expect(info).toContain('cluster_known_nodes:3');
  // what the services wrote is there, under the prefix, in the prefix's slot
  await waitFor(async () => (await admin.xlen(`${prefix}events:projects`)) > 0, 'the projects stream on the cluster');
  const slot = await admin.cluster('KEYSLOT', `${prefix}events:projects`);
  expect(await admin.cluster('KEYSLOT', `${prefix}permissions:x`)).toBe(slot);
  expect(await admin.cluster('KEYSLOT', `${prefix}bull:email:id`)).toBe(slot);
});

it('a mutation reaches a live subscriber through the gateway, the stream consumer and a BullMQ email job', async () => {
  const mc = liveClient(url, member);
  const oc = liveClient(url, owner);
  clients.push(mc, oc);
  const tasks = collect(oc, `subscription { taskChanged(projectId: "${projectId}") { kind task { id title } } }`);
  const mine = collect(mc, 'subscription { notificationReceived { kind title } }');
  await waitFor(async () => (await subscribers(`${prefix}live:taskChanged:${projectId}`)) > 0, 'the task subscription in Redis');
  await waitFor(
    async () => (await subscribers(`${prefix}live:notificationReceived:${member.id}`)) > 0,
    'the notification subscription',
  );

  // the mutation (tasks: store, outbox, stream and pub/sub on the cluster)
  const task = data<{ createTask: { id: string } }>(
    await as(owner, 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }', {
      i: { projectId, title: 'On the cluster', assigneeId: member.id },
    }),
  ).createTask;
  // tasks' live update through the gateway's subscriber connection
  await waitFor(() => tasks.items.length > 0, 'the live taskChanged event');
  expect(tasks.errors).toEqual([]);
  expect(tasks.items[0]).toMatchObject({ taskChanged: { task: { id: task.id, title: 'On the cluster' } } });
  // notifications' consumer group read tasks' stream and told the assignee, live
  // (the member's PROJECT_MEMBER_ADDED from beforeAll may arrive first when the consumer runs late)
  type Received = { notificationReceived: { kind: string; title: string } };
  const assigned = () => (mine.items as Received[]).find((i) => i.notificationReceived.kind === 'TASK_ASSIGNED');
  await waitFor(() => assigned() !== undefined, 'the live notification (stream consumer)');
  expect(mine.errors).toEqual([]);
  expect(assigned()).toEqual({ notificationReceived: { kind: 'TASK_ASSIGNED', title: 'You were assigned "On the cluster"' } });
  for (const i of mine.items as Received[])
    expect(['TASK_ASSIGNED', 'PROJECT_MEMBER_ADDED']).toContain(i.notificationReceived.kind);
  // and its email went out as a BullMQ job on the cluster
  await waitFor(() => smtp.to(member.email).some((m) => m.subject.includes('On the cluster')), 'the assignment email (BullMQ)');
  expect(await admin.exists(`${prefix}bull:email:meta`)).toBe(1);
  tasks.stop();
  mine.stop();
});

it('the gateway’s rate limit counts on the cluster', async () => {
  const spender = await registerUser(url, 'Spender');
  let refused: GqlResponse | null = null;
  for (let i = 0; i < PER_MINUTE + 5 && !refused; i++) {
    const r = await gql(url, '{ me { id } }', {}, { token: spender.token });
    if (r.errors) refused = r;
  }
  expect(refused).not.toBeNull();
  expect(errorCode(refused!)).toBe('API-001');
  expect(await admin.exists(`${prefix}ops:rl:client:${spender.id}`)).toBe(1);
  // another user is not affected
  expect(data<{ me: { id: string } }>(await as(owner, '{ me { id } }')).me.id).toBe(owner.id);
});
