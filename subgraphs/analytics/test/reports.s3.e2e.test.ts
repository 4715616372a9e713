import { randomUUID } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { errorCode } from '@tm/tools/testing/graphql';
import { motoBucket, startMoto, type Moto } from '@tm/tools/testing/moto';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { as as asUser, data, parseCsv, REPORT, REQUEST_REPORT, waitFor } from './helpers';

/**
 * Reports through the gateway on the S3 adapter the files service uses (moto's S3 server): rows are
 * streamed into a multipart upload that completes only when the report is done, a download URL is
 * the analytics service's own (checked, then a redirect to a short presigned GET), a cancelled job
 * leaves no object, and an expired report's object is removed.
 */
const BUCKET = 'tm-reports-e2e';
const TASKS = 300;
let moto: Moto;
let s3: S3Client;
let stack: Stack;
let redis: Redis;
let owner: TestUser;
let other: TestUser;
let projectId: string;
const titles = new Set<string>();

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asUser(stack.gateway.url, u, q, v);

async function reportKeys(): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'reports/' }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function settled(id: string, status: string) {
  let last: Record<string, unknown> = {};
  await waitFor(
    async () => {
      last = data<{ reportJob: Record<string, unknown> }>(await as(owner, REPORT, { id })).reportJob;
      return last.status === status;
    },
    () => `report ${id} to be ${status} (last ${JSON.stringify(last)})`,
  );
  return last as { id: string; status: string; rowCount: number; resultUrl: string | null };
}

beforeAll(async () => {
  moto = await startMoto();
  const bucket = await motoBucket(moto, BUCKET);
  s3 = bucket.s3;
  stack = await startStack('analytics_s3', ['users', 'projects', 'tasks', 'analytics'], {
    ...bucket.env,
    ANALYTICS_POLL_MS: '100',
    REPORTS_STORAGE: 's3',
    REPORTS_TTL_SECONDS: '8',
    REPORTS_SWEEP_MS: '300',
    REPORTS_ROWS_PER_SECOND: '100',
  });
  [owner, other] = await Promise.all(['Stella', 'Oskar'].map((n) => registerUser(stack.gateway.url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Reports on S3" }) { id } }'),
  ).createProject.id;
  // many tasks' events straight on the stream, as the tasks service writes them (a report long enough to cancel)
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  const now = new Date().toISOString();
  const pipeline = redis.pipeline();
  for (let n = 0; n < TASKS; n++) {
    const title = `Row ${n} "quoted", with comma`;
    titles.add(title);
    const payload = {
      taskId: randomUUID(),
      projectId,
      version: 1,
      state: { title, status: 'TODO', priority: 'LOW', assigneeId: null, dueDate: null, completedAt: null, createdAt: null },
    };
    const event = { id: randomUUID(), type: 'TaskCreated', at: now, actorId: owner.id, correlationId: null, payload };
    pipeline.xadd('events:tasks', '*', 'type', event.type, 'event', JSON.stringify(event));
  }
  await pipeline.exec();
  await waitFor(async () => {
    const r = await as(owner, 'query($p: ID!) { project(id: $p) { metrics { totalTasks } } }', { p: projectId });
    return (r.data as { project?: { metrics?: { totalTasks: number } } } | undefined)?.project?.metrics?.totalTasks === TASKS;
  }, 'the tasks in the read model');
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  s3?.destroy();
  await moto?.stop();
});

it('stores a CSV report in the bucket, serves it through a checked redirect, and removes it at expiry', async () => {
  const job = data<{ requestReport: { id: string } }>(
    await as(owner, REQUEST_REPORT, { i: { projectId, format: 'CSV' } }),
  ).requestReport;
  // while rows are streamed, no object is visible under the report's key
  await waitFor(
    async () => data<{ reportJob: { rowCount: number } }>(await as(owner, REPORT, { id: job.id })).reportJob.rowCount >= 100,
    'the report to be under way',
  );
  expect(await reportKeys()).toEqual([]);
  const done = await settled(job.id, 'COMPLETED');
  expect(await reportKeys()).toEqual([`reports/${job.id}.csv`]);
  const url = new URL(done.resultUrl!);
  expect(url.origin).toBe(stack.services.analytics!.base);
  const hop = await fetch(url, { redirect: 'manual' });
  expect(hop.status).toBe(302);
  expect(new URL(hop.headers.get('location')!).origin).toBe(new URL(moto.endpoint).origin);
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const rows = parseCsv(await res.text());
  expect(rows.length - 1).toBe(TASKS);
  expect(new Set(rows.slice(1).map((r) => r[1]))).toEqual(titles);
  // the URL is made out to its user and signed: another's copy with a changed token is refused
  const tampered = new URL(url);
  const t = tampered.searchParams.get('t')!;
  tampered.searchParams.set('t', t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'));
  expect((await fetch(tampered, { redirect: 'manual' })).status).toBe(403);
  expect(errorCode(await as(other, REPORT, { id: job.id }))).toBe('PERM-002');
  // expiry: the object goes, the URL answers 410
  await settled(job.id, 'EXPIRED');
  await waitFor(async () => (await reportKeys()).length === 0, 'the expired report object to be removed');
  expect((await fetch(url, { redirect: 'manual' })).status).toBe(410);
});

it('a cancelled report leaves no object in the bucket (its multipart upload is aborted)', async () => {
  const job = data<{ requestReport: { id: string } }>(
    await as(owner, REQUEST_REPORT, { i: { projectId, format: 'JSON' } }),
  ).requestReport;
  await waitFor(
    async () => data<{ reportJob: { rowCount: number } }>(await as(owner, REPORT, { id: job.id })).reportJob.rowCount >= 100,
    'the report to be under way',
  );
  data(await as(owner, 'mutation($id: ID!) { cancelReportJob(id: $id) { id } }', { id: job.id }));
  await settled(job.id, 'CANCELLED');
  // the runner sees the cancel and fails its stream; once the queue has no active job it is done
  await waitFor(async () => {
    const ready = (await (await fetch(`${stack.services.analytics!.base}/ready`)).json()) as {
      queues: { reports?: { active: number } };
    };
    return ready.queues.reports?.active === 0;
  }, 'the report runner to stop');
  expect(await reportKeys()).toEqual([]);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  expect((uploads.Uploads ?? []).filter((u) => u.Key?.includes(job.id))).toEqual([]);
});
